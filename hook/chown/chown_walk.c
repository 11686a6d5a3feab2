#define _GNU_SOURCE
#include "chown_walk.h"
#include "base/cleanup.h"
#include "base/sha256.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#define CAP_XATTR "security.capability"
#define QUEUE_CAP 256
#define MAX_THREADS 16

struct dir_item
{
  int fd;
  char *path; /* relative to the root, "" for the root */
};

struct walk
{
  const struct chown_spec *spec;
  struct journal *journal;
  uint64_t root_mnt;
  size_t batch_max;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  struct dir_item queue[QUEUE_CAP];
  size_t head, count;
  unsigned int active;
  bool stop;
  hook_error_t *err; /* the first error; the walk stops there */
  struct chown_report *report;
};

/* An entry whose owner is about to change: its journal record is in the
 * batch's buffer, and it changes once the buffer is durable. */
struct pending
{
  int fd;
  bool path_fd;
  uint32_t mode, uid, gid; /* mode before; ids after */
  size_t cap_off;
  unsigned int cap_len;
  size_t path_off; /* in the batch's paths, for messages */
};

/* A directory a worker is reading.  Entering a subdirectory pushes one more
 * (when the shared queue is full); only the top one is being read, so one
 * buffer serves them all: a level below resumes from its offset. */
struct level
{
  int fd;
  char *path;   /* relative to the root, for messages */
  off_t resume; /* d_off to read on from after a descent, or -1 */
};

/* A worker's changes waiting for their journal records to be durable.
 * They span directories.  Each worker fills one batch while the records
 * of the one before are being synced: a sync then covers the batches of
 * every worker, and the walk rarely waits for one. */
struct batch
{
  uint64_t ticket; /* its records, once written to the journal */
  struct pending *items;
  size_t n;
  unsigned char *rec;
  size_t rec_len;
  char *paths;
  size_t paths_len, paths_cap;
};

struct worker
{
  struct walk *w;
  unsigned char *dents;
  struct level *stack;
  size_t depth, stack_cap;
  struct level child; /* a subdirectory to enter before reading on, or fd -1 */
  struct batch b;      /* being filled */
  struct batch sealed; /* written to the journal, waiting for its sync */
  struct chown_report rep; /* counters only; merged at the end */
};

/* Paths in messages keep their last bytes only: a tree may be 10,000
 * levels deep, and every pending change remembers its path. */
#define MESSAGE_PATH_MAX 400

/* "DIR/NAME" for messages: only the last MESSAGE_PATH_MAX bytes kept
 * ("..." before them).  DIR is such a path already.  Raw bytes: log_line
 * escapes every line it prints (base/escape.h), once. */
static char *
join_path (const char *dir, const char *name)
{
  char buf[MESSAGE_PATH_MAX * 2 + 8];
  size_t len = 0, dlen = strlen (dir);

  if (dlen > MESSAGE_PATH_MAX)
    {
      dir += dlen - MESSAGE_PATH_MAX;
      len = (size_t) snprintf (buf, sizeof buf, "...");
    }
  len += (size_t) snprintf (buf + len, sizeof buf - len, "%s", dir);
  if (strcmp (name, ".") != 0)
    {
      if (len > 0)
        buf[len++] = '/';
      size_t n = strnlen (name, sizeof buf - len - 1);
      memcpy (buf + len, name, n);
      len += n;
    }
  buf[len] = '\0';
  if (len > MESSAGE_PATH_MAX + 3)
    {
      size_t cut = len - MESSAGE_PATH_MAX;
      memcpy (buf + cut - 3, "...", 3);
      return strdup (buf + cut - 3);
    }
  return strdup (buf);
}

static void
walk_fail (struct walk *w, hook_error_t **err)
{
  pthread_mutex_lock (&w->lock);
  if (w->err == NULL)
    w->err = steal_pointer (err);
  w->stop = true;
  pthread_cond_broadcast (&w->cond);
  pthread_mutex_unlock (&w->lock);
  error_free (err);
}

