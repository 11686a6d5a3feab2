#define _GNU_SOURCE
#include "chown_job.h"
#include "base/cleanup.h"
#include "base/log.h"
#include "base/str.h"
#include "hook/chown/chown_walk.h"
#include "hook/chown/journal.h"
#include "hook/chown/restore.h"
#include "hook/system/mount_api.h"
#include "hook/system/rootless.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

/* The on-disk ids the tree gets; for a mount the runtime idmapped, through
 * the inverse of the mount's mapping. */
static int
target_ids (const struct mount_job *job, const struct container_ids *ids, const struct target_user *user, uint32_t *uid,
            uint32_t *gid, hook_error_t **err)
{
  const struct idmap *mu = NULL, *mg = NULL;

  if (job->runtime_idmapped && !oci_mount_runtime_maps (job->mount, &ids->uids, &ids->gids, &mu, &mg))
    {
      make_error (err, 0, "the runtime idmapped this mount and config.json does not give its mapping");
      return error_hint (err, "give the mount uidMappings and gidMappings, or drop the engine's idmap option");
    }
  if (policy_chown_target (&job->policy, ids, user, mu, mg, uid, gid, err) < 0)
    return -1;
  return job->policy.rootless ? rootless_check_ids (*uid, *gid, err) : 0;
}

static int
fill_header (const struct mount_job *job, const struct chown_options *co, const struct container_ids *ids, uint32_t uid,
             uint32_t gid, struct journal_header *h, hook_error_t **err)
{
  struct journal_handle fh;
  struct statx stx;
  struct timespec now;

  memset (h, 0, sizeof *h);
  if (snprintf (h->container, sizeof h->container, "%s", co->container) >= (int) sizeof h->container
      || snprintf (h->dest, sizeof h->dest, "%s", job->dest) >= (int) sizeof h->dest
      || snprintf (h->source, sizeof h->source, "%s", job_source (job)) >= (int) sizeof h->source)
    return make_error (err, 0, "the container id, destination or source is too long for the journal");
  if (statx (job->tree_fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) < 0)
    return make_error (err, errno, "statx");
  h->major = stx.stx_dev_major;
  h->minor = stx.stx_dev_minor;
  if (journal_handle_of (job->tree_fd, &fh) < 0)
    {
      make_error (err, errno, "name_to_handle_at");
      return error_hint (err, "the journal names files by handle and this filesystem (%s) has none; use mode idmap",
                         job->mi->fstype);
    }
  h->root_handle_type = fh.fh.handle_type;
  h->root_handle_bytes = fh.fh.handle_bytes;
  memcpy (h->root_handle, fh.fh.f_handle, fh.fh.handle_bytes);
  h->target_uid = uid;
  h->target_gid = gid;
  h->source_uid = job->owner_uid;
  h->source_gid = job->owner_gid;
  /* The clock the kernel stamps a new file's birth time with: the coarse
   * one.  A fine-grained reading can be ahead of it by a tick, so that a
   * file the container makes a few ms later is "born" before the chown
   * started and is not given back at restore. */
  clock_gettime (CLOCK_REALTIME_COARSE, &now);
  h->started = (int64_t) now.tv_sec * 1000000000 + now.tv_nsec;
  h->restore_at_poststop = job->policy.mode == MODE_CHOWN_RESTORE;
  idmap_describe (&ids->uids, h->mapping, sizeof h->mapping);
  if (rootless_ids (h->hook_ids, sizeof h->hook_ids, err) < 0)
    return -1;
  return 0;
}

/* What a failed walk means for the user. */
static void
hint_for (hook_error_t **err, bool rootless)
{
  switch (error_errno (*err))
    {
    case EROFS:
      error_hint (err, "the source is read-only; mount it read-write or use mode idmap");
      break;
    case EPERM:
    case EACCES:
      /* Rootless has no idmap to fall back on. */
      if (rootless)
        error_hint (err, "your user namespace may not change it (immutable or append-only? see lsattr; or a "
                         "filesystem that refuses chown, as NFS does); fix that file on the host");
      else
        error_hint (err, "root may not change owners there (NFS with root_squash?); chown on the server or use "
                         "mode idmap");
      break;
    case EMFILE:
    case ENFILE:
      error_hint (err, "raise the hook's open files limit (ulimit -n)");
      break;
    default:
      break;
    }
}

