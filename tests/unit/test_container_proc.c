/* hook/system/container_proc.c against a container init that dies and whose pid
 * is given to another process at the worst instant.
 *
 * The other process gets the very same pid every time: clone3 with set_tid
 * (root may pick a free pid).  This file defines pidfd_open, which
 * container_proc_open's call binds to, so that the swap can also happen
 * between the pidfd and the open of /proc/PID.  The replacement is in a
 * mount namespace of its own, as another container's init would be, so
 * that only holding the process, not the namespace check, can tell it
 * from the real one.  Needs root. */
#define _GNU_SOURCE
#include "helpers.h"
#include "hook/system/container_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* A child that waits to be killed, in a mount namespace of its own unless
 * SHARE_MNT; with pid WANT unless 0. */
static pid_t
spawn (pid_t want, bool share_mnt)
{
  struct clone_args ca = { .exit_signal = SIGCHLD };
  pid_t tid = want;
  int ready[2];
  char c;
  pid_t pid;

  if (pipe2 (ready, O_CLOEXEC) < 0)
    abort ();
  if (want)
    {
      ca.set_tid = (uint64_t) (uintptr_t) &tid;
      ca.set_tid_size = 1;
    }
  pid = (pid_t) syscall (SYS_clone3, &ca, sizeof ca);
  if (pid < 0)
    {
      perror ("clone3");
      abort ();
    }
  if (pid == 0)
    {
      if (!share_mnt && unshare (CLONE_NEWNS) < 0)
        _exit (1);
      if (write (ready[1], "x", 1) != 1)
        _exit (1);
      for (;;)
        pause ();
    }
  close (ready[1]);
  if (read (ready[0], &c, 1) != 1)
    abort ();
  close (ready[0]);
  return pid;
}

static void
reap (pid_t pid)
{
  kill (pid, SIGKILL);
  while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;
}

/* The container's init dies; another container's init gets its pid. */
static pid_t
replace (pid_t victim)
{
  reap (victim);
  return spawn (victim, false);
}

static pid_t swap_in_pidfd_open; /* if set: replace it right after the pidfd is taken */
static pid_t replacement;

int
pidfd_open (pid_t pid, unsigned int flags)
{
  int fd = (int) syscall (SYS_pidfd_open, pid, flags);
  if (swap_in_pidfd_open == pid)
    {
      swap_in_pidfd_open = 0;
      replacement = replace (pid);
    }
  return fd;
}

