/* Which engine made a bundle, and how a container asks the hook there: an
 * annotation where the engine can set one, else the environment as far as
 * the hook's environment level lets it ask, else the policy's defaultMounts.
 * Pure: it reads the bundle's path and config.json as given. */
#define _GNU_SOURCE
#include "base/cleanup.h"
#include "doctor.h"
#include "oci/config.h"
#include "oci/state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const engine_names[] = {
  [ENGINE_UNKNOWN] = NULL,     [ENGINE_DOCKER] = "docker",
  [ENGINE_PODMAN] = "podman",  [ENGINE_CONTAINERD] = "containerd",
  [ENGINE_CRI] = "kubernetes",
};
_Static_assert(sizeof engine_names / sizeof engine_names[0] == ENGINE_COUNT, "a name for every engine");

const char *
doctor_engine_name (enum doctor_engine_kind kind)
{
  return engine_names[kind];
}

static bool
has_key_prefix (const char **pairs, const char *prefix)
{
  for (size_t i = 0; pairs && pairs[i]; i += 2)
    if (strncmp (pairs[i], prefix, strlen (prefix)) == 0)
      return true;
  return false;
}

/* Is BUNDLE below TASKS (".../moby") or TASKS-UID.GID, the namespace Docker
 * 23 and later use with userns-remap ("moby-100000.100000")? */
static bool
in_moby_namespace (const char *bundle, const char *tasks)
{
  const char *p = strstr (bundle, tasks);

  if (p == NULL)
    return false;
  p += strlen (tasks);
  if (*p == '-')
    p += 1 + strspn (p + 1, "0123456789.");
  return *p == '/';
}

void
doctor_engine_detect (const char *bundle, const struct oci_config *cfg, struct doctor_engine *e)
{
  const char *manager = pairs_lookup (cfg->annotations, "io.container.manager");

  *e = (struct doctor_engine){ .kind = ENGINE_UNKNOWN };
  e->pod_container = pairs_lookup (cfg->annotations, ANNOTATION_CONTAINER_NAME);
  if (e->pod_container == NULL)
    e->pod_container = pairs_lookup (cfg->annotations, ANNOTATION_CRI_CONTAINER_NAME);
  /* Annotations first: the engine wrote them; a path can be anything. */
  if ((manager && strcmp (manager, "libpod") == 0) || has_key_prefix (cfg->annotations, "io.podman.annotations."))
    *e = (struct doctor_engine){ ENGINE_PODMAN, "its annotations are libpod's", NULL };
  else if (has_key_prefix (cfg->annotations, "io.kubernetes.cri-o.")
           || has_key_prefix (cfg->annotations, "io.kubernetes.cri."))
    e->kind = ENGINE_CRI, e->why = "its annotations are a Kubernetes runtime's (CRI-O or containerd's CRI)";
  else if (bundle
           && (in_moby_namespace (bundle, "/io.containerd.runtime.v2.task/moby")
               || in_moby_namespace (bundle, "/io.containerd.runtime.v1.linux/moby")))
    e->kind = ENGINE_DOCKER, e->why = "the bundle is in containerd's namespace moby";
  else if (bundle && strstr (bundle, "/io.containerd.runtime.v2.task/"))
    e->kind = ENGINE_CONTAINERD, e->why = "the bundle is a containerd task's";
}

/* Would the hook take VALUE (a mounts list) from OCI_IDMAP_MOUNTS?  The
 * hook's own parser and trust rule decide. */
static bool
env_may_ask (const struct admin_policy *pol, const char *value)
{
  cleanup_request struct request req = { 0 };
  hook_error_t *err = NULL;

  if (pol->env_trust == ENV_TRUST_OFF)
    return false;
  if (request_parse_mounts (value, ENV_MOUNTS, &req, &err) < 0)
    {
      error_free (&err);
      return false;
    }
  for (size_t i = 0; pol->env_trust != ENV_TRUST_FULL && i < req.n; i++)
    if (req.items[i].mode != MODE_IDMAP && req.items[i].mode != MODE_NSMAP)
      return false;
  return true;
}

/* Where an administrator puts defaultMounts: the file the hook reads. */
static const char *
policy_file (const struct doctor *d)
{
  return d->admin.path ? d->admin.path : ADMIN_POLICY_DEFAULT_PATH;
}

char *
doctor_ask_text (const struct doctor *d, const char *value)
{
  const char *level = env_trust_name (d->admin.env_trust);

  switch (d->engine.kind)
    {
    case ENGINE_DOCKER:
      if (env_may_ask (&d->admin, value))
        return doctor_printf ("Docker 24 or later: docker run --annotation %s=%s (compose: annotations:); any Docker: "
                              "docker run -e %s=%s (compose: environment:), which the hook's environment level %s "
                              "lets ask",
                              ANNOTATION_MOUNTS, value, ENV_MOUNTS, value, level);
      return doctor_printf ("Docker 24 or later: docker run --annotation %s=%s (compose: annotations:); before 24 "
                            "Docker sets no annotations and the hook's environment level %s does not let %s ask for "
                            "it: add \"defaultMounts\": \"%s\" to '%s' (the shim's --idmap-policy)",
                            ANNOTATION_MOUNTS, value, level, ENV_MOUNTS, value, policy_file (d));
    case ENGINE_PODMAN:
      return doctor_printf ("podman run --annotation %s=%s", ANNOTATION_MOUNTS, value);
    case ENGINE_CRI:
      if (d->engine.pod_container)
        return doctor_printf ("the pod annotation %s.%s: \"%s\" (containerd passes it where pod_annotations lists "
                              "oci-idmap-hook/*)",
                              ANNOTATION_MOUNTS, d->engine.pod_container, value);
      return doctor_printf ("the pod annotation %s: \"%s\" (containerd passes it where pod_annotations lists "
                            "oci-idmap-hook/*)",
                            ANNOTATION_MOUNTS, value);
    case ENGINE_CONTAINERD:
      return doctor_printf ("%s=%s in the spec's annotations (ctr run --config FILE)", ANNOTATION_MOUNTS, value);
    case ENGINE_UNKNOWN:
    case ENGINE_COUNT:
    default:
      return doctor_printf ("%s=%s", ANNOTATION_MOUNTS, value);
    }
}

const char *
doctor_register_text (const struct doctor *d)
{
  switch (d->engine.kind)
    {
    case ENGINE_DOCKER:
      return "run it through the runtime shim, which adds the hook (docker run --runtime oci-idmap, or "
             "\"default-runtime\" in daemon.json)";
    case ENGINE_CONTAINERD:
      return "run it through the runtime shim, which adds the hook (ctr run --runc-binary oci-idmap-runtime)";
    case ENGINE_PODMAN:
    case ENGINE_CRI:
      return "install the hook's hooks.d file (make install), which the engine reads";
    case ENGINE_UNKNOWN:
    case ENGINE_COUNT:
    default:
      return "register the hook at prestart in config.json";
    }
}
