/* oci-idmap-hook [OPTIONS] STAGE: the hook's own command line, around run_stage. */
#define _GNU_SOURCE
#include "base/cleanup.h"
#include "base/error.h"
#include "base/log.h"
#include "commands.h"
#include "hook/chown/chown_walkers.h"
#include "hook/chown/journal.h"
#include "hook/run/request.h"
#include "hook/run/stage.h"
#include "hook/system/privilege.h"
#include "hook/system/rootless.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef VERSION
#define VERSION "unknown"
#endif

/* clang-format off */
static const char usage_text[] =
  "Usage: oci-idmap-hook [OPTIONS] STAGE\n"
  "       oci-idmap-hook COMMAND [--help] ...\n"
  "       oci-idmap-hook restore --journal FILE | --container ID [--dir DIR]\n"
  "       oci-idmap-hook restore --all [--prune] [--dir DIR]\n"
  "       oci-idmap-hook status [--dir DIR] [--json]\n"
  "\n"
  "An OCI runtime hook that makes bind-mounted host directories owned by the\n"
  "container's user, before the container's entrypoint runs.  The runtime runs\n"
  "it with the container state on standard input; STAGE is prestart or\n"
  "createRuntime (poststop: undo mode chown+restore; a stopped container's\n"
  "state means poststop whatever STAGE says).\n"
  "\n"
  "A container asks for it with annotations (or, for engines without them,\n"
  "the environment variables OCI_IDMAP_MOUNTS and OCI_IDMAP_USER, as far as\n"
  "--environment allows):\n"
  "  oci-idmap-hook/mounts  DEST[=MODE] items separated by ';' or spaces;\n"
  "                         DEST is a bind mount's container path, or '*' for\n"
  "                         every bind mount of a directory.  MODE:\n"
  "                           idmap  the owner of the source shows as the\n"
  "                                  container user (default)\n"
  "                           nsmap  on-disk ids are container ids\n"
  "                           chown  give the files on disk to the\n"
  "                                  container user, journaled (undo:\n"
  "                                  oci-idmap-hook restore)\n"
  "                           chown+restore  chown, undone at poststop\n"
  "                           auto   idmap where the filesystem can,\n"
  "                                  chown where it cannot\n"
  "  oci-idmap-hook/user    UID[:GID], or 'env' for PUID/PGID from the\n"
  "                         container's environment (default: process.user)\n"
  "  KEY.NAME               either key for the container NAME of a Kubernetes\n"
  "                         pod only (io.kubernetes.container.name)\n"
  "\n"
  "Commands (each has its own --help):\n"
  "  doctor                 explain why a container could not use its files,\n"
  "                         before it runs\n"
  "  inject BUNDLE          add this hook to a bundle's config.json (runc, crun)\n"
  "  restore                undo mode chown from its journal\n"
  "  status                 list the journals: what mode chown changed\n"
  "\n"
  "Options:\n"
  "      --allow-host-root  let mounts whose source is owned by host root be\n"
  "                         idmapped or chowned, nsmap keep id 0, and chown\n"
  "                         give away host root's files or give files to\n"
  "                         host root (off: host root stays host root)\n"
  "      --chown-hard-links  let mode chown change files with more than one\n"
  "                         link (off: they may be links to files outside)\n"
  "      --chown-threads N  walk with N threads, up to 64 (default 0: one per\n"
  "                         CPU on a local filesystem, 64 on NFS, SMB, Ceph,\n"
  "                         9p and FUSE, where each operation is a round trip;\n"
  "                         fewer if the open-file limit is low)\n"
  "      --journal-dir DIR  where mode chown keeps its journals (default\n"
  "                         " JOURNAL_DEFAULT_DIR ";\n"
  "                         rootless: ~/.local/share/oci-idmap-hook/journal)\n"
  "      --policy FILE      the administrator's policy (default\n"
  "                         /etc/oci-idmap-hook/policy.json, if it exists;\n"
  "                         rootless: ~/.config/oci-idmap-hook/policy.json)\n"
  "      --log FILE         also append every message to FILE, a regular file\n"
  "                         (crun and podman do not show a hook's stderr)\n"
  "      --environment LEVEL  how far the environment, which the image sets\n"
  "                         too, may ask (default: the policy's \"environment\",\n"
  "                         else idmap): off (never), idmap (modes idmap and\n"
  "                         nsmap only, and OCI_IDMAP_USER only as process.user),\n"
  "                         full (like annotations; for Docker < 24)\n"
  "      --default-mounts LIST  what to serve, in the syntax of\n"
  "                         oci-idmap-hook/mounts, when a container asks for\n"
  "                         nothing (replaces the policy's defaultMounts): for\n"
  "                         a registration that is itself the request, such as\n"
  "                         a CDI device's hook; an annotation replaces it, the\n"
  "                         environment is then not read\n"
  "  -v, --verbose          say what was done for each mount\n"
  "      --check-sandbox    enter the hook's sandbox, print what is in force\n"
  "                         (capabilities by mask and name), then make a system\n"
  "                         call the hook never makes and show the sandbox\n"
  "                         stops it (exit 0; 1 if it could not check)\n"
  "  -h, --help             show this help and exit\n"
  "  -V, --version          show the version and exit\n"
  "\n"
  "Under rootless podman the hook runs as root of the user's own user\n"
  "namespace: idmap and nsmap are refused there, auto and chown change owners\n"
  "to ids of that namespace, and ~ is the home of the user in /etc/passwd.\n"
  "\n"
  "Called as oci-idmap-runtime, it is a runtime shim for Docker and containerd:\n"
  "see oci-idmap-runtime --help.\n"
  "\n"
  "Exit status: 0 when done or when nothing was asked; 1 on any error, with one\n"
  "line on stderr naming the mount, the cause and the fix; 2 on bad usage.\n"
  "See oci-idmap-hook(1).\n";
