#include "json_write.h"
#include "json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
json_gen_cstring (yajl_gen g, const char *s)
{
  return yajl_gen_string (g, (const unsigned char *) s, strlen (s)) == yajl_gen_status_ok ? 0 : -1;
}

/* DEPTH counts the containers open around V: json_parse builds no deeper
 * tree, and a bound here keeps the recursion off any other. */
static int
gen_at (yajl_gen g, yajl_val v, int depth)
{
  yajl_gen_status st = yajl_gen_status_ok;

  switch (v->type)
    {
    case yajl_t_string:
      /* json_parse refuses strings with a NUL, so strlen is their length. */
      return json_gen_cstring (g, v->u.string);
    case yajl_t_number:
      /* The number's own text: no rounding through double. */
      st = yajl_gen_number (g, v->u.number.r, strlen (v->u.number.r));
      break;
    case yajl_t_true:
    case yajl_t_false:
      st = yajl_gen_bool (g, v->type == yajl_t_true);
      break;
    case yajl_t_null:
      st = yajl_gen_null (g);
      break;
    case yajl_t_object:
      if (depth >= JSON_MAX_DEPTH || yajl_gen_map_open (g) != yajl_gen_status_ok)
        return -1;
      for (size_t i = 0; i < v->u.object.len; i++)
        if (json_gen_cstring (g, v->u.object.keys[i]) < 0 || gen_at (g, v->u.object.values[i], depth + 1) < 0)
          return -1;
      st = yajl_gen_map_close (g);
      break;
    case yajl_t_array:
      if (depth >= JSON_MAX_DEPTH || yajl_gen_array_open (g) != yajl_gen_status_ok)
        return -1;
      for (size_t i = 0; i < v->u.array.len; i++)
        if (gen_at (g, v->u.array.values[i], depth + 1) < 0)
          return -1;
      st = yajl_gen_array_close (g);
      break;
    case yajl_t_any:
    default:
      return -1;
    }
  return st == yajl_gen_status_ok ? 0 : -1;
}

int
json_gen_value (yajl_gen g, yajl_val v)
{
  return gen_at (g, v, 0);
}

int
json_gen_take (yajl_gen g, char **out, size_t *len, hook_error_t **err)
{
  const unsigned char *buf;
  size_t n;

  if (yajl_gen_get_buf (g, &buf, &n) != yajl_gen_status_ok)
    return make_error (err, 0, "generate JSON");
  *out = malloc (n + 1);
  if (*out == NULL)
    return make_error (err, ENOMEM, "generate JSON");
  memcpy (*out, buf, n);
  (*out)[n] = '\0';
  *len = n;
  return 0;
}
