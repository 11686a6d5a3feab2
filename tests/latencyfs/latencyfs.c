/* latencyfs: a FUSE passthrough of one directory that waits a set time
 * before each operation, to stand in for a network filesystem (NFS at a
 * round trip of 0.2 ms or 1 ms) in tests and benchmarks of mode chown.
 *
 *     latencyfs [--delay-us N] [--chown-deny] SOURCE MOUNTPOINT [FUSE OPTIONS]
 *
 * Every operation is done on SOURCE as the daemon (root), relative to one
 * directory fd, never following a symlink at the last component; the
 * kernel checks permissions (default_permissions) and inode numbers pass
 * through (use_ino), so hard links, owners and modes look as on SOURCE.
 * --chown-deny answers every chown with EPERM, as NFS with root_squash does.
 * Multithreaded: run with -o max_threads=N to let N operations wait at once. */
#define FUSE_USE_VERSION 31
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static int source_fd = -1;
static long delay_us;
static int chown_deny;

/* One round trip: the wait every operation pays. */
static void
round_trip (void)
{
  struct timespec ts = { delay_us / 1000000, (delay_us % 1000000) * 1000 };
  if (delay_us > 0)
    while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
      ;
}

/* FUSE's paths start at the mount's root: "/" is SOURCE itself. */
static const char *
rel (const char *path)
{
  while (*path == '/')
    path++;
  return *path ? path : ".";
}

static int
ret (int r)
{
  return r < 0 ? -errno : 0;
}

static void *
lfs_init (struct fuse_conn_info *conn, struct fuse_config *cfg)
{
  (void) conn;
  cfg->use_ino = 1;
  cfg->nullpath_ok = 0;
  /* Attributes are the source's at each call: no caching, as a server
   * that others write to would need. */
  cfg->entry_timeout = 0;
  cfg->attr_timeout = 0;
  cfg->negative_timeout = 0;
  return NULL;
}

static int
lfs_getattr (const char *path, struct stat *st, struct fuse_file_info *fi)
{
  round_trip ();
  if (fi)
    return ret (fstat ((int) fi->fh, st));
  return ret (fstatat (source_fd, rel (path), st, AT_SYMLINK_NOFOLLOW));
}

static int
lfs_readlink (const char *path, char *buf, size_t size)
{
  ssize_t n;
  round_trip ();
  n = readlinkat (source_fd, rel (path), buf, size - 1);
  if (n < 0)
    return -errno;
  buf[n] = '\0';
  return 0;
}

/* The daemon is root: what it makes belongs to whoever asked, as on a
 * server; undone when that fails. */
static int
owned_by_caller (const char *path, int r, int rmflags)
{
  struct fuse_context *c = fuse_get_context ();
  if (r < 0)
    return -errno;
  if (fchownat (source_fd, rel (path), c->uid, c->gid, AT_SYMLINK_NOFOLLOW) < 0)
    {
      int e = errno;
      unlinkat (source_fd, rel (path), rmflags);
      return -e;
    }
  return 0;
}

static int
lfs_mknod (const char *path, mode_t mode, dev_t rdev)
{
  round_trip ();
  return owned_by_caller (path, mknodat (source_fd, rel (path), mode, rdev), 0);
}

static int
lfs_mkdir (const char *path, mode_t mode)
{
  round_trip ();
  return owned_by_caller (path, mkdirat (source_fd, rel (path), mode), AT_REMOVEDIR);
}

static int
lfs_unlink (const char *path)
{
  round_trip ();
  return ret (unlinkat (source_fd, rel (path), 0));
}

static int
lfs_rmdir (const char *path)
{
  round_trip ();
  return ret (unlinkat (source_fd, rel (path), AT_REMOVEDIR));
}

static int
lfs_symlink (const char *target, const char *path)
{
  round_trip ();
  return owned_by_caller (path, symlinkat (target, source_fd, rel (path)), 0);
}

static int
lfs_rename (const char *from, const char *to, unsigned int flags)
{
  round_trip ();
  return ret (renameat2 (source_fd, rel (from), source_fd, rel (to), flags));
}

static int
lfs_link (const char *from, const char *to)
{
  round_trip ();
  return ret (linkat (source_fd, rel (from), source_fd, rel (to), 0));
}

