/* Writing JSON back: a yajl tree re-emitted value by value, so that a tool
 * can change one part of config.json and keep every other field, unknown
 * keys and number texts intact. */
#ifndef OCI_JSON_WRITE_H
#define OCI_JSON_WRITE_H

#include "base/error.h"

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

static inline void
json_gen_freep (yajl_gen *g)
{
  if (*g)
    yajl_gen_free (*g);
}
#define cleanup_json_gen __attribute__ ((cleanup (json_gen_freep))) /* on NULL */

/* Emit V (and everything below it) into G. */
int json_gen_value (yajl_gen g, yajl_val v);

int json_gen_cstring (yajl_gen g, const char *s);

/* Take G's buffer as a malloc'd, NUL-terminated string. */
int json_gen_take (yajl_gen g, char **out, size_t *len, hook_error_t **err);

#endif
