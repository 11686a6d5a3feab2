/* Shares of a directory's entries for idle workers; see chown_batch.h.
 * A reader that finds workers waiting gives them the names it reads (never
 * subdirectories: those go to the queue of directories as before), so
 * that one big directory does not leave every other walker idle where each
 * entry is a round trip (FUSE, NFS).  A share has its own dup of the
 * directory's fd and a copy of its path; whoever takes it handles each
 * name exactly as the reader would have. */
#define _GNU_SOURCE
#include "base/str.h"
#include "chown_batch.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
chown_names_free (struct chown_names *job)
{
  if (job == NULL)
    return;
  close (job->dir_fd);
  free (job->path);
  free (job->buf);
  free (job);
}

/* A new share of DIR_FD, its slot promised; NULL without a waiting worker
 * to promise it to, or without memory (the slot is given back). */
static struct chown_names *
names_new (struct chown_pool *w, int dir_fd, const char *dir)
{
  struct chown_names *job;
  bool promised = false;

  /* Read without the lock first: this runs for every file, and when no
   * worker waits (the common case) the pool's lock would bounce between
   * every walker's CPU for nothing.  The promise itself is made under it. */
  if (__atomic_load_n (&w->waiting, __ATOMIC_RELAXED) == 0)
    return NULL;
  pthread_mutex_lock (&w->lock);
  if (!w->stop && w->names_promised < CHOWN_NAMES_CAP && w->names_promised < w->waiting)
    promised = true, w->names_promised++;
  pthread_mutex_unlock (&w->lock);
  if (!promised)
    return NULL;
  job = calloc (1, sizeof *job);
  if (job != NULL && (job->path = strdup (dir)) != NULL && (job->dir_fd = fcntl (dir_fd, F_DUPFD_CLOEXEC, 3)) >= 0)
    return job;
  if (job)
    {
      free (job->path);
      free (job);
    }
  pthread_mutex_lock (&w->lock);
  w->names_promised--;
  pthread_mutex_unlock (&w->lock);
  return NULL;
}

static bool
names_add (struct chown_names *job, const char *name, unsigned char type)
{
  size_t need = strlen (name) + 1;
  char *buf = str_reserve (job->buf, job->len, &job->cap, need);

  if (buf == NULL)
    return false;
  job->buf = buf;
  memcpy (job->buf + job->len, name, need);
  job->off[job->n] = job->len;
  job->type[job->n++] = type;
  job->len += need;
  return true;
}

void
chown_names_push (struct chown_worker *wk)
{
  struct chown_pool *w = wk->w;
  struct chown_names *job = wk->filling;

  if (job == NULL)
    return;
  wk->filling = NULL;
  wk->filling_dir = NULL;
  pthread_mutex_lock (&w->lock);
  /* Its slot was promised: there is room. */
  w->names_queue[(w->names_head + w->names_count) % CHOWN_NAMES_CAP] = job;
  w->names_count++;
  pthread_cond_signal (&w->cond);
  pthread_mutex_unlock (&w->lock);
}

bool
chown_names_offer (struct chown_worker *wk, int dir_fd, const char *dir, const char *name, unsigned char type)
{
  if (wk->filling && wk->filling_dir != dir)
    chown_names_push (wk);
  if (wk->filling == NULL)
    {
      wk->filling = names_new (wk->w, dir_fd, dir);
      if (wk->filling == NULL)
        return false;
      wk->filling_dir = dir;
    }
  if (!names_add (wk->filling, name, type))
    {
      /* This name is the caller's; the share goes as it is. */
      chown_names_push (wk);
      return false;
    }
  if (wk->filling->n == CHOWN_NAMES_MAX)
    chown_names_push (wk);
  return true;
}

struct chown_names *
chown_names_take (struct chown_pool *w)
{
  struct chown_names *job;

  if (w->names_count == 0)
    return NULL;
  job = w->names_queue[w->names_head];
  w->names_head = (w->names_head + 1) % CHOWN_NAMES_CAP;
  w->names_count--;
  w->names_promised--;
  return job;
}
