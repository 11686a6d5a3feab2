/* fchownat-walk DIR UID GID: the syscall floor of a recursive chown, for
 * the benchmark only.  One thread, no checks, no journal: getdents64 on
 * each directory, fchownat by name with AT_SYMLINK_NOFOLLOW for every
 * entry, openat (O_DIRECTORY | O_NOFOLLOW) into each subdirectory.  What
 * any recursive chown must at least do; exit status 1 if anything failed. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum
{
  BUF_SIZE = 32 * 1024
};

static uid_t uid;
static gid_t gid;
static int failed;

static void
fail (const char *what)
{
  perror (what);
  failed = 1;
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
        else
          walk (fd);
      }
  if (n < 0)
    fail ("getdents64");
  free (buf);
  close (dir_fd);
}

int
main (int argc, char **argv)
{
  int fd;

  if (argc != 4)
    {
      fprintf (stderr, "usage: fchownat-walk DIR UID GID\n");
      return 2;
    }
  uid = (uid_t) strtoul (argv[2], NULL, 10);
  gid = (gid_t) strtoul (argv[3], NULL, 10);
  fd = open (argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fchown (fd, uid, gid) < 0)
    {
      perror (argv[1]);
      return 1;
    }
  walk (fd);
  return failed;
}
