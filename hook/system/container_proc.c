/* The container's init by pidfd: see container_proc.h. */
#define _GNU_SOURCE
#include "container_proc.h"
#include "base/cleanup.h"
#include "base/io.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <unistd.h>

/* Has the process exited (or can the pidfd not tell)?  Needs no right over
 * it, unlike a signal 0. */
static bool
exited (const struct container_proc *cp)
{
  struct pollfd p = { .fd = cp->pidfd, .events = POLLIN };
  int r;

  do
    r = poll (&p, 1, 0);
  while (r < 0 && errno == EINTR);
  return r != 0;
}

static int
gone (const struct container_proc *cp, const char *when, hook_error_t **err)
{
  make_error (err, 0, "the container's process %d exited %s", (int) cp->pid, when);
  return error_hint (err, "the container's init died while the hook ran; its pid is not looked at again");
}

int
container_proc_same_namespace (int proc_fd, const struct container_proc *cp, const char *ns, hook_error_t **err)
{
  char mine[32], theirs_name[32];
  struct stat ours, theirs;

  snprintf (mine, sizeof mine, "self/ns/%s", ns);
  snprintf (theirs_name, sizeof theirs_name, "ns/%s", ns);
  if (fstatat (proc_fd, mine, &ours, 0) < 0)
    return make_error (err, errno, "stat '/proc/%s'", mine);
  if (fstatat (cp->dir_fd, theirs_name, &theirs, 0) < 0)
    {
      if (exited (cp))
        return gone (cp, "before the hook looked at its namespaces", err);
      return make_error (err, errno, "stat '/proc/%d/%s'", (int) cp->pid, theirs_name);
    }
  return ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino;
}

/* The pidfd's process as the /proc at PROC_FD numbers it, which need not
 * be the hook's pid namespace: what the kernel says in the pidfd's fdinfo
 * ("Pid:", -1 once it has exited, 0 if that /proc does not show it). */
static int
proc_pid (int proc_fd, const struct container_proc *cp, long *out, hook_error_t **err)
{
  char name[64], buf[512], *p, *end;

  snprintf (name, sizeof name, "self/fdinfo/%d", cp->pidfd);
  if (read_small (proc_fd, name, buf, sizeof buf) < 0)
    return make_error (err, errno, "read '/proc/%s'", name);
  p = strstr (buf, "\nPid:\t");
  if (p == NULL)
    return make_error (err, 0, "'/proc/%s' has no Pid line", name);
  errno = 0;
  *out = strtol (p + 6, &end, 10);
  if (errno != 0 || end == p + 6 || *end != '\n')
    return make_error (err, 0, "/proc/%s: cannot parse its Pid line", name);
  return 0;
}

int
container_proc_open (int proc_fd, pid_t pid, struct container_proc *cp, hook_error_t **err)
{
  char name[32];
  long seen;

  cp->pid = pid;
  cp->pidfd = pidfd_open (pid, 0);
  if (cp->pidfd < 0 && errno == ESRCH)
    {
      make_error (err, errno, "the container's process %d is gone", (int) pid);
      return error_hint (err, "the container's init died before the hook ran");
    }
  if (cp->pidfd < 0)
    return make_error (err, errno, "pidfd_open of the container's process %d", (int) pid);
  if (proc_pid (proc_fd, cp, &seen, err) < 0)
    return -1;
  if (seen < 0)
    return gone (cp, "before the hook could hold it", err);
  if (seen == 0)
    return make_error (err, 0, "the container's process %d is not in the pid namespace of /proc", (int) pid);
  snprintf (name, sizeof name, "%ld", seen);
  cp->dir_fd = openat (proc_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  /* Alive after the open: then the directory is of the process the pidfd
   * holds, for the number that fdinfo gave was not free in between. */
  if (exited (cp))
    return gone (cp, "before the hook could hold it", err);
  if (cp->dir_fd < 0)
    return make_error (err, errno, "open '/proc/%d'", (int) pid);
  switch (container_proc_same_namespace (proc_fd, cp, "mnt", err))
    {
    case -1:
      return -1;
    case 1:
      make_error (err, 0, "process %d shares the hook's mount namespace, so it is not the container's init", (int) pid);
      return error_hint (err, "the container's init may have died and its pid been reused");
    default:
      return 0;
    }
}

int
container_proc_openat (const struct container_proc *cp, const char *name, hook_error_t **err)
{
  char when[64];
  int fd = openat (cp->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

  if (fd >= 0)
    return fd;
  if (errno == ESRCH || exited (cp))
    {
      snprintf (when, sizeof when, "before the hook read its %s", name);
      return gone (cp, when, err);
    }
  return make_error (err, errno, "open '/proc/%d/%s'", (int) cp->pid, name);
}

int
container_proc_enter_mount_namespace (const struct container_proc *cp, hook_error_t **err)
{
  /* By the pidfd (Linux 5.8): the number could name another process by now. */
  if (setns (cp->pidfd, CLONE_NEWNS) == 0)
    return 0;
  if (errno == ESRCH)
    return gone (cp, "before the hook entered its mount namespace", err);
  return make_error (err, errno, "enter the mount namespace of the container's process %d (setns)", (int) cp->pid);
}

void
container_proc_close (struct container_proc *cp)
{
  cleanup_closep (&cp->dir_fd);
  cleanup_closep (&cp->pidfd);
  cp->dir_fd = cp->pidfd = -1;
}
