#include "state.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

#define WHERE "container state"

int
oci_state_parse (const char *text, size_t len, struct oci_state *st, hook_error_t **err)
{
  yajl_val annotations = NULL;
  uint64_t pid = 0;

  memset (st, 0, sizeof *st);
  if (json_parse (text, len, WHERE " on stdin", &st->tree, err) < 0)
    return -1;
  if (!YAJL_IS_OBJECT (st->tree))
    return make_error (err, 0, WHERE ": expected a JSON object");
  if (json_get_string (st->tree, "id", WHERE, &st->id, err) < 0
      || json_get_string (st->tree, "status", WHERE, &st->status, err) < 0
      || json_get_uint (st->tree, "pid", INT32_MAX, WHERE, &pid, err) < 0
      || json_get_string (st->tree, "bundle", WHERE, &st->bundle, err) < 0
      || json_get_string (st->tree, "root", WHERE, &st->root, err) < 0
      || json_get_object (st->tree, "annotations", WHERE, &annotations, err) < 0)
    return -1;
  if (st->bundle == NULL && json_get_string (st->tree, "bundlePath", WHERE, &st->bundle, err) < 0)
    return -1;
  if (st->id == NULL || st->id[0] == '\0')
    return make_error (err, 0, WHERE ": no container \"id\"");
  if (st->bundle == NULL || st->bundle[0] != '/')
    return make_error (err, 0, WHERE ": \"bundle\" must be an absolute path");
  st->pid = (pid_t) pid;
  return json_string_map (annotations, WHERE " annotations", &st->annotations, err);
}

void
oci_state_free (struct oci_state *st)
{
  free (st->annotations);
  yajl_tree_free (st->tree);
  memset (st, 0, sizeof *st);
}

const char *
pairs_lookup (const char **pairs, const char *key)
{
  for (size_t i = 0; pairs && pairs[i]; i += 2)
    if (strcmp (pairs[i], key) == 0)
      return pairs[i + 1];
  return NULL;
}
