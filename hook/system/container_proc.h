/* The container's init, held from the first look at it to the setns, so
 * that a pid that dies and is reused while the hook runs is never read
 * nor entered: a pidfd, and an fd of its /proc/PID directory opened while
 * the pidfd still showed it alive.  PID there is the number the pidfd's
 * fdinfo gives, which is the one that /proc uses even when the hook runs in
 * another pid namespace than the one it was mounted for.
 *
 * Kernel facts this rests on (checked on 6.18): a /proc/PID directory fd
 * stays bound to the process it was opened for; once that process is
 * reaped, every lookup below it fails with ESRCH even when a new process
 * has the same pid.  A pidfd polls readable as soon as its process has
 * exited (a zombie already), and setns on it fails with ESRCH from then
 * on.  Of a zombie, ns/ and mountinfo no longer open; uid_map does, and is
 * still its own. */
#ifndef HOOK_CONTAINER_PROC_H
#define HOOK_CONTAINER_PROC_H

#include "base/error.h"

#include <sys/types.h>

struct container_proc
{
  pid_t pid;  /* as the state named it, for messages */
  int pidfd;  /* -1 when not held */
  int dir_fd; /* /proc/PID of that very process (O_PATH) */
};

#define CONTAINER_PROC_NONE                                                                                            \
  {                                                                                                                    \
    .pid = 0, .pidfd = -1, .dir_fd = -1                                                                                \
  }

/* Take hold of PID through PROC_FD (the host's /proc) and check that it is
 * a container's init: alive, and not in the hook's mount namespace. */
int container_proc_open (int proc_fd, pid_t pid, struct container_proc *cp, hook_error_t **err);

/* Open NAME below the process's /proc directory ("uid_map", "mountinfo",
 * "ns/user"), read-only.  Fails, saying so, once the process is gone. */
int container_proc_openat (const struct container_proc *cp, const char *name, hook_error_t **err);

/* 1 if the process's namespace NS ("user", "mnt") is the hook's, 0 if not,
 * -1 with *ERR.  PROC_FD: the host's /proc, for the hook's own. */
int container_proc_same_namespace (int proc_fd, const struct container_proc *cp, const char *ns, hook_error_t **err);

/* Enter its mount namespace, by the pidfd. */
int container_proc_enter_mount_namespace (const struct container_proc *cp, hook_error_t **err);

void container_proc_close (struct container_proc *cp);
#define cleanup_container_proc __attribute__ ((cleanup (container_proc_close))) /* on CONTAINER_PROC_NONE */

#endif