static int
entry_error (struct worker *wk, int errnum, const char *what, const char *dir, const char *name)
{
  hook_error_t *err = NULL;
  cleanup_free char *path = join_path (dir, name);
  make_error (&err, errnum, "%s %s", what, path && path[0] ? path : ".");
  walk_fail (wk->w, &err);
  return -1;
}

/* Remember the first few paths of what was left alone, for the report. */
static void
note_path (struct worker *wk, char **slots, const char *dir, const char *name)
{
  struct walk *w = wk->w;
  pthread_mutex_lock (&w->lock);
  for (size_t i = 0; i < CHOWN_REPORT_PATHS; i++)
    if (slots[i] == NULL)
      {
        slots[i] = join_path (dir, name);
        break;
      }
  pthread_mutex_unlock (&w->lock);
}

/* Hand a directory to the queue, or to the worker's own stack when the
 * queue is full (it is entered before its parent reads on). */
static int
descend (struct worker *wk, int fd, const char *dir, const char *name)
{
  struct walk *w = wk->w;
  char *path = join_path (dir, name);

  if (path == NULL)
    {
      close (fd);
      return entry_error (wk, ENOMEM, "walk", dir, name);
    }
  pthread_mutex_lock (&w->lock);
  if (w->count < QUEUE_CAP && !w->stop)
    {
      w->queue[(w->head + w->count) % QUEUE_CAP] = (struct dir_item){ fd, path };
      w->count++;
      pthread_cond_signal (&w->cond);
      pthread_mutex_unlock (&w->lock);
      return 0;
    }
  pthread_mutex_unlock (&w->lock);
  wk->child = (struct level){ fd, path, -1 };
  return 0;
}

/* A file the container created, now the source owner's: without setuid,
 * setgid or capabilities, or the container would have made a privileged
 * program of that owner (of root, with --allow-host-root).  chown(2)
 * clears most of it but keeps setgid without group-exec: clear it all
 * explicitly, whatever the filesystem does. */
static int
strip_privilege (struct worker *wk, const struct pending *p, const char *path)
{
  if (S_ISDIR (p->mode) || !(S_ISREG (p->mode) && ((p->mode & 06000) || p->cap_len)))
    return 0;
  if ((p->mode & 06000) && fchmod (p->fd, p->mode & 01777) < 0)
    return entry_error (wk, errno, "clear the setuid/setgid bits of", "", path);
  if (p->cap_len && fremovexattr (p->fd, CAP_XATTR) < 0 && errno != ENODATA)
    return entry_error (wk, errno, "clear the file capabilities of", "", path);
  wk->rep.privilege_cleared++;
  return 0;
}

/* Make the changes of batch B, whose records are durable; after a stop
 * (or with FAILED set), only close its fds. */
static int
apply_batch (struct worker *wk, struct batch *b, bool failed)
{
  int ret = failed || __atomic_load_n (&wk->w->stop, __ATOMIC_RELAXED) ? -1 : 0;

  for (size_t i = 0; i < b->n; i++)
    {
      struct pending *p = &b->items[i];
      const char *path = b->paths + p->path_off;
      /* fchown skips the path walk that AT_EMPTY_PATH costs; O_PATH fds need fchownat. */
      if (ret == 0
          && (p->path_fd ? fchownat (p->fd, "", p->uid, p->gid, AT_EMPTY_PATH) : fchown (p->fd, p->uid, p->gid)) < 0)
        ret = entry_error (wk, errno, "chown", "", path);
      if (ret == 0 && wk->w->spec->only_new)
        ret = strip_privilege (wk, p, path);
      /* chown(2) clears setuid/setgid on non-directories and drops file capabilities. */
      else if (ret == 0 && S_ISREG (p->mode) && (p->mode & 06000) && fchmod (p->fd, p->mode & 07777) < 0)
        ret = entry_error (wk, errno, "put back the setuid/setgid bits of", "", path);
      if (ret == 0 && !wk->w->spec->only_new && p->cap_len
          && fsetxattr (p->fd, CAP_XATTR, b->rec + p->cap_off, p->cap_len, 0) < 0)
        ret = entry_error (wk, errno, "put back the file capabilities of", "", path);
      if (ret == 0)
        wk->rep.changed++;
      close (p->fd);
    }
  b->n = b->rec_len = b->paths_len = 0;
  return ret;
}

