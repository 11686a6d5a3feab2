#define _GNU_SOURCE
#include "json.h"
#include "base/cleanup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_parse.h>

int
read_all_capped (int fd, size_t cap, const char *what, char **out, size_t *len, hook_error_t **err)
{
  size_t size = 0, alloc = 4096;
  cleanup_free char *buf = malloc (alloc + 1);

  if (buf == NULL)
    return make_error (err, ENOMEM, "read %s", what);
  for (;;)
    {
      ssize_t n;
      if (size == alloc)
        {
          char *bigger;
          alloc *= 2;
          bigger = realloc (buf, alloc + 1);
          if (bigger == NULL)
            return make_error (err, ENOMEM, "read %s", what);
          buf = bigger;
        }
      n = read (fd, buf + size, alloc - size);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return make_error (err, errno, "read %s", what);
      if (n == 0)
        break;
      size += (size_t) n;
      if (size > cap)
        return make_error (err, 0, "%s is larger than %zu bytes", what, cap);
    }
  buf[size] = '\0';
  *len = size;
  *out = steal_pointer (&buf);
  return 0;
}

/* The tree is built here, not by yajl_tree_parse: that one turns comments
 * on and nests without a limit.  Our handle keeps yajl's default (no
 * comments), and a container opened past JSON_MAX_DEPTH, a string holding a
 * NUL or a duplicate key stops the parse at once.  Nodes are malloc'd in
 * yajl's own layout, so yajl_tree_free frees the tree, its recursion bounded
 * by the depth cap. */
struct builder
{
  yajl_handle h;
  const char *what;
  hook_error_t **err;
  yajl_val root;
  char *key; /* the key of the value the innermost object waits for */
  size_t depth;
  struct
  {
    yajl_val v;
    size_t cap;
  } open[JSON_MAX_DEPTH];
};

static int
build_fail (struct builder *b, int errnum, const char *msg)
{
  if (*b->err == NULL)
    make_error (b->err, errnum, "%s: %s (offset %zu)", b->what, msg, yajl_get_bytes_consumed (b->h));
  return 0;
}

/* Room for one more member in the innermost container. */
static int
grow (struct builder *b)
{
  size_t *cap = &b->open[b->depth - 1].cap;
  yajl_val c = b->open[b->depth - 1].v;
  size_t n = *cap ? *cap * 2 : 8;
  yajl_val *values;

  if ((YAJL_IS_OBJECT (c) ? c->u.object.len : c->u.array.len) < *cap)
    return 1;
  if (YAJL_IS_OBJECT (c))
    {
      const char **keys = realloc ((void *) c->u.object.keys, n * sizeof *keys);
      if (keys == NULL)
        return build_fail (b, ENOMEM, "building the tree");
      c->u.object.keys = keys;
      if ((values = realloc (c->u.object.values, n * sizeof *values)) == NULL)
        return build_fail (b, ENOMEM, "building the tree");
      c->u.object.values = values;
    }
  else
    {
      if ((values = realloc (c->u.array.values, n * sizeof *values)) == NULL)
        return build_fail (b, ENOMEM, "building the tree");
      c->u.array.values = values;
    }
  *cap = n;
  return 1;
}

/* Hand V to its parent (or make it the root); V is freed on failure. */
static int
add_value (struct builder *b, yajl_val v)
{
  yajl_val parent;

  if (v == NULL)
    return build_fail (b, ENOMEM, "building the tree");
  if (b->depth == 0)
    {
      b->root = v;
      return 1;
    }
  parent = b->open[b->depth - 1].v;
  if (!grow (b))
    {
      yajl_tree_free (v);
      return 0;
    }
  if (YAJL_IS_OBJECT (parent))
    {
      parent->u.object.keys[parent->u.object.len] = steal_pointer (&b->key);
      parent->u.object.values[parent->u.object.len++] = v;
    }
  else
    parent->u.array.values[parent->u.array.len++] = v;
  return 1;
}

static yajl_val
new_value (yajl_type type)
{
  yajl_val v = calloc (1, sizeof *v);
  if (v != NULL)
    v->type = type;
  return v;
}

static int
on_null (void *ctx)
{
  return add_value (ctx, new_value (yajl_t_null));
}

static int
on_boolean (void *ctx, int value)
{
  return add_value (ctx, new_value (value ? yajl_t_true : yajl_t_false));
}

/* The number's text is kept: the writer gives it back as it was. */
static int
on_number (void *ctx, const char *text, size_t len)
{
  yajl_val v = new_value (yajl_t_number);
  char *end;

  if (v == NULL || (v->u.number.r = strndup (text, len)) == NULL)
    {
      free (v);
      return add_value (ctx, NULL);
    }
  errno = 0;
  v->u.number.i = strtoll (v->u.number.r, &end, 10);
  if (errno == 0 && *end == '\0')
    v->u.number.flags |= YAJL_NUMBER_INT_VALID;
  errno = 0;
  v->u.number.d = strtod (v->u.number.r, &end);
  if (errno == 0 && *end == '\0')
    v->u.number.flags |= YAJL_NUMBER_DOUBLE_VALID;
  return add_value (ctx, v);
}

