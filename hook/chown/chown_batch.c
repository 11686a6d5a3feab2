/* The parallel part of the chown walk; see chown_batch.h. */
#define _GNU_SOURCE
#include "chown_batch.h"
#include "base/cleanup.h"
#include "base/sha256.h"
#include "base/str.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define CAP_XATTR "security.capability"

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
walk_fail (struct chown_pool *w, hook_error_t **err)
{
  pthread_mutex_lock (&w->lock);
  if (w->err == NULL)
    w->err = steal_pointer (err);
  w->stop = true;
  pthread_cond_broadcast (&w->cond);
  pthread_mutex_unlock (&w->lock);
  error_free (err);
}

int
chown_entry_error (struct chown_worker *wk, int errnum, const char *what, const char *dir, const char *name)
{
  hook_error_t *err = NULL;
  cleanup_free char *path = join_path (dir, name);
  make_error (&err, errnum, "%s '%s'", what, path && path[0] ? path : ".");
  walk_fail (wk->w, &err);
  return -1;
}

/* Remember the first few paths of what was left alone, for the report. */
void
chown_note_path (struct chown_worker *wk, char **slots, const char *dir, const char *name)
{
  struct chown_pool *w = wk->w;
  pthread_mutex_lock (&w->lock);
  for (size_t i = 0; i < CHOWN_REPORT_PATHS; i++)
    if (slots[i] == NULL)
      {
        slots[i] = join_path (dir, name);
        break;
      }
  pthread_mutex_unlock (&w->lock);
}

/* Hand a directory to the queue, or to the worker's own walk when the
 * queue is full (it is entered before its parent reads on). */
int
chown_descend (struct chown_worker *wk, int fd, const struct statx *stx, const char *dir, const char *name)
{
  struct chown_pool *w = wk->w;
  char *path = join_path (dir, name);
  int entered;

  if (path == NULL)
    {
      close (fd);
      return chown_entry_error (wk, ENOMEM, "walk", dir, name);
    }
  pthread_mutex_lock (&w->lock);
  if (w->count < CHOWN_QUEUE_CAP && !w->stop)
    {
      w->queue[(w->head + w->count) % CHOWN_QUEUE_CAP] = (struct chown_dir){ fd, path };
      w->count++;
      pthread_cond_signal (&w->cond);
      pthread_mutex_unlock (&w->lock);
      return 0;
    }
  pthread_mutex_unlock (&w->lock);
  if (wk->fw.depth == 0)
    {
      /* Found in a share of names, outside any walk of this worker's: walk
       * it now; after a stop, drop it. */
      if (!__atomic_load_n (&w->stop, __ATOMIC_RELAXED))
        return fd_walk_run (&wk->fw, fd, path);
      close (fd);
      free (path);
      return 0;
    }
  /* fd_walk_enter takes FD whatever it returns. */
  if ((entered = fd_walk_enter (&wk->fw, fd, stx, path)) < 0)
    {
      chown_entry_error (wk, ENOMEM, "walk", path, ".");
      free (path);
      return -1;
    }
  if (entered == 0)
    free (path);
  return 0;
}

/* A file the container created, now the source owner's: without setuid,
 * setgid or capabilities, or the container would have made a privileged
 * program of that owner (of root, with --allow-host-root).  chown(2)
 * clears most of it but keeps setgid without group-exec: clear it all
 * explicitly, whatever the filesystem does. */
static int
strip_privilege (struct chown_worker *wk, const struct chown_pending *p, const char *path)
{
  if (S_ISDIR (p->mode) || !(S_ISREG (p->mode) && ((p->mode & 06000) || p->cap_len)))
    return 0;
  if ((p->mode & 06000) && fchmod (p->fd, p->mode & 01777) < 0)
    return chown_entry_error (wk, errno, "clear the setuid/setgid bits of", "", path);
  if (p->cap_len && fremovexattr (p->fd, CAP_XATTR) < 0 && errno != ENODATA)
    return chown_entry_error (wk, errno, "clear the file capabilities of", "", path);
  wk->rep.privilege_cleared++;
  return 0;
}

/* Make the changes of batch B, whose records are durable; after a stop
 * (or with FAILED set), only close its fds. */
