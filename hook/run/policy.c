#include "policy.h"

/* Is on-disk OWNER host root's, and so not to be given away?  Judged on
 * host ids: in a rootless engine's namespace on-disk 0 is the user, and
 * host root's files show as the overflow ids (see foreign_owner). */
static bool
host_root_owner (const struct mount_policy *pol, uint32_t uid, uint32_t gid)
{
  return !pol->allow_host_root && (uid == pol->host_root_uid || gid == pol->host_root_gid);
}

/* Rootless, and yet host root has ids in the namespace (an administrator
 * gave a user a subordinate range holding 0). */
static bool
rootless_maps_host_root (const struct mount_policy *pol)
{
  return pol->rootless && (pol->host_root_uid != (uint32_t) -1 || pol->host_root_gid != (uint32_t) -1);
}

/* Rootless: owned by an id outside the user's namespace. */
static bool
foreign_owner (const struct mount_policy *pol, uint32_t uid, uint32_t gid)
{
  return pol->rootless && (uid == pol->overflow_uid || gid == pol->overflow_gid);
}

static int
unmapped (hook_error_t **err, const char *kind, uint32_t id, const struct target_user *user, const struct idmap *map)
{
  char desc[128];
  idmap_describe (map, desc, sizeof desc);
  make_error (err, 0, "the target %s %u (from %s) is not mapped in the container's user namespace (%s)", kind, id,
              user->origin, desc);
  return error_hint (err, "run the container as a mapped user or set %s to one", ANNOTATION_USER);
}

int
policy_target_host_ids (const struct container_ids *ids, const struct target_user *user, uint32_t *host_uid,
                        uint32_t *host_gid, hook_error_t **err)
{
  if (!idmap_to_outside (&ids->uids, user->uid, host_uid))
    return unmapped (err, "uid", user->uid, user, &ids->uids);
  if (!idmap_to_outside (&ids->gids, user->gid, host_gid))
    return unmapped (err, "gid", user->gid, user, &ids->gids);
  return 0;
}

int
policy_chown_target (const struct mount_policy *pol, const struct container_ids *ids, const struct target_user *user,
                     const struct idmap *mount_uids, const struct idmap *mount_gids, uint32_t *uid, uint32_t *gid,
                     hook_error_t **err)
{
  uint32_t host_uid, host_gid;
  char desc[128];

  if (policy_target_host_ids (ids, user, &host_uid, &host_gid, err) < 0)
    return -1;
  *uid = host_uid;
  *gid = host_gid;
  if (mount_uids && !idmap_to_inside (mount_uids, host_uid, uid))
    {
      idmap_describe (mount_uids, desc, sizeof desc);
      make_error (err, 0,
                  "the runtime's idmapping of this mount (uids %s) shows no on-disk uid as host uid %u (the "
                  "target user %u)",
                  desc, host_uid, user->uid);
      return error_hint (err, "map the target user in the mount's uidMappings, or drop the engine's idmap option");
    }
  if (mount_gids && !idmap_to_inside (mount_gids, host_gid, gid))
    {
      idmap_describe (mount_gids, desc, sizeof desc);
      make_error (err, 0,
                  "the runtime's idmapping of this mount (gids %s) shows no on-disk gid as host gid %u (the "
                  "target group %u)",
                  desc, host_gid, user->gid);
      return error_hint (err, "map the target group in the mount's gidMappings, or drop the engine's idmap option");
    }
  if (host_root_owner (pol, *uid, *gid))
    {
      make_error (err, 0, "chown would give the tree to on-disk id %u:%u, host root's", *uid, *gid);
      return error_hint (err, "run the container in a user namespace or as another user, or let the administrator "
                              "pass --allow-host-root");
    }
  return 0;
}

/* Host root's top directory is not given to a container user. */
static enum policy_result
refuse_host_root (const struct mount_policy *pol, uint32_t owner_uid, uint32_t owner_gid, const char **why,
                  hook_error_t **err)
{
  if (pol->wildcard)
    {
      *why = "owned by host root";
      return POLICY_SKIP;
    }
  if (owner_uid == 0)
    make_error (err, 0, "its top directory is owned by host root (%u:%u)", owner_uid, owner_gid);
  else
    make_error (err, 0, "its top directory's group is host root's (%u:%u)", owner_uid, owner_gid);
  error_hint (err, "chown it to the host user and group who should own the data (chown UID:GID), or let the "
                   "administrator pass --allow-host-root");
  return POLICY_ERROR;
}

static enum policy_result
decide_idmap (const struct mount_policy *pol, uint32_t owner_uid, uint32_t owner_gid, const struct container_ids *ids,
              const struct target_user *user, struct idmap *uids, struct idmap *gids, const char **why,
              hook_error_t **err)
{
  uint32_t host_uid, host_gid;

  /* Giving a host-root-owned tree to a container user would let it rewrite
   * files root trusts; and writes would land on disk as root. */
  if (host_root_owner (pol, owner_uid, owner_gid))
    return refuse_host_root (pol, owner_uid, owner_gid, why, err);
  if (policy_target_host_ids (ids, user, &host_uid, &host_gid, err) < 0)
    return POLICY_ERROR;
  if (owner_uid == host_uid && owner_gid == host_gid)
    {
      *why = "already owned by the target user";
      return POLICY_SKIP;
    }
  uids->n = gids->n = 0;
  if (idmap_add (uids, owner_uid, host_uid, 1, "mount uid map", err) < 0
      || idmap_add (gids, owner_gid, host_gid, 1, "mount gid map", err) < 0)
    return POLICY_ERROR;
  return POLICY_MAP;
}

