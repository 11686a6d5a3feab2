/* The chown walk: what each entry becomes, decided on its fd; see
 * chown_walk.h.  The workers, their queue and the batches of changes are
 * in chown_batch.c; how an entry is opened, in hook/system/fd_walk.c. */
#define _GNU_SOURCE
#include "chown_walk.h"
#include "chown_batch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WALK_STATX_MASK (STATX_TYPE | STATX_MODE | STATX_UID | STATX_GID | STATX_NLINK | STATX_MNT_ID)

/* Whether an entry with STX should change, and to which ids.  What is left
 * alone on purpose (another mount, host root, hard links) is counted. */
static bool
decide (struct chown_worker *wk, const struct statx *stx, const char *dir, const char *name, uint32_t *uid,
        uint32_t *gid)
{
  const struct chown_spec *s = wk->w->spec;

  if (stx->stx_mnt_id != wk->w->root_mnt)
    {
      wk->rep.submounts++;
      chown_note_path (wk, wk->w->report->submount_paths, dir, name);
      return false;
    }
  *uid = s->to_uid;
  *gid = s->to_gid;
  if (s->only_new)
    {
      int64_t born = (int64_t) stx->stx_btime.tv_sec * 1000000000 + stx->stx_btime.tv_nsec;
      /* At or after: a file made in the tick the chown started is born then. */
      bool is_new = (stx->stx_mask & STATX_BTIME) && born >= s->born_after;
      if (!(stx->stx_mask & STATX_BTIME))
        wk->rep.no_btime = true;
      *uid = is_new && stx->stx_uid == s->from_uid ? s->to_uid : stx->stx_uid;
      *gid = is_new && stx->stx_gid == s->from_gid ? s->to_gid : stx->stx_gid;
    }
  if (*uid == stx->stx_uid && *gid == stx->stx_gid)
    return false; /* already right: no write, no journal record */
  if (s->rootless && (stx->stx_uid == s->overflow_uid || stx->stx_gid == s->overflow_gid))
    {
      /* Owned outside the namespace (host root, or others): no right to it. */
      wk->rep.foreign++;
      return false;
    }
  if (!s->allow_host_root && (stx->stx_uid == s->host_root_uid || stx->stx_gid == s->host_root_gid))
    {
      wk->rep.host_root++;
      return false;
    }
  if (S_ISCHR (stx->stx_mode) || S_ISBLK (stx->stx_mode))
    {
      /* Never useful to a workload, and a device given to a container's
       * ids is that device opened to them wherever the tree is visible. */
      wk->rep.devices++;
      chown_note_path (wk, wk->w->report->device_paths, dir, name);
      return false;
    }
  if (!S_ISDIR (stx->stx_mode) && stx->stx_nlink > 1 && !s->hard_links)
    {
      wk->rep.hard_links++;
      chown_note_path (wk, wk->w->report->hard_link_paths, dir, name);
      return false;
    }
  return true;
}

/* Whether FD (just opened) is the inode that NAMED (a statx by name) saw. */
static bool
same_inode (const struct statx *fd_stx, const struct statx *named)
{
  if (fd_stx->stx_ino != named->stx_ino || fd_stx->stx_dev_major != named->stx_dev_major
      || fd_stx->stx_dev_minor != named->stx_dev_minor)
    return false;
  /* Birth time, where recorded, also tells a reused inode number apart. */
  if ((fd_stx->stx_mask & named->stx_mask & STATX_BTIME)
      && (fd_stx->stx_btime.tv_sec != named->stx_btime.tv_sec || fd_stx->stx_btime.tv_nsec != named->stx_btime.tv_nsec))
    return false;
  return true;
}

/* What FD (an entry of DIR, just opened) should become; then change it, or
 * descend.  The decision is made on the fd: what changes is what was checked.
 * For a non-directory NAMED is a statx of the name from before the open:
 * only it proves that a single link was in the tree at one instant (the
 * fd's own link count cannot: a hard link from outside may have been
 * opened, then removed from the tree).  Returns 1 when the name no longer
 * leads to that inode (look again). */