/* Write the filled batch's records to the journal (not yet synced). */
static int
write_batch (struct worker *wk)
{
  struct walk *w = wk->w;
  hook_error_t *err = NULL;

  if (w->journal == NULL || wk->b.n == 0 || __atomic_load_n (&w->stop, __ATOMIC_RELAXED))
    return 0;
  if (journal_write (w->journal, wk->b.rec, wk->b.rec_len, wk->b.n, &wk->b.ticket, &err) < 0)
    {
      walk_fail (w, &err);
      return -1;
    }
  return 0;
}

/* Wait until the records up to TICKET are durable. */
static int
wait_durable (struct worker *wk, uint64_t ticket)
{
  hook_error_t *err = NULL;

  if (wk->w->journal && journal_wait (wk->w->journal, ticket, &err) < 0)
    {
      walk_fail (wk->w, &err);
      return -1;
    }
  return 0;
}

/* The filled batch is full: its records go to the journal, and the batch
 * before it, synced meanwhile (or now), changes. */
static int
seal (struct worker *wk)
{
  struct batch done;
  bool failed = write_batch (wk) < 0;

  if (wk->w->journal == NULL)
    return apply_batch (wk, &wk->b, failed);
  if (wk->sealed.n > 0)
    failed = apply_batch (wk, &wk->sealed, failed || wait_durable (wk, wk->sealed.ticket) < 0) < 0 || failed;
  done = wk->sealed;
  wk->sealed = wk->b;
  wk->b = done;
  return failed ? -1 : 0;
}

/* Make every pending change of the worker happen (records first); after a
 * stop, only close. */
static int
flush (struct worker *wk)
{
  bool failed = write_batch (wk) < 0;
  uint64_t upto = wk->b.n > 0 ? wk->b.ticket : wk->sealed.ticket;

  if (!failed && (wk->b.n > 0 || wk->sealed.n > 0))
    failed = wait_durable (wk, upto) < 0;
  failed = apply_batch (wk, &wk->sealed, failed) < 0 || failed;
  failed = apply_batch (wk, &wk->b, failed) < 0 || failed;
  return failed ? -1 : 0;
}

/* Remember "DIR/NAME" in the batch; returns its offset, or -1. */
static long
batch_path (struct batch *b, const char *dir, const char *name)
{
  size_t need = strlen (dir) + strlen (name) + 2;
  long off = (long) b->paths_len;

  if (b->paths_len + need > b->paths_cap)
    {
      size_t cap = (b->paths_cap + need) * 2;
      char *p = realloc (b->paths, cap);
      if (p == NULL)
        return -1;
      b->paths = p;
      b->paths_cap = cap;
    }
  b->paths_len += (size_t) sprintf (b->paths + off, "%s%s%s", dir, dir[0] ? "/" : "", name) + 1;
  return off;
}

