/* The writer's round trip: whatever json_parse accepts, written back (as
 * inject writes it, plain or beautified) parses to the same tree, and the
 * second writing is byte for byte the first.  Every accepted string is
 * valid UTF-8.  Aborts on any difference. */
#include "fuzz.h"
#include "oci/json.h"
#include "oci/json_write.h"

#include <yajl/yajl_gen.h>

static char *
write_tree (yajl_val tree, int beautify, size_t *len)
{
  yajl_gen g = yajl_gen_alloc (NULL);
  hook_error_t *err = NULL;
  char *out = NULL;

  if (g == NULL)
    abort ();
  yajl_gen_config (g, yajl_gen_validate_utf8, 1);
  if (beautify)
    {
      yajl_gen_config (g, yajl_gen_beautify, 1);
      yajl_gen_config (g, yajl_gen_indent_string, "\t");
    }
  /* A tree json_parse built must always be writable. */
  if (json_gen_value (g, tree) < 0 || json_gen_take (g, &out, len, &err) < 0)
    abort ();
  yajl_gen_free (g);
  return out;
}

static void
check_utf8 (const char *s)
{
  for (size_t i = 0, len = strlen (s), n; i < len; i += n)
    if ((n = json_utf8_char ((const unsigned char *) s + i, len - i)) == 0)
      abort ();
}

/* Every key and string of V (bounded by json_parse's depth cap). */
static void
check_strings (yajl_val v)
{
  if (YAJL_IS_STRING (v))
    check_utf8 (v->u.string);
  for (size_t i = 0; YAJL_IS_OBJECT (v) && i < v->u.object.len; i++)
    {
      check_utf8 (v->u.object.keys[i]);
      check_strings (v->u.object.values[i]);
    }
  for (size_t i = 0; YAJL_IS_ARRAY (v) && i < v->u.array.len; i++)
    check_strings (v->u.array.values[i]);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = fuzz_string (data, size);
  hook_error_t *err = NULL;
  yajl_val first = NULL;

  if (json_parse (text, size, "input", &first, &err) == 0)
    {
      check_strings (first);
      for (int beautify = 0; beautify < 2; beautify++)
        {
          size_t len, len2;
          char *out = write_tree (first, beautify, &len);
          yajl_val second = NULL;
          if (json_parse (out, len, "output", &second, &err) < 0 || !json_equal (first, second))
            abort ();
          char *again = write_tree (second, beautify, &len2);
          if (len2 != len || memcmp (out, again, len) != 0)
            abort ();
          free (again);
          free (out);
          yajl_tree_free (second);
        }
    }
  yajl_tree_free (first);
  error_free (&err);
  free (text);
  return 0;
}
