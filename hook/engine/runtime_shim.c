/* oci-idmap-runtime: what the runtime shim does before it execs the real
 * runtime (its command line is hook/cli/runtime_command.c). */
#define _GNU_SOURCE
#include "runtime_shim.h"
#include "base/cleanup.h"
#include "base/str.h"
#include "hook/run/admin_policy.h"
#include "hook/run/request.h"
#include "inject.h"
#include "oci/config.h"
#include "oci/json.h"
#include "oci/json_write.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Does the container ask for the hook?  Reads config.json once; a config we
 * cannot parse asks only if it names us, and then that is an error. */
static int
container_asks (const char *bundle, enum env_trust trust, bool *asks, hook_error_t **err)
{
  cleanup_free char *path = NULL, *text = NULL;
  cleanup_oci_config struct oci_config cfg = { 0 };
  size_t len;
  int ret;

  *asks = false;
  if (oci_config_read (bundle, &path, &text, &len, NULL, err) < 0)
    {
      if (error_errno (*err) != ENOENT)
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
  return ret;
}

void
runtime_log_for_engine (const struct runtime_options *o, const char *msg)
{
  const char *log = o->log, *format = o->log_format;
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
      cleanup_json_gen yajl_gen g = yajl_gen_alloc (NULL);
      const unsigned char *buf;
      size_t n;
      if (g != NULL && yajl_gen_map_open (g) == yajl_gen_status_ok && json_gen_cstring (g, "level") == 0
          && json_gen_cstring (g, "error") == 0 && json_gen_cstring (g, "msg") == 0 && json_gen_cstring (g, msg) == 0
          && json_gen_cstring (g, "time") == 0 && json_gen_cstring (g, stamp) == 0
          && yajl_gen_map_close (g) == yajl_gen_status_ok && yajl_gen_get_buf (g, &buf, &n) == yajl_gen_status_ok)
        dprintf (fd, "%.*s\n", (int) n, (const char *) buf);
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

/* A policy with defaultMounts serves every container, asking or not (and
 * so does the hook's --default-mounts, which replaces it). */
static int
policy_serves_all (const char *policy, bool *all, hook_error_t **err)
{
  cleanup_admin_policy struct admin_policy pol = { 0 };
  int ret = admin_policy_load (policy, true, &pol, err);

  *all = ret == 0 && pol.default_mounts != NULL;
  return ret;
}

int
runtime_prepare_bundle (const struct runtime_options *o, hook_error_t **err)
{
  struct inject_options opts = { .stage = "prestart", .args = o->hook_args, .n_args = o->n_hook_args };
  enum env_trust trust = o->hook->env_trust_set ? o->hook->env_trust : ENV_TRUST_IDMAP;
  cleanup_free char *self = NULL;
  struct inject_result res;
  bool asks = false;

  if (o->command == NULL || (strcmp (o->command, "create") != 0 && strcmp (o->command, "run") != 0))
    return 0;
  /* --idmap-default-mounts is a request for every container, as a
   * policy's defaultMounts is. */
  asks = o->hook->default_mounts != NULL;
  if (!asks && o->hook->policy_path && policy_serves_all (o->hook->policy_path, &asks, err) < 0)
    return -1;
  if (!asks && container_asks (o->bundle, trust, &asks, err) < 0)
    return -1;
  if (!asks)
    return 0;
  if (inject_self_path (&self, err) < 0)
    return -1;
  opts.hook_path = self;
  return inject_bundle (o->bundle, &opts, &res, err);
}

int
runtime_check_not_self (const char *runtime, hook_error_t **err)
{
  cleanup_free char *self = realpath ("/proc/self/exe", NULL);
  cleanup_free char *found = NULL;
  const char *path = getenv ("PATH");
  struct stat a, b;

  if (strchr (runtime, '/') && str_dup (&found, runtime, err) < 0)
    return -1;
  for (const char *p = path ? path : "/usr/bin:/bin"; !strchr (runtime, '/') && p && *p && found == NULL;)
    {
      const char *colon = strchr (p, ':');
      size_t len = colon ? (size_t) (colon - p) : strlen (p);
      cleanup_free char *cand = NULL;
      if (str_printf (&cand, err, "%.*s/%s", (int) len, p, runtime) < 0)
        return -1;
      if (access (cand, X_OK) == 0)
        found = steal_pointer (&cand);
      p = colon ? colon + 1 : NULL;
    }
  if (found == NULL)
    return make_error (err, ENOENT, "the real runtime '%s' is not in PATH", runtime);
  if (self && stat (found, &a) == 0 && stat (self, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
    return make_error (err, 0, "the real runtime '%s' is this shim itself; set %s or %s to runc or crun", found,
                       RUNTIME_FLAG, RUNTIME_ENV);
  return 0;
}
