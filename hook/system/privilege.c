#define _GNU_SOURCE
#include "privilege.h"
#include "base/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <seccomp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* setns into a mount namespace needs SYS_ADMIN and SYS_CHROOT; /proc/PID/ns
 * and mountinfo of a process of another uid need SYS_PTRACE; writing a new
 * user namespace's maps needs SETUID and SETGID, and a map whose outside id
 * is 0 (a root container without a user namespace) also SETFCAP (Linux 5.12+);
 * bundles and rootfs paths may be readable only with DAC_OVERRIDE /
 * DAC_READ_SEARCH. */
static const cap_value_t kept_caps[] = {
  CAP_SYS_ADMIN,    CAP_SYS_CHROOT,      CAP_SYS_PTRACE, CAP_SETUID, CAP_SETGID, CAP_SETFCAP,
  CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_CHOWN,      CAP_FOWNER, CAP_FSETID,
};

/* Mode chown alone changes owners (CHOWN), acts on files it does not own
 * (FOWNER: chmod, xattrs, open by handle) and keeps setuid bits (FSETID). */
static const cap_value_t chown_only_caps[] = { CAP_CHOWN, CAP_FOWNER, CAP_FSETID };

/* What the hook calls after setup, glibc's own needs included.  Anything
 * else is a bug or an attack: the hook dies with a message saying which. */
static const int allowed_syscalls[] = {
  SCMP_SYS (read),
  SCMP_SYS (write),
  SCMP_SYS (close),
  SCMP_SYS (openat),
  SCMP_SYS (openat2),
  SCMP_SYS (fstat),
  SCMP_SYS (newfstatat),
  SCMP_SYS (statx),
  SCMP_SYS (lseek),
  SCMP_SYS (readlink),
  SCMP_SYS (readlinkat),
  SCMP_SYS (getdents64),
  SCMP_SYS (fcntl),
  SCMP_SYS (dup),
  SCMP_SYS (pipe2),
  SCMP_SYS (mmap),
  SCMP_SYS (munmap),
  SCMP_SYS (mprotect),
  SCMP_SYS (mremap),
  SCMP_SYS (brk),
  SCMP_SYS (madvise),
  SCMP_SYS (futex),
  SCMP_SYS (rseq),
  SCMP_SYS (set_robust_list),
  SCMP_SYS (getrandom),
  SCMP_SYS (rt_sigaction),
  SCMP_SYS (rt_sigprocmask),
  SCMP_SYS (rt_sigreturn),
  SCMP_SYS (getpid),
  SCMP_SYS (gettid),
  SCMP_SYS (tgkill),
  SCMP_SYS (clock_gettime),
  SCMP_SYS (clone),
  SCMP_SYS (clone3),
  SCMP_SYS (wait4),
  SCMP_SYS (exit),
  SCMP_SYS (exit_group),
  SCMP_SYS (prctl),
  SCMP_SYS (unshare),
  SCMP_SYS (setns),
  SCMP_SYS (open_tree),
  SCMP_SYS (mount_setattr),
  SCMP_SYS (move_mount),
  SCMP_SYS (capget),
  SCMP_SYS (capset),
  SCMP_SYS (geteuid),
  SCMP_SYS (getuid),
  SCMP_SYS (sched_getaffinity),
  SCMP_SYS (sched_yield),
  SCMP_SYS (set_tid_address),
  SCMP_SYS (nanosleep),
  SCMP_SYS (clock_nanosleep),
  /* the container's init held by pidfd (poll: has it exited?; ppoll where there is no poll) */
  SCMP_SYS (pidfd_open),
  SCMP_SYS (poll),
  SCMP_SYS (ppoll),
  /* mode chown: the walk, the journal, restore at poststop */
  SCMP_SYS (fchownat),
  SCMP_SYS (fchown),
  SCMP_SYS (fchmod),
  SCMP_SYS (fchmodat),
  SCMP_SYS (fgetxattr),
  SCMP_SYS (fsetxattr),
  SCMP_SYS (fremovexattr),
  SCMP_SYS (fdatasync),
  SCMP_SYS (fsync),
  SCMP_SYS (mkdir),
  SCMP_SYS (mkdirat),
  SCMP_SYS (unlinkat),
  SCMP_SYS (ftruncate),
  SCMP_SYS (name_to_handle_at),
  SCMP_SYS (open_by_handle_at),
  SCMP_SYS (pwrite64),
  SCMP_SYS (pread64),
  SCMP_SYS (fstatfs),
  SCMP_SYS (statfs),
  /* glibc: threads, sysconf, stdio */
  SCMP_SYS (prlimit64),
  SCMP_SYS (getrlimit),
  SCMP_SYS (sysinfo),
  SCMP_SYS (uname),
  SCMP_SYS (membarrier),
  SCMP_SYS (sigaltstack),
  SCMP_SYS (getppid),
  SCMP_SYS (restart_syscall),
  SCMP_SYS (faccessat),
  SCMP_SYS (faccessat2),
  SCMP_SYS (access),
  SCMP_SYS (renameat),
  SCMP_SYS (renameat2),
  SCMP_SYS (rename),
  SCMP_SYS (flistxattr),
  SCMP_SYS (getcwd),
  SCMP_SYS (fadvise64),
  SCMP_SYS (gettimeofday),
  SCMP_SYS (tkill),
};

