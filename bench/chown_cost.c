/* What each system call of the hook's chown walk costs, per file.
 *
 *   chown-cost TREE REPS
 *
 * TREE is a directory of directories of regular files (bench/mktree.c).
 * One thread gives every file of TREE to another owner with one sequence
 * of calls, then with the next, REPS rounds over all sequences (so that
 * noise falls on each alike); the median microseconds per file of each
 * sequence go to stdout as "SEQUENCE,US".  A directory's names are read
 * before its files are timed: reading directories costs every method the
 * same.  The sequences are the hook's (hook/chown/chown_walk.c: a look by
 * name, an open that follows nothing, a look at the fd, the capability,
 * the journal's handle, the change, the close), that sequence without
 * each of its checks in turn, and chown -R's single fchownat by name: the
 * differences are what each check costs.  Needs root. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

enum
{
  LOOK_NAME = 1 << 0,
  OPEN = 1 << 1,
  LOOK_FD = 1 << 2,
  CAPABILITY = 1 << 3,
  HANDLE = 1 << 4,
  CHANGE_FD = 1 << 5,
  CHANGE_NAME = 1 << 6,
};
#define HOOK_CALLS (LOOK_NAME | OPEN | LOOK_FD | CAPABILITY | HANDLE | CHANGE_FD)

static const struct
{
  const char *name;
  unsigned int calls;
} sequences[] = {
  { "fchownat by name (chown -R)", CHANGE_NAME },
  { "the hook's calls", HOOK_CALLS },
  { "without the statx by name", HOOK_CALLS & ~LOOK_NAME },
  { "without the statx of the fd", HOOK_CALLS & ~LOOK_FD },
  { "without fgetxattr (capability)", HOOK_CALLS & ~CAPABILITY },
  { "without name_to_handle_at (journal)", HOOK_CALLS & ~HANDLE },
  { "openat2 + fchown + close", OPEN | CHANGE_FD },
  { "openat2 + close", OPEN },
};
#define N_SEQUENCES (sizeof sequences / sizeof sequences[0])
#define STATX_WANT (STATX_TYPE | STATX_MODE | STATX_UID | STATX_GID | STATX_NLINK | STATX_MNT_ID | STATX_BTIME)

static double
now_us (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (double) t.tv_sec * 1e6 + (double) t.tv_nsec / 1e3;
}

static void
die (const char *what, const char *name)
{
  fprintf (stderr, "chown-cost: %s %s: %s\n", what, name, strerror (errno));
  exit (1);
}

/* One file, the calls of CALLS, as the walk makes them. */
static void
one_file (int dir_fd, const char *name, unsigned int calls, uid_t to)
{
  struct open_how how = { .flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC,
                          .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV };
  struct
  {
    struct file_handle fh;
    unsigned char bytes[128];
  } h;
  struct statx stx;
  char cap[64];
  int fd = -1, mnt;

  if ((calls & LOOK_NAME) && statx (dir_fd, name, AT_SYMLINK_NOFOLLOW, STATX_WANT, &stx) < 0)
    die ("statx", name);
  if ((calls & OPEN) && (fd = (int) syscall (SYS_openat2, dir_fd, name, &how, sizeof how)) < 0)
    die ("openat2", name);
  if ((calls & LOOK_FD) && statx (fd, "", AT_EMPTY_PATH, STATX_WANT, &stx) < 0)
    die ("statx of the fd of", name);
  if ((calls & CAPABILITY) && fgetxattr (fd, "security.capability", cap, sizeof cap) < 0 && errno != ENODATA)
    die ("fgetxattr", name);
  h.fh.handle_bytes = sizeof h.bytes;
  if ((calls & HANDLE) && name_to_handle_at (fd, "", &h.fh, &mnt, AT_EMPTY_PATH) < 0)
    die ("name_to_handle_at", name);
  if ((calls & CHANGE_FD) && fchown (fd, to, to) < 0)
    die ("fchown", name);
  if ((calls & CHANGE_NAME) && fchownat (dir_fd, name, to, to, AT_SYMLINK_NOFOLLOW) < 0)
    die ("fchownat", name);
  if (fd >= 0)
    close (fd);
}

/* Every file of TREE given to TO with CALLS; returns microseconds per file. */
static double
one_pass (const char *tree, unsigned int calls, uid_t to)
{
  DIR *top = opendir (tree);
  struct dirent *d;
  double spent = 0;
  size_t files = 0, cap = 0;
  char **names = NULL;

  if (top == NULL)
    die ("open", tree);
  while ((d = readdir (top)) != NULL)
    {
      size_t n = 0;
      int dir_fd;
      DIR *dir;
      double start;

      if (d->d_type != DT_DIR || d->d_name[0] == '.')
        continue;
      if ((dir_fd = openat (dirfd (top), d->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0
          || (dir = fdopendir (dir_fd)) == NULL)
        die ("open", d->d_name);
      for (struct dirent *e; (e = readdir (dir)) != NULL;)
        {
          if (e->d_type != DT_REG)
            continue;
          if (n == cap && (names = realloc (names, (cap = cap ? cap * 2 : 1024) * sizeof *names)) == NULL)
            die ("remember", e->d_name);
          if ((names[n++] = strdup (e->d_name)) == NULL)
            die ("remember", e->d_name);
        }
      start = now_us ();
      for (size_t i = 0; i < n; i++)
        one_file (dirfd (dir), names[i], calls, to);
      spent += now_us () - start;
      files += n;
      for (size_t i = 0; i < n; i++)
        free (names[i]);
      closedir (dir);
    }
  closedir (top);
  free (names);
  if (files == 0)
    {
      fprintf (stderr, "chown-cost: no files in the directories of %s\n", tree);
      exit (1);
    }
  return spent / (double) files;
}

static int
by_value (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

int
main (int argc, char **argv)
{
  int reps = argc == 3 ? atoi (argv[2]) : 0;
  double *us;
  uid_t to = 200000;

  if (reps < 1)
    {
      fprintf (stderr, "usage: chown-cost TREE REPS\n");
      return 2;
    }
  if ((us = calloc (N_SEQUENCES * (size_t) reps, sizeof *us)) == NULL)
    die ("allocate", "");
  /* A round that counts nothing first: the tree's inodes in the cache. */
  one_pass (argv[1], CHANGE_NAME, to++);
  for (int r = 0; r < reps; r++)
    for (size_t s = 0; s < N_SEQUENCES; s++)
      us[s * (size_t) reps + (size_t) r] = one_pass (argv[1], sequences[s].calls, to++);
  for (size_t s = 0; s < N_SEQUENCES; s++)
    {
      qsort (us + s * (size_t) reps, (size_t) reps, sizeof *us, by_value);
      printf ("%s,%.3f\n", sequences[s].name, us[s * (size_t) reps + (size_t) reps / 2]);
    }
  free (us);
  return 0;
}
