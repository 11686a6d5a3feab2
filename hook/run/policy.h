/* Which id mapping a mount gets, and the rules no container can override
 * (host root stays host root). Pure logic: no system calls. */
#ifndef HOOK_POLICY_H
#define HOOK_POLICY_H

#include "base/error.h"
#include "oci/idmap.h"
#include "request.h"

#include <stdbool.h>
#include <stdint.h>

/* The container's user namespace, inside = container ids, outside = host ids. */
struct container_ids
{
  struct idmap uids, gids;
};

struct mount_policy
{
  enum mount_mode mode;
  bool wildcard;        /* asked for by "*": what can't be served is skipped, not an error */
  bool allow_host_root; /* the administrator's --allow-host-root */
  /* In a rootless engine's user namespace: no idmapped mounts, and ids
   * outside the namespace show as OVERFLOW_UID/GID. */
  bool rootless;
  uint32_t overflow_uid, overflow_gid;
  /* The on-disk ids, as the hook sees them, that are host root's: 0:0 in
   * the initial namespace (the zero default); in a rootless one normally
   * none ((uint32_t) -1), its 0 being the user. */
  uint32_t host_root_uid, host_root_gid;
};

enum policy_result
{
  POLICY_ERROR = -1,
  POLICY_SKIP = 0,  /* nothing to do, or not servable under "*"; see *why */
  POLICY_MAP = 1,   /* idmap the mount with *uids, *gids (on-disk id -> host id) */
  POLICY_CHOWN = 2, /* change the owner of the tree: see policy_chown_target */
};

/* Decide for a mount whose top directory is owned on disk by OWNER_UID:OWNER_GID. */
enum policy_result policy_decide (const struct mount_policy *pol, uint32_t owner_uid, uint32_t owner_gid,
                                  const struct container_ids *ids, const struct target_user *user, struct idmap *uids,
                                  struct idmap *gids, const char **why, hook_error_t **err);

/* Mode chown: the on-disk ids that the tree gets, so that the container
 * sees it as owned by USER.  That is USER's host ids under IDS; when the
 * runtime idmapped the mount with MOUNT_UIDS/MOUNT_GIDS (on-disk -> shown
 * ids; NULL when it did not), the on-disk ids that mapping shows as those
 * host ids.  Giving the tree to host uid or gid 0 needs ALLOW_HOST_ROOT. */
int policy_chown_target (const struct mount_policy *pol, const struct container_ids *ids,
                         const struct target_user *user, const struct idmap *mount_uids, const struct idmap *mount_gids,
                         uint32_t *uid, uint32_t *gid, hook_error_t **err);

/* Host ids of USER under IDS, or an error that says which id is unmapped. */
int policy_target_host_ids (const struct container_ids *ids, const struct target_user *user, uint32_t *host_uid,
                            uint32_t *host_gid, hook_error_t **err);

#endif
