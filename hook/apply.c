#define _GNU_SOURCE
#include "apply.h"
#include "chown_job.h"
#include "cleanup.h"
#include "container_proc.h"
#include "log.h"
#include "mount_api.h"
#include "userns.h"

#include <errno.h>
#include <fcntl.h>
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
prepare_job (struct mount_job *job, const struct container_ids *ids, const struct target_user *user,
             hook_error_t **err)
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
    return error_prefix (err, "cannot idmap %s", job_source (job));
  if (fstat (job->tree_fd, &st) < 0)
    return make_error (err, errno, "stat %s", job_source (job));
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
      return error_prefix (err, "%s %s", refused_verb (job), job_source (job));
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

/* Reuse the namespace of an earlier job with the same mapping: one fork less. */
static int
shared_userns (const struct plan *plan, const struct mount_job *job)
{
  for (const struct mount_job *j = plan->jobs; j < job; j++)
    if (j->userns_fd >= 0 && j->uids.n == job->uids.n && j->gids.n == job->gids.n
        && memcmp (j->uids.ext, job->uids.ext, job->uids.n * sizeof job->uids.ext[0]) == 0
        && memcmp (j->gids.ext, job->gids.ext, job->gids.n * sizeof job->gids.ext[0]) == 0)
      return fcntl (j->userns_fd, F_DUPFD_CLOEXEC, 3);
  return -1;
}

/* When the mapping shows files as owned by host uid or gid 0 (a container
 * without a user namespace running as root), a setuid file that the owner of
 * the source planted would run as real root: mount such copies nosuid. */
static bool
maps_to_host_root (const struct mount_job *job)
{
  uint32_t unused;
  return idmap_to_inside (&job->uids, 0, &unused) || idmap_to_inside (&job->gids, 0, &unused);
}

static int
idmap_job (int proc_fd, const struct plan *plan, struct mount_job *job, hook_error_t **err)
{
  job->userns_fd = shared_userns (plan, job);
  if (job->userns_fd < 0)
    job->userns_fd = userns_create (proc_fd, &job->uids, &job->gids, err);
  if (job->userns_fd < 0)
    return error_prefix (err, "cannot idmap %s", job_source (job));
  if (mount_set_idmap (job->tree_fd, job->userns_fd, maps_to_host_root (job), err) == 0)
    return 0;
  if ((*err)->errnum != EINVAL && (*err)->errnum != EPERM)
    return error_prefix (err, "cannot idmap %s (%s)", job_source (job), job->mi->fstype);
  /* The kernel says EINVAL (EPERM for some) when the filesystem, or one
   * mounted below the source, does not support idmapped mounts. */
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
  make_error (err, 0, "cannot idmap %s (%s): filesystem does not support idmapped mounts", job_source (job),
              job->mi->fstype);
  return error_hint (err, "use mode chown");
}

static void
log_job (const struct mount_job *job, const struct target_user *user)
{
  char u[128], g[128];

  if (job->skip)
    {
      log_verbose ("%s: left as it is (%s): %s", job->dest, job_source (job), job->skip);
      return;
    }
  if (job->chown)
    return; /* said by chown_job_run */
  idmap_describe (&job->uids, u, sizeof u);
  idmap_describe (&job->gids, g, sizeof g);
  if (job->policy.mode == MODE_IDMAP)
    log_verbose ("%s: idmapped %s (%s): on-disk owner %u:%u shows as container user %u:%u (uid map %s, gid map "
                 "%s%s)",
                 job->dest, job_source (job), job->mi->fstype, job->owner_uid, job->owner_gid, user->uid, user->gid,
                 u, g, maps_to_host_root (job) ? ", nosuid" : "");
  else
    log_verbose ("%s: idmapped %s (%s) with the container's own mapping (uid map %s, gid map %s)", job->dest,
                 job_source (job), job->mi->fstype, u, g);
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
          error_hint (err, "and %s: %s", plan->jobs[k].dest, uerr->msg);
          error_free (&uerr);
        }
      else
        error_hint (err, "the chown of %s was undone", plan->jobs[k].dest);
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

int
apply_plan (int proc_fd, const struct container_proc *cp, struct plan *plan, const struct container_ids *ids,
            const struct target_user *user, const struct chown_options *co, hook_error_t **err)
{
  if (container_proc_enter_mount_namespace (cp, err) < 0)
    return -1;

  for (size_t i = 0; i < plan->n; i++)
    {
      struct mount_job *job = &plan->jobs[i];
      if (job->skip == NULL && prepare_job (job, ids, user, err) < 0)
        return error_prefix (err, "%s", job->dest);
      if (job->skip == NULL && !job->chown && idmap_job (proc_fd, plan, job, err) < 0)
        return error_prefix (err, "%s", job->dest);
    }
  if (chown_jobs (plan, co, ids, user, err) < 0)
    return -1;

  /* Every mount is ready: attach them all.  A failure here fails the hook,
   * and the runtime then refuses to start the container. */
  for (size_t i = 0; i < plan->n; i++)
    {
      struct mount_job *job = &plan->jobs[i];
      if (job->skip == NULL && !job->chown && mount_attach (job->tree_fd, job->target_fd, err) < 0)
        {
          error_prefix (err, "%s: cannot attach the idmapped copy of %s", job->dest, job_source (job));
          return undo_chowns (plan, plan->n, co, err);
        }
      log_job (job, user);
    }
  return 0;
}
