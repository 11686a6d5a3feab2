/* Rootless engines (rootless podman) run the hook as uid 0 of the user's
 * own user namespace, not as real root: no idmapped mounts, only the ids
 * of that namespace can be given away, host root's files show as the
 * overflow id, and the user's own files as 0.  This says whether the hook
 * runs there, and where such a user's files go. */
#ifndef HOOK_ROOTLESS_H
#define HOOK_ROOTLESS_H

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An id that no file can have: (uid_t) -1. */
#define ROOTLESS_NO_ID ((uint32_t) -1)

struct rootless
{
  bool active;
  uint32_t host_uid;                   /* the user, on the host */
  uint32_t overflow_uid, overflow_gid; /* how ids outside the namespace show */
  /* The ids here that are host root's: 0:0 in the initial namespace, and
   * normally none (ROOTLESS_NO_ID) in a rootless one. */
  uint32_t host_root_uid, host_root_gid;
  char *home; /* the user's home directory (from /etc/passwd), or NULL */
};

/* Read /proc/self/uid_map and gid_map: active unless the uid map is the
 * initial namespace's identity map.  Fills the rest only when active. */
int rootless_detect (struct rootless *r, hook_error_t **err);

void rootless_free (struct rootless *r);
#define cleanup_rootless __attribute__ ((cleanup (rootless_free))) /* on a zeroed struct */

/* Rootless: can UID:GID be given away here (are they in the namespace)? */
int rootless_check_ids (uint32_t uid, uint32_t gid, hook_error_t **err);

/* The hook's own uid map as "INSIDE:OUTSIDE:COUNT,...", or "initial" for
 * the host's namespace: what journals record their ids against. */
int rootless_ids (char *buf, size_t len, hook_error_t **err);

/* *OUT = HOME/REL for the user (malloc'd), or NULL if the user has no home;
 * -1 with ENOMEM in *ERR when memory runs out. */
int rootless_path (const struct rootless *r, const char *rel, char **out, hook_error_t **err);

/* The journal and policy locations for a rootless user, below the home.
 * Not $XDG_DATA_HOME or $XDG_CONFIG_HOME: podman hands hooks only HOME,
 * PATH and XDG_RUNTIME_DIR of its environment, so the hook could not see
 * them, and `oci-idmap-hook restore` must find what the hook wrote. */
#define ROOTLESS_JOURNAL_DIR ".local/share/oci-idmap-hook/journal"
#define ROOTLESS_POLICY_PATH ".config/oci-idmap-hook/policy.json"

#endif