/* clang-format on */

/* "fds: 0 1 2" and "environment: K=V ..." as the sandbox left them. */
static void
print_fds_and_environment (void)
{
  DIR *d = opendir ("/proc/self/fd");
  struct dirent *e;

  fputs ("fds:", stdout);
  while (d && (e = readdir (d)) != NULL)
    if (e->d_name[0] != '.' && atoi (e->d_name) != dirfd (d))
      printf (" %s", e->d_name);
  if (d)
    closedir (d);
  fputs ("\nenvironment:", stdout);
  for (char **v = environ; *v; v++)
    printf (" %s", *v);
  putchar ('\n');
}

/* --check-sandbox: enter the sandbox the hook runs in, say what is in
 * force, then make a system call the hook never makes (socket) and show
 * that the sandbox stops it.  Exit 0 when it did; 1 when the sandbox could
 * not be entered or let the call through. */
static int
check_sandbox (void)
{
  hook_error_t *err = NULL;
  cleanup_free char *what = NULL, *name = NULL;
  int stopped;

  if (enter_sandbox (&err) < 0 || privilege_describe (&what, &err) < 0)
    return report_failure (&err, EXIT_FAILURE);
  printf ("%s\n", what);
  print_fds_and_environment ();
  fflush (stdout);
  if (privilege_probe (&stopped, &name, &err) < 0)
    return report_failure (&err, EXIT_FAILURE);
  if (stopped < 0)
    {
      make_error (&err, 0, "the sandbox let a forbidden system call (socket) through");
      return report_failure (&err, EXIT_FAILURE);
    }
  printf ("seccomp: stopped system call %d (%s), which the hook never makes\n", stopped, name ? name : "?");
  return 0;
}

/* The hook's options that a registration may carry: inject and the runtime
 * shim pass exactly these on, checked by parse_hook_option as the hook
 * will check them.  A path must be absolute there: the runtime, not the
 * user, picks the directory the hook starts in. */
static const struct hook_flag
{
  const char *flag;
  int has_arg;
  int val;
  bool is_path;
} hook_flags[] = {
  { "--allow-host-root", no_argument, 'R', false },
  { "--chown-hard-links", no_argument, 'H', false },
  { "--chown-threads", required_argument, 'T', false },
  { "--journal-dir", required_argument, 'J', true },
  { "--log", required_argument, 'l', true },
  { "--policy", required_argument, 'P', true },
  { "--environment", required_argument, 'E', false },
  { "--default-mounts", required_argument, 'D', false },
  { "--verbose", no_argument, 'v', false },
};
#define HOOK_FLAGS (sizeof hook_flags / sizeof hook_flags[0])
_Static_assert(HOOK_FLAGS <= HOOK_REGISTRATION_MAX, "inject's getopt table holds HOOK_REGISTRATION_MAX of them");