static int
apply_batch (struct chown_worker *wk, struct chown_batch *b, bool failed)
{
  int ret = failed || __atomic_load_n (&wk->w->stop, __ATOMIC_RELAXED) ? -1 : 0;

  for (size_t i = 0; i < b->n; i++)
    {
      struct chown_pending *p = &b->items[i];
      const char *path = b->paths + p->path_off;
      /* fchown skips the path walk that AT_EMPTY_PATH costs; O_PATH fds need fchownat. */
      if (ret == 0
          && (p->path_fd ? fchownat (p->fd, "", p->uid, p->gid, AT_EMPTY_PATH) : fchown (p->fd, p->uid, p->gid)) < 0)
        ret = chown_entry_error (wk, errno, "chown", "", path);
      if (ret == 0 && wk->w->spec->only_new)
        ret = strip_privilege (wk, p, path);
      /* chown(2) clears setuid/setgid on non-directories and drops file capabilities. */
      else if (ret == 0 && S_ISREG (p->mode) && (p->mode & 06000) && fchmod (p->fd, p->mode & 07777) < 0)
        ret = chown_entry_error (wk, errno, "put back the setuid/setgid bits of", "", path);
      if (ret == 0 && !wk->w->spec->only_new && p->cap_len
          && fsetxattr (p->fd, CAP_XATTR, b->rec + p->cap_off, p->cap_len, 0) < 0)
        ret = chown_entry_error (wk, errno, "put back the file capabilities of", "", path);
      if (ret == 0)
        wk->rep.changed++;
      close (p->fd);
    }
  b->n = b->rec_len = b->paths_len = 0;
  return ret;
}