static int
consider (struct chown_worker *wk, int fd, bool path_fd, const struct statx *named, const char *dir, const char *name)
{
  struct statx stx;
  uint32_t uid, gid;

  if (statx (fd, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT, WALK_STATX_MASK | STATX_BTIME, &stx) < 0)
    {
      close (fd);
      return chown_entry_error (wk, errno, "stat", dir, name);
    }
  if (!S_ISDIR (stx.stx_mode) && (named == NULL || !same_inode (&stx, named)))
    {
      close (fd);
      return 1;
    }
  if (S_ISDIR (stx.stx_mode) && path_fd)
    {
      /* Not a directory when looked at, one now: read it through the
       * inode just checked, never by name again. */
      int dfd = walk_open (fd, ".", WALK_OPEN_DIR);
      close (fd);
      if (dfd < 0)
        return chown_entry_error (wk, errno, "open the directory", dir, name);
      fd = dfd;
      path_fd = false;
    }
  if (decide (wk, &stx, dir, name, &uid, &gid))
    {
      int dir_fd;
      if (!S_ISDIR (stx.stx_mode))
        return chown_batch_add (wk, fd, path_fd, &stx, uid, gid, dir, name);
      /* The batch keeps one fd for the change; the walk goes on with another. */
      dir_fd = fcntl (fd, F_DUPFD_CLOEXEC, 3);
      if (dir_fd < 0)
        {
          close (fd);
          return chown_entry_error (wk, errno, "walk", dir, name);
        }
      if (chown_batch_add (wk, fd, path_fd, &stx, uid, gid, dir, name) < 0)
        {
          close (dir_fd);
          return -1;
        }
      return chown_descend (wk, dir_fd, &stx, dir, name);
    }
  if (S_ISDIR (stx.stx_mode) && stx.stx_mnt_id == wk->w->root_mnt)
    return chown_descend (wk, fd, &stx, dir, name);
  close (fd);
  return 0;
}

/* Open an entry of DIR_FD without following anything: directories to
 * read them, regular files to read and restore their capabilities, anything
 * else O_PATH (hook/system/fd_walk.h). */
static int
open_entry (int dir_fd, const char *name, bool is_dir, bool is_reg, bool *path_fd)
{
  int fd;

  *path_fd = !is_dir && !is_reg;
  fd = walk_open (dir_fd, name, is_dir ? WALK_OPEN_DIR : is_reg ? WALK_OPEN_FILE : WALK_OPEN_PATH);
  if (fd >= 0 || !is_reg)
    return fd;
  /* A file when looked at that cannot be read now: replaced by a symlink
   * (ELOOP), a device node (EACCES: our copy is nodev), leased (EAGAIN). */
  if (errno != ELOOP && errno != EACCES && errno != EAGAIN && errno != ENXIO && errno != EPERM)
    return -1;
  *path_fd = true;
  return walk_open (dir_fd, name, WALK_OPEN_PATH);
}

/* Tries at one name that keeps changing under the walk before it is left
 * alone and reported. */
#define ENTRY_TRIES 4

static int
handle_entry (struct chown_worker *wk, int dir_fd, const char *dir, const char *name, unsigned char type)
{
  bool path_fd, is_dir = type == DT_DIR;
  struct statx named;
  int fd, ret = 1;

  for (int tries = 0; ret == 1 && tries < ENTRY_TRIES; tries++, is_dir = false)
    {
      if (!is_dir)
        {
          /* A look by name: enough to leave an entry alone (a re-run costs
           * one statx per entry), and the link count that a change needs. */
          if (statx (dir_fd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_SYNC_AS_STAT,
                     WALK_STATX_MASK | STATX_BTIME, &named)
              < 0)
            {
              if (errno != ENOENT)
                return chown_entry_error (wk, errno, "stat", dir, name);
              wk->rep.vanished++;
              return 0;
            }
          is_dir = S_ISDIR (named.stx_mode);
          if (!is_dir)
            {
              uint32_t uid, gid;
              if (!decide (wk, &named, dir, name, &uid, &gid))
                return 0;
            }
        }
      fd = open_entry (dir_fd, name, is_dir, !is_dir && S_ISREG (named.stx_mode), &path_fd);
      if (fd < 0 && errno == EMFILE && (wk->b.n > 0 || wk->sealed.n > 0))
        {
          /* Out of fds (a deep tree holds one per level): the pending
           * changes hold the rest; make them happen and try again. */
          if (chown_batch_flush (wk) < 0)
            return -1;
          fd = open_entry (dir_fd, name, is_dir, !is_dir && S_ISREG (named.stx_mode), &path_fd);
        }
      if (fd >= 0)
        ret = consider (wk, fd, path_fd, is_dir ? NULL : &named, dir, name);
      else if (errno == ENOENT)
        {
          wk->rep.vanished++;
          return 0;
        }
      else if (errno == EXDEV)
        {
          wk->rep.submounts++;
          chown_note_path (wk, wk->w->report->submount_paths, dir, name);
          return 0;
        }
      else if (errno != ELOOP && errno != ENOTDIR)
        return chown_entry_error (wk, errno, "open", dir, name);
      /* ELOOP, ENOTDIR, or another inode than the one looked at: the name
       * was replaced meanwhile.  Look again; never follow it. */
    }
  if (ret == 1)
    {
      wk->rep.swapped++;
      chown_note_path (wk, wk->w->report->swapped_paths, dir, name);
      ret = 0;
    }
  return ret;
}

