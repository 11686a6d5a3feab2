/* `docker container inspect` and `podman container inspect` into a stack,
 * and `docker image inspect` for the users of compose services.  Every
 * error names the file, the container and the field. */
#define _GNU_SOURCE
#include "base/cleanup.h"
#include "base/str.h"
#include "doctor_stack.h"
#include "oci/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One "CONTAINER:HOST:SIZE", as podman writes a mapping (TEXT NULL: not a string). */
static int
add_extent (const char *text, const char *where, size_t i, struct idmap *map, hook_error_t **err)
{
  unsigned long long n[3];
  const char *p = text;
  char *end = NULL;

  for (int k = 0; k < 3 && p; k++)
    {
      errno = 0;
      n[k] = *p >= '0' && *p <= '9' ? strtoull (p, &end, 10) : 0;
      p = errno == 0 && end && *end == (k < 2 ? ':' : '\0') ? end + 1 : NULL;
      end = NULL;
    }
  if (p == NULL)
    return make_error (err, 0, "%s[%zu]: expected \"CONTAINER:HOST:SIZE\"", where, i);
  return idmap_add (map, n[0], n[1], n[2], where, err);
}

/* podman's IDMappings: an array of such strings. */
static int
parse_map (yajl_val arr, const char *where, struct idmap *map, hook_error_t **err)
{
  for (size_t i = 0; YAJL_IS_ARRAY (arr) && i < arr->u.array.len; i++)
    {
      yajl_val v = arr->u.array.values[i];
      if (add_extent (YAJL_IS_STRING (v) ? v->u.string : NULL, where, i, map, err) < 0)
        return -1;
    }
  return idmap_validate (map, where, err);
}

/* podman 4 leaves IDMappings null in a container it has only created; its
 * Config.CreateCommand keeps the --uidmap and --gidmap it was created with. */
static int
maps_from_command (struct doctor_container *c, yajl_val config, const char *where, hook_error_t **err)
{
  yajl_val cmd = json_member (config, "CreateCommand");

  for (size_t i = 0; YAJL_IS_ARRAY (cmd) && i < cmd->u.array.len; i++)
    {
      yajl_val v = cmd->u.array.values[i], next = i + 1 < cmd->u.array.len ? cmd->u.array.values[i + 1] : NULL;
      const char *arg = YAJL_IS_STRING (v) ? v->u.string : "", *val = NULL;
      struct idmap *map = NULL;
      cleanup_free char *w = NULL;
      if (strcmp (arg, "--") == 0)
        break;
      for (int k = 0; k < 2 && map == NULL; k++)
        {
          const char *flag = k ? "--gidmap" : "--uidmap";
          size_t n = strlen (flag);
          if (strncmp (arg, flag, n) == 0 && arg[n] == '=')
            val = arg + n + 1, map = k ? &c->gids : &c->uids;
          else if (strcmp (arg, flag) == 0 && YAJL_IS_STRING (next))
            val = next->u.string, map = k ? &c->gids : &c->uids, i++;
        }
      if (map == NULL)
        continue;
      if (str_printf (&w, err, "%s: Config.CreateCommand %s", where, arg) < 0
          || add_extent (val, w, map->n, map, err) < 0)
        return -1;
    }
  if ((c->uids.n && idmap_validate (&c->uids, "--uidmap", err) < 0)
      || (c->gids.n && idmap_validate (&c->gids, "--gidmap", err) < 0))
    return error_prefix (err, "%s: Config.CreateCommand", where);
  c->has_map = c->uids.n > 0;
  if (c->has_map && c->gids.n == 0)
    c->gids = c->uids;
  return 0;
}

static int
parse_mappings (struct doctor_container *c, yajl_val top, yajl_val host, yajl_val config, const char *where,
                hook_error_t **err)
{
  cleanup_free char *wu = NULL, *wg = NULL;
  yajl_val m = json_member (host, "IDMappings"), uids, gids;

  if (m == NULL || YAJL_IS_NULL (m))
    m = json_member (top, "IDMappings");
  if (m == NULL || YAJL_IS_NULL (m))
    return maps_from_command (c, config, where, err);
  if (!YAJL_IS_OBJECT (m))
    return make_error (err, 0, "%s: IDMappings: expected an object", where);
  if (json_get_array (m, "UidMap", where, &uids, err) < 0 || json_get_array (m, "GidMap", where, &gids, err) < 0
      || str_printf (&wu, err, "%s: IDMappings.UidMap", where) < 0
      || str_printf (&wg, err, "%s: IDMappings.GidMap", where) < 0 || parse_map (uids, wu, &c->uids, err) < 0
      || parse_map (gids, wg, &c->gids, err) < 0)
    return -1;
  c->has_map = c->uids.n > 0;
  if (c->has_map && c->gids.n == 0)
    c->gids = c->uids;
  return 0;
}

static int
parse_mount (struct doctor_container *c, yajl_val v, const char *where, hook_error_t **err)
{
  const char *type = NULL, *source = NULL, *dest = NULL;
  yajl_val rw = json_member (v, "RW");

  if (!YAJL_IS_OBJECT (v))
    return make_error (err, 0, "%s: expected an object", where);
  if (json_get_string (v, "Type", where, &type, err) < 0 || json_get_string (v, "Source", where, &source, err) < 0
      || json_get_string (v, "Destination", where, &dest, err) < 0)
    return -1;
  if (rw && !YAJL_IS_TRUE (rw) && !YAJL_IS_FALSE (rw))
    return make_error (err, 0, "%s: \"RW\" must be true or false", where);
  if (type == NULL || strcmp (type, "bind") != 0)
    return 0;
  if (source == NULL || dest == NULL)
    return make_error (err, 0, "%s: a bind mount needs \"Source\" and \"Destination\"", where);
  return doctor_container_add_bind (c, source, dest, rw && YAJL_IS_FALSE (rw), err);
}

