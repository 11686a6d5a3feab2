/* The parallel part of the chown walk (chown_walk.c): workers sharing a
 * bounded queue of directories, and each worker's batches of changes,
 * which happen only once their journal records are durable.  Internal to
 * hook/chown/: what chown_walk.c decides per entry, this carries out. */
#ifndef HOOK_CHOWN_BATCH_H
#define HOOK_CHOWN_BATCH_H

#include "chown_walk.h"
#include "chown_walkers.h"
#include "hook/system/fd_walk.h"

#include <pthread.h>

#define CHOWN_QUEUE_CAP 256

struct chown_dir
{
  int fd;
  char *path; /* relative to the root, "" for the root */
};

struct chown_pool
{
  const struct chown_spec *spec;
  struct journal *journal;
  const struct fd_walk_ops *ops; /* how a worker walks a directory it takes */
  uint64_t root_mnt;
  size_t batch_max;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  struct chown_dir queue[CHOWN_QUEUE_CAP];
  size_t head, count;
  unsigned int active;
  bool stop;
  hook_error_t *err; /* the first error; the walk stops there */
  struct chown_report *report;
};

/* An entry whose owner is about to change: its journal record is in the
 * batch's buffer, and it changes once the buffer is durable. */
struct chown_pending
{
  int fd;
  bool path_fd;
  uint32_t mode, uid, gid; /* mode before; ids after */
  size_t cap_off;
  unsigned int cap_len;
  size_t path_off; /* in the batch's paths, for messages */
};

/* A worker's changes waiting for their journal records to be durable.
 * They span directories.  Each worker fills one batch while the records
 * of the one before are being synced: a sync then covers the batches of
 * every worker, and the walk rarely waits for one. */
struct chown_batch
{
  uint64_t ticket; /* its records, once written to the journal */
  struct chown_pending *items;
  size_t n;
  unsigned char *rec;
  size_t rec_len;
  char *paths;
  size_t paths_len, paths_cap;
};

struct chown_worker
{
  struct chown_pool *w;
  struct fd_walk fw;         /* its directories: one fd per level, one read buffer */
  struct chown_batch b;      /* being filled */
  struct chown_batch sealed; /* written to the journal, waiting for its sync */
  struct chown_report rep;   /* counters only; merged at the end */
};

/* Fail with "WHAT DIR/NAME: strerror (ERRNUM)"; returns -1. */
int chown_entry_error (struct chown_worker *wk, int errnum, const char *what, const char *dir, const char *name);

/* Remember DIR/NAME in the first free one of the report's SLOTS. */
void chown_note_path (struct chown_worker *wk, char **slots, const char *dir, const char *name);

/* Walk directory FD (DIR/NAME; STX its statx) later: in the shared queue,
 * or entered by this worker before its parent reads on.  Takes FD. */
int chown_descend (struct chown_worker *wk, int fd, const struct statx *stx, const char *dir, const char *name);

/* Change FD (the inode STX describes) to UID:GID once its journal record
 * is durable.  Takes FD. */
int chown_batch_add (struct chown_worker *wk, int fd, bool path_fd, const struct statx *stx, uint32_t uid, uint32_t gid,
                     const char *dir, const char *name);

/* Make every pending change of the worker happen (records first); after a
 * stop, only close. */
int chown_batch_flush (struct chown_worker *wk);

/* Set up W and THREADS workers (1 to CHOWN_MAX_THREADS, see
 * chown_walkers.h); returns how many can run
 * (at least one; when none could, the walk has failed). */
unsigned int chown_pool_init (struct chown_pool *w, struct chown_worker *workers, unsigned int threads);

/* Run the workers until the queue is empty (or the walk stops), then free
 * them and W; returns -1 with the walk's error. */
int chown_pool_run (struct chown_pool *w, struct chown_worker *workers, unsigned int threads, hook_error_t **err);

#endif
