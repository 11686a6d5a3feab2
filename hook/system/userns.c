#define _GNU_SOURCE
#include "userns.h"
#include "base/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int
write_proc_file (int proc_fd, pid_t pid, const char *name, const char *text, hook_error_t **err)
{
  char path[64];
  cleanup_close int fd = -1;
  size_t len = strlen (text);
  ssize_t n;

  snprintf (path, sizeof path, "%d/%s", (int) pid, name);
  fd = openat (proc_fd, path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return make_error (err, errno, "open '/proc/%s'", path);
  /* The kernel takes a map in one write only. */
  n = write (fd, text, len);
  if (n < 0)
    return make_error (err, errno, "write '/proc/%s'", path);
  if ((size_t) n != len)
    return make_error (err, EIO, "write '/proc/%s': short write", path);
  return 0;
}

static int
write_maps (int proc_fd, pid_t pid, const struct idmap *uids, const struct idmap *gids, hook_error_t **err)
{
  cleanup_free char *u = idmap_format_proc (uids);
  cleanup_free char *g = idmap_format_proc (gids);

  if (u == NULL || g == NULL)
    return make_error (err, ENOMEM, "format id map");
  if (write_proc_file (proc_fd, pid, "uid_map", u, err) < 0)
    return -1;
  /* Nobody will ever run in this namespace; deny setgroups anyway so it
   * grants nothing more than the mapping. */
  if (write_proc_file (proc_fd, pid, "setgroups", "deny", err) < 0)
    return -1;
  return write_proc_file (proc_fd, pid, "gid_map", g, err);
}

/* The child: enter a new user namespace, say so, and wait to be killed. */
static void __attribute__ ((noreturn)) holder_child (int ready_fd, int hold_fd)
{
  char c = 0;
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (unshare (CLONE_NEWUSER) < 0)
    c = (char) errno;
  if (write (ready_fd, &c, 1) != 1 || c != 0)
    _exit (1);
  /* Returns when the parent closes its end. */
  while (read (hold_fd, &c, 1) < 0 && errno == EINTR)
    ;
  _exit (0);
}

int
userns_create (int proc_fd, const struct idmap *uids, const struct idmap *gids, hook_error_t **err)
{
  int ready[2], hold[2];
  cleanup_close int ready_r = -1, hold_w = -1;
  char path[64], c = 0;
  int fd = -1, status;
  pid_t pid;
  ssize_t n;

  if (pipe2 (ready, O_CLOEXEC) < 0)
    return make_error (err, errno, "pipe");
  if (pipe2 (hold, O_CLOEXEC) < 0)
    {
      close (ready[0]);
      close (ready[1]);
      return make_error (err, errno, "pipe");
    }
  pid = fork ();
  if (pid < 0)
    {
      int e = errno;
      close (ready[0]), close (ready[1]), close (hold[0]), close (hold[1]);
      return make_error (err, e, "fork");
    }
  if (pid == 0)
    {
      close (ready[0]);
      close (hold[1]);
      holder_child (ready[1], hold[0]);
    }
  close (ready[1]);
  close (hold[0]);
  ready_r = ready[0];
  hold_w = hold[1];

  do
    n = read (ready_r, &c, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1 || c != 0)
    make_error (err, n == 1 ? c : EIO, "create a user namespace for the mount's id mapping");
  else if (write_maps (proc_fd, pid, uids, gids, err) == 0)
    {
      snprintf (path, sizeof path, "%d/ns/user", (int) pid);
      fd = openat (proc_fd, path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        make_error (err, errno, "open '/proc/%s'", path);
    }
  close (steal_fd (&hold_w));
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  return fd;
}