/* A copy of a string as yajl decoded it; a NUL inside would cut it short. */
static char *
copy_string (struct builder *b, const unsigned char *s, size_t len)
{
  char *copy;

  if (memchr (s, '\0', len) != NULL)
    {
      build_fail (b, 0, "a string holds \\u0000, which cannot be passed on intact");
      return NULL;
    }
  copy = strndup ((const char *) s, len);
  if (copy == NULL)
    build_fail (b, ENOMEM, "building the tree");
  return copy;
}

static int
on_string (void *ctx, const unsigned char *s, size_t len)
{
  yajl_val v = new_value (yajl_t_string);

  if (v == NULL)
    return add_value (ctx, NULL);
  if ((v->u.string = copy_string (ctx, s, len)) == NULL)
    {
      free (v);
      return 0;
    }
  return add_value (ctx, v);
}

static int
on_key (void *ctx, const unsigned char *s, size_t len)
{
  struct builder *b = ctx;

  free (b->key);
  b->key = copy_string (b, s, len);
  return b->key != NULL;
}

static int
on_open (struct builder *b, yajl_type type)
{
  yajl_val v;

  if (b->depth == JSON_MAX_DEPTH)
    {
      char msg[64];
      snprintf (msg, sizeof msg, "JSON nested deeper than %d levels", JSON_MAX_DEPTH);
      return build_fail (b, 0, msg);
    }
  v = new_value (type);
  if (!add_value (b, v))
    return 0;
  b->open[b->depth].v = v;
  b->open[b->depth++].cap = 0;
  return 1;
}

static int
on_start_map (void *ctx)
{
  return on_open (ctx, yajl_t_object);
}

static int
on_start_array (void *ctx)
{
  return on_open (ctx, yajl_t_array);
}