/* Queue a change of FD to the batch, with its journal record. */
static int
add_change (struct worker *wk, int fd, bool path_fd, const struct statx *stx, uint32_t uid, uint32_t gid,
            const char *dir, const char *name)
{
  struct batch *b = &wk->b;
  struct pending *p = &b->items[b->n];
  struct journal_record r = { .uid = stx->stx_uid, .gid = stx->stx_gid, .mode = stx->stx_mode };
  long path_off;

  *p = (struct pending){ .fd = fd, .path_fd = path_fd, .mode = stx->stx_mode, .uid = uid, .gid = gid };
  if (S_ISREG (stx->stx_mode) && path_fd)
    {
      /* Opened O_PATH (it changed type under us, or is leased): its
       * capabilities and setuid bits could not be kept. */
      wk->rep.swapped++;
      note_path (wk, wk->w->report->swapped_paths, dir, name);
      close (fd);
      return 0;
    }
  if (S_ISREG (stx->stx_mode))
    {
      ssize_t n = fgetxattr (fd, CAP_XATTR, r.cap, sizeof r.cap);
      if (n < 0 && errno != ENODATA && errno != ENOTSUP)
        {
          close (fd);
          return entry_error (wk, errno, "read the file capabilities of", dir, name);
        }
      r.cap_len = n > 0 ? (unsigned int) n : 0;
    }
  /* Restore gives privilege back only to this very content: see restore.c.
   * Past JOURNAL_DIGEST_MAX bytes (a sparse file of terabytes would stall
   * the start for hours) there is no digest, so no privilege comes back. */
  if (wk->w->journal && journal_record_privileged (&r))
    {
      int big = sha256_fd_max (fd, JOURNAL_DIGEST_MAX, r.digest, &r.size);
      if (big < 0)
        {
          close (fd);
          return entry_error (wk, errno, "read (for the journal's digest) the privileged file", dir, name);
        }
      r.has_digest = big == 0;
    }
  if (wk->w->journal)
    {
      struct journal_handle h;
      if (journal_handle_of (fd, &h) < 0)
        {
          close (fd);
          entry_error (wk, errno, "get a file handle (for the journal) of", dir, name);
          return -1;
        }
      r.handle_type = h.fh.handle_type;
      r.handle_bytes = h.fh.handle_bytes;
      memcpy (r.handle, h.fh.f_handle, h.fh.handle_bytes);
    }
  path_off = batch_path (b, dir, name);
  if (path_off < 0)
    {
      close (fd);
      return entry_error (wk, ENOMEM, "walk", dir, name);
    }
  p->path_off = (size_t) path_off;
  p->cap_off = b->rec_len + JOURNAL_RECORD_HEAD + r.handle_bytes;
  p->cap_len = r.cap_len;
  if (wk->w->journal)
    b->rec_len += journal_record_encode (&r, b->rec + b->rec_len);
  else
    {
      /* No journal: keep just the capability bytes. */
      p->cap_off = b->rec_len;
      memcpy (b->rec + b->rec_len, r.cap, r.cap_len);
      b->rec_len += r.cap_len;
    }
  b->n++;
  return b->n == wk->w->batch_max ? seal (wk) : 0;
}

#define WALK_STATX_MASK (STATX_TYPE | STATX_MODE | STATX_UID | STATX_GID | STATX_NLINK | STATX_MNT_ID)

/* Whether an entry with STX should change, and to which ids.  What is left
 * alone on purpose (another mount, host root, hard links) is counted. */