/* One of hook_flags, given as SPELLED (the hook's own name, or the shim's
 * --idmap- form, which the messages then name). */
static int
parse_hook_option (struct hook_args *a, int c, const char *arg, const char *spelled, hook_error_t **err)
{
  switch (c)
    {
    case 'R':
      a->opts.allow_host_root = true;
      return 0;
    case 'H':
      a->opts.chown_hard_links = true;
      return 0;
    case 'T':
      {
        char *end;
        unsigned long n = strtoul (arg, &end, 10);
        if (*end || end == arg || n > CHOWN_MAX_THREADS)
          return make_error (err, 0, "%s expects a number from 0 to %d, not '%s'", spelled, CHOWN_MAX_THREADS, arg);
        a->opts.threads = (unsigned int) n;
        return 0;
      }
    case 'J':
      a->opts.journal_dir = arg;
      return 0;
    case 'l':
      a->log = arg;
      return 0;
    case 'v':
      a->verbose = true;
      return 0;
    case 'P':
      a->opts.policy_path = arg;
      return 0;
    case 'D':
      a->opts.default_mounts = arg;
      return 0;
    case 'E':
      if (env_trust_parse (arg, &a->opts.env_trust) < 0)
        return make_error (err, 0, "%s expects off, idmap or full, not '%s'", spelled, arg);
      a->opts.env_trust_set = true;
      return 0;
    default:
      return make_error (err, 0, "unknown option '%s'", spelled);
    }
}

/* The long name of getopt's C (the user may have written -v), else ARG. */
static const char *
hook_flag_name (int c, const char *arg)
{
  for (size_t i = 0; i < HOOK_FLAGS; i++)
    if (hook_flags[i].val == c)
      return hook_flags[i].flag;
  return arg;
}

int
hook_args_parse (int argc, char **argv, struct hook_args *a, hook_error_t **err)
{
  /* hook_flags, then the three that act alone. */
  static struct option longopts[HOOK_FLAGS + 4] = {
    [HOOK_FLAGS] = { "check-sandbox", no_argument, NULL, 'S' },
    [HOOK_FLAGS + 1] = { "help", no_argument, NULL, 'h' },
    [HOOK_FLAGS + 2] = { "version", no_argument, NULL, 'V' },
  };
  int c;

  for (size_t i = 0; i < HOOK_FLAGS; i++)
    longopts[i] = (struct option){ hook_flags[i].flag + 2, hook_flags[i].has_arg, NULL, hook_flags[i].val };
  *a = (struct hook_args){ .opts = { .allow_host_root = false } };
  /* 0, not 1: getopt starts afresh (the doctor parses a bundle's entry after its own options). */
  optind = 0;
  opterr = 0;
  while ((c = getopt_long (argc, argv, "+:vhV", longopts, NULL)) != -1)
    switch (c)
      {
      case 'S':
        a->check_sandbox = true;
        return 0;
      case 'h':
        a->help = true;
        return 0;
      case 'V':
        a->version = true;
        return 0;
      case ':':
        return make_error (err, 0, "missing the value of '%s'", argv[optind - 1]);
      default:
        if (parse_hook_option (a, c, optarg, hook_flag_name (c, argv[optind - 1]), err) < 0)
          return -1;
        break;
      }
  if (optind >= argc)
    return make_error (err, 0, "missing STAGE (prestart, createRuntime or poststop)");
  if (argc - optind > 1)
    return make_error (err, 0, "unexpected argument '%s'", argv[optind + 1]);
  if (!stage_known (argv[optind]))
    return make_error (err, 0, "expected STAGE prestart, createRuntime or poststop, not '%s'", argv[optind]);
  a->stage = argv[optind];
  return 0;
}

size_t
hook_registration_flags (const char *const **names)
{
  static const char *list[HOOK_FLAGS];

  for (size_t i = 0; i < HOOK_FLAGS; i++)
    list[i] = hook_flags[i].flag;
  *names = list;
  return HOOK_FLAGS;
}

bool
hook_registration_takes_value (const char *flag)
{
  for (size_t i = 0; i < HOOK_FLAGS; i++)
    if (strcmp (flag, hook_flags[i].flag) == 0)
      return hook_flags[i].has_arg == required_argument;
  return false;
}

