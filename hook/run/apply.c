#define _GNU_SOURCE
#include "apply.h"
#include "base/cleanup.h"
#include "base/log.h"
#include "chown_job.h"
#include "hook/system/container_proc.h"
#include "hook/system/mount_api.h"
#include "hook/system/userns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a refusal of JOB says it could not do. */
static const char *
refused_verb (const struct mount_job *job)
{
  enum mount_mode m = job->policy.mode;
  bool chowns = m == MODE_CHOWN || m == MODE_CHOWN_RESTORE || (m == MODE_AUTO && job->policy.rootless);
  return chowns ? "cannot chown" : "cannot idmap";
}

/* Open the runtime's mount, take a detached copy and read its on-disk owner. */
static int
prepare_job (struct mount_job *job, const struct container_ids *ids, const struct target_user *user, hook_error_t **err)
{
  bool idmapped = (job->mount && job->mount->idmapped) || mount_option_present (job->mi->options, "idmapped");
  const char *why = NULL;
  struct stat st;

  job->runtime_idmapped = idmapped;
  job->target_fd = mount_open_checked (job->host_path, job->mi->id, err);
  if (job->target_fd < 0)
    return -1;
  /* A copy without the runtime's idmapping shows the ids on disk; the new
   * mapping replaces the runtime's instead of stacking on it. */
  job->tree_fd = mount_clone (job->target_fd, idmapped, err);
  if (job->tree_fd < 0)
    return error_prefix (err, "cannot idmap '%s'", job_source (job));
  if (fstat (job->tree_fd, &st) < 0)
    return make_error (err, errno, "stat '%s'", job_source (job));
  if (job->policy.wildcard && !S_ISDIR (st.st_mode))
    {
      job->skip = "not a directory";
      return 0;
    }
  job->owner_uid = st.st_uid;
  job->owner_gid = st.st_gid;
  switch (policy_decide (&job->policy, st.st_uid, st.st_gid, ids, user, &job->uids, &job->gids, &why, err))
    {
    case POLICY_ERROR:
      return error_prefix (err, "%s '%s'", refused_verb (job), job_source (job));
    case POLICY_SKIP:
      job->skip = why;
      return 0;
    case POLICY_MAP:
      return 0;
    case POLICY_CHOWN:
      job->chown = true;
      return 0;
    default:
      return make_error (err, 0, "%s: no decision of the policy", job_source (job));
    }
}

static bool
same_map (const struct idmap *a, const struct idmap *b)
{
  return a->n == b->n && memcmp (a->ext, b->ext, a->n * sizeof a->ext[0]) == 0;
}

/* A namespace with this mapping, an earlier mount's if one has it: one fork less. */
static int
mapping_userns (int proc_fd, const struct plan *plan, const struct idmap *uids, const struct idmap *gids,
                hook_error_t **err)
{
  for (size_t i = 0; i < plan->n; i++)
    {
      const struct mount_job *j = &plan->jobs[i];
      if (j->userns_fd >= 0 && same_map (&j->uids, uids) && same_map (&j->gids, gids))
        return fcntl (j->userns_fd, F_DUPFD_CLOEXEC, 3);
      for (size_t k = 0; k < j->n_subs; k++)
        if (j->subs[k].userns_fd >= 0 && same_map (&j->subs[k].uids, uids) && same_map (&j->subs[k].gids, gids))
          return fcntl (j->subs[k].userns_fd, F_DUPFD_CLOEXEC, 3);
    }
  return userns_create (proc_fd, uids, gids, err);
}

/* When the mapping shows files as owned by host uid or gid 0 (a container
 * without a user namespace running as root), a setuid file that the owner of
 * the source planted would run as real root: mount such copies nosuid. */
static bool
maps_to_host_root (const struct idmap *uids, const struct idmap *gids)
{
  uint32_t unused;
  return idmap_to_inside (uids, 0, &unused) || idmap_to_inside (gids, 0, &unused);
}

/* Both are the root of a mount of the same directory. */
static bool
same_mount_root (const struct statx *a, const struct statx *b)
{
  return (a->stx_attributes & b->stx_attributes & STATX_ATTR_MOUNT_ROOT) && a->stx_dev_major == b->stx_dev_major
         && a->stx_dev_minor == b->stx_dev_minor && a->stx_ino == b->stx_ino;
}

static int
refused_below (const struct submount *sub, hook_error_t **err)
{
  return error_prefix (err, "refused: '%s', mounted below it from '%s', would be idmapped with it", sub->dest,
                       sub->source);
}