static void
undo_failed_walk (struct mount_job *job, const struct chown_options *co, const char *name, struct journal *j,
                  hook_error_t **err)
{
  hook_error_t *uerr = NULL;
  cleanup_restore_report struct restore_report rep = { 0 };

  if (restore_journal (j->fd, j->path, job->tree_fd, false, &rep, &uerr) < 0)
    {
      cleanup_free char *why = error_string (uerr);
      error_hint (err, "undo the changes made so far with: oci-idmap-hook restore --journal '%s' (%s)", j->path, why);
      error_free (&uerr);
      return;
    }
  error_hint (err, "nothing was left changed: the %llu changes made were undone from the journal",
              (unsigned long long) rep.restored);
  if (!j->reopened)
    {
      unlinkat (co->journal_dir_fd, name, 0);
      free (job->journal_path);
      job->journal_path = NULL;
    }
}

int
chown_job_run (struct mount_job *job, const struct chown_options *co, const struct container_ids *ids,
               const struct target_user *user, hook_error_t **err)
{
  struct journal_header h;
  cleanup_journal struct journal j = JOURNAL_NONE;
  struct chown_spec spec = { .allow_host_root = job->policy.allow_host_root,
                             .host_root_uid = job->policy.host_root_uid,
                             .host_root_gid = job->policy.host_root_gid,
                             .rootless = job->policy.rootless,
                             .overflow_uid = job->policy.overflow_uid,
                             .overflow_gid = job->policy.overflow_gid,
                             .hard_links = co->hard_links,
                             .threads = co->threads };
  cleanup_chown_report struct chown_report rep = { 0 };
  struct statvfs vfs;
  cleanup_free char *name = NULL, *left = NULL;
  int ret;

  if (target_ids (job, ids, user, &spec.to_uid, &spec.to_gid, err) < 0)
    return error_prefix (err, "cannot chown '%s'", job_source (job));
  if (fstatvfs (job->tree_fd, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
    {
      make_error (err, EROFS, "'%s'", job_source (job));
      return error_hint (err, "the mount is read-only, nothing was changed; mount it read-write or use mode idmap");
    }
  if (mount_set_walk_attrs (job->tree_fd, err) < 0 || fill_header (job, co, ids, spec.to_uid, spec.to_gid, &h, err) < 0)
    return error_prefix (err, "%s", job_source (job));
  name = journal_file_name (co->container, job->dest);
  if (name == NULL)
    return make_error (err, ENOMEM, "journal");
  if (journal_create (co->journal_dir_fd, co->journal_dir, name, &h, &j, err) < 0)
    return -1;
  if (str_dup (&job->journal_path, j.path, err) < 0)
    {
      if (!j.reopened)
        unlinkat (co->journal_dir_fd, name, 0);
      return error_prefix (err, "%s", job_source (job));
    }
  ret = chown_walk (job->tree_fd, &spec, &j, &rep, err);
  /* Out of memory for the report: undone like any failed walk. */
  if (ret == 0 && (left = chown_report_leftovers (&rep)) == NULL)
    ret = make_error (err, ENOMEM, "report the chown");
  if (ret < 0)
    {
      error_prefix (err, "%s", job_source (job));
      hint_for (err, job->policy.rootless);
      undo_failed_walk (job, co, name, &j, err);
    }
  else
    {
      char fewer[64] = "";
      if (left && left[0])
        log_linef ("%s: chown %s: %s", job->dest, job_source (job), left);
      if (rep.walkers.nofile)
        snprintf (fewer, sizeof fewer, "; no more for the open-file limit of %lu", rep.walkers.nofile);
      log_verbose ("%s: chown %s (%s, mode %s): %llu of %llu entries given to on-disk %u:%u by %u walkers (%s%s); "
                   "journal %s",
                   job->dest, job_source (job), job->mi->fstype, mode_name (job->policy.mode),
                   (unsigned long long) rep.changed, (unsigned long long) rep.entries + 1, spec.to_uid, spec.to_gid,
                   rep.walkers.n, rep.walkers.why, fewer, j.path);
      /* Nothing changed and nothing to do at poststop: no journal to keep. */
      if (j.records == 0 && !j.reopened && !h.restore_at_poststop && unlinkat (co->journal_dir_fd, name, 0) == 0)
        {
          free (job->journal_path);
          job->journal_path = NULL;
        }
      else
        job->journal_fd = fcntl (j.fd, F_DUPFD_CLOEXEC, 3);
    }
  return ret;
}

int
chown_job_undo (struct mount_job *job, const struct chown_options *co, hook_error_t **err)
{
  cleanup_restore_report struct restore_report rep = { 0 };

  if (job->journal_fd < 0)
    return 0;
  if (restore_journal (job->journal_fd, job->journal_path, job->tree_fd, true, &rep, err) < 0)
    return error_hint (err, "undo it with: oci-idmap-hook restore --journal '%s'", job->journal_path);
  unlinkat (co->journal_dir_fd, strrchr (job->journal_path, '/') + 1, 0);
  return 0;
}
