/* oci-idmap-runtime: a runtime shim for engines that do not read hooks.d
 * (Docker, containerd).  Called exactly as runc is; on `create` and `run`
 * of a container that asks for the hook, it adds the hook to the bundle's
 * config.json; then it execs the real runtime with the arguments unchanged. */
#define _GNU_SOURCE
#include "oci/config.h"
#include "oci/json.h"
#include "oci/json_write.h"
#include "hook/run/admin_policy.h"
#include "base/cleanup.h"
#include "hook/cli/commands.h"
#include "base/escape.h"
#include "inject.h"
#include "hook/run/request.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RUNTIME_ENV "OCI_IDMAP_RUNTIME"
#define RUNTIME_FLAG "--idmap-runtime"
#define POLICY_FLAG "--idmap-policy"
#define ENVIRONMENT_FLAG "--idmap-environment"

static const char shim_usage[] =
  "Usage: oci-idmap-runtime [" RUNTIME_FLAG " PATH] [" POLICY_FLAG " FILE] [" ENVIRONMENT_FLAG " LEVEL]\n"
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
  POLICY_FLAG " FILE (or =FILE; taken out too): the administrator's policy; the\n"
  "hook is run with --policy FILE, and when the policy has defaultMounts, it is\n"
  "added to every container, asking or not.\n"
  "\n"
  ENVIRONMENT_FLAG " LEVEL (or =LEVEL; taken out too): the hook is run with\n"
  "--environment LEVEL: off, idmap (the hook's default: OCI_IDMAP_MOUNTS may ask\n"
  "for idmap and nsmap only, OCI_IDMAP_USER may not name another user than\n"
  "process.user) or full (the environment asks like an annotation).  The image\n"
  "sets the environment too: give full only where the engine has no annotations\n"
  "(Docker < 24) and you trust every image it runs.\n"
  "\n"
  "Register it with Docker as a runtime (dockerd --add-runtime NAME=PATH, or\n"
  "\"runtimes\" in daemon.json, runtimeArgs [\"" RUNTIME_FLAG "=/usr/bin/crun\"]) or give\n"
  "it to containerd (ctr run --runc-binary PATH).  See oci-idmap-hook(1).\n";

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

/* Does the container ask for the hook?  Reads config.json once; a config we
 * cannot parse asks only if it names us, and then that is an error. */
static int
container_asks (const char *bundle, enum env_trust trust, bool *asks, hook_error_t **err)
{
  cleanup_free char *path = NULL, *text = NULL;
  struct oci_config cfg;
  size_t len;
  int ret;

  *asks = false;
  if (oci_config_read (bundle, &path, &text, &len, NULL, err) < 0)
    {
      if ((*err)->errnum != ENOENT)
        return -1;
      error_free (err); /* no config.json: the real runtime will say so */
      return 0;
    }
  ret = oci_config_parse (text, len, &cfg, err);
  if (ret == 0)
    *asks = request_present (&cfg, NULL, trust);
  else if (strstr (text, ANNOTATION_MOUNTS) == NULL && strstr (text, ENV_MOUNTS) == NULL)
    {
      error_free (err);
      ret = 0;
    }
  oci_config_free (&cfg);
  return ret;
}

/* Engines read the runtime's --log (JSON lines with --log-format json) to
 * tell the user why a container failed; put our error there too. */