static int
compare_keys (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* A key given twice means two readers may see two different values; refuse
 * it.  Sorting keeps this O(n log n) however large an object is. */
static int
on_end_map (void *ctx)
{
  struct builder *b = ctx;
  yajl_val v = b->open[--b->depth].v;
  cleanup_free const char **keys = NULL;

  if (v->u.object.len < 2)
    return 1;
  keys = malloc (v->u.object.len * sizeof *keys);
  if (keys == NULL)
    return build_fail (b, ENOMEM, "building the tree");
  memcpy (keys, v->u.object.keys, v->u.object.len * sizeof *keys);
  qsort (keys, v->u.object.len, sizeof *keys, compare_keys);
  for (size_t i = 1; i < v->u.object.len; i++)
    if (strcmp (keys[i - 1], keys[i]) == 0)
      {
        make_error (b->err, 0, "%s: the key \"%s\" appears twice in one object", b->what, keys[i]);
        return 0;
      }
  return 1;
}

static int
on_end_array (void *ctx)
{
  struct builder *b = ctx;
  b->depth--;
  return 1;
}

static const yajl_callbacks build_callbacks = {
  .yajl_null = on_null,
  .yajl_boolean = on_boolean,
  .yajl_number = on_number,
  .yajl_string = on_string,
  .yajl_start_map = on_start_map,
  .yajl_map_key = on_key,
  .yajl_end_map = on_end_map,
  .yajl_start_array = on_start_array,
  .yajl_end_array = on_end_array,
};

int
json_parse (const char *text, size_t len, const char *what, yajl_val *out, hook_error_t **err)
{
  struct builder b = { .what = what, .err = err };
  yajl_status st;
  size_t at;

  *out = NULL;
  if (len == 0)
    return make_error (err, 0, "%s is empty", what);
  if (strlen (text) != len)
    return make_error (err, 0, "%s contains a NUL byte", what);
  if (json_check_text (text, len, what, err) < 0)
    return -1;
  b.h = yajl_alloc (&build_callbacks, NULL, &b);
  if (b.h == NULL)
    return make_error (err, ENOMEM, "%s", what);
  st = yajl_parse (b.h, (const unsigned char *) text, len);
  at = yajl_get_bytes_consumed (b.h);
  /* What the end of the text leaves open is an error at its end. */
  if (st == yajl_status_ok)
    st = yajl_complete_parse (b.h);
  if (st != yajl_status_ok && *err == NULL)
    {
      unsigned char *msg = yajl_get_error (b.h, 0, (const unsigned char *) text, len);
      const char *m = msg ? (const char *) msg : "parse error";
      /* yajl's message ends in a newline. */
      make_error (err, 0, "%s is not valid JSON: %.*s (offset %zu)", what, (int) strcspn (m, "\n"), m, at);
      yajl_free_error (b.h, msg);
    }
  yajl_free (b.h);
  free (b.key);
  if (st != yajl_status_ok)
    {
      yajl_tree_free (b.root);
      return -1;
    }
  *out = b.root;
  return 0;
}

yajl_val
json_member (yajl_val obj, const char *key)
{
  if (!YAJL_IS_OBJECT (obj))
    return NULL;
  for (size_t i = 0; i < obj->u.object.len; i++)
    if (strcmp (obj->u.object.keys[i], key) == 0)
      return obj->u.object.values[i];
  return NULL;
}

static int
wrong_type (hook_error_t **err, const char *where, const char *key, const char *type)
{
  return make_error (err, 0, "%s: \"%s\" must be %s", where, key, type);
}

int
json_get_string (yajl_val obj, const char *key, const char *where, const char **out, hook_error_t **err)
{
  yajl_val v = json_member (obj, key);
  *out = NULL;
  if (v == NULL)
    return 0;
  if (!YAJL_IS_STRING (v))
    return wrong_type (err, where, key, "a string");
  *out = YAJL_GET_STRING (v);
  return 1;
}

int
json_get_object (yajl_val obj, const char *key, const char *where, yajl_val *out, hook_error_t **err)
{
  yajl_val v = json_member (obj, key);
  *out = NULL;
  if (v == NULL || YAJL_IS_NULL (v))
    return 0;
  if (!YAJL_IS_OBJECT (v))
    return wrong_type (err, where, key, "an object");
  *out = v;
  return 1;
}

int
json_get_array (yajl_val obj, const char *key, const char *where, yajl_val *out, hook_error_t **err)
{
  yajl_val v = json_member (obj, key);
  *out = NULL;
  if (v == NULL || YAJL_IS_NULL (v))
    return 0;
  if (!YAJL_IS_ARRAY (v))
    return wrong_type (err, where, key, "an array");
  *out = v;
  return 1;
}

int
json_get_uint (yajl_val obj, const char *key, uint64_t max, const char *where, uint64_t *out, hook_error_t **err)
{
  yajl_val v = json_member (obj, key);
  const char *text;
  char *end;
  unsigned long long n;

  *out = 0;
  if (v == NULL)
    return 0;
  /* yajl clamps out-of-range integers, so judge the number by its text. */
  if (!YAJL_IS_NUMBER (v) || (text = v->u.number.r) == NULL || text[0] < '0' || text[0] > '9')
    return make_error (err, 0, "%s: \"%s\" must be a whole number from 0 to %llu", where, key,
                       (unsigned long long) max);
  errno = 0;
  n = strtoull (text, &end, 10);
  if (errno != 0 || *end != '\0' || n > max)
    return make_error (err, 0, "%s: \"%s\" must be a whole number from 0 to %llu, not %s", where, key,
                       (unsigned long long) max, text);
  *out = n;
  return 1;
}

int
json_string_map (yajl_val obj, const char *where, const char ***out, hook_error_t **err)
{
  size_t n = obj ? obj->u.object.len : 0;
  const char **pairs = calloc (2 * n + 1, sizeof *pairs);

  if (pairs == NULL)
    return make_error (err, ENOMEM, "%s", where);
  for (size_t i = 0; i < n; i++)
    {
      yajl_val v = obj->u.object.values[i];
      if (!YAJL_IS_STRING (v))
        {
          free (pairs);
          return make_error (err, 0, "%s: value of \"%s\" must be a string", where, obj->u.object.keys[i]);
        }
      pairs[2 * i] = obj->u.object.keys[i];
      pairs[2 * i + 1] = YAJL_GET_STRING (v);
    }
  *out = pairs;
  return 0;
}

int
json_string_array (yajl_val arr, const char *where, const char ***out, hook_error_t **err)
{
  size_t n = arr ? arr->u.array.len : 0;
  const char **items = calloc (n + 1, sizeof *items);

  if (items == NULL)
    return make_error (err, ENOMEM, "%s", where);
  for (size_t i = 0; i < n; i++)
    {
      if (!YAJL_IS_STRING (arr->u.array.values[i]))
        {
          free (items);
          return make_error (err, 0, "%s: item %zu must be a string", where, i);
        }
      items[i] = YAJL_GET_STRING (arr->u.array.values[i]);
    }
  *out = items;
  return 0;
}

static bool
equal_at (yajl_val a, yajl_val b, int depth)
{
  if (a == NULL || b == NULL || a->type != b->type)
    return a == b;
  if ((YAJL_IS_OBJECT (a) || YAJL_IS_ARRAY (a)) && depth > JSON_MAX_DEPTH)
    return false;
  switch (a->type)
    {
    case yajl_t_string:
      return strcmp (a->u.string, b->u.string) == 0;
    case yajl_t_number:
      return strcmp (a->u.number.r, b->u.number.r) == 0;
    case yajl_t_object:
      if (a->u.object.len != b->u.object.len)
        return false;
      for (size_t i = 0; i < a->u.object.len; i++)
        if (strcmp (a->u.object.keys[i], b->u.object.keys[i]) != 0
            || !equal_at (a->u.object.values[i], b->u.object.values[i], depth + 1))
          return false;
      return true;
    case yajl_t_array:
      if (a->u.array.len != b->u.array.len)
        return false;
      for (size_t i = 0; i < a->u.array.len; i++)
        if (!equal_at (a->u.array.values[i], b->u.array.values[i], depth + 1))
          return false;
      return true;
    case yajl_t_true:
    case yajl_t_false:
    case yajl_t_null:
      return true;
    case yajl_t_any:
    default:
      return false;
    }
}

bool
json_equal (yajl_val a, yajl_val b)
{
  return equal_at (a, b, 1);
}
