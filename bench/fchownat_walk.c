/* fchownat-walk DIR UID GID [THREADS]: the syscall floor of a recursive
 * chown, for the benchmark only.  No checks, no journal: getdents64 on
 * each directory, fchownat by name with AT_SYMLINK_NOFOLLOW for every
 * entry, openat (O_DIRECTORY | O_NOFOLLOW) into each subdirectory.  What
 * any recursive chown must at least do.  One thread by default; with
 * THREADS, that many share a queue of directories (the plain parallel
 * chown, the floor of a walk with many requests in flight).  Exit status
 * 1 if anything failed. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

enum
{
  BUF_SIZE = 32 * 1024,
  QUEUE_CAP = 4096,
  MAX_THREADS = 256
};

static uid_t uid;
static gid_t gid;
static int failed;

/* The directories waiting for a thread; busy counts the queued ones and
 * those being walked, so that 0 means the walk is done. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int queue[QUEUE_CAP];
static size_t queued, busy;
static int threaded;

static void
fail (const char *what)
{
  perror (what);
  __atomic_store_n (&failed, 1, __ATOMIC_RELAXED);
}

static int
is_dir (int dir_fd, const struct dirent64 *d)
{
  struct stat st;

  if (d->d_type != DT_UNKNOWN)
    return d->d_type == DT_DIR;
  /* Only filesystems that leave d_type out pay this. */
  return fstatat (dir_fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode);
}

/* Hand FD to another thread if there are threads and room; else 0. */
static int
hand_off (int fd)
{
  int handed = 0;

  if (!threaded)
    return 0;
  pthread_mutex_lock (&lock);
  if (queued < QUEUE_CAP)
    {
      queue[queued++] = fd;
      busy++;
      handed = 1;
      pthread_cond_signal (&cond);
    }
  pthread_mutex_unlock (&lock);
  return handed;
}

/* Each level reads its directory into its own buffer, so a descent never
 * makes a parent read its entries again; a level costs a buffer and an fd
 * (the generated trees are two levels deep).  Closes dir_fd. */
static void
walk (int dir_fd)
{
  char *buf = malloc (BUF_SIZE);
  ssize_t n = 0;

  if (buf == NULL)
    fail ("malloc");
  while (buf != NULL && (n = getdents64 (dir_fd, buf, BUF_SIZE)) > 0)
    for (ssize_t off = 0; off < n;)
      {
        struct dirent64 *d = (struct dirent64 *) (buf + off);
        int fd;

        off += d->d_reclen;
        if (strcmp (d->d_name, ".") == 0 || strcmp (d->d_name, "..") == 0)
          continue;
        if (fchownat (dir_fd, d->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
          fail (d->d_name);
        if (!is_dir (dir_fd, d))
          continue;
        fd = openat (dir_fd, d->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
          fail (d->d_name);
        else if (!hand_off (fd))
          walk (fd);
      }
  if (n < 0)
    fail ("getdents64");
  free (buf);
  close (dir_fd);
}

static void *
worker (void *arg)
{
  (void) arg;
  pthread_mutex_lock (&lock);
  for (;;)
    {
      while (queued == 0 && busy > 0)
        pthread_cond_wait (&cond, &lock);
      if (queued == 0)
        break;
      int fd = queue[--queued];
      pthread_mutex_unlock (&lock);
      walk (fd);
      pthread_mutex_lock (&lock);
      if (--busy == 0)
        pthread_cond_broadcast (&cond);
    }
  pthread_mutex_unlock (&lock);
  return NULL;
}

int
main (int argc, char **argv)
{
  pthread_t tids[MAX_THREADS];
  long threads = 1;
  struct rlimit rl;
  int fd;

  if (argc != 4 && argc != 5)
    {
      fprintf (stderr, "usage: fchownat-walk DIR UID GID [THREADS]\n");
      return 2;
    }
  uid = (uid_t) strtoul (argv[2], NULL, 10);
  gid = (gid_t) strtoul (argv[3], NULL, 10);
  if (argc == 5 && ((threads = strtol (argv[4], NULL, 10)) < 1 || threads > MAX_THREADS))
    {
      fprintf (stderr, "fchownat-walk: THREADS is 1 to %d\n", MAX_THREADS);
      return 2;
    }
  /* A full queue holds QUEUE_CAP directory fds. */
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
  fd = open (argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fchown (fd, uid, gid) < 0)
    {
      perror (argv[1]);
      return 1;
    }
  if (threads == 1)
    {
      walk (fd);
      return failed;
    }
  threaded = 1;
  queue[queued++] = fd;
  busy = 1;
  for (long i = 0; i < threads; i++)
    if (pthread_create (&tids[i], NULL, worker, NULL) != 0)
      {
        fail ("pthread_create");
        threads = i;
        break;
      }
  for (long i = 0; i < threads; i++)
    pthread_join (tids[i], NULL);
  return failed;
}