static void
log_for_engine (char **argv, int cmd, const char *msg)
{
  const char *log = global_value (argv, cmd, "--log");
  const char *format = global_value (argv, cmd, "--log-format");
  cleanup_close int fd = -1;
  char stamp[32];
  time_t now = time (NULL);
  struct tm tm;

  if (log == NULL)
    return;
  fd = open (log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return;
  gmtime_r (&now, &tm);
  strftime (stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (format && strcmp (format, "json") == 0)
    {
      /* A message may quote config.json: yajl escapes what JSON must. */
      yajl_gen g = yajl_gen_alloc (NULL);
      const unsigned char *buf;
      size_t n;
      if (g != NULL && yajl_gen_map_open (g) == yajl_gen_status_ok && json_gen_cstring (g, "level") == 0
          && json_gen_cstring (g, "error") == 0 && json_gen_cstring (g, "msg") == 0 && json_gen_cstring (g, msg) == 0
          && json_gen_cstring (g, "time") == 0 && json_gen_cstring (g, stamp) == 0
          && yajl_gen_map_close (g) == yajl_gen_status_ok && yajl_gen_get_buf (g, &buf, &n) == yajl_gen_status_ok)
        dprintf (fd, "%.*s\n", (int) n, (const char *) buf);
      if (g != NULL)
        yajl_gen_free (g);
    }
  else
    {
      /* logrus's text format: a quote or backslash in MSG must not end the field. */
      dprintf (fd, "time=\"%s\" level=error msg=\"", stamp);
      for (const char *p = msg; *p; p++)
        dprintf (fd, (*p == '"' || *p == '\\') ? "\\%c" : "%c", *p);
      dprintf (fd, "\"\n");
    }
}

static int
shim_failure (char **argv, int cmd, hook_error_t **err)
{
  cleanup_free char *msg = NULL, *safe = text_escape ((*err)->msg);
  if (asprintf (&msg, "oci-idmap-runtime: %s", safe) > 0)
    log_for_engine (argv, cmd, msg);
  return report_failure (err);
}

/* A policy with defaultMounts serves every container, asking or not. */
static int
policy_serves_all (const char *policy, bool *all, hook_error_t **err)
{
  struct admin_policy pol;
  int ret = admin_policy_load (policy, true, &pol, err);

  *all = ret == 0 && pol.default_mounts != NULL;
  admin_policy_free (&pol);
  return ret;
}

/* Add the hook on create/run when asked. */
static int
prepare_bundle (int argc, char **argv, int cmd, const char *policy, const char *environment, hook_error_t **err)
{
  struct inject_options opts = { .stage = "prestart", .policy_path = policy, .environment = environment };
  enum env_trust trust = ENV_TRUST_IDMAP;
  cleanup_free char *self = NULL;
  const char *bundle;
  bool asks = false, changed;

  if (strcmp (argv[cmd], "create") != 0 && strcmp (argv[cmd], "run") != 0)
    return 0;
  bundle = find_bundle (argc, argv, cmd);
  if (environment && env_trust_parse (environment, &trust) < 0)
    return make_error (err, 0, ENVIRONMENT_FLAG " \"%s\": expected one of %s", environment, env_trust_list);
  if (policy && policy_serves_all (policy, &asks, err) < 0)
    return -1;
  if (!asks && container_asks (bundle, trust, &asks, err) < 0)
    return -1;
  if (!asks)
    return 0;
  if (inject_self_path (&self, err) < 0)
    return -1;
  opts.hook_path = self;
  return inject_bundle (bundle, &opts, &changed, err);
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

/* Refuse to exec ourselves: a shim configured as its own runtime would loop. */
static int
check_not_self (const char *runtime, hook_error_t **err)
{
  cleanup_free char *self = realpath ("/proc/self/exe", NULL);
  cleanup_free char *found = NULL;
  const char *path = getenv ("PATH");
  struct stat a, b;

  if (strchr (runtime, '/'))
    found = strdup (runtime);
  else
    for (const char *p = path ? path : "/usr/bin:/bin"; p && *p && found == NULL;)
      {
        const char *colon = strchr (p, ':');
        size_t len = colon ? (size_t) (colon - p) : strlen (p);
        cleanup_free char *cand = NULL;
        if (asprintf (&cand, "%.*s/%s", (int) len, p, runtime) > 0 && access (cand, X_OK) == 0)
          found = steal_pointer (&cand);
        p = colon ? colon + 1 : NULL;
      }
  if (found == NULL)
    return make_error (err, ENOENT, "the real runtime %s is not in PATH", runtime);
  if (self && stat (found, &a) == 0 && stat (self, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
    return make_error (err, 0, "the real runtime %s is this shim itself; set %s or %s to runc or crun", found,
                       RUNTIME_FLAG, RUNTIME_ENV);
  return 0;
}

int
runtime_main (int argc, char **argv)
{
  const char *runtime = take_flag (&argc, argv, RUNTIME_FLAG);
  const char *policy = take_flag (&argc, argv, POLICY_FLAG);
  const char *environment = take_flag (&argc, argv, ENVIRONMENT_FLAG);
  hook_error_t *err = NULL;
  int cmd = 1;

  if (runtime == NULL)
    runtime = getenv (RUNTIME_ENV);
  if (runtime == NULL || runtime[0] == '\0')
    runtime = "runc";
  /* The command is the first argument that is not a global option or its value. */
  while (cmd < argc && argv[cmd][0] == '-')
    cmd += takes_value (argv[cmd]) ? 2 : 1;
  if (argc == 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    {
      printf ("%s\nThe real runtime's own options: %s --help\n", shim_usage, runtime);
      return 0;
    }
  if (cmd < argc && prepare_bundle (argc, argv, cmd, policy, environment, &err) < 0)
    return shim_failure (argv, cmd, &err);
  if (check_not_self (runtime, &err) < 0)
    return shim_failure (argv, cmd < argc ? cmd : argc, &err);
  argv[0] = (char *) runtime;
  execvp (runtime, argv);
  make_error (&err, errno, "exec the real runtime %s", runtime);
  return shim_failure (argv, cmd < argc ? cmd : argc, &err);
}