static bool
decide (struct worker *wk, const struct statx *stx, const char *dir, const char *name, uint32_t *uid, uint32_t *gid)
{
  const struct chown_spec *s = wk->w->spec;

  if (stx->stx_mnt_id != wk->w->root_mnt)
    {
      wk->rep.submounts++;
      note_path (wk, wk->w->report->submount_paths, dir, name);
      return false;
    }
  *uid = s->to_uid;
  *gid = s->to_gid;
  if (s->only_new)
    {
      int64_t born = (int64_t) stx->stx_btime.tv_sec * 1000000000 + stx->stx_btime.tv_nsec;
      bool is_new = (stx->stx_mask & STATX_BTIME) && born > s->born_after;
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
      note_path (wk, wk->w->report->device_paths, dir, name);
      return false;
    }
  if (!S_ISDIR (stx->stx_mode) && stx->stx_nlink > 1 && !s->hard_links)
    {
      wk->rep.hard_links++;
      note_path (wk, wk->w->report->hard_link_paths, dir, name);
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
consider (struct worker *wk, int fd, bool path_fd, const struct statx *named, const char *dir, const char *name)
{
  struct statx stx;
  uint32_t uid, gid;

  if (statx (fd, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT, WALK_STATX_MASK | STATX_BTIME, &stx) < 0)
    {
      close (fd);
      return entry_error (wk, errno, "stat", dir, name);
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
      struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_WALK };
      int dfd = (int) syscall (SYS_openat2, fd, ".", &how, sizeof how);
      close (fd);
      if (dfd < 0)
        return entry_error (wk, errno, "open the directory", dir, name);
      fd = dfd;
      path_fd = false;
    }
  if (decide (wk, &stx, dir, name, &uid, &gid))
    {
      int dir_fd;
      if (!S_ISDIR (stx.stx_mode))
        return add_change (wk, fd, path_fd, &stx, uid, gid, dir, name);
      /* The batch keeps one fd for the change; the walk goes on with another. */
      dir_fd = fcntl (fd, F_DUPFD_CLOEXEC, 3);
      if (dir_fd < 0)
        {
          close (fd);
          return entry_error (wk, errno, "walk", dir, name);
        }
      if (add_change (wk, fd, path_fd, &stx, uid, gid, dir, name) < 0)
        {
          close (dir_fd);
          return -1;
        }
      return descend (wk, dir_fd, dir, name);
    }
  if (S_ISDIR (stx.stx_mode) && stx.stx_mnt_id == wk->w->root_mnt)
    return descend (wk, fd, dir, name);
  close (fd);
  return 0;
}

/* Open an entry of DIR_FD without following anything: directories to
 * read them, regular files to read and restore their capabilities
 * (O_NONBLOCK: never wait on a FIFO or a lease), anything else O_PATH. */
static int
open_entry (int dir_fd, const char *name, bool is_dir, bool is_reg, bool *path_fd)
{
  struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC, .resolve = RESOLVE_WALK };
  int fd;

  *path_fd = !is_dir && !is_reg;
  if (is_dir)
    how.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  else if (is_reg)
    how.flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC;
  fd = (int) syscall (SYS_openat2, dir_fd, name, &how, sizeof how);
  if (fd >= 0 || !is_reg)
    return fd;
  /* A file when looked at that cannot be read now: replaced by a symlink
   * (ELOOP), a device node (EACCES: our copy is nodev), leased (EAGAIN). */
  if (errno != ELOOP && errno != EACCES && errno != EAGAIN && errno != ENXIO && errno != EPERM)
    return -1;
  how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
  *path_fd = true;
  return (int) syscall (SYS_openat2, dir_fd, name, &how, sizeof how);
}

/* Tries at one name that keeps changing under the walk before it is left
 * alone and reported. */
#define ENTRY_TRIES 4

static int
handle_entry (struct worker *wk, int dir_fd, const char *dir, const char *name, unsigned char type)
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
                return entry_error (wk, errno, "stat", dir, name);
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
          if (flush (wk) < 0)
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
          note_path (wk, wk->w->report->submount_paths, dir, name);
          return 0;
        }
      else if (errno != ELOOP && errno != ENOTDIR)
        return entry_error (wk, errno, "open", dir, name);
      /* ELOOP, ENOTDIR, or another inode than the one looked at: the name
       * was replaced meanwhile.  Look again; never follow it. */
    }
  if (ret == 1)
    {
      wk->rep.swapped++;
      note_path (wk, wk->w->report->swapped_paths, dir, name);
      ret = 0;
    }
  return ret;
}

static int
push_level (struct worker *wk, int fd, char *path)
{
  if (wk->depth == wk->stack_cap)
    {
      size_t cap = wk->stack_cap ? wk->stack_cap * 2 : 16;
      struct level *st = realloc (wk->stack, cap * sizeof *st);
      if (st == NULL)
        {
          close (fd);
          free (path);
          return -1;
        }
      wk->stack = st;
      wk->stack_cap = cap;
    }
  wk->stack[wk->depth++] = (struct level){ fd, path, -1 };
  return 0;
}

static void
pop_level (struct worker *wk)
{
  struct level *lv = &wk->stack[--wk->depth];
  close (lv->fd);
  free (lv->path);
}

/* Walk the directory FD (PATH for messages; both are taken over) and,
 * depth first, every subdirectory the shared queue has no room for. */
