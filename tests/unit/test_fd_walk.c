/* hook/system/fd_walk.c, the one walk by file descriptor, on its own.
 *
 * This file defines its own getdents64, which the walk's call binds to:
 * it swaps a name in the tree right after the walk has read the directory
 * holding it, the instant a real attacker aims for.  The callbacks here do
 * what every user of the walk does: open a subdirectory with walk_open and
 * hand it to fd_walk_enter.  Needs root (it mounts a tmpfs in a mount
 * namespace of its own). */
#define _GNU_SOURCE
#include "helpers.h"
#include "hook/system/fd_walk.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static char top[64], outside[80];

/* Once, after the walk has read the directory of inode VICTIM: run SWAP. */
static struct
{
  ino_t victim;
  void (*swap) (void);
  int fired;
} race;

ssize_t
getdents64 (int fd, void *buf, size_t len)
{
  ssize_t n = (ssize_t) syscall (SYS_getdents64, fd, buf, len);
  struct stat st;

  if (race.swap && !race.fired && n > 0 && fstat (fd, &st) == 0 && st.st_ino == race.victim)
    {
      race.fired++;
      race.swap ();
    }
  return n;
}

/* What a walk saw. */
static struct seen
{
  size_t entries, entered, left, max_depth, not_entered, other_mount, read_errors;
  size_t named_secret; /* entries named "secret": only outside the tree, or on another mount */
  size_t named_e;      /* entries named "e": only in d/ */
  int open_errno;      /* of the last subdirectory that did not open */
  size_t stop_after;   /* end the walk after this many entries (0: never) */
} seen;