/* A mount below JOB's: the same rules as for JOB's own, on its own owner.
 * The copy of it in JOB's copy cannot be idmapped (the kernel idmaps only
 * the top of a detached tree), so a mapped one gets a copy of its own,
 * which goes on top of that one once JOB's copy is attached. */
static int
idmap_submount (int proc_fd, const struct plan *plan, const struct mount_job *job, struct submount *sub,
                const struct container_ids *ids, const struct target_user *user, hook_error_t **err)
{
  struct statx stx;
  const char *why = NULL;

  /* Reached from the job's mount, or covered by another mount there: then
   * the job's copy does not show it either. */
  sub->target_fd = mount_open_below (job->target_fd, sub->rel, &stx, err);
  if (sub->target_fd < 0 && error_errno (*err) != ENOENT && error_errno (*err) != ENOTDIR)
    {
      if (!job->policy.wildcard)
        return error_prefix (err, "%s, mounted below it", sub->dest);
      error_free (err);
      sub->skip = "cannot be opened from the requested mount";
      return 0;
    }
  if (sub->target_fd < 0 || stx.stx_mnt_id != (uint64_t) sub->mi->id)
    {
      error_free (err);
      sub->skip = "covered by another mount";
      return 0;
    }
  if (sub->refusal)
    {
      *err = steal_pointer (&sub->refusal);
      return refused_below (sub, err);
    }
  if (mount_option_present (sub->mi->options, "idmapped"))
    {
      sub->skip = "the runtime idmapped it";
      /* The job's copy lost that mapping with its own: keep the runtime's. */
      if (job->runtime_idmapped && (sub->tree_fd = mount_clone (sub->target_fd, false, err)) < 0)
        return error_prefix (err, "cannot copy '%s', mounted below it", sub->dest);
      return 0;
    }
  sub->owner_uid = stx.stx_uid;
  sub->owner_gid = stx.stx_gid;
  switch (policy_decide (&job->policy, stx.stx_uid, stx.stx_gid, ids, user, &sub->uids, &sub->gids, &why, err))
    {
    case POLICY_SKIP:
      sub->skip = why;
      return 0;
    case POLICY_MAP:
      break;
    case POLICY_ERROR:
      return refused_below (sub, err);
    case POLICY_CHOWN:
    default:
      return make_error (err, 0, "%s: no idmap decision for a mount below it", sub->dest);
    }
  sub->userns_fd = mapping_userns (proc_fd, plan, &sub->uids, &sub->gids, err);
  if (sub->userns_fd < 0)
    return error_prefix (err, "cannot idmap '%s', mounted below it from '%s'", sub->dest, sub->source);
  sub->tree_fd = mount_clone (sub->target_fd, false, err);
  if (sub->tree_fd < 0)
    return error_prefix (err, "cannot idmap '%s', mounted below it from '%s'", sub->dest, sub->source);
  if (mount_set_idmap (sub->tree_fd, sub->userns_fd, maps_to_host_root (&sub->uids, &sub->gids), err) == 0)
    return 0;
  if (error_errno (*err) != EINVAL && error_errno (*err) != EPERM)
    return error_prefix (err, "cannot idmap '%s', mounted below it from '%s'", sub->dest, sub->source);
  error_free (err);
  close (sub->tree_fd);
  sub->tree_fd = -1;
  if (job->policy.wildcard)
    {
      sub->skip = "its filesystem does not support idmapped mounts";
      return 0;
    }
  make_error (err, 0, "cannot idmap '%s', mounted below it from '%s' (%s): filesystem does not support idmapped mounts",
              sub->dest, sub->source, sub->mi->fstype);
  return error_hint (err, "ask for %s=chown by its own path, or mount it elsewhere", sub->dest);
}

