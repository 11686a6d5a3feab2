/* Bounded JSON input and typed accessors over yajl's tree.
 * Every accessor distinguishes "missing" (returns 0) from "wrong type"
 * (returns -1 with an error naming WHERE) from "found" (returns 1). */
#ifndef OCI_JSON_H
#define OCI_JSON_H

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>

#define JSON_MAX_DEPTH 64

static inline void
json_tree_freep (yajl_val *v)
{
  if (*v)
    yajl_tree_free (*v);
}
#define cleanup_json_tree __attribute__ ((cleanup (json_tree_freep))) /* on NULL */

/* Parse TEXT (LEN bytes; must not contain NUL) into a tree; the caller frees
 * it with yajl_tree_free.  Plain JSON only (RFC 8259: no comments), nested
 * at most JSON_MAX_DEPTH levels, no key twice in an object, and nothing the
 * tree could not give back exactly (see json_check_text). */
int json_parse (const char *text, size_t len, const char *what, yajl_val *out, hook_error_t **err);

/* The lexical part of json_parse's rules, on the raw text: no comments,
 * strings in valid UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF), no \u0000 and no \uD800-\uDFFF outside a valid pair. */
int json_check_text (const char *text, size_t len, const char *what, hook_error_t **err);

/* The length of the valid UTF-8 character at S (LEFT bytes), or 0. */
size_t json_utf8_char (const unsigned char *s, size_t left);

/* Same values, same key order, same number texts; false past JSON_MAX_DEPTH. */
bool json_equal (yajl_val a, yajl_val b);

/* The member KEY of object OBJ, or NULL. */
yajl_val json_member (yajl_val obj, const char *key);

int json_get_string (yajl_val obj, const char *key, const char *where, const char **out, hook_error_t **err);
int json_get_object (yajl_val obj, const char *key, const char *where, yajl_val *out, hook_error_t **err);
int json_get_array (yajl_val obj, const char *key, const char *where, yajl_val *out, hook_error_t **err);
/* An integer in 0 .. MAX. */
int json_get_uint (yajl_val obj, const char *key, uint64_t max, const char *where, uint64_t *out, hook_error_t **err);

/* A JSON object of string values (OCI annotations).  Returns a NULL-terminated
 * array of alternating keys and values (pointers into the tree). */
int json_string_map (yajl_val obj, const char *where, const char ***out, hook_error_t **err);

/* A JSON array of strings.  NULL-terminated array of pointers into the tree. */
int json_string_array (yajl_val arr, const char *where, const char ***out, hook_error_t **err);

#endif