int
hook_registration_add (struct hook_registration *r, const char *flag, const char *value, const char *spelled,
                       hook_error_t **err)
{
  const struct hook_flag *f = NULL;
  const char **grown;

  for (size_t i = 0; i < HOOK_FLAGS && f == NULL; i++)
    if (strcmp (flag, hook_flags[i].flag) == 0)
      f = &hook_flags[i];
  if (f == NULL)
    return make_error (err, 0, "unknown option '%s'", spelled);
  if (f->has_arg == required_argument && value == NULL)
    return make_error (err, 0, "missing the value of '%s'", spelled);
  if (f->has_arg == no_argument && value != NULL)
    return make_error (err, 0, "'%s' takes no value, not '%s'", spelled, value);
  if (f->is_path && value[0] != '/')
    return make_error (err, 0, "%s expects an absolute path, not '%s'", spelled, value);
  if (parse_hook_option (&r->parsed, f->val, value, spelled, err) < 0)
    return -1;
  /* The hook reads the list only for a container that asks for nothing,
   * and the shim serves every container once it is given: a bad one would
   * fail them all at their start, not here. */
  if (f->val == 'D')
    {
      cleanup_request struct request req = { 0 };
      if (request_parse_mounts (value, spelled, &req, err) < 0)
        return -1;
    }
  grown = reallocarray (r->args, r->n_args + 2, sizeof *grown);
  if (grown == NULL)
    return make_error (err, ENOMEM, "pass on '%s'", spelled);
  r->args = grown;
  r->args[r->n_args++] = f->flag;
  if (value)
    r->args[r->n_args++] = value;
  return 0;
}

void
hook_registration_free (struct hook_registration *r)
{
  free (r->args);
  r->args = NULL;
  r->n_args = 0;
}

int
hook_options_from_args (int argc, char **argv, struct hook_options *opts, hook_error_t **err)
{
  struct hook_args a;

  if (hook_args_parse (argc, argv, &a, err) < 0)
    return -1;
  if (a.stage == NULL)
    return make_error (err, 0, "--check-sandbox, --help or --version: the hook would run no stage");
  *opts = a.opts;
  return 0;
}

/* A rootless engine whose hooks_dir names the host's hooks.d (a drop-in in
 * /etc/containers/containers.conf.d reaches every user's podman) runs the
 * package's registration as root of the user's namespace, which may not
 * open root's log in /var/log.  A log is for the administrator, not a
 * safeguard: the user's containers must not fail for it.  Says so on
 * stderr and frees *ERR when that is the case. */
static bool
log_closed_to_rootless (hook_error_t **err)
{
  cleanup_rootless struct rootless rl = { 0 };
  hook_error_t *detect_err = NULL;
  int e = error_errno (*err);

  if (e != EACCES && e != EPERM && e != EROFS)
    return false;
  if (rootless_detect (&rl, &detect_err) < 0)
    {
      error_free (&detect_err);
      return false;
    }
  if (!rl.active)
    return false;
  error_hint (err, "under a rootless engine the hook goes on without it; give the user's registration a --log the "
                   "user may write");
  error_report (err);
  return true;
}

int
command_hook (int argc, char **argv)
{
  struct hook_args a;
  hook_error_t *err = NULL;

  /* The hook proper: nothing inherited survives but stdio (the log opens after). */
  if (privilege_close_fds (-1, &err) < 0)
    return report_failure (&err, EXIT_FAILURE);
  if (hook_args_parse (argc, argv, &a, &err) < 0)
    return usage_error_from (NULL, &err);
  if (a.check_sandbox)
    return check_sandbox ();
  if (a.help)
    {
      fputs (usage_text, stdout);
      return 0;
    }
  if (a.version)
    {
      printf ("oci-idmap-hook %s\n", VERSION);
      return 0;
    }
  log_verbose_enabled = a.verbose;
  if (a.log && log_open_file (a.log, &err) < 0 && !log_closed_to_rootless (&err))
    return report_failure (&err, EXIT_FAILURE);
  if (run_stage (a.stage, STDIN_FILENO, &a.opts, &err) < 0)
    return report_failure (&err, EXIT_FAILURE);
  return 0;
}
