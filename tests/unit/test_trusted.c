/* base/trusted.c: the one rule for believing a file that is already there. */
#define _GNU_SOURCE
#include "base/cleanup.h"
#include "base/trusted.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char top[] = "/tmp/test_trusted.XXXXXX";
static int top_fd = -1;

static void
make_file (const char *name, mode_t mode)
{
  int fd = openat (top_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write (fd, "x", 1) != 1 || fchmod (fd, mode) < 0)
    diag ("create %s failed", name);
  if (fd >= 0)
    close (fd);
}

/* The verdict of RULE on NAME in TOP; closes what it opened. */
static enum trust_verdict
verdict_of (const char *name, const struct trust_rule *rule, struct stat *st)
{
  enum trust_verdict v;
  int fd = trusted_open (top_fd, name, rule, st, &v);
  if ((fd >= 0) != (v == TRUST_OK))
    diag ("fd %d with verdict %d", fd, (int) v);
  if (fd >= 0)
    close (fd);
  return v;
}

static const struct trust_rule own_file = {
  .flags = O_RDONLY | O_NONBLOCK, .type = S_IFREG, .owner = TRUST_OWNER_SELF, .forbidden = 022, .one_link = true
};

static void
test_checks (void)
{
  struct stat st;

  make_file ("good", 0600);
  make_file ("gw", 0620);
  make_file ("two", 0600);
  if (linkat (top_fd, "two", top_fd, "two-link", 0) < 0 || symlinkat ("good", top_fd, "sym") < 0
      || mkfifoat (top_fd, "fifo", 0600) < 0 || mkdirat (top_fd, "dir", 0700) < 0)
    diag ("setting up failed");

  is_int (verdict_of ("good", &own_file, &st), TRUST_OK, "a 0600 regular file of ours with one link passes");
  is_int (verdict_of ("gw", &own_file, &st), TRUST_NOT_OURS, "a group-writable one is not ours");
  is_int ((long long) (st.st_mode & 07777), 0620, "and the stat says its mode");
  is_int (verdict_of ("two", &own_file, &st), TRUST_NOT_OURS, "one with a second link is not ours");
  is_int ((long long) st.st_nlink, 2, "and the stat says its links");
  is_int (verdict_of ("sym", &own_file, &st), TRUST_OPEN_FAILED, "a symlink is never followed");
  is_int (errno, ELOOP, "the open says so (ELOOP)");
  is_int (verdict_of ("missing", &own_file, &st), TRUST_OPEN_FAILED, "a missing file fails to open");
  is_int (errno, ENOENT, "with ENOENT, for callers to whom that is no error");
  is_int (verdict_of ("dir", &own_file, &st), TRUST_WRONG_TYPE, "a directory is not a regular file");
  ok (S_ISDIR (st.st_mode), "and the stat says what it is");
  is_int (verdict_of ("fifo", &own_file, &st), TRUST_WRONG_TYPE, "a FIFO opened non-blocking is refused");
}

static void
test_owner (void)
{
  const struct trust_rule self_or_root = { .flags = O_RDONLY, .owner = TRUST_OWNER_SELF_OR_ROOT, .forbidden = 022 };
  const struct trust_rule any = { .flags = O_RDONLY };
  const uid_t overflow = 1234;
  const struct trust_rule or_overflow = { .flags = O_RDONLY, .owner = TRUST_OWNER_SELF, .also_owner = &overflow };
  struct stat st;

  if (geteuid () != 0)
    {
      ok (1, "# SKIP owner checks need root");
      return;
    }
  make_file ("theirs", 0600);
  if (fchownat (top_fd, "theirs", 1234, 1234, 0) < 0)
    diag ("chown failed");
  is_int (verdict_of ("theirs", &own_file, &st), TRUST_NOT_OURS, "a file of another uid is not ours");
  is_int ((long long) st.st_uid, 1234, "and the stat says whose it is");
  is_int (verdict_of ("theirs", &self_or_root, &st), TRUST_NOT_OURS, "nor root's");
  is_int (verdict_of ("theirs", &any, &st), TRUST_OK, "TRUST_ANY_OWNER leaves the owner to the caller");
  is_int (verdict_of ("theirs", &or_overflow, &st), TRUST_OK, "also_owner lets one more uid own it");
}

static void
test_directories (void)
{
  const struct trust_rule dir_rule = { .owner = TRUST_OWNER_SELF, .forbidden = 022 };
  const struct trust_rule sticky_ok = { .owner = TRUST_OWNER_SELF, .forbidden = 022, .sticky_exempt = true };
  cleanup_close int dfd = -1;
  struct stat st;

  if (mkdirat (top_fd, "shared", 0777) < 0 || fchmodat (top_fd, "shared", 01777, 0) < 0)
    diag ("mkdir failed");
  dfd = openat (top_fd, "shared", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  is_int (trusted_fd (dfd, &dir_rule, &st), TRUST_NOT_OURS, "a world-writable directory is refused");
  is_int (trusted_fd (dfd, &sticky_ok, &st), TRUST_OK, "unless sticky directories are let through");
  if (fchmod (dfd, 0777) < 0)
    diag ("chmod failed");
  is_int (trusted_fd (dfd, &sticky_ok, &st), TRUST_NOT_OURS, "but not without the sticky bit");
  is_int (trusted_fd (-1, &dir_rule, &st), TRUST_STAT_FAILED, "a bad fd cannot be looked at");
}

static void
test_look_first_and_reopen (void)
{
  const struct trust_rule look = { .flags = O_RDONLY | O_NONBLOCK, .look_first = true, .type = S_IFREG };
  const struct trust_rule path_then_write = {
    .flags = O_PATH, .reopen_flags = O_WRONLY | O_APPEND, .type = S_IFREG, .owner = TRUST_OWNER_SELF, .one_link = true
  };
  const struct trust_rule path_only = { .flags = O_PATH, .reopen_flags = O_WRONLY, .type = S_IFREG };
  struct stat st, after;
  enum trust_verdict v;
  int fd;

  is_int (verdict_of ("fifo", &look, &st), TRUST_WRONG_TYPE, "looking first refuses a FIFO before any open");
  ok (S_ISFIFO (st.st_mode), "and says it is a FIFO");
  is_int (verdict_of ("sym", &look, &st), TRUST_WRONG_TYPE, "looking first sees a symlink as itself");
  is_int (verdict_of ("good", &look, &st), TRUST_OK, "and passes a regular file");

  fd = trusted_open (top_fd, "good", &path_then_write, &st, &v);
  is_int (v, TRUST_OK, "an O_PATH look, then a reopen for writing");
  ok (fd >= 0 && write (fd, "y", 1) == 1, "the reopened fd writes");
  ok (fd >= 0 && fstat (fd, &after) == 0 && after.st_ino == st.st_ino && after.st_size == 2,
      "to the inode that was checked, appending");
  if (fd >= 0)
    close (fd);
  is_int (verdict_of ("fifo", &path_only, &st), TRUST_WRONG_TYPE, "an O_PATH look refuses a FIFO without blocking");
  is_int (verdict_of ("two", &path_then_write, &st), TRUST_NOT_OURS, "and checks before it reopens");
}

int
main (void)
{
  if (mkdtemp (top) == NULL || (top_fd = open (top, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    {
      diag ("mkdtemp failed");
      return 1;
    }
  test_checks ();
  test_owner ();
  test_directories ();
  test_look_first_and_reopen ();
  close (top_fd);
  {
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf %s", top);
    if (system (cmd) != 0)
      diag ("cleanup failed");
  }
  return done_testing ();
}