static int
idmap_job (int proc_fd, const struct plan *plan, struct mount_job *job, const struct container_ids *ids,
           const struct target_user *user, hook_error_t **err)
{
  job->userns_fd = mapping_userns (proc_fd, plan, &job->uids, &job->gids, err);
  if (job->userns_fd < 0)
    return error_prefix (err, "cannot idmap '%s'", job_source (job));
  if (mount_set_idmap (job->tree_fd, job->userns_fd, maps_to_host_root (&job->uids, &job->gids), err) == 0)
    {
      for (size_t k = 0; k < job->n_subs; k++)
        if (job->subs[k].skip == NULL && idmap_submount (proc_fd, plan, job, &job->subs[k], ids, user, err) < 0)
          return -1;
      return 0;
    }
  if (error_errno (*err) != EINVAL && error_errno (*err) != EPERM)
    return error_prefix (err, "cannot idmap '%s' (%s)", job_source (job), job->mi->fstype);
  /* The kernel says EINVAL (EPERM for some) when the filesystem does not
   * support idmapped mounts. */
  error_free (err);
  if (job->policy.mode == MODE_AUTO)
    {
      log_verbose ("%s: %s (%s) cannot be idmapped: mode auto changes owners instead", job->dest, job_source (job),
                   job->mi->fstype);
      job->chown = true;
      return 0;
    }
  if (job->policy.wildcard)
    {
      job->skip = "its filesystem does not support idmapped mounts";
      return 0;
    }
  make_error (err, 0, "cannot idmap '%s' (%s): filesystem does not support idmapped mounts", job_source (job),
              job->mi->fstype);
  return error_hint (err, "use mode chown");
}

/* One verbose line for a mapped mount: DEST, SOURCE (WHERE says more). */
static void
log_mapped (const char *dest, const char *source, const char *below, const char *fstype, enum mount_mode mode,
            uint32_t owner_uid, uint32_t owner_gid, const struct idmap *uids, const struct idmap *gids,
            const struct target_user *user)
{
  char u[128], g[128];
  const char *where = below ? ", mounted below " : "";

  below = below ? below : "";
  idmap_describe (uids, u, sizeof u);
  idmap_describe (gids, g, sizeof g);
  if (mode == MODE_IDMAP)
    log_verbose ("%s: idmapped %s%s%s (%s): on-disk owner %u:%u shows as container user %u:%u (uid map %s, gid map "
                 "%s%s)",
                 dest, source, where, below, fstype, owner_uid, owner_gid, user->uid, user->gid, u, g,
                 maps_to_host_root (uids, gids) ? ", nosuid" : "");
  else
    log_verbose ("%s: idmapped %s%s%s (%s) with the container's own mapping (uid map %s, gid map %s)", dest, source,
                 where, below, fstype, u, g);
}

static void
log_job (const struct mount_job *job, const struct target_user *user)
{
  if (job->skip)
    {
      log_verbose ("%s: left as it is (%s): %s", job->dest, job_source (job), job->skip);
      return;
    }
  if (job->chown)
    return; /* said by chown_job_run */
  log_mapped (job->dest, job_source (job), NULL, job->mi->fstype, job->policy.mode, job->owner_uid, job->owner_gid,
              &job->uids, &job->gids, user);
  for (size_t k = 0; k < job->n_subs; k++)
    {
      const struct submount *sub = &job->subs[k];
      if (sub->skip)
        log_verbose ("%s: left as it is, mounted below %s (%s): %s", sub->dest, job->dest, sub->source, sub->skip);
      else
        log_mapped (sub->dest, sub->source, job->dest, sub->mi->fstype, job->policy.mode, sub->owner_uid,
                    sub->owner_gid, &sub->uids, &sub->gids, user);
    }
}

/* After a failure (in *ERR): undo the chowns of the first N jobs.  Returns -1. */
static int
undo_chowns (struct plan *plan, size_t n, const struct chown_options *co, hook_error_t **err)
{
  for (size_t k = 0; k < n; k++)
    {
      hook_error_t *uerr = NULL;
      if (plan->jobs[k].skip || !plan->jobs[k].chown || plan->jobs[k].journal_fd < 0)
        continue;
      if (chown_job_undo (&plan->jobs[k], co, &uerr) < 0)
        {
          cleanup_free char *why = error_string (uerr);
          error_hint (err, "and %s: %s", plan->jobs[k].dest, why);
          error_free (&uerr);
        }
      else
        error_hint (err, "the chown of '%s' was undone", plan->jobs[k].dest);
    }
  return -1;
}

/* Change owners after every mount is prepared, so that a mount that fails
 * its preparation leaves no tree changed; a failed chown undoes the others. */
static int
chown_jobs (struct plan *plan, const struct chown_options *co, const struct container_ids *ids,
            const struct target_user *user, hook_error_t **err)
{
  for (size_t i = 0; i < plan->n; i++)
    {
      struct mount_job *job = &plan->jobs[i];
      if (job->skip || !job->chown)
        continue;
      if (co == NULL || co->journal_dir_fd < 0)
        return make_error (err, 0, "%s: no journal directory for mode chown", job->dest);
      if (chown_job_run (job, co, ids, user, err) == 0)
        continue;
      error_prefix (err, "%s", job->dest);
      return undo_chowns (plan, i, co, err);
    }
  return 0;
}