static bool
same_ns_by_number (pid_t pid, const char *ns)
{
  char mine[64], theirs[64];
  struct stat a, b;
  snprintf (mine, sizeof mine, "/proc/self/ns/%s", ns);
  snprintf (theirs, sizeof theirs, "/proc/%d/ns/%s", (int) pid, ns);
  return stat (mine, &a) == 0 && stat (theirs, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

static bool
exists_by_number (pid_t pid)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/mountinfo", (int) pid);
  return access (path, R_OK) == 0;
}

/* In a pid namespace of its own, with the host's /proc at PROC_FD, as a
 * hook in a container with the host's /proc mounted would be: is the
 * process held the one the hook's own pid names?  Exit status 0 if so. */
static int __attribute__ ((noreturn)) hold_from_child_pid_namespace (int proc_fd)
{
  struct container_proc cp = CONTAINER_PROC_NONE;
  hook_error_t *err = NULL;
  char status[4096], want[32];
  pid_t pid, a;
  ssize_t n;
  int fd, st;

  if (unshare (CLONE_NEWPID) < 0)
    _exit (3);
  pid = fork ();
  if (pid != 0)
    _exit (pid > 0 && waitpid (pid, &st, 0) == pid && WIFEXITED (st) ? WEXITSTATUS (st) : 3);
  a = spawn (0, false); /* pid 2 here, another number in /proc */
  if (container_proc_open (proc_fd, a, &cp, &err) < 0)
    {
      fprintf (stderr, "# %s\n", error_shown (err));
      _exit (1);
    }
  /* Its status names its pid in each namespace, ours last. */
  fd = container_proc_openat (&cp, "status", &err);
  n = fd < 0 ? -1 : read (fd, status, sizeof status - 1);
  status[n < 0 ? 0 : n] = '\0';
  snprintf (want, sizeof want, "\t%d\n", (int) a);
  reap (a);
  _exit (strstr (status, "NSpid:\t") && strstr (strstr (status, "NSpid:\t"), want) ? 0 : 2);
}

int
main (void)
{
  cleanup_close int proc_fd = open ("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
  hook_error_t *err = NULL;
  char want[160];
  struct stat ours, now;
  pid_t a, b;
  int fd, rc;

  if (geteuid () != 0)
    {
      printf ("1..0 # SKIP needs root (pid namespaces of our own, clone3 set_tid)\n");
      return 0;
    }
  if (stat ("/proc/self/ns/mnt", &ours) < 0)
    abort ();

  {
    struct container_proc cp = CONTAINER_PROC_NONE;
    a = spawn (0, false);
    rc = container_proc_open (proc_fd, a, &cp, &err);
    is_success (rc, 0, &err, "a live process in its own mount namespace is held");
    fd = container_proc_openat (&cp, "uid_map", &err);
    ok (fd >= 0, "its uid_map opens");
    if (fd >= 0)
      close (fd);
    is_success (container_proc_same_namespace (proc_fd, &cp, "user", &err), 1, &err, "it shares our user namespace");
    is_success (container_proc_same_namespace (proc_fd, &cp, "mnt", &err), 0, &err, "not our mount namespace");
    if (fork () == 0)
      _exit (container_proc_enter_mount_namespace (&cp, &err) == 0 && !same_ns_by_number (getppid (), "mnt")
                     && same_ns_by_number (a, "mnt")
                 ? 0
                 : 1);
    ok (wait (&rc) > 0 && WIFEXITED (rc) && WEXITSTATUS (rc) == 0, "setns by the pidfd enters its mount namespace");

    /* It dies and another container's init takes its pid. */
    b = replace (a);
    is_int (b, a, "the replacement has the same pid");
    ok (exists_by_number (a) && !same_ns_by_number (a, "mnt"),
        "by number, /proc/%d now reaches the replacement, in a mount namespace not ours (what a lookup by number would "
        "have taken for the container)",
        (int) a);
    snprintf (want, sizeof want, "the container's process %d exited before the hook read its uid_map", (int) a);
    is_error (container_proc_openat (&cp, "uid_map", &err), -1, &err, want, "its uid_map is not the replacement's");
    snprintf (want, sizeof want, "the container's process %d exited before the hook read its mountinfo", (int) a);
    is_error (container_proc_openat (&cp, "mountinfo", &err), -1, &err, want, "nor its mountinfo");
    snprintf (want, sizeof want, "the container's process %d exited before the hook looked at its namespaces", (int) a);
    is_error (container_proc_same_namespace (proc_fd, &cp, "user", &err), -1, &err, want, "nor its namespaces");
    snprintf (want, sizeof want, "the container's process %d exited before the hook entered its mount namespace",
              (int) a);
    is_error (container_proc_enter_mount_namespace (&cp, &err), -1, &err, want,
              "nor is the replacement's mount namespace entered");
    ok (stat ("/proc/self/ns/mnt", &now) == 0 && now.st_ino == ours.st_ino, "the test is still in its own");
    container_proc_close (&cp);
    container_proc_close (&cp);
    ok (cp.pidfd == -1 && cp.dir_fd == -1, "closing twice is harmless");
    reap (b);
  }

  {
    struct container_proc cp = CONTAINER_PROC_NONE;
    a = spawn (0, false);
    swap_in_pidfd_open = a;
    rc = container_proc_open (proc_fd, a, &cp, &err);
    snprintf (want, sizeof want, "the container's process %d exited before the hook could hold it", (int) a);
    is_error (rc, -1, &err, want, "replaced between the pidfd and the open of /proc/PID: refused");
    is_int (replacement, a, "(the replacement had the same pid)");
    reap (replacement);
    container_proc_close (&cp);
  }

  {
    struct container_proc cp = CONTAINER_PROC_NONE;
    a = spawn (0, false);
    is_success (container_proc_open (proc_fd, a, &cp, &err), 0, &err, "held");
    kill (a, SIGKILL);
    while (waitid (P_PID, (id_t) a, NULL, WEXITED | WNOWAIT) < 0 && errno == EINTR)
      ;
    snprintf (want, sizeof want, "the container's process %d exited before the hook read its mountinfo", (int) a);
    is_error (container_proc_openat (&cp, "mountinfo", &err), -1, &err, want, "a zombie's mountinfo: it exited");
    snprintf (want, sizeof want, "the container's process %d exited before the hook entered its mount namespace",
              (int) a);
    is_error (container_proc_enter_mount_namespace (&cp, &err), -1, &err, want, "a zombie's mount namespace: exited");
    reap (a);
    container_proc_close (&cp);
  }

  {
    struct container_proc cp = CONTAINER_PROC_NONE;
    a = spawn (0, true);
    snprintf (want, sizeof want,
              "process %d shares the hook's mount namespace, so it is not the container's init; the container's "
              "init may have died and its pid been reused",
              (int) a);
    is_error (container_proc_open (proc_fd, a, &cp, &err), -1, &err, want, "a process in our mount namespace: refused");
    reap (a);
    container_proc_close (&cp);
  }

  {
    struct container_proc cp = CONTAINER_PROC_NONE;
    a = spawn (0, false);
    reap (a);
    snprintf (want, sizeof want, "the container's process %d is gone: No such process", (int) a);
    is_error (container_proc_open (proc_fd, a, &cp, &err), -1, &err, want, "a pid that is gone: refused");
    container_proc_close (&cp);
  }
  if (fork () == 0)
    hold_from_child_pid_namespace (proc_fd);
  ok (wait (&rc) > 0 && WIFEXITED (rc) && WEXITSTATUS (rc) == 0,
      "a hook in a pid namespace of its own, with the host's /proc, holds the process its pid names (by fdinfo), not "
      "the host's process of that number");
  return done_testing ();
}