/* Write the filled batch's records to the journal (not yet synced). */
static int
write_batch (struct chown_worker *wk)
{
  struct chown_pool *w = wk->w;
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
wait_durable (struct chown_worker *wk, uint64_t ticket)
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
seal (struct chown_worker *wk)
{
  struct chown_batch done;
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

int
chown_batch_flush (struct chown_worker *wk)
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
batch_path (struct chown_batch *b, const char *dir, const char *name)
{
  size_t dlen = strlen (dir), nlen = strlen (name) + 1;
  long off = (long) b->paths_len;
  char *p = str_reserve (b->paths, b->paths_len, &b->paths_cap, dlen + 1 + nlen);

  if (p == NULL)
    return -1;
  b->paths = p;
  /* Once per changed file: plain copies (sprintf was 1.4% of the walk's CPU). */
  p += off;
  memcpy (p, dir, dlen);
  if (dlen > 0)
    p[dlen++] = '/';
  memcpy (p + dlen, name, nlen);
  b->paths_len += dlen + nlen;
  return off;
}

/* Room in the batch's records for one more of any size: most are far
 * smaller than JOURNAL_RECORD_MAX, so they grow as they come (allocated
 * for the largest, 64 walkers' batches alone held half a MiB, nearly all
 * of it never written). */
static int
batch_room (struct chown_batch *b)
{
  unsigned char *rec = str_reserve (b->rec, b->rec_len, &b->rec_cap, JOURNAL_RECORD_MAX);

  if (rec == NULL)
    return -1;
  b->rec = rec;
  return 0;
}

int
chown_batch_add (struct chown_worker *wk, int fd, bool path_fd, const struct statx *stx, uint32_t uid, uint32_t gid,
                 const char *dir, const char *name)
{
  struct chown_batch *b = &wk->b;
  struct chown_pending *p = &b->items[b->n];
  struct journal_record r = { .uid = stx->stx_uid, .gid = stx->stx_gid, .mode = stx->stx_mode };
  long path_off;

  *p = (struct chown_pending){ .fd = fd, .path_fd = path_fd, .mode = stx->stx_mode, .uid = uid, .gid = gid };
  if (S_ISREG (stx->stx_mode) && path_fd)
    {
      /* Opened O_PATH (it changed type under us, or is leased): its
       * capabilities and setuid bits could not be kept. */
      wk->rep.swapped++;
      chown_note_path (wk, wk->w->report->swapped_paths, dir, name);
      close (fd);
      return 0;
    }
  if (S_ISREG (stx->stx_mode))
    {
      ssize_t n = fgetxattr (fd, CAP_XATTR, r.cap, sizeof r.cap);
      if (n < 0 && errno != ENODATA && errno != ENOTSUP)
        {
          close (fd);
          return chown_entry_error (wk, errno, "read the file capabilities of", dir, name);
        }
      r.cap_len = n > 0 ? (unsigned int) n : 0;
    }
  /* Restore gives privilege back only to this very content: see restore_apply.c.
   * Past JOURNAL_DIGEST_MAX bytes (a sparse file of terabytes would stall
   * the start for hours) there is no digest, so no privilege comes back. */
  if (wk->w->journal && journal_record_privileged (&r))
    {
      int big = sha256_fd_max (fd, JOURNAL_DIGEST_MAX, r.digest, &r.size);
      if (big < 0)
        {
          close (fd);
          return chown_entry_error (wk, errno, "read (for the journal's digest) the privileged file", dir, name);
        }
      r.has_digest = big == 0;
    }
  if (wk->w->journal)
    {
      struct journal_handle h;
      if (journal_handle_of (fd, &h) < 0)
        {
          close (fd);
          chown_entry_error (wk, errno, "get a file handle (for the journal) of", dir, name);
          return -1;
        }
      r.handle_type = h.fh.handle_type;
      r.handle_bytes = h.fh.handle_bytes;
      memcpy (r.handle, h.fh.f_handle, h.fh.handle_bytes);
    }
  path_off = batch_path (b, dir, name);
  if (path_off < 0 || batch_room (b) < 0)
    {
      close (fd);
      return chown_entry_error (wk, ENOMEM, "walk", dir, name);
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

static void *
worker_main (void *arg)
{
  struct chown_worker *wk = arg;
  struct chown_pool *w = wk->w;

  for (;;)
    {
      struct chown_dir item;
      struct chown_names *names;
      pthread_mutex_lock (&w->lock);
      if (w->count == 0 && w->names_count == 0 && (wk->b.n > 0 || wk->sealed.n > 0))
        {
          /* Nothing to take now: make this worker's pending changes happen. */
          pthread_mutex_unlock (&w->lock);
          chown_batch_flush (wk);
          continue;
        }
      __atomic_add_fetch (&w->waiting, 1, __ATOMIC_RELAXED);
      while (w->count == 0 && w->names_count == 0 && w->active > 0 && !w->stop)
        pthread_cond_wait (&w->cond, &w->lock);
      __atomic_sub_fetch (&w->waiting, 1, __ATOMIC_RELAXED);
      if ((w->count == 0 && w->names_count == 0) || w->stop)
        {
          pthread_cond_broadcast (&w->cond);
          pthread_mutex_unlock (&w->lock);
          break;
        }
      /* A share of names first: it finishes a directory already open. */
      names = chown_names_take (w);
      if (names == NULL)
        {
          item = w->queue[w->head];
          w->head = (w->head + 1) % CHOWN_QUEUE_CAP;
          w->count--;
        }
      w->active++;
      pthread_mutex_unlock (&w->lock);

      if (names)
        {
          w->names (wk, names);
          chown_names_free (names);
        }
      else
        fd_walk_run (&wk->fw, item.fd, item.path);

      pthread_mutex_lock (&w->lock);
      w->active--;
      if (w->active == 0 && w->count == 0)
        pthread_cond_broadcast (&w->cond);
      pthread_mutex_unlock (&w->lock);
    }
  chown_batch_flush (wk); /* after a stop: closes what is left */
  return NULL;
}

/* Changes in a batch.  Each holds an open file until it is made, and a
 * worker has two batches: more makes the walk slower (a big working set
 * of open files), fewer makes the journal sync more often.  See make bench. */
#ifndef BATCH_MAX
#define BATCH_MAX 512
#endif
/* And memory: a pending change costs its item, its record and its path,
 * twice per worker, and a worker reads directories into a buffer of its
 * own.  All workers together hold at most BATCH_BUDGET changes and
 * DENTS_BUDGET bytes of directory entries, so that a network filesystem's
 * 32 or 64 walkers stay within the peak memory of a few: measured at 1M
 * files with 64 walkers, 7.7 MiB at 512 changes and 64 KiB each, 3.9 to
 * 4.1 MiB with these budgets (runs differ by 100 KiB); one or two walkers
 * keep 512 and 64 KiB. */
#define BATCH_BUDGET 1024
#define DENTS_BUDGET (256 * 1024)

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
  avail = ((long) rl.rlim_cur - 2 * CHOWN_QUEUE_CAP) / (2 * (long) threads + 1);
  batch = avail < 16 ? 16 : avail > BATCH_MAX ? BATCH_MAX : (size_t) avail;
  if (batch > BATCH_BUDGET / threads)
    batch = BATCH_BUDGET / threads < 16 ? 16 : BATCH_BUDGET / threads;
  want = 2 * CHOWN_QUEUE_CAP + (long) threads * (2 * (long) batch + 64);
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
batch_alloc (struct chown_batch *b, size_t max)
{
  /* Records and paths grow as changes come (batch_room, batch_path). */
  b->items = calloc (max, sizeof *b->items);
  return b->items ? 0 : -1;
}

static void
batch_free (struct chown_batch *b)
{
  free (b->items);
  free (b->rec);
  free (b->paths);
}

static void
worker_free (struct chown_worker *wk)
{
  fd_walk_free (&wk->fw);
  batch_free (&wk->b);
  batch_free (&wk->sealed);
  chown_names_free (steal_pointer (&wk->filling)); /* a stop may leave one unqueued */
}

unsigned int
chown_pool_init (struct chown_pool *w, struct chown_worker *workers, unsigned int threads)
{
  threads = threads < 1 ? 1 : threads > CHOWN_MAX_THREADS ? CHOWN_MAX_THREADS : threads;
  size_t dents_len = DENTS_BUDGET / threads > WALK_DENTS_BUF ? WALK_DENTS_BUF : DENTS_BUDGET / threads;
  w->batch_max = batch_size (threads);
  pthread_mutex_init (&w->lock, NULL);
  pthread_cond_init (&w->cond, NULL);
  memset (workers, 0, CHOWN_MAX_THREADS * sizeof *workers);
  for (unsigned int i = 0; i < threads; i++)
    {
      workers[i].w = w;
      if (batch_alloc (&workers[i].b, w->batch_max) < 0 || batch_alloc (&workers[i].sealed, w->batch_max) < 0
          || fd_walk_init_buffer (&workers[i].fw, w->ops, &workers[i], w->root_mnt, dents_len) < 0)
        threads = i; /* fewer workers */
    }
  if (threads == 0)
    {
      workers[0].w = w;
      chown_entry_error (&workers[0], ENOMEM, "walk", "", ".");
    }
  return threads;
}

int
chown_pool_run (struct chown_pool *w, struct chown_worker *workers, unsigned int threads, hook_error_t **err)
{
  pthread_t tids[CHOWN_MAX_THREADS];
  unsigned int started = 0;

  /* Without its own sync thread the journal still works: whoever waits syncs. */
  if (w->journal && journal_syncer_start (w->journal, threads, err) < 0)
    error_free (err);
  /* Threads 1..STARTED run: after a failed start, none beyond it (the
   * ones running share the queue; the rest of the workers never run). */
  for (unsigned int i = 1; i < threads && pthread_create (&tids[i], NULL, worker_main, &workers[i]) == 0; i++)
    started++;
  worker_main (&workers[0]);
  for (unsigned int i = 1; i <= started; i++)
    pthread_join (tids[i], NULL);
  if (w->journal)
    journal_syncer_stop (w->journal);

  /* After a stop, directories and shares of names may be left in the queues. */
  for (; w->count > 0; w->count--, w->head = (w->head + 1) % CHOWN_QUEUE_CAP)
    {
      close (w->queue[w->head].fd);
      free (w->queue[w->head].path);
    }
  for (struct chown_names *job; (job = chown_names_take (w)) != NULL;)
    chown_names_free (job);
  for (unsigned int i = 0; i < CHOWN_MAX_THREADS; i++)
    {
      chown_report_merge (w->report, &workers[i].rep);
      worker_free (&workers[i]);
    }
  pthread_cond_destroy (&w->cond);
  pthread_mutex_destroy (&w->lock);
  if (w->err)
    {
      error_free (err);
      *err = w->err;
      return -1;
    }
  return 0;
}