/* open_tree_attr (Linux 6.15) and fchmodat2 (6.6) are newer than this libseccomp. */
#define NR_OPEN_TREE_ATTR 467
#define NR_FCHMODAT2 452

static void
sigsys_handler (int sig, siginfo_t *info, void *ctx)
{
  char msg[160];
  int n;

  (void) sig;
  (void) ctx;
  n = snprintf (msg, sizeof msg,
                "oci-idmap-hook: the sandbox stopped system call %d, which the hook is not meant to make; "
                "nothing was attached; please report this\n",
                info->si_syscall);
  if (n > 0 && write (STDERR_FILENO, msg, (size_t) n) < 0)
    _exit (1);
  _exit (1);
}

int
privilege_close_fds (int keep, hook_error_t **err)
{
  int r = 0;
  if (keep > STDERR_FILENO)
    {
      if (keep > 3)
        r = (int) syscall (SYS_close_range, 3, keep - 1, 0);
      if (r == 0)
        r = (int) syscall (SYS_close_range, keep + 1, ~0U, 0);
    }
  else
    r = (int) syscall (SYS_close_range, 3, ~0U, 0);
  if (r < 0)
    return make_error (err, errno, "close inherited file descriptors");
  return 0;
}

static int
drop_capabilities (hook_error_t **err)
{
  size_t n = sizeof kept_caps / sizeof kept_caps[0];
  cap_t caps;
  int ret = 0;

  /* The bounding set first: dropping from it needs CAP_SETPCAP, which goes next. */
  for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++)
    {
      bool keep = false;
      for (size_t i = 0; i < n; i++)
        keep = keep || kept_caps[i] == c;
      if (!keep && prctl (PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
        return make_error (err, errno, "drop capability %d from the bounding set", (int) c);
    }
  if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return make_error (err, errno, "clear ambient capabilities");
  caps = cap_init ();
  if (caps == NULL)
    return make_error (err, errno, "cap_init");
  if (cap_set_flag (caps, CAP_EFFECTIVE, (int) n, kept_caps, CAP_SET) < 0
      || cap_set_flag (caps, CAP_PERMITTED, (int) n, kept_caps, CAP_SET) < 0 || cap_set_proc (caps) < 0)
    ret = make_error (err, errno, "reduce capabilities to what idmapping needs");
  cap_free (caps);
  return ret;
}

static int
install_seccomp (hook_error_t **err)
{
  struct sigaction sa = { .sa_sigaction = sigsys_handler, .sa_flags = SA_SIGINFO };
  scmp_filter_ctx ctx;
  int r = 0;

  if (sigaction (SIGSYS, &sa, NULL) < 0)
    return make_error (err, errno, "install the SIGSYS handler");
  ctx = seccomp_init (SCMP_ACT_TRAP);
  if (ctx == NULL)
    return make_error (err, ENOMEM, "seccomp_init");
  for (size_t i = 0; r == 0 && i < sizeof allowed_syscalls / sizeof allowed_syscalls[0]; i++)
    if (allowed_syscalls[i] >= 0)
      r = seccomp_rule_add (ctx, SCMP_ACT_ALLOW, allowed_syscalls[i], 0);
  if (r == 0)
    r = seccomp_rule_add (ctx, SCMP_ACT_ALLOW, NR_OPEN_TREE_ATTR, 0);
  if (r == 0)
    r = seccomp_rule_add (ctx, SCMP_ACT_ALLOW, NR_FCHMODAT2, 0);
  /* stdio asks whether stdout is a terminal (TCGETS) the first time it
   * writes to a character device, /dev/null included: that question only,
   * no other ioctl. */
  if (r == 0)
    {
      const struct scmp_arg_cmp tcgets = { .arg = 1, .op = SCMP_CMP_EQ, .datum_a = TCGETS, .datum_b = 0 };
      r = seccomp_rule_add_array (ctx, SCMP_ACT_ALLOW, SCMP_SYS (ioctl), 1, &tcgets);
    }
  if (r == 0)
    r = seccomp_load (ctx);
  seccomp_release (ctx);
  if (r < 0)
    return make_error (err, -r, "load the seccomp filter");
  return 0;
}

int
privilege_reduce (hook_error_t **err)
{
  /* Nothing the runtime or the engine had in its environment reaches us. */
  if (clearenv () != 0 || setenv ("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1) < 0)
    return make_error (err, errno, "reset the environment");
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return make_error (err, errno, "set no_new_privs");
  if (drop_capabilities (err) < 0)
    return -1;
  return install_seccomp (err);
}

/* Drop the N capabilities DROP from the effective and permitted sets. */
static int
clear_caps (const cap_value_t *drop, size_t n, const char *what, hook_error_t **err)
{
  cap_t caps = cap_get_proc ();
  int ret = 0;

  if (caps == NULL)
    return make_error (err, errno, "cap_get_proc");
  if (cap_set_flag (caps, CAP_EFFECTIVE, (int) n, drop, CAP_CLEAR) < 0
      || cap_set_flag (caps, CAP_PERMITTED, (int) n, drop, CAP_CLEAR) < 0 || cap_set_proc (caps) < 0)
    ret = make_error (err, errno, "drop the capabilities %s", what);
  cap_free (caps);
  return ret;
}

int
privilege_narrow (bool chowning, hook_error_t **err)
{
  if (chowning)
    return 0;
  return clear_caps (chown_only_caps, sizeof chown_only_caps / sizeof chown_only_caps[0], "only mode chown needs", err);
}

/* restore keeps CHOWN, FOWNER and FSETID (owners and modes back), SETFCAP
 * (security.capability back), DAC_READ_SEARCH (the walk of the source
 * reads every directory, whatever its mode) and SYS_ADMIN (the private
 * nodev copy of the source's mount for the walk of new files).  It enters
 * no namespace, traces nothing, maps no ids, writes no file it cannot. */
static const cap_value_t not_for_restore[]
    = { CAP_SYS_CHROOT, CAP_SYS_PTRACE, CAP_SETUID, CAP_SETGID, CAP_DAC_OVERRIDE };

int
privilege_narrow_restore (hook_error_t **err)
{
  return clear_caps (not_for_restore, sizeof not_for_restore / sizeof not_for_restore[0], "restore does not need", err);
}

/* " (cap_chown,cap_setuid)" for the hex mask at TEXT, " (none)" for 0, to F. */
static void
print_cap_names (FILE *f, const char *text)
{
  unsigned long long mask = strtoull (text, NULL, 16);
  const char *sep = " (";

  if (mask == 0)
    {
      fputs (" (none)", f);
      return;
    }
  for (cap_value_t c = 0; c < 64; c++)
    if (mask & (1ULL << c))
      {
        char *name = cap_to_name (c);
        fprintf (f, "%s%s", sep, name ? name : "?");
        cap_free (name);
        sep = ",";
      }
  fputc (')', f);
}

int
privilege_describe (char **out, hook_error_t **err)
{
  cleanup_fclose FILE *f = fopen ("/proc/self/status", "re");
  cleanup_free char *line = NULL;
  size_t cap = 0, len = 0;
  char *buf = NULL;
  FILE *o;
  bool first = true;

  if (f == NULL)
    return make_error (err, errno, "open '/proc/self/status'");
  o = open_memstream (&buf, &len);
  if (o == NULL)
    return make_error (err, errno, "describe privileges");
  while (getline (&line, &cap, f) > 0)
    if (strncmp (line, "Cap", 3) == 0 || strncmp (line, "NoNewPrivs:", 11) == 0 || strncmp (line, "Seccomp:", 8) == 0)
      {
        char *value = line + strcspn (line, ":");
        line[strcspn (line, "\n")] = '\0';
        if (*value == '\0')
          continue;
        *value++ = '\0';
        value += strspn (value, " \t");
        fprintf (o, "%s%s: %s", first ? "" : ", ", line, value);
        /* The masks, and the capabilities they hold by name. */
        if (strncmp (line, "Cap", 3) == 0)
          print_cap_names (o, value);
        first = false;
      }
  if (fclose (o) != 0 || buf == NULL)
    {
      free (buf);
      return make_error (err, ENOMEM, "describe privileges");
    }
  *out = buf;
  return 0;
}

/* privilege_probe: where the SIGSYS of the probe's call lands. */
static sigjmp_buf probe_jump;
static volatile sig_atomic_t probe_syscall;

static void
probe_handler (int sig, siginfo_t *info, void *ctx)
{
  (void) sig;
  (void) ctx;
  probe_syscall = info->si_syscall;
  siglongjmp (probe_jump, 1);
}

int
privilege_probe (int *stopped, char **name, hook_error_t **err)
{
  struct sigaction sa = { .sa_sigaction = probe_handler, .sa_flags = SA_SIGINFO }, old;
  int fd;

  *stopped = -1;
  *name = NULL;
  if (sigaction (SIGSYS, &sa, &old) < 0)
    return make_error (err, errno, "install the probe's SIGSYS handler");
  if (sigsetjmp (probe_jump, 1) == 0)
    {
      fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd >= 0)
        close (fd);
    }
  else
    {
      *stopped = probe_syscall;
      *name = seccomp_syscall_resolve_num_arch (SCMP_ARCH_NATIVE, probe_syscall);
    }
  /* The sandbox's own handler again: any other call it stops ends the process. */
  if (sigaction (SIGSYS, &old, NULL) < 0)
    return make_error (err, errno, "restore the SIGSYS handler");
  return 0;
}
