/* `docker compose config --format json` into a stack: compose v2's
 * canonical form, services.NAME.{user, image, volumes, annotations,
 * environment, userns_mode}.  Every error names the file, the service and
 * the field. */
#define _GNU_SOURCE
#include "base/cleanup.h"
#include "base/str.h"
#include "doctor_stack.h"
#include "oci/json.h"

#include <string.h>

/* One bind volume (the long form compose config always prints). */
static int
parse_volume (struct doctor_container *c, yajl_val v, const char *where, hook_error_t **err)
{
  const char *type = NULL, *source = NULL, *target = NULL;
  yajl_val ro = json_member (v, "read_only");

  if (!YAJL_IS_OBJECT (v))
    return make_error (err, 0, "%s: expected an object", where);
  if (json_get_string (v, "type", where, &type, err) < 0 || json_get_string (v, "source", where, &source, err) < 0
      || json_get_string (v, "target", where, &target, err) < 0)
    return -1;
  if (ro && !YAJL_IS_TRUE (ro) && !YAJL_IS_FALSE (ro))
    return make_error (err, 0, "%s: \"read_only\" must be true or false", where);
  /* Named volumes and tmpfs are the engine's own: not the hook's. */
  if (type == NULL || strcmp (type, "bind") != 0)
    return 0;
  if (source == NULL || target == NULL)
    return make_error (err, 0, "%s: a bind volume needs \"source\" and \"target\"", where);
  return doctor_container_add_bind (c, source, target, ro && YAJL_IS_TRUE (ro), err);
}

static int
parse_service (struct doctor_stack *s, const char *name, yajl_val svc, const char *file, hook_error_t **err)
{
  cleanup_free char *where = NULL;
  const char *userns = NULL;
  yajl_val volumes = NULL, env = NULL, annotations = NULL;
  struct doctor_container *c;
  const char **unused = NULL;

  if (str_printf (&where, err, "%s: service %s", file, name) < 0)
    return -1;
  if (!YAJL_IS_OBJECT (svc))
    return make_error (err, 0, "%s: expected an object", where);
  c = doctor_stack_add (s, name, err);
  if (c == NULL || json_get_string (svc, "user", where, &c->user, err) < 0
      || json_get_string (svc, "image", where, &c->image, err) < 0
      || json_get_string (svc, "runtime", where, &c->runtime, err) < 0
      || json_get_string (svc, "userns_mode", where, &userns, err) < 0
      || json_get_array (svc, "volumes", where, &volumes, err) < 0
      || json_get_object (svc, "environment", where, &env, err) < 0
      || json_get_object (svc, "annotations", where, &annotations, err) < 0)
    return -1;
  c->userns_host = userns && strcmp (userns, "host") == 0;
  if (annotations)
    {
      cleanup_free char *w = NULL;
      if (str_printf (&w, err, "%s: annotations", where) < 0 || json_string_map (annotations, w, &unused, err) < 0)
        return -1;
      free (unused);
      c->annotations = annotations;
    }
  for (size_t i = 0; env && i < env->u.object.len; i++)
    if (!YAJL_IS_STRING (env->u.object.values[i]) && !YAJL_IS_NULL (env->u.object.values[i]))
      return make_error (err, 0, "%s: environment.%s: expected a string or null", where, env->u.object.keys[i]);
  c->env = env;
  for (size_t i = 0; volumes && i < volumes->u.array.len; i++)
    {
      cleanup_free char *w = NULL;
      if (str_printf (&w, err, "%s: volumes[%zu]", where, i) < 0
          || parse_volume (c, volumes->u.array.values[i], w, err) < 0)
        return -1;
    }
  return 0;
}

int
doctor_compose_parse (const char *text, size_t len, const char *file, struct doctor_stack *s, hook_error_t **err)
{
  yajl_val services = NULL;

  s->engine = STACK_COMPOSE;
  s->file = file;
  if (json_parse (text, len, file, &s->tree, err) < 0)
    return -1;
  if (!YAJL_IS_OBJECT (s->tree))
    return make_error (err, 0, "%s: expected the JSON object of `docker compose config --format json`", file);
  if (json_get_object (s->tree, "services", file, &services, err) < 0)
    return -1;
  if (services == NULL)
    {
      make_error (err, 0, "%s: no \"services\"", file);
      return error_hint (err, "give the output of `docker compose config --format json`");
    }
  for (size_t i = 0; i < services->u.object.len; i++)
    if (parse_service (s, services->u.object.keys[i], services->u.object.values[i], file, err) < 0)
      return -1;
  return 0;
}
