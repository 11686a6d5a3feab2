/* hook/chown/restore_trust.c: which journals restore believes. */
#define _GNU_SOURCE
#include "helpers.h"
#include "hook/chown/restore_trust.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static char top[] = "/tmp/test_restore_trust.XXXXXX";

/* TOP/NAME, a file of MODE holding "x"; its path (static). */
static const char *
file (const char *name, mode_t mode)
{
  static char path[256];
  int fd;

  snprintf (path, sizeof path, "%s/%s", top, name);
  fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write (fd, "x", 1) != 1 || fchmod (fd, mode) < 0)
    diag ("create %s failed", path);
  if (fd >= 0)
    close (fd);
  return path;
}

/* Open PATH as `restore --journal` does and check it; 0 or -1 with *ERR. */
static int
trust (const char *path, hook_error_t **err)
{
  cleanup_close int fd = restore_trust_open_path (path, err);
  return fd < 0 ? -1 : restore_trust_journal (fd, path, NULL, err);
}

static void
test_files (void)
{
  hook_error_t *err = NULL;
  char path[256];

  is_success (trust (file ("good", 0600), &err), 0, &err, "a 0600 file of ours in a 0700 directory of ours");
  is_success (trust (file ("readable", 0644), &err), 0, &err, "readable by others is fine");
  is_error (trust (file ("gw", 0620), &err), -1, &err, "mode 0620 and 1 link, so someone else may have written it",
            "group-writable is refused");
  snprintf (path, sizeof path, "%s/linked", top);
  if (link (file ("two", 0600), path) < 0)
    diag ("link failed");
  is_error (trust (path, &err), -1, &err, "mode 0600 and 2 links", "a hard-linked file is refused");
  snprintf (path, sizeof path, "%s/fifo", top);
  mkfifo (path, 0600);
  is_error (trust (path, &err), -1, &err, "not a journal: it is a FIFO", "a FIFO is refused, without blocking");
  snprintf (path, sizeof path, "%s/sym", top);
  if (symlink ("good", path) < 0)
    diag ("symlink failed");
  is_error (trust (path, &err), -1, &err, "not a journal: it is a symbolic link", "a symlink is refused");
  snprintf (path, sizeof path, "%s/dir.journal", top);
  mkdir (path, 0700);
  is_error (trust (path, &err), -1, &err, "not a journal: it is a directory", "a directory is refused");
  if (geteuid () == 0)
    {
      const char *p = file ("nobody", 0600);
      if (chown (p, 65534, 65534) < 0)
        diag ("chown failed");
      is_error (trust (p, &err), -1, &err, "owned by uid 65534 with mode 0600", "another user's file is refused");
    }
  else
    ok (true, "# SKIP another user's file needs root");
}

static void
test_dirs (void)
{
  hook_error_t *err = NULL;
  char path[256], want[128];

  snprintf (path, sizeof path, "%s/open", top);
  mkdir (path, 0700);
  chmod (path, 0777);
  snprintf (path, sizeof path, "%s/open/j", top);
  mkdir (path, 0700);
  snprintf (path, sizeof path, "%s/open/j/x.journal", top);
  close (open (path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  is_error (trust (path, &err), -1, &err, "the directory 1 level above it",
            "a directory above that others can write is refused");
  snprintf (path, sizeof path, "%s/open", top);
  chmod (path, 01777);
  snprintf (path, sizeof path, "%s/open/j/x.journal", top);
  is_success (trust (path, &err), 0, &err, "a sticky one is fine, as /tmp is");
  snprintf (path, sizeof path, "%s/open/j", top);
  chmod (path, 0770);
  snprintf (path, sizeof path, "%s/open/j/x.journal", top);
  snprintf (want, sizeof want, "owned by uid %u with mode 0770, so others may have put journals in it",
            (unsigned) geteuid ());
  is_error (trust (path, &err), -1, &err, want, "a group-writable journal directory is refused");
}

int
main (void)
{
  if (mkdtemp (top) == NULL)
    {
      diag ("mkdtemp failed");
      return 1;
    }
  test_files ();
  test_dirs ();
  {
    char cmd[300];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", top);
    if (system (cmd) != 0)
      diag ("rm -rf %s failed", top);
  }
  return done_testing ();
}