static int
on_entry (void *ctx, struct fd_walk *fw, int dir_fd, void *dir_data, size_t depth, const struct dirent64 *d)
{
  struct stat st;
  int fd, entered;

  (void) ctx;
  (void) dir_data;
  seen.entries++;
  seen.max_depth = depth > seen.max_depth ? depth : seen.max_depth;
  seen.named_secret += strcmp (d->d_name, "secret") == 0;
  seen.named_e += strcmp (d->d_name, "e") == 0;
  /* As the walks do: a directory when read is opened as one, whatever it is now. */
  if (d->d_type != DT_DIR
      && (d->d_type != DT_UNKNOWN || fstatat (dir_fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0
          || !S_ISDIR (st.st_mode)))
    return 0;
  fd = walk_open (dir_fd, d->d_name, WALK_OPEN_DIR);
  if (fd < 0)
    {
      seen.not_entered++;
      seen.open_errno = errno;
      return 0;
    }
  entered = fd_walk_enter (fw, fd, NULL, &seen);
  if (entered < 0)
    return -1;
  seen.entered += entered == 1;
  seen.other_mount += entered == 0;
  return 0;
}

static int
on_read_error (void *ctx, void *dir_data, int errnum, bool resuming)
{
  (void) ctx;
  (void) dir_data;
  (void) errnum;
  (void) resuming;
  seen.read_errors++;
  return 0;
}

static void
on_leave (void *ctx, void *dir_data)
{
  (void) ctx;
  if (dir_data == &seen)
    seen.left++;
}

static bool
on_stopped (void *ctx)
{
  (void) ctx;
  return seen.stop_after && seen.entries >= seen.stop_after;
}

static const struct fd_walk_ops ops
    = { .entry = on_entry, .read_error = on_read_error, .leave = on_leave, .stopped = on_stopped };

/* The lowest free fd: the same before and after a walk that closed all it opened. */
static int
lowest_free_fd (void)
{
  int fd = dup (0);
  close (fd);
  return fd;
}

static void
sh (const char *fmt, ...)
{
  char cmd[512];
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (cmd, sizeof cmd, fmt, ap);
  va_end (ap);
  if (system (cmd) != 0)
    {
      diag ("failed: %s", cmd);
      abort ();
    }
}

/* TOP with a/b/c, a/f, d/e, g/ holding 3000 files, and OUTSIDE with a secret. */
static void
fresh_tree (void)
{
  sh ("rm -rf %s %s && mkdir -p %s/a/b/c %s/d/e %s/g %s/secretdir && touch %s/a/f %s/secretdir/secret", top, outside,
      top, top, top, outside, top, outside);
  sh ("cd %s/g && seq -f 'a-long-enough-file-name-%%05g' 3000 | xargs touch", top);
}

/* Walk TOP; returns fd_walk_run's result. */
static int
walk_top (void)
{
  struct fd_walk fw;
  uint64_t mnt_id;
  const char *what = NULL;
  int rc, root = open (top, O_PATH | O_DIRECTORY | O_CLOEXEC), fd;

  memset (&seen, 0, sizeof seen);
  fd = walk_open_top (root, &mnt_id, &what);
  close (root);
  if (fd < 0 || fd_walk_init (&fw, &ops, NULL, mnt_id) < 0)
    {
      diag ("cannot start the walk: %s: %s", what ? what : "init", strerror (errno));
      return -2;
    }
  rc = fd_walk_run (&fw, fd, NULL);
  fd_walk_free (&fw);
  return rc;
}

static void
test_open (void)
{
  struct stat st;
  int dir, fd;

  fresh_tree ();
  sh ("ln -s %s %s/out && ln -s a %s/in && ln -s /proc/self/root %s/magic", outside, top, top, top);
  dir = open (top, O_PATH | O_DIRECTORY | O_CLOEXEC);
  /* A symlink opened as a directory without following it: ENOTDIR (ELOOP
   * on kernels that check O_NOFOLLOW first). */
  ok (walk_open (dir, "out", WALK_OPEN_DIR) < 0 && (errno == ENOTDIR || errno == ELOOP),
      "a symlink to outside is not followed");
  ok (walk_open (dir, "in", WALK_OPEN_DIR) < 0 && (errno == ENOTDIR || errno == ELOOP), "nor one inside the tree");
  ok (walk_open (dir, "out/secretdir", WALK_OPEN_DIR) < 0 && errno == ELOOP, "nor one on the way (ELOOP)");
  ok (walk_open (dir, "magic/etc", WALK_OPEN_DIR) < 0, "nor a magic link");
  ok (walk_open (dir, "../", WALK_OPEN_DIR) < 0 && errno == EXDEV, "\"..\" above the directory is refused (EXDEV)");
  ok (walk_open (dir, "/etc", WALK_OPEN_DIR) < 0 && errno == EXDEV, "so is an absolute path");
  ok (walk_open (dir, "a/f", WALK_OPEN_DIR) < 0 && errno == ENOTDIR, "a file does not open as a directory");
  fd = walk_open (dir, "out", WALK_OPEN_PATH);
  ok (fd >= 0 && fstat (fd, &st) == 0 && S_ISLNK (st.st_mode), "O_PATH opens the symlink itself");
  close (fd);
  fd = walk_open (dir, "a/f", WALK_OPEN_FILE);
  ok (fd >= 0 && (fcntl (fd, F_GETFL) & O_ACCMODE) == O_RDONLY, "a regular file opens to be read");
  close (fd);
  close (dir);
}

static void
test_plain (void)
{
  int before;

  fresh_tree ();
  before = lowest_free_fd ();
  is_int (walk_top (), 0, "a quiet tree is walked");
  /* a b c f d e g 3000 files */
  is_int ((long long) seen.entries, 3007, "every entry once, across reads of a big directory and descents");
  is_int ((long long) seen.entered, 6, "every directory is entered");
  is_int ((long long) seen.left, 6, "and left, its data handed back");
  is_int ((long long) seen.max_depth, 2, "depth is counted from the top");
  is_int (lowest_free_fd (), before, "no fd is left open");
}

static void
swap_dir_for_symlink (void)
{
  sh ("rm -rf %s/d && ln -s %s/secretdir %s/d", top, outside, top);
}

static void
swap_dir_for_file (void)
{
  sh ("rm -rf %s/d && touch %s/d", top, top);
}

/* A tree whose top holds one directory, d: nothing is entered before it
 * after the swap (a descent would read the top again, and see the swap). */
static void
small_tree (void)
{
  sh ("rm -rf %s %s && mkdir -p %s/d/e %s/secretdir && touch %s/f %s/secretdir/secret", top, outside, top, outside, top,
      outside);
}

static void
test_swaps (void)
{
  struct stat st;

  small_tree ();
  stat (top, &st);
  race = (typeof (race)){ st.st_ino, swap_dir_for_symlink, 0 };
  is_int (walk_top (), 0, "walk while a directory becomes a symlink to outside after readdir");
  ok (race.fired == 1, "the swap happened");
  ok (seen.named_secret == 0, "nothing outside the tree is reached");
  ok (seen.not_entered == 1 && (seen.open_errno == ENOTDIR || seen.open_errno == ELOOP), "the symlink is not entered");

  small_tree ();
  stat (top, &st);
  race = (typeof (race)){ st.st_ino, swap_dir_for_file, 0 };
  is_int (walk_top (), 0, "walk while a directory becomes a file after readdir");
  ok (race.fired == 1, "the swap happened");
  ok (seen.not_entered == 1 && seen.open_errno == ENOTDIR, "the file does not open as a directory (ENOTDIR)");
  is_int ((long long) seen.named_e, 0, "nothing of the old directory is reached");
  race.swap = NULL;
}

static void
test_mount_below (void)
{
  char at[128];
  int dir, fd;

  fresh_tree ();
  snprintf (at, sizeof at, "%s/d/e", top);
  if (mount ("tmpfs", at, "tmpfs", 0, "size=1m") < 0)
    {
      ok (false, "mount a tmpfs below the tree: %s", strerror (errno));
      return;
    }
  sh ("mkdir %s/secretdir && touch %s/secretdir/secret", at, at);
  is_int (walk_top (), 0, "a tree with a mount below it is walked");
  ok (seen.named_secret == 0, "nothing on the other mount is reached");
  ok (seen.not_entered == 1 && seen.open_errno == EXDEV, "the mount point does not open (EXDEV)");
  {
    /* An fd of the mount, opened some other way, is not entered either. */
    struct fd_walk fw;
    uint64_t mnt_id;
    const char *what;
    int top_fd;
    dir = open (top, O_PATH | O_DIRECTORY | O_CLOEXEC);
    top_fd = walk_open_top (dir, &mnt_id, &what);
    fd = open (at, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    fd_walk_init (&fw, &ops, NULL, mnt_id);
    is_int (fd_walk_enter (&fw, fd, NULL, &seen), 0, "fd_walk_enter refuses a directory on another mount");
    ok (fw.depth == 0, "and does not enter it");
    fd_walk_free (&fw);
    close (top_fd);
    close (dir);
  }
  umount2 (at, MNT_DETACH);
}

static void
test_deep (int depth)
{
  struct rlimit rl;
  int fd;

  fresh_tree ();
  /* One fd per level. */
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t) depth + 64)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
  fd = open (top, O_PATH | O_DIRECTORY);
  for (int i = 0; i < depth; i++)
    {
      int next;
      if (mkdirat (fd, "x", 0755) < 0 || (next = openat (fd, "x", O_PATH | O_DIRECTORY)) < 0)
        abort ();
      close (fd);
      fd = next;
    }
  close (fd);
  is_int (walk_top (), 0, "a tree %d directories deep is walked, without recursion", depth);
  is_int ((long long) seen.max_depth, depth - 1, "down to its last level");
  is_int ((long long) seen.left, (long long) seen.entered, "every level entered is left");
}

