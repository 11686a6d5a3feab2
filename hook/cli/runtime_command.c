/* oci-idmap-runtime: the runtime shim's command line, which is runc's with
 * three flags of its own taken out (hook/engine/runtime_shim.h). */
#define _GNU_SOURCE
#include "base/cleanup.h"
#include "base/escape.h"
#include "commands.h"
#include "hook/engine/runtime_shim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* clang-format off */
static const char shim_usage[] =
  "Usage: oci-idmap-runtime [" RUNTIME_FLAG " PATH] [" RUNTIME_POLICY_FLAG " FILE]\n"
  "                         [" RUNTIME_ENVIRONMENT_FLAG " LEVEL] [RUNTIME GLOBAL OPTIONS] COMMAND [ARGS]\n"
  "\n"
  "A runtime shim: called exactly as runc is.  On 'create' and 'run' of a\n"
  "container that asks for oci-idmap-hook (the annotation oci-idmap-hook/mounts,\n"
  "or OCI_IDMAP_MOUNTS in its environment) it adds the hook to the bundle's\n"
  "config.json; then it runs the real runtime with the arguments unchanged.\n"
  "\n"
  "The real runtime is, in this order: " RUNTIME_FLAG " PATH (or =PATH; taken out\n"
  "of the arguments), $" RUNTIME_ENV ", or runc from PATH.  crun works too.\n"
  "\n"
  RUNTIME_POLICY_FLAG " FILE (or =FILE; taken out too): the administrator's policy; the\n"
  "hook is run with --policy FILE, and when the policy has defaultMounts, it is\n"
  "added to every container, asking or not.\n"
  "\n"
  RUNTIME_ENVIRONMENT_FLAG " LEVEL (or =LEVEL; taken out too): the hook is run with\n"
  "--environment LEVEL: off, idmap (the hook's default: OCI_IDMAP_MOUNTS may ask\n"
  "for idmap and nsmap only, OCI_IDMAP_USER may not name another user than\n"
  "process.user) or full (the environment asks like an annotation).  The image\n"
  "sets the environment too: give full only where the engine has no annotations\n"
  "(Docker < 24) and you trust every image it runs.\n"
  "\n"
  "Register it with Docker as a runtime (dockerd --add-runtime NAME=PATH, or\n"
  "\"runtimes\" in daemon.json, runtimeArgs [\"" RUNTIME_FLAG "=/usr/bin/crun\"]) or give\n"
  "it to containerd (ctr run --runc-binary PATH).  See oci-idmap-hook(1).\n";
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

/* Take our own global flag NAME ("NAME V" or "NAME=V") out of ARGV, in
 * place, returning its value.  Only before the command: a container's own
 * arguments are never ours. */
static const char *
take_flag (int *argc, char **argv, const char *name)
{
  size_t n = strlen (name);
  const char *value = NULL;
  int o = 1, i = 1;

  for (; i < *argc && argv[i][0] == '-'; i++)
    {
      if (value == NULL && strcmp (argv[i], name) == 0 && i + 1 < *argc)
        value = argv[++i];
      else if (value == NULL && strncmp (argv[i], name, n) == 0 && argv[i][n] == '=')
        value = argv[i] + n + 1;
      else
        {
          argv[o++] = argv[i];
          if (takes_value (argv[i]) && i + 1 < *argc)
            argv[o++] = argv[++i];
        }
    }
  for (; i < *argc; i++)
    argv[o++] = argv[i];
  argv[o] = NULL;
  *argc = o;
  return value;
}

int
command_runtime (int argc, char **argv)
{
  struct runtime_options o = { .runtime = NULL };
  hook_error_t *err = NULL;
  int cmd = 1;

  /* One after the other: each takes its flag out of ARGV. */
  o.runtime = take_flag (&argc, argv, RUNTIME_FLAG);
  o.policy = take_flag (&argc, argv, RUNTIME_POLICY_FLAG);
  o.environment = take_flag (&argc, argv, RUNTIME_ENVIRONMENT_FLAG);
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
  if (runtime_prepare_bundle (&o, &err) < 0 || runtime_check_not_self (o.runtime, &err) < 0)
    return shim_failure (&o, &err);
  argv[0] = (char *) o.runtime;
  execvp (o.runtime, argv);
  make_error (&err, errno, "exec the real runtime '%s'", o.runtime);
  return shim_failure (&o, &err);
}
