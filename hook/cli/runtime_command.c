/* oci-idmap-runtime: the runtime shim's command line, which is runc's with
 * three flags of its own taken out (hook/engine/runtime_shim.h). */
#define _GNU_SOURCE
#include "base/cleanup.h"
#include "base/escape.h"
#include "base/str.h"
#include "commands.h"
#include "hook/engine/runtime_shim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* clang-format off */
static const char shim_usage[] =
  "Usage: oci-idmap-runtime [" RUNTIME_FLAG "=PATH] [--idmap-HOOKOPTION[=VALUE]...]\n"
  "                         [RUNTIME GLOBAL OPTIONS] COMMAND [ARGS]\n"
  "\n"
  "A runtime shim: called exactly as runc is.  On 'create' and 'run' of a\n"
  "container that asks for oci-idmap-hook (the annotation oci-idmap-hook/mounts,\n"
  "or OCI_IDMAP_MOUNTS in its environment) it adds the hook to the bundle's\n"
  "config.json; then it runs the real runtime with the arguments unchanged.\n"
  "\n"
  "The real runtime is, in this order: " RUNTIME_FLAG " PATH (or =PATH; taken out\n"
  "of the arguments), $" RUNTIME_ENV ", or runc from PATH.  crun works too.\n"
  "\n"
  "Every option of the hook is the shim's with --idmap- for its --, taken out\n"
  "too and passed on in the hook's entry (=VALUE or the next argument):\n"
  "  --idmap-log=FILE  --idmap-verbose  --idmap-journal-dir=DIR\n"
  "  --idmap-chown-threads=N  --idmap-allow-host-root  --idmap-chown-hard-links\n"
  "  --idmap-policy=FILE    the administrator's policy; when it has\n"
  "                         defaultMounts, the hook is added to every\n"
  "                         container, asking or not\n"
  "  --idmap-default-mounts=LIST  what a container that asks for nothing gets\n"
  "                         (the hook's --default-mounts): the hook is added\n"
  "                         to every container\n"
  "  --idmap-environment=LEVEL  off, idmap (the hook's default: OCI_IDMAP_MOUNTS\n"
  "                         may ask for idmap and nsmap only, OCI_IDMAP_USER\n"
  "                         may not name another user than process.user) or\n"
  "                         full (the environment asks like an annotation).\n"
  "                         The image sets the environment too: give full only\n"
  "                         where the engine has no annotations (Docker < 24)\n"
  "                         and you trust every image it runs.\n"
  "Each is checked as the hook checks it (paths must be absolute); a bad one\n"
  "is one line on stderr and exit 1, and no runtime runs.\n"
  "\n"
  "Register it with Docker as a runtime (dockerd --add-runtime NAME=PATH, or\n"
  "\"runtimes\" in daemon.json, then restart dockerd or send it SIGHUP), its\n"
  "options in runtimeArgs: [\"" RUNTIME_FLAG "=/usr/bin/crun\", \"--idmap-log=FILE\"].\n"
  "containerd (ctr run --runc-binary PATH, a CRI handler's BinaryName) passes\n"
  "no arguments: name a two-line script there that execs the shim with them.\n"
  "See oci-idmap-hook(1).\n";
/* clang-format on */

/* runc's and crun's global options that take a value as the next argument. */
static const char *const value_flags[] = {
  "--root", "--log", "--log-format", "--log-level", "--criu", "--rootless", "--cgroup-manager",
};

static bool
takes_value (const char *arg)
{
  for (size_t i = 0; i < sizeof value_flags / sizeof value_flags[0]; i++)
    if (strcmp (arg, value_flags[i]) == 0)
      return true;
  return false;
}

/* The value of global option NAME in ARGV[1..CMD), as "--name v" or "--name=v". */
static const char *
global_value (char **argv, int cmd, const char *name)
{
  size_t n = strlen (name);
  for (int i = 1; i < cmd; i++)
    {
      if (strcmp (argv[i], name) == 0 && i + 1 < cmd)
        return argv[i + 1];
      if (strncmp (argv[i], name, n) == 0 && argv[i][n] == '=')
        return argv[i] + n + 1;
    }
  return NULL;
}

/* The bundle of `create`/`run`: -b/--bundle (also runc's single-dash long
 * form, and =VALUE forms), else the current directory. */
static const char *
find_bundle (int argc, char **argv, int cmd)
{
  static const char *const names[] = { "--bundle", "-bundle", "-b" };
  for (int i = cmd + 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--") == 0)
        break;
      for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        {
          size_t n = strlen (names[k]);
          if (strcmp (argv[i], names[k]) == 0 && i + 1 < argc)
            return argv[i + 1];
          if (strncmp (argv[i], names[k], n) == 0 && argv[i][n] == '=')
            return argv[i] + n + 1;
        }
    }
  return ".";
}

/* The shim failed: its one line on stderr, and in the engine's log. */
static int
shim_failure (const struct runtime_options *o, hook_error_t **err)
{
  cleanup_free char *text = error_string (*err), *msg = NULL, *safe = text_escape (text);
  /* Part of reporting an error: nowhere to report running out of memory. */
  if (asprintf (&msg, "oci-idmap-runtime: %s", safe) < 0)
    abort ();
  runtime_log_for_engine (o, msg);
  return report_failure (err, EXIT_FAILURE);
}

