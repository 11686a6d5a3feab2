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

/* A share of one directory's entries (never its subdirectories) that
 * another worker takes while the reader reads on: a big directory on a
 * filesystem where each entry is a round trip is the whole walk's work
 * otherwise (hook/chown/chown_names.c). */
#define CHOWN_NAMES_MAX 16
#define CHOWN_NAMES_CAP CHOWN_MAX_THREADS

struct chown_names
{
  int dir_fd; /* its own: a dup of the reader's */
  char *path; /* the directory's, relative to the root */
  unsigned int n;
  unsigned char type[CHOWN_NAMES_MAX];
  size_t off[CHOWN_NAMES_MAX]; /* into buf */
  char *buf;
  size_t len, cap;
};

struct chown_worker;

struct chown_pool
{
  const struct chown_spec *spec;
  struct journal *journal;
  const struct fd_walk_ops *ops; /* how a worker walks a directory it takes */
  /* How a worker handles a share of names it takes (chown_walk.c). */
  int (*names) (struct chown_worker *wk, const struct chown_names *job);
  uint64_t root_mnt;
  size_t batch_max;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  struct chown_dir queue[CHOWN_QUEUE_CAP];
  size_t head, count;
  /* Shares of names waiting, and how many slots are promised to readers
   * filling one (always at most CHOWN_NAMES_CAP, and never more than the
   * workers waiting when each was promised). */
  struct chown_names *names_queue[CHOWN_NAMES_CAP];
  size_t names_head, names_count, names_promised;
  unsigned int active, waiting;
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
  unsigned char *rec; /* grown as records come (batch_room) */
  size_t rec_len, rec_cap;
  char *paths;
  size_t paths_len, paths_cap;
};

struct chown_worker
{
  struct chown_pool *w;
  struct fd_walk fw;           /* its directories: one fd per level, one read buffer */
  struct chown_batch b;        /* being filled */
  struct chown_batch sealed;   /* written to the journal, waiting for its sync */
  struct chown_report rep;     /* counters only; merged at the end */
  struct chown_names *filling; /* a share being filled, its slot promised */
  const void *filling_dir;     /* the fd_walk data of the directory it is of */
};

/* Fail with "WHAT DIR/NAME: strerror (ERRNUM)"; returns -1. */
int chown_entry_error (struct chown_worker *wk, int errnum, const char *what, const char *dir, const char *name);

/* Remember DIR/NAME in the first free one of the report's SLOTS. */
void chown_note_path (struct chown_worker *wk, char **slots, const char *dir, const char *name);

/* Walk directory FD (DIR/NAME; STX its statx) later: in the shared queue,
 * or entered by this worker before its parent reads on (walked at once
 * when it was found in a share of names, outside any walk).  Takes FD. */
int chown_descend (struct chown_worker *wk, int fd, const struct statx *stx, const char *dir, const char *name);

/* Change FD (the inode STX describes) to UID:GID once its journal record
 * is durable.  Takes FD. */
int chown_batch_add (struct chown_worker *wk, int fd, bool path_fd, const struct statx *stx, uint32_t uid, uint32_t gid,
                     const char *dir, const char *name);

/* Make every pending change of the worker happen (records first); after a
 * stop, only close. */
int chown_batch_flush (struct chown_worker *wk);

/* hook/chown/chown_names.c.  Put NAME (of TYPE, an entry of DIR_FD, whose
 * fd_walk data is DIR) into a share for another worker: true when taken,
 * false when the caller must handle it (no worker waits, or no memory). */
bool chown_names_offer (struct chown_worker *wk, int dir_fd, const char *dir, const char *name, unsigned char type);

/* Queue the share being filled, if any (its directory is left, or full). */
void chown_names_push (struct chown_worker *wk);

/* Take a waiting share (W's lock held); NULL when none waits. */
struct chown_names *chown_names_take (struct chown_pool *w);

void chown_names_free (struct chown_names *job);

/* Set up W and THREADS workers (1 to CHOWN_MAX_THREADS, see
 * chown_walkers.h); returns how many can run
 * (at least one; when none could, the walk has failed). */
unsigned int chown_pool_init (struct chown_pool *w, struct chown_worker *workers, unsigned int threads);

/* Run the workers until the queue is empty (or the walk stops), then free
 * them and W; returns -1 with the walk's error. */
int chown_pool_run (struct chown_pool *w, struct chown_worker *workers, unsigned int threads, hook_error_t **err);

#endif
