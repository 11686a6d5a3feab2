/* mktree DIR N UID GID: N empty files below DIR, 1000 to a directory, all
 * created owned by UID:GID (through the fs ids, so without a chown pass). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

int
main (int argc, char **argv)
{
  long n, uid, gid;
  int top;

  if (argc != 5)
    {
      fprintf (stderr, "usage: mktree DIR N UID GID\n");
      return 2;
    }
  n = atol (argv[2]);
  uid = atol (argv[3]);
  gid = atol (argv[4]);
  /* The top directory as root (its parent may be root's), then the rest as UID:GID. */
  if ((mkdir (argv[1], 0755) < 0 && errno != EEXIST) || chown (argv[1], (uid_t) uid, (gid_t) gid) < 0)
    {
      perror (argv[1]);
      return 1;
    }
  setfsgid ((gid_t) gid);
  setfsuid ((uid_t) uid);
  top = open (argv[1], O_PATH | O_DIRECTORY);
  if (top < 0)
    {
      perror (argv[1]);
      return 1;
    }
  for (long d = 0; d * 1000 < n; d++)
    {
      char name[32];
      int dir;
      snprintf (name, sizeof name, "d%ld", d);
      if (mkdirat (top, name, 0755) < 0 && errno != EEXIST)
        {
          perror (name);
          return 1;
        }
      dir = openat (top, name, O_PATH | O_DIRECTORY);
      for (long f = d * 1000; dir >= 0 && f < n && f < (d + 1) * 1000; f++)
        {
          int fd;
          snprintf (name, sizeof name, "f%ld", f);
          fd = openat (dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
          if (fd < 0 && errno != EEXIST)
            {
              perror (name);
              return 1;
            }
          if (fd >= 0)
            close (fd);
        }
      if (dir >= 0)
        close (dir);
    }
  return 0;
}
