#define _GNU_SOURCE
#include "json.h"
#include "../hook/cleanup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* yajl builds its tree without a depth limit and frees it recursively, so
 * refuse deep nesting before it sees the text. */
static int
check_depth (const char *text, size_t len, const char *what, hook_error_t **err)
{
  int depth = 0;
  int in_string = 0;

  for (size_t i = 0; i < len; i++)
    {
      char c = text[i];
      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = 0;
          continue;
        }
      if (c == '"')
        in_string = 1;
      else if (c == '{' || c == '[')
        {
          if (++depth > JSON_MAX_DEPTH)
            return make_error (err, 0, "%s: JSON nested deeper than %d levels", what, JSON_MAX_DEPTH);
        }
      else if (c == '}' || c == ']')
        depth--;
    }
  return 0;
}

static int
compare_keys (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* A key given twice means two readers may see two different values; refuse
 * it.  Sorting keeps this O(n log n) however large an object is. */
static int
check_duplicate_keys (yajl_val v, const char *what, hook_error_t **err)
{
  if (YAJL_IS_ARRAY (v))
    {
      for (size_t i = 0; i < v->u.array.len; i++)
        if (check_duplicate_keys (v->u.array.values[i], what, err) < 0)
          return -1;
      return 0;
    }
  if (!YAJL_IS_OBJECT (v))
    return 0;
  if (v->u.object.len > 1)
    {
      cleanup_free const char **keys = malloc (v->u.object.len * sizeof *keys);
      if (keys == NULL)
        return make_error (err, ENOMEM, "%s", what);
      memcpy (keys, v->u.object.keys, v->u.object.len * sizeof *keys);
      qsort (keys, v->u.object.len, sizeof *keys, compare_keys);
      for (size_t i = 1; i < v->u.object.len; i++)
        if (strcmp (keys[i - 1], keys[i]) == 0)
          return make_error (err, 0, "%s: the key \"%s\" appears twice in one object", what, keys[i]);
    }
  for (size_t i = 0; i < v->u.object.len; i++)
    if (check_duplicate_keys (v->u.object.values[i], what, err) < 0)
      return -1;
  return 0;
}

int
json_parse (const char *text, size_t len, const char *what, yajl_val *out, hook_error_t **err)
{
  char errbuf[256];
  yajl_val tree;

  if (len == 0)
    return make_error (err, 0, "%s is empty", what);
  if (strlen (text) != len)
    return make_error (err, 0, "%s contains a NUL byte", what);
  if (check_depth (text, len, what, err) < 0)
    return -1;
  errbuf[0] = '\0';
  tree = yajl_tree_parse (text, errbuf, sizeof errbuf);
  if (tree == NULL)
    {
      /* yajl's message spans lines (it quotes the input); keep the first. */
      errbuf[strcspn (errbuf, "\n")] = '\0';
      return make_error (err, 0, "%s is not valid JSON: %s", what, errbuf[0] ? errbuf : "parse error");
    }
  if (check_duplicate_keys (tree, what, err) < 0)
    {
      yajl_tree_free (tree);
      return -1;
    }
  *out = tree;
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
