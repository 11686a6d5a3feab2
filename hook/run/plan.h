/* From what the container asked to the mounts to act on: each requested
 * destination matched to a bind mount of config.json and to the mount the
 * runtime really made (mountinfo).  No system calls. */
#ifndef HOOK_PLAN_H
#define HOOK_PLAN_H

#include "admin_policy.h"
#include "base/error.h"
#include "hook/system/mountinfo.h"
#include "oci/config.h"
#include "policy.h"
#include "request.h"

#include <stdint.h>

/* A mount below a job's mount, which the job's copy carries (open_tree
 * copies the whole tree): judged and idmapped on its own, as a request for
 * it with the job's mode would be, or left as the runtime made it. */
struct submount
{
  const struct mountinfo_entry *mi; /* the runtime's mount */
  char *dest;                       /* its container path */
  const char *rel;                  /* its path below the job's mount (in dest) */
  char *source;                     /* where its source is on the host, or its root there */
  hook_error_t *refusal;            /* why the administrator's policy refuses it, or NULL */

  /* Filled in while the job is carried out: the runtime's mount, and the
   * copy that goes on top of the job's copy of it. */
  int target_fd, tree_fd, userns_fd;
  const char *skip; /* why it is left as the runtime made it, or NULL */
  uint32_t owner_uid, owner_gid;
  struct idmap uids, gids;
};

struct mount_job
{
  char *dest;                    /* normalised container path */
  const struct oci_mount *mount; /* its entry in config.json */
  struct mount_policy policy;
  char *host_path;                  /* ROOTFS/DEST as mountinfo shows it */
  const struct mountinfo_entry *mi; /* the runtime's mount there */

  /* Filled in while the job is carried out. */
  int target_fd, tree_fd, userns_fd;
  uint32_t owner_uid, owner_gid; /* on-disk owner of the mount's top */
  struct idmap uids, gids;
  const char *skip;      /* why nothing is done for it, or NULL */
  bool runtime_idmapped; /* the runtime's mount is idmapped */
  bool chown;            /* change owners on disk (mode chown, or auto's fallback) */
  char *journal_path;    /* the chown's journal, once it exists */
  int journal_fd;        /* ... and an fd of it, for an undo */

  /* The mounts below this one that no other job's mount holds; and the job
   * of the nearest mount above this one, whose copy may cover it. */
  struct submount *subs;
  size_t n_subs;
  struct mount_job *outer;
  bool attached; /* its copy is attached */
};

struct plan
{
  struct mount_job *jobs;
  size_t n;
};

/* ROOTFS is the canonical host path of the container's root filesystem, MI
 * the container's mount table and HOST_MI ours (where each source really is,
 * for POL's rules: a job's mount and every mount below it). */
int plan_build (const struct request *req, const struct oci_config *cfg, const char *rootfs, const struct mountinfo *mi,
                const struct mountinfo *host_mi, const struct admin_policy *pol, struct plan *plan, hook_error_t **err);

void plan_free (struct plan *plan);
#define cleanup_plan __attribute__ ((cleanup (plan_free))) /* on a zeroed struct */

/* The source path to name in messages. */
const char *job_source (const struct mount_job *job);

#endif