/* The mount that REL below TREE_FD leads to, if it is a copy of the
 * runtime's mount TARGET_FD (the same directory, as a mount's root). */
static int
open_copy_of (int tree_fd, const char *rel, int target_fd, hook_error_t **err)
{
  struct statx want, got;
  int fd;

  if (statx (target_fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &want) < 0)
    return make_error (err, errno, "statx");
  fd = mount_open_below (tree_fd, rel, &got, err);
  if (fd >= 0 && !same_mount_root (&want, &got))
    {
      close (fd);
      return make_error (err, 0, "'%s' is no longer the mount the runtime made (it moved while the hook ran)", rel);
    }
  return fd;
}

/* The copies of the mounts below JOB's that have one, parents first: each
 * on top of the copy of it that JOB's copy carries. */
static int
attach_submounts (struct mount_job *job, hook_error_t **err)
{
  for (size_t len = 1, left = job->n_subs; left > 0; len++)
    for (size_t k = 0; k < job->n_subs; k++)
      {
        struct submount *sub = &job->subs[k];
        cleanup_close int fd = -1;
        if (strlen (sub->rel) != len)
          continue;
        left--;
        if (sub->tree_fd < 0)
          continue;
        fd = open_copy_of (job->tree_fd, sub->rel, sub->target_fd, err);
        if (fd < 0 || mount_attach (sub->tree_fd, fd, err) < 0)
          return error_prefix (err, "%s, mounted below it", sub->dest);
      }
  return 0;
}

/* Attach JOB's copy on the runtime's mount; or, when the copy of a job
 * above it is attached, on that copy's copy of the runtime's mount, which
 * now covers the runtime's. */
static int
attach_job (struct mount_job *job, hook_error_t **err)
{
  const struct mount_job *o = job->outer;
  cleanup_close int fd = -1;

  while (o && !o->attached)
    o = o->outer;
  if (o)
    {
      const char *rel = job->host_path + strlen (o->host_path);
      rel += rel[0] == '/';
      fd = open_copy_of (o->tree_fd, rel, job->target_fd, err);
      if (fd < 0)
        return error_prefix (err, "below the copy of '%s'", o->dest);
    }
  if (mount_attach (job->tree_fd, fd >= 0 ? fd : job->target_fd, err) < 0)
    return -1;
  job->attached = true;
  return attach_submounts (job, err);
}

/* Outer mounts first: a job's copy goes on top of the copy of the job above it. */
static int
by_depth (const void *a, const void *b)
{
  size_t x = strlen ((*(struct mount_job *const *) a)->host_path);
  size_t y = strlen ((*(struct mount_job *const *) b)->host_path);
  return (x > y) - (x < y);
}

int
apply_plan (int proc_fd, const struct container_proc *cp, struct plan *plan, const struct container_ids *ids,
            const struct target_user *user, const struct chown_options *co, hook_error_t **err)
{
  cleanup_free struct mount_job **order = NULL;

  if (container_proc_enter_mount_namespace (cp, err) < 0)
    return -1;

  for (size_t i = 0; i < plan->n; i++)
    {
      struct mount_job *job = &plan->jobs[i];
      if (job->skip == NULL && prepare_job (job, ids, user, err) < 0)
        return error_prefix (err, "%s", job->dest);
      if (job->skip == NULL && !job->chown && idmap_job (proc_fd, plan, job, ids, user, err) < 0)
        return error_prefix (err, "%s", job->dest);
    }
  if (chown_jobs (plan, co, ids, user, err) < 0)
    return -1;

  /* Every mount is ready: attach them all.  A failure here fails the hook,
   * and the runtime then refuses to start the container. */
  order = calloc (plan->n + 1, sizeof *order);
  if (order == NULL)
    {
      make_error (err, ENOMEM, "plan");
      return undo_chowns (plan, plan->n, co, err);
    }
  for (size_t i = 0; i < plan->n; i++)
    order[i] = &plan->jobs[i];
  qsort (order, plan->n, sizeof *order, by_depth);
  for (size_t i = 0; i < plan->n; i++)
    {
      struct mount_job *job = order[i];
      if (job->skip == NULL && !job->chown && attach_job (job, err) < 0)
        {
          error_prefix (err, "%s: cannot attach the idmapped copy of '%s'", job->dest, job_source (job));
          return undo_chowns (plan, plan->n, co, err);
        }
    }
  for (size_t i = 0; i < plan->n; i++)
    log_job (&plan->jobs[i], user);
  return 0;
}