static int
walk_entry (void *ctx, struct fd_walk *fw, int dir_fd, void *dir_data, size_t depth, const struct dirent64 *d)
{
  struct chown_worker *wk = ctx;

  (void) fw;
  (void) depth;
  wk->rep.entries++;
  /* Files go to a waiting worker if there is one; directories (and what
   * readdir cannot type) are this worker's, as they decide the walk. */
  if (d->d_type != DT_DIR && d->d_type != DT_UNKNOWN && chown_names_offer (wk, dir_fd, dir_data, d->d_name, d->d_type))
    return 0;
  return handle_entry (wk, dir_fd, dir_data, d->d_name, d->d_type);
}

/* A share of another worker's directory: each name as walk_entry would. */
static int
walk_names (struct chown_worker *wk, const struct chown_names *job)
{
  for (unsigned int i = 0; i < job->n; i++)
    if (__atomic_load_n (&wk->w->stop, __ATOMIC_RELAXED)
        || handle_entry (wk, job->dir_fd, job->path, job->buf + job->off[i], job->type[i]) < 0)
      return -1;
  return 0;
}

static int
walk_read_error (void *ctx, void *dir_data, int errnum, bool resuming)
{
  return chown_entry_error (ctx, errnum, resuming ? "read on in the directory" : "read the directory", dir_data, ".");
}

static void
walk_leave (void *ctx, void *dir_data)
{
  struct chown_worker *wk = ctx;

  /* The share of this directory's last names goes now (it has its own fd and path). */
  if (wk->filling_dir == dir_data)
    chown_names_push (wk);
  free (dir_data);
}

static bool
walk_stopped (void *ctx)
{
  struct chown_worker *wk = ctx;
  return __atomic_load_n (&wk->w->stop, __ATOMIC_RELAXED);
}

static const struct fd_walk_ops walk_ops = {
  .entry = walk_entry,
  .read_error = walk_read_error,
  .leave = walk_leave,
  .stopped = walk_stopped,
};

int
chown_walk (int root_fd, const struct chown_spec *spec, struct journal *journal, struct chown_report *report,
            hook_error_t **err)
{
  struct chown_pool w = { .spec = spec, .journal = journal, .report = report, .ops = &walk_ops, .names = walk_names };
  struct chown_worker workers[CHOWN_MAX_THREADS];
  unsigned int threads;
  const char *what;
  int fd;

  memset (report, 0, sizeof *report);
  fd = walk_open_top (root_fd, &w.root_mnt, &what);
  if (fd < 0)
    return make_error (err, errno, "%s", what);
  report->walkers = chown_walkers_for (fd, spec->threads);
  report->walkers.n = threads = chown_pool_init (&w, workers, report->walkers.n);
  /* The top directory is an entry like any other: the first worker
   * considers it (and queues it) before the others start. */
  if (threads == 0)
    close (fd);
  else
    consider (&workers[0], fd, false, NULL, "", ".");
  return chown_pool_run (&w, workers, threads ? threads : 1, err);
}