/* Annotations: podman's Config.Annotations, Docker's HostConfig.Annotations. */
static int
parse_annotations (struct doctor_container *c, yajl_val obj, const char *where, hook_error_t **err)
{
  const char **unused = NULL;

  if (obj == NULL || YAJL_IS_NULL (obj))
    return 0;
  if (!YAJL_IS_OBJECT (obj))
    return make_error (err, 0, "%s: expected an object", where);
  if (json_string_map (obj, where, &unused, err) < 0)
    return -1;
  free (unused);
  c->annotations = obj;
  return 0;
}

static int
parse_container (struct doctor_stack *s, size_t i, yajl_val v, hook_error_t **err)
{
  cleanup_free char *where = NULL, *wa = NULL;
  const char *name = NULL, *userns = NULL;
  yajl_val config = NULL, host = NULL, mounts = NULL, env = NULL;
  struct doctor_container *c;

  if (str_printf (&where, err, "%s: container %zu", s->file, i) < 0)
    return -1;
  if (!YAJL_IS_OBJECT (v))
    return make_error (err, 0, "%s: expected an object", where);
  if (json_get_string (v, "Name", where, &name, err) < 0)
    return -1;
  if (name)
    {
      name += name[0] == '/'; /* Docker's "/NAME" */
      free (where);
      where = NULL;
      if (str_printf (&where, err, "%s: container %s", s->file, name) < 0)
        return -1;
    }
  c = doctor_stack_add (s, name ? name : "(no name)", err);
  if (c == NULL || json_get_object (v, "Config", where, &config, err) < 0
      || json_get_object (v, "HostConfig", where, &host, err) < 0
      || json_get_array (v, "Mounts", where, &mounts, err) < 0
      || (config && json_get_string (config, "User", where, &c->user, err) < 0)
      || (config && json_get_array (config, "Env", where, &env, err) < 0)
      || (host && json_get_string (host, "UsernsMode", where, &userns, err) < 0)
      || (host && s->engine == STACK_DOCKER && json_get_string (host, "Runtime", where, &c->runtime, err) < 0)
      || parse_mappings (c, v, host, config, where, err) < 0 || str_printf (&wa, err, "%s: annotations", where) < 0
      || parse_annotations (c, json_member (s->engine == STACK_PODMAN ? config : host, "Annotations"), wa, err) < 0)
    return -1;
  for (size_t k = 0; env && k < env->u.array.len; k++)
    if (!YAJL_IS_STRING (env->u.array.values[k]))
      return make_error (err, 0, "%s: Config.Env[%zu]: expected a string", where, k);
  c->env = env;
  c->userns_host = userns && strcmp (userns, "host") == 0;
  for (size_t k = 0; mounts && k < mounts->u.array.len; k++)
    {
      cleanup_free char *w = NULL;
      if (str_printf (&w, err, "%s: Mounts[%zu]", where, k) < 0
          || parse_mount (c, mounts->u.array.values[k], w, err) < 0)
        return -1;
    }
  return 0;
}

int
doctor_inspect_parse (const char *text, size_t len, const char *file, struct doctor_stack *s, hook_error_t **err)
{
  s->file = file;
  if (json_parse (text, len, file, &s->tree, err) < 0)
    return -1;
  if (!YAJL_IS_ARRAY (s->tree))
    {
      make_error (err, 0, "%s: expected a JSON array", file);
      return error_hint (err, "give the output of `docker container inspect` or `podman container inspect`");
    }
  /* podman names its runtime and image; Docker does neither. */
  s->engine = STACK_DOCKER;
  for (size_t i = 0; i < s->tree->u.array.len; i++)
    if (json_member (s->tree->u.array.values[i], "OCIRuntime") || json_member (s->tree->u.array.values[i], "ImageName"))
      s->engine = STACK_PODMAN;
  for (size_t i = 0; i < s->tree->u.array.len; i++)
    if (parse_container (s, i, s->tree->u.array.values[i], err) < 0)
      return -1;
  return 0;
}

int
doctor_images_parse (const char *text, size_t len, const char *file, struct doctor_stack *s, hook_error_t **err)
{
  if (json_parse (text, len, file, &s->images, err) < 0)
    return -1;
  if (!YAJL_IS_ARRAY (s->images))
    {
      make_error (err, 0, "%s: expected a JSON array", file);
      return error_hint (err, "give the output of `docker image inspect IMAGE...`");
    }
  for (size_t i = 0; i < s->images->u.array.len; i++)
    {
      yajl_val img = s->images->u.array.values[i], config = NULL;
      const char *user = NULL;
      cleanup_free char *where = NULL;
      if (str_printf (&where, err, "%s: image %zu", file, i) < 0)
        return -1;
      if (!YAJL_IS_OBJECT (img))
        return make_error (err, 0, "%s: expected an object", where);
      if (json_get_object (img, "Config", where, &config, err) < 0
          || (config && json_get_string (config, "User", where, &user, err) < 0))
        return -1;
    }
  return 0;
}
