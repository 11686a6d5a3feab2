/* The text escaper (base/escape.c): whatever the bytes, the output is
 * printable UTF-8 with no control byte, at most four bytes per input byte,
 * and reading each \xNN back gives the input again. */
#include "base/escape.h"
#include "fuzz.h"

static int
hex (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  abort (); /* the escaper writes lowercase hex only */
}

/* Undo text_escape on OUT into BACK; returns the length. */
static size_t
unescape (const char *out, size_t n, char *back)
{
  size_t o = 0;
  for (size_t i = 0; i < n; i++)
    if (out[i] == '\\')
      {
        if (i + 3 >= n)
          abort ();
        if (out[i + 1] != 'x')
          abort (); /* a backslash is always the start of an escape */
        back[o++] = (char) (hex (out[i + 2]) << 4 | hex (out[i + 3]));
        i += 3;
      }
    else
      back[o++] = out[i];
  return o;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *in = (const char *) data;
  size_t cap = TEXT_ESCAPED_MAX (size), used, len;
  char *out = malloc (cap), *back = malloc (size + 1), small[16];

  if (out == NULL || back == NULL)
    abort ();
  used = text_escape_to (out, cap, in, size);
  len = strlen (out);
  if (used != size || len > 4 * size)
    abort (); /* a buffer of TEXT_ESCAPED_MAX takes all of it */
  if (!text_is_printable (out, len))
    abort ();
  for (size_t i = 0; i < len; i++)
    if ((unsigned char) out[i] < 0x20 || out[i] == 0x7f)
      abort ();
  if (unescape (out, len, back) != size || memcmp (back, in, size) != 0)
    abort (); /* injective: the input comes back */
  if (text_is_printable (in, size) && !memchr (in, '\\', size) && (len != size || memcmp (out, in, size) != 0))
    abort (); /* printable text without a backslash is left as it is */
  /* A small buffer gets a prefix of the same output. */
  used = text_escape_to (small, sizeof small, in, size);
  if (used > size || strncmp (small, out, strlen (small)) != 0 || strlen (small) >= sizeof small)
    abort ();
  free (out);
  free (back);
  return 0;
}