static void
test_stop (void)
{
  int before;

  fresh_tree ();
  before = lowest_free_fd ();
  memset (&seen, 0, sizeof seen);
  seen.stop_after = 1;
  {
    struct fd_walk fw;
    uint64_t mnt_id;
    const char *what;
    int root = open (top, O_PATH | O_DIRECTORY | O_CLOEXEC);
    int fd = walk_open_top (root, &mnt_id, &what);
    close (root);
    fd_walk_init (&fw, &ops, NULL, mnt_id);
    is_int (fd_walk_run (&fw, fd, NULL), -1, "a walk told to stop ends with -1");
    fd_walk_free (&fw);
  }
  ok (seen.entries < 3007, "before the end of the tree (%zu entries)", seen.entries);
  is_int ((long long) seen.left, (long long) seen.entered, "every directory entered is left");
  is_int (lowest_free_fd (), before, "no fd is left open");
}

int
main (void)
{
  if (geteuid () != 0)
    {
      printf ("1..0 # SKIP mounting a tmpfs needs root\n");
      return 0;
    }
  if (unshare (CLONE_NEWNS) < 0 || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    {
      printf ("1..0 # SKIP no mount namespace: %s\n", strerror (errno));
      return 0;
    }
  snprintf (top, sizeof top, "/tmp/oih-fdwalk-%d", (int) getpid ());
  snprintf (outside, sizeof outside, "%s-outside", top);
  test_open ();
  test_plain ();
  test_swaps ();
  test_mount_below ();
  test_deep (3000);
  test_stop ();
  sh ("rm -rf %s %s", top, outside);
  return done_testing ();
}