static enum policy_result
decide_nsmap (const struct mount_policy *pol, const struct container_ids *ids, struct idmap *uids, struct idmap *gids,
              const char **why, hook_error_t **err)
{
  if (pol->allow_host_root)
    {
      if (idmap_is_identity (&ids->uids) && idmap_is_identity (&ids->gids))
        {
          *why = "the container has no user namespace, so on-disk ids already equal container ids";
          return POLICY_SKIP;
        }
      *uids = ids->uids;
      *gids = ids->gids;
      return POLICY_MAP;
    }
  /* On-disk 0 stays out of the map: root's files show as nobody and
   * nothing lands on disk as root. */
  if (idmap_without_inside (&ids->uids, 0, uids, err) < 0 || idmap_without_inside (&ids->gids, 0, gids, err) < 0)
    return POLICY_ERROR;
  if (uids->n == 0 || gids->n == 0)
    {
      make_error (err, 0, "the container's mapping has no id other than 0");
      return POLICY_ERROR;
    }
  return POLICY_MAP;
}

/* Rootless: no idmapped mounts at all, and no right to a tree of others. */
static enum policy_result
decide_rootless (const struct mount_policy *pol, uint32_t owner_uid, uint32_t owner_gid,
                 const struct container_ids *ids, const struct target_user *user, const char **why, hook_error_t **err)
{
  uint32_t to_uid, to_gid;

  if (pol->mode == MODE_IDMAP || pol->mode == MODE_NSMAP)
    {
      if (pol->wildcard)
        {
          *why = "rootless: no idmapped mounts";
          return POLICY_SKIP;
        }
      make_error (err, 0,
                  "idmapped mounts need real root in the initial user namespace, and the hook runs as root "
                  "of a rootless engine's user namespace (rootless podman)");
      error_hint (err, "use mode chown (or podman's :U), or run the container with rootful podman");
      return POLICY_ERROR;
    }
  /* The walk tells host root's files apart only by their overflow ids. */
  if (rootless_maps_host_root (pol) && !pol->allow_host_root)
    {
      bool by_uid = pol->host_root_uid != (uint32_t) -1;
      make_error (err, 0,
                  "your user namespace maps host root (host %s 0 is %s %u there), so mode chown could give "
                  "host root's files away",
                  by_uid ? "uid" : "gid", by_uid ? "uid" : "gid", by_uid ? pol->host_root_uid : pol->host_root_gid);
      error_hint (err, "take 0 out of your /etc/subuid and /etc/subgid ranges, or let the administrator pass "
                       "--allow-host-root");
      return POLICY_ERROR;
    }
  if (policy_target_host_ids (ids, user, &to_uid, &to_gid, err) < 0)
    return POLICY_ERROR;
  /* A container user whose ids are the overflow ids (nobody) shows its own
   * tree just like one of ids outside the namespace: the kernel refuses to
   * change the latter, so going on can only give the user's files to it. */
  if (foreign_owner (pol, owner_uid, owner_gid) && !(owner_uid == to_uid && owner_gid == to_gid))
    {
      if (pol->wildcard)
        {
          *why = "owned by an id outside your user namespace";
          return POLICY_SKIP;
        }
      make_error (err, 0,
                  "its top directory shows as %u:%u: its owner is outside your user namespace (host root, "
                  "another user), or is your namespace's own %u:%u, which the chown cannot tell apart",
                  owner_uid, owner_gid, pol->overflow_uid, pol->overflow_gid);
      error_hint (err, "if it is yours, give it back to you first (podman unshare chown -R 0:0 DIR); if not, its "
                       "owner or root must chown it");
      return POLICY_ERROR;
    }
  return POLICY_CHOWN; /* auto too: chown is all there is */
}

enum policy_result
policy_decide (const struct mount_policy *pol, uint32_t owner_uid, uint32_t owner_gid, const struct container_ids *ids,
               const struct target_user *user, struct idmap *uids, struct idmap *gids, const char **why,
               hook_error_t **err)
{
  *why = NULL;
  if (pol->rootless)
    return decide_rootless (pol, owner_uid, owner_gid, ids, user, why, err);
  switch (pol->mode)
    {
    case MODE_IDMAP:
    case MODE_AUTO: /* idmap first; apply falls back to chown */
      return decide_idmap (pol, owner_uid, owner_gid, ids, user, uids, gids, why, err);
    case MODE_CHOWN:
    case MODE_CHOWN_RESTORE:
      if (host_root_owner (pol, owner_uid, owner_gid))
        return refuse_host_root (pol, owner_uid, owner_gid, why, err);
      return POLICY_CHOWN;
    case MODE_NSMAP:
      return decide_nsmap (pol, ids, uids, gids, why, err);
    case MODE_COUNT:
    default:
      make_error (err, 0, "unknown mode %d", (int) pol->mode);
      return POLICY_ERROR;
    }
}