static int
walk_dir (struct worker *wk, int fd, char *path)
{
  int ret = 0;

  if (push_level (wk, fd, path) < 0)
    return entry_error (wk, ENOMEM, "read the directory", "", ".");
  while (wk->depth > 0 && ret == 0)
    {
      struct level *lv = &wk->stack[wk->depth - 1];
      ssize_t n;

      if (__atomic_load_n (&wk->w->stop, __ATOMIC_RELAXED))
        ret = -1;
      else if (lv->resume >= 0 && lseek (lv->fd, lv->resume, SEEK_SET) < 0)
        ret = entry_error (wk, errno, "read on in the directory", lv->path, ".");
      else if ((n = getdents64 (lv->fd, wk->dents, WALK_DENTS_BUF)) < 0)
        ret = entry_error (wk, errno, "read the directory", lv->path, ".");
      else if (n == 0)
        pop_level (wk);
      else
        for (ssize_t off = 0; off < n && ret == 0;)
          {
            struct dirent64 *d = (struct dirent64 *) (wk->dents + off);
            off += d->d_reclen;
            lv->resume = -1;
            if (strcmp (d->d_name, ".") == 0 || strcmp (d->d_name, "..") == 0)
              continue;
            wk->rep.entries++;
            ret = handle_entry (wk, lv->fd, lv->path, d->d_name, d->d_type);
            if (wk->child.fd >= 0)
              {
                /* Enter it now; this directory reads on from the next entry. */
                struct level child = wk->child;
                wk->child.fd = -1;
                lv->resume = d->d_off;
                if (ret == 0 && push_level (wk, child.fd, child.path) < 0)
                  ret = entry_error (wk, ENOMEM, "walk", child.path, ".");
                else if (ret != 0)
                  {
                    close (child.fd);
                    free (child.path);
                  }
                break;
              }
          }
    }
  while (wk->depth > 0)
    pop_level (wk);
  return ret;
}

static void *
worker_main (void *arg)
{
  struct worker *wk = arg;
  struct walk *w = wk->w;

  for (;;)
    {
      struct dir_item item;
      pthread_mutex_lock (&w->lock);
      if (w->count == 0 && (wk->b.n > 0 || wk->sealed.n > 0))
        {
          /* Nothing to take now: make this worker's pending changes happen. */
          pthread_mutex_unlock (&w->lock);
          flush (wk);
          continue;
        }
      while (w->count == 0 && w->active > 0 && !w->stop)
        pthread_cond_wait (&w->cond, &w->lock);
      if (w->count == 0 || w->stop)
        {
          pthread_cond_broadcast (&w->cond);
          pthread_mutex_unlock (&w->lock);
          break;
        }
      item = w->queue[w->head];
      w->head = (w->head + 1) % QUEUE_CAP;
      w->count--;
      w->active++;
      pthread_mutex_unlock (&w->lock);

      walk_dir (wk, item.fd, item.path);

      pthread_mutex_lock (&w->lock);
      w->active--;
      if (w->active == 0 && w->count == 0)
        pthread_cond_broadcast (&w->cond);
      pthread_mutex_unlock (&w->lock);
    }
  flush (wk); /* after a stop: closes what is left */
  return NULL;
}

/* Changes in a batch.  Each holds an open file until it is made, and a
 * worker has two batches: more makes the walk slower (a big working set
 * of open files), fewer makes the journal sync more often.  See make bench. */
#ifndef BATCH_MAX
#define BATCH_MAX 512
#endif

/* Every pending change holds an fd: size the batches to the fd limit, and
 * grow the fd table to hold them now, while there is one thread (growing a
 * table shared by threads waits for an RCU grace period each time). */
static size_t
batch_size (unsigned int threads)
{
  struct rlimit rl;
  long avail, want;
  size_t batch;
  int hi;

  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
      getrlimit (RLIMIT_NOFILE, &rl);
    }
  avail = ((long) rl.rlim_cur - 2 * QUEUE_CAP) / (2 * (long) threads + 1);
  batch = avail < 16 ? 16 : avail > BATCH_MAX ? BATCH_MAX : (size_t) avail;
  want = 2 * QUEUE_CAP + (long) threads * (2 * (long) batch + 64);
  if (want > (long) rl.rlim_cur - 1)
    want = (long) rl.rlim_cur - 1;
  hi = fcntl (0, F_DUPFD_CLOEXEC, (int) want);
  if (hi < 0)
    hi = fcntl (2, F_DUPFD_CLOEXEC, (int) want);
  if (hi >= 0)
    close (hi);
  return batch;
}

