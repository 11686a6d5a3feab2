/* fchownat-walk DIR UID GID: the syscall floor of a recursive chown, for
 * the benchmark only.  One thread, names not fds, no checks, no journal:
 * getdents64, then fchownat by name with AT_SYMLINK_NOFOLLOW per entry,
 * openat into each subdirectory.  What any chown must at least do. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uid_t uid;
static gid_t gid;

static int
walk (int dir_fd, const char *path)
{
  static char buf[64 * 1024];
  ssize_t n;

  /* The buffer is shared by every level: reread a parent after each descent. */
  for (off_t resume = 0;;)
    {
      off_t next = -1;
      if (lseek (dir_fd, resume, SEEK_SET) < 0 || (n = getdents64 (dir_fd, buf, sizeof buf)) < 0)
        {
          perror (path);
          return -1;
        }
      if (n == 0)
        return 0;
      for (ssize_t off = 0; off < n && next < 0;)
        {
          struct dirent64 *d = (struct dirent64 *) (buf + off);
          off += d->d_reclen;
          resume = d->d_off;
          if (strcmp (d->d_name, ".") == 0 || strcmp (d->d_name, "..") == 0)
            continue;
          if (fchownat (dir_fd, d->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
            perror (d->d_name);
          if (d->d_type == DT_DIR)
            {
              int fd = openat (dir_fd, d->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
              if (fd < 0 || walk (fd, d->d_name) < 0)
                return -1;
              close (fd);
              next = resume;
            }
        }
    }
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
  uid = (uid_t) atol (argv[2]);
  gid = (gid_t) atol (argv[3]);
  fd = open (argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fchown (fd, uid, gid) < 0)
    {
      perror (argv[1]);
      return 1;
    }
  return walk (fd, argv[1]) < 0;
}