/* SPELLED ("--idmap-log") is the hook's FLAG ("--log"), or RUNTIME_FLAG. */
static int
take_own_flag (const char *spelled, const char *flag, const char *value, const char **runtime,
               struct hook_registration *r, hook_error_t **err)
{
  if (strcmp (spelled, RUNTIME_FLAG) != 0)
    return hook_registration_add (r, flag, value, spelled, err);
  *runtime = value;
  return value ? 0 : make_error (err, 0, "missing the value of '%s'", spelled);
}

/* Our own flags come before the command, each one argument of its own, in
 * the form "--idmap-NAME=VALUE" (or "--idmap-NAME VALUE"): RUNTIME_FLAG,
 * and each of the hook's options NAME with the same prefix.  One word per
 * setting is what reads best where they are written: a daemon.json
 * "runtimeArgs" list (["--idmap-log=/var/log/oci-idmap-hook.log",
 * "--idmap-verbose"]) or a wrapper's exec line; a nested form such as
 * --idmap-hook-opt=--log=FILE would spell each setting twice.  The prefix
 * keeps them apart from runc's own --log, which engines pass too.  Taken
 * out of ARGV in place; a container's own arguments are never ours.
 * All of ARGV is gone through even after a bad flag, so that the engine's
 * --log is found for the one line that says so. */
static int
take_own_flags (int *argc, char **argv, const char **runtime, struct hook_registration *r, hook_error_t **err)
{
  const size_t plen = strlen (RUNTIME_HOOK_PREFIX);
  int o = 1, i = 1, ret = 0;

  for (; i < *argc && argv[i][0] == '-'; i++)
    {
      const char *arg = argv[i], *eq = strchr (arg, '='), *value = eq ? eq + 1 : NULL;
      cleanup_free char *spelled = NULL, *flag = NULL;

      if (strncmp (arg, RUNTIME_HOOK_PREFIX, plen) != 0)
        {
          argv[o++] = argv[i];
          if (takes_value (arg) && i + 1 < *argc)
            argv[o++] = argv[++i];
          continue;
        }
      if (str_printf (&spelled, err, "%.*s", (int) (eq ? (size_t) (eq - arg) : strlen (arg)), arg) < 0
          || str_printf (&flag, err, "--%s", spelled + plen) < 0)
        return -1;
      if (value == NULL && i + 1 < *argc
          && (strcmp (spelled, RUNTIME_FLAG) == 0 || hook_registration_takes_value (flag)))
        value = argv[++i];
      if (ret == 0)
        ret = take_own_flag (spelled, flag, value, runtime, r, err);
    }
  for (; i < *argc; i++)
    argv[o++] = argv[i];
  argv[o] = NULL;
  *argc = o;
  return ret;
}

int
command_runtime (int argc, char **argv)
{
  cleanup_hook_registration struct hook_registration reg = { .args = NULL };
  struct runtime_options o = { .runtime = NULL };
  hook_error_t *err = NULL;
  int cmd = 1, bad;

  /* A bad flag of ours is said before anything runs, the engine's log found
   * in what is left of the arguments. */
  bad = take_own_flags (&argc, argv, &o.runtime, &reg, &err);
  o.hook = &reg.parsed.opts;
  o.hook_args = reg.args;
  o.n_hook_args = reg.n_args;
  if (o.runtime == NULL)
    o.runtime = getenv (RUNTIME_ENV);
  if (o.runtime == NULL || o.runtime[0] == '\0')
    o.runtime = "runc";
  /* The command is the first argument that is not a global option or its value. */
  while (cmd < argc && argv[cmd][0] == '-')
    cmd += takes_value (argv[cmd]) ? 2 : 1;
  if (argc == 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    {
      printf ("%s\nThe real runtime's own options: %s --help\n", shim_usage, o.runtime);
      return 0;
    }
  if (cmd > argc)
    cmd = argc;
  o.log = global_value (argv, cmd, "--log");
  o.log_format = global_value (argv, cmd, "--log-format");
  if (cmd < argc)
    {
      o.command = argv[cmd];
      o.bundle = find_bundle (argc, argv, cmd);
    }
  if (bad == 0 && getenv (RUNTIME_ACTIVE_ENV))
    bad = make_error (&err, 0,
                      "called again by its own real runtime '%s' (a wrapper that runs oci-idmap-runtime?); set "
                      "--idmap-runtime or " RUNTIME_ENV " to runc or crun itself",
                      o.runtime);
  if (bad < 0 || runtime_prepare_bundle (&o, &err) < 0 || runtime_check_not_self (o.runtime, &err) < 0)
    return shim_failure (&o, &err);
  argv[0] = (char *) o.runtime;
  if (setenv (RUNTIME_ACTIVE_ENV, "1", 1) < 0)
    {
      make_error (&err, errno, "set %s for the real runtime", RUNTIME_ACTIVE_ENV);
      return shim_failure (&o, &err);
    }
  execvp (o.runtime, argv);
  make_error (&err, errno, "exec the real runtime '%s'", o.runtime);
  return shim_failure (&o, &err);
}