static int
batch_alloc (struct batch *b, size_t max)
{
  b->items = calloc (max, sizeof *b->items);
  b->rec = malloc (max * JOURNAL_RECORD_MAX);
  return b->items && b->rec ? 0 : -1;
}

static void
batch_free (struct batch *b)
{
  free (b->items);
  free (b->rec);
  free (b->paths);
}

static void
worker_free (struct worker *wk)
{
  free (wk->stack);
  free (wk->dents);
  batch_free (&wk->b);
  batch_free (&wk->sealed);
}

int
chown_walk (int root_fd, const struct chown_spec *spec, struct journal *journal, struct chown_report *report,
            hook_error_t **err)
{
  struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_WALK };
  unsigned int threads = spec->threads;
  struct walk w = { .spec = spec, .journal = journal, .report = report };
  struct worker workers[MAX_THREADS];
  pthread_t tids[MAX_THREADS];
  unsigned int started = 0;
  struct statx stx;
  int fd;

  memset (report, 0, sizeof *report);
  if (threads == 0)
    {
      long n = sysconf (_SC_NPROCESSORS_ONLN);
      threads = n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (unsigned int) n;
    }
  threads = threads > MAX_THREADS ? MAX_THREADS : threads;
  w.batch_max = batch_size (threads);
  fd = (int) syscall (SYS_openat2, root_fd, ".", &how, sizeof how);
  if (fd < 0)
    return make_error (err, errno, "open the top directory");
  if (statx (fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0 || !(stx.stx_mask & STATX_MNT_ID))
    {
      close (fd);
      return make_error (err, errno ? errno : ENOSYS, "statx (mount id) of the top directory");
    }
  w.root_mnt = stx.stx_mnt_id;
  pthread_mutex_init (&w.lock, NULL);
  pthread_cond_init (&w.cond, NULL);

  /* The top directory is an entry like any other: the first worker
   * considers it (and queues it) before the others start. */
  memset (workers, 0, sizeof workers);
  for (unsigned int i = 0; i < MAX_THREADS; i++)
    workers[i].child.fd = -1;
  for (unsigned int i = 0; i < threads; i++)
    {
      workers[i].w = &w;
      workers[i].dents = malloc (WALK_DENTS_BUF);
      if (batch_alloc (&workers[i].b, w.batch_max) < 0 || batch_alloc (&workers[i].sealed, w.batch_max) < 0
          || workers[i].dents == NULL)
        threads = i; /* fewer workers */
    }
  if (threads == 0)
    {
      threads = 1;
      entry_error (&workers[0], ENOMEM, "walk", "", ".");
      close (fd);
    }
  else
    consider (&workers[0], fd, false, NULL, "", ".");
  /* Without its own sync thread the journal still works: whoever waits syncs. */
  if (journal && journal_syncer_start (journal, threads, err) < 0)
    error_free (err);
  /* Threads 1..STARTED run: after a failed start, none beyond it (the
   * ones running share the queue; the rest of the workers never run). */
  for (unsigned int i = 1; i < threads && pthread_create (&tids[i], NULL, worker_main, &workers[i]) == 0; i++)
    started++;
  worker_main (&workers[0]);
  for (unsigned int i = 1; i <= started; i++)
    pthread_join (tids[i], NULL);
  if (journal)
    journal_syncer_stop (journal);

  /* After a stop, directories may be left in the queue. */
  for (; w.count > 0; w.count--, w.head = (w.head + 1) % QUEUE_CAP)
    {
      close (w.queue[w.head].fd);
      free (w.queue[w.head].path);
    }
  for (unsigned int i = 0; i < MAX_THREADS; i++)
    {
      chown_report_merge (report, &workers[i].rep);
      worker_free (&workers[i]);
    }
  pthread_cond_destroy (&w.cond);
  pthread_mutex_destroy (&w.lock);
  if (w.err)
    {
      error_free (err);
      *err = w.err;
      return -1;
    }
  return 0;
}