static int
lfs_chmod (const char *path, mode_t mode, struct fuse_file_info *fi)
{
  round_trip ();
  if (fi)
    return ret (fchmod ((int) fi->fh, mode));
  /* Never the target of a symlink: EOPNOTSUPP for one, as the kernel says. */
  return ret (fchmodat (source_fd, rel (path), mode, AT_SYMLINK_NOFOLLOW));
}

static int
lfs_chown (const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
  round_trip ();
  if (chown_deny)
    return -EPERM;
  if (fi)
    return ret (fchown ((int) fi->fh, uid, gid));
  return ret (fchownat (source_fd, rel (path), uid, gid, AT_SYMLINK_NOFOLLOW));
}

static int
lfs_truncate (const char *path, off_t size, struct fuse_file_info *fi)
{
  int fd, r;
  round_trip ();
  if (fi)
    return ret (ftruncate ((int) fi->fh, size));
  fd = openat (source_fd, rel (path), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  r = ret (ftruncate (fd, size));
  close (fd);
  return r;
}

static int
lfs_utimens (const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
  round_trip ();
  if (fi)
    return ret (futimens ((int) fi->fh, tv));
  return ret (utimensat (source_fd, rel (path), tv, AT_SYMLINK_NOFOLLOW));
}

static int
lfs_open (const char *path, struct fuse_file_info *fi)
{
  int fd;
  round_trip ();
  fd = openat (source_fd, rel (path), (fi->flags & ~O_CREAT) | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  fi->fh = (uint64_t) fd;
  return 0;
}

static int
lfs_create (const char *path, mode_t mode, struct fuse_file_info *fi)
{
  int fd;
  round_trip ();
  fd = openat (source_fd, rel (path), fi->flags | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0)
    return -errno;
  /* The daemon is root: the new file belongs to whoever asked. */
  if (fchown (fd, fuse_get_context ()->uid, fuse_get_context ()->gid) < 0)
    {
      int e = errno;
      close (fd);
      unlinkat (source_fd, rel (path), 0);
      return -e;
    }
  fi->fh = (uint64_t) fd;
  return 0;
}

static int
lfs_read (const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
  ssize_t n;
  (void) path;
  round_trip ();
  n = pread ((int) fi->fh, buf, size, off);
  return n < 0 ? -errno : (int) n;
}

static int
lfs_write (const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
  ssize_t n;
  (void) path;
  round_trip ();
  n = pwrite ((int) fi->fh, buf, size, off);
  return n < 0 ? -errno : (int) n;
}

static int
lfs_statfs (const char *path, struct statvfs *st)
{
  (void) path;
  round_trip ();
  return ret (fstatvfs (source_fd, st));
}

static int
lfs_release (const char *path, struct fuse_file_info *fi)
{
  (void) path;
  close ((int) fi->fh);
  return 0;
}

static int
lfs_fsync (const char *path, int datasync, struct fuse_file_info *fi)
{
  (void) path;
  round_trip ();
  return ret (datasync ? fdatasync ((int) fi->fh) : fsync ((int) fi->fh));
}

/* xattrs by /proc/self/fd of an O_PATH fd (of the entry itself, a symlink
 * included): the plain *xattr calls, which follow that magic link to the
 * entry; l*xattr would act on the /proc link itself (ENODATA, EPERM). */
static int
xattr_fd_path (const char *path, char *buf, size_t size, int *fd)
{
  *fd = openat (source_fd, rel (path), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (*fd < 0)
    return -errno;
  snprintf (buf, size, "/proc/self/fd/%d", *fd);
  return 0;
}

static int
lfs_setxattr (const char *path, const char *name, const char *value, size_t size, int flags)
{
  char p[64];
  int fd, r;
  round_trip ();
  if ((r = xattr_fd_path (path, p, sizeof p, &fd)) < 0)
    return r;
  r = ret (setxattr (p, name, value, size, flags));
  close (fd);
  return r;
}

static int
lfs_getxattr (const char *path, const char *name, char *value, size_t size)
{
  char p[64];
  int fd, r;
  ssize_t n;
  round_trip ();
  if ((r = xattr_fd_path (path, p, sizeof p, &fd)) < 0)
    return r;
  n = getxattr (p, name, value, size);
  r = n < 0 ? -errno : (int) n;
  close (fd);
  return r;
}

static int
lfs_listxattr (const char *path, char *list, size_t size)
{
  char p[64];
  int fd, r;
  ssize_t n;
  round_trip ();
  if ((r = xattr_fd_path (path, p, sizeof p, &fd)) < 0)
    return r;
  n = listxattr (p, list, size);
  r = n < 0 ? -errno : (int) n;
  close (fd);
  return r;
}

static int
lfs_removexattr (const char *path, const char *name)
{
  char p[64];
  int fd, r;
  round_trip ();
  if ((r = xattr_fd_path (path, p, sizeof p, &fd)) < 0)
    return r;
  r = ret (removexattr (p, name));
  close (fd);
  return r;
}

static int
lfs_opendir (const char *path, struct fuse_file_info *fi)
{
  int fd;
  DIR *d;
  round_trip ();
  fd = openat (source_fd, rel (path), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  d = fdopendir (fd);
  if (d == NULL)
    {
      int e = errno;
      close (fd);
      return -e;
    }
  fi->fh = (uint64_t) (uintptr_t) d;
  return 0;
}

static int
lfs_readdir (const char *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi,
             enum fuse_readdir_flags flags)
{
  DIR *d = (DIR *) (uintptr_t) fi->fh;
  struct dirent *e;
  (void) path, (void) off, (void) flags;
  round_trip ();
  rewinddir (d);
  while ((errno = 0, e = readdir (d)) != NULL)
    {
      struct stat st = { .st_ino = e->d_ino, .st_mode = (mode_t) DTTOIF (e->d_type) };
      if (fill (buf, e->d_name, &st, 0, 0))
        break;
    }
  return errno ? -errno : 0;
}

static int
lfs_releasedir (const char *path, struct fuse_file_info *fi)
{
  (void) path;
  closedir ((DIR *) (uintptr_t) fi->fh);
  return 0;
}

static const struct fuse_operations lfs_ops = {
  .init = lfs_init,
  .getattr = lfs_getattr,
  .readlink = lfs_readlink,
  .mknod = lfs_mknod,
  .mkdir = lfs_mkdir,
  .unlink = lfs_unlink,
  .rmdir = lfs_rmdir,
  .symlink = lfs_symlink,
  .rename = lfs_rename,
  .link = lfs_link,
  .chmod = lfs_chmod,
  .chown = lfs_chown,
  .truncate = lfs_truncate,
  .utimens = lfs_utimens,
  .open = lfs_open,
  .create = lfs_create,
  .read = lfs_read,
  .write = lfs_write,
  .statfs = lfs_statfs,
  .release = lfs_release,
  .fsync = lfs_fsync,
  .setxattr = lfs_setxattr,
  .getxattr = lfs_getxattr,
  .listxattr = lfs_listxattr,
  .removexattr = lfs_removexattr,
  .opendir = lfs_opendir,
  .readdir = lfs_readdir,
  .releasedir = lfs_releasedir,
};

static int
usage (void)
{
  fprintf (stderr, "usage: latencyfs [--delay-us N] [--chown-deny] SOURCE MOUNTPOINT [-f] [-o OPTIONS]\n");
  return 2;
}

int
main (int argc, char **argv)
{
  static char opt_flag[] = "-o", opts[] = "default_permissions,allow_other,fsname=latencyfs,subtype=latencyfs";
  char *fargv[64];
  int fargc = 0, i = 1;

  for (; i < argc && strncmp (argv[i], "--", 2) == 0; i++)
    {
      char *end;
      if (strcmp (argv[i], "--delay-us") == 0 && i + 1 < argc)
        {
          delay_us = strtol (argv[++i], &end, 10);
          if (*end || delay_us < 0 || delay_us > 10 * 1000 * 1000)
            return usage ();
        }
      else if (strcmp (argv[i], "--chown-deny") == 0)
        chown_deny = 1;
      else
        return usage ();
    }
  if (argc - i < 2 || argc - i > 40)
    return usage ();
  source_fd = open (argv[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (source_fd < 0)
    {
      fprintf (stderr, "latencyfs: open '%s': %s\n", argv[i], strerror (errno));
      return 1;
    }
  fargv[fargc++] = argv[0];
  /* The kernel checks permissions against the attributes: a user inside
   * may do what SOURCE's modes let it, not what the daemon (root) may. */
  fargv[fargc++] = opt_flag;
  fargv[fargc++] = opts;
  for (i++; i < argc; i++)
    fargv[fargc++] = argv[i];
  fargv[fargc] = NULL;
  umask (0);
  return fuse_main (fargc, fargv, &lfs_ops, NULL);
}
