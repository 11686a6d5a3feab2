/* The administrator's policy file: what containers may ask the hook for.
 *
 *   {
 *     "allowedSources": ["/srv", "/home"],   host roots that may be served
 *     "allowedModes": ["idmap", "nsmap"],    modes containers may ask for
 *     "allowHostRoot": false,                like --allow-host-root
 *     "defaultMounts": "*",                  for containers that ask nothing
 *     "journalDir": "/var/lib/oci-idmap-hook/journal",
 *     "environment": "idmap"                 how far OCI_IDMAP_* may ask: off, idmap, full
 *   }
 *
 * Every key is optional; unknown keys are refused (a typo must not silently
 * weaken a policy).  A built-in deny list always holds unless an allowed
 * source names a path inside it explicitly.  The file must be a regular
 * file that only root (the hook's user) can change, in a directory that
 * only root can change, as the journal directory. */
#ifndef HOOK_ADMIN_POLICY_H
#define HOOK_ADMIN_POLICY_H

#include "base/error.h"
#include "request.h"

#include <stdbool.h>
#include <stddef.h>
#include <yajl/yajl_tree.h>

/* SYSCONFDIR comes from the Makefile (make SYSCONFDIR=...). */
#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define ADMIN_POLICY_DEFAULT_PATH SYSCONFDIR "/oci-idmap-hook/policy.json"
#define ADMIN_POLICY_MAX_BYTES (1024 * 1024)
#define ADMIN_POLICY_MAX_SOURCES 256

struct admin_policy
{
  yajl_val tree;
  char *path; /* a copy of the file's name it came from, or NULL for the built-in defaults */
  char *allowed_sources[ADMIN_POLICY_MAX_SOURCES];
  size_t n_allowed;             /* 0: any source outside the deny list */
  bool mode_denied[MODE_COUNT]; /* so that a zeroed policy allows every mode */
  bool allow_host_root;
  /* Not from the file: the hook runs in a rootless engine's user namespace
   * (see rootless.h), where ids outside it show as the overflow ids; and
   * the ids that are host root's where the hook runs (0:0 unless set). */
  bool rootless;
  uint32_t overflow_uid, overflow_gid;
  uint32_t host_root_uid, host_root_gid;
  const char *default_mounts;
  bool default_mounts_by_option; /* the hook's --default-mounts, not the file's */
  const char *journal_dir;
  enum env_trust env_trust; /* zeroed: ENV_TRUST_IDMAP */
};

/* Load PATH.  A missing file gives the defaults, unless REQUIRED (the admin
 * named it with --policy).  Anything else than a regular file (a FIFO would
 * block every container), or a file or directory someone other than uid 0
 * or the caller (doctor, a rootless user's hook) may change, is refused. */
int admin_policy_load (const char *path, bool required, struct admin_policy *pol, hook_error_t **err);

/* Parse TEXT (for tests and fuzzing); WHERE names it in errors. */
int admin_policy_parse (const char *text, size_t len, const char *where, struct admin_policy *pol, hook_error_t **err);

void admin_policy_free (struct admin_policy *pol);
#define cleanup_admin_policy __attribute__ ((cleanup (admin_policy_free))) /* on a zeroed struct */

/* May a mount whose source is the host path REAL_PATH (canonical, as the
 * kernel resolved it) be served?  0 if so; else -1 with an error naming the rule. */
int admin_policy_check_source (const struct admin_policy *pol, const char *real_path, hook_error_t **err);

/* The same for a source that the host shows at each of the N PATHS (the
 * first the one to name): one of them under allowedSources is enough, but
 * none may be in the deny list. */
int admin_policy_check_source_paths (const struct admin_policy *pol, const char *const *paths, size_t n,
                                     hook_error_t **err);

/* May a container ask for MODE?  0 if so; else -1 naming the rule. */
int admin_policy_check_mode (const struct admin_policy *pol, enum mount_mode mode, hook_error_t **err);

#endif
