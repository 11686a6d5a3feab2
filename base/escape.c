/* See escape.h: printable UTF-8 and the \xNN escape for everything else. */
#include "escape.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Controls, line breaks and bidirectional formatting (see escape.h). */
static bool
code_point_printable (uint32_t c)
{
  if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
    return false;
  if (c == 0x061c || c == 0x200e || c == 0x200f || (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
    return false;
  return true;
}

size_t
text_char_len (const char *s, size_t n)
{
  const unsigned char *p = (const unsigned char *) s;
  uint32_t c, min;
  size_t len;

  if (n == 0)
    return 0;
  if (p[0] < 0x80)
    return code_point_printable (p[0]) ? 1 : 0;
  if (p[0] >= 0xc2 && p[0] <= 0xdf)
    len = 2, c = p[0] & 0x1f, min = 0x80;
  else if (p[0] >= 0xe0 && p[0] <= 0xef)
    len = 3, c = p[0] & 0x0f, min = 0x800;
  else if (p[0] >= 0xf0 && p[0] <= 0xf4)
    len = 4, c = p[0] & 0x07, min = 0x10000;
  else
    return 0; /* a continuation byte, an overlong lead (c0, c1) or past U+10FFFF (f5-ff) */
  if (n < len)
    return 0;
  for (size_t k = 1; k < len; k++)
    {
      if ((p[k] & 0xc0) != 0x80)
        return 0;
      c = (c << 6) | (p[k] & 0x3f);
    }
  /* Shortest form only, no UTF-16 surrogates, nothing past U+10FFFF. */
  if (c < min || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
    return 0;
  return code_point_printable (c) ? len : 0;
}

bool
text_is_printable (const char *s, size_t n)
{
  size_t i = 0;

  while (i < n)
    {
      size_t len = text_char_len (s + i, n - i);
      if (len == 0)
        return false;
      i += len;
    }
  return true;
}

size_t
text_escape_to (char *out, size_t cap, const char *s, size_t n)
{
  size_t i = 0, o = 0;

  while (i < n)
    {
      size_t len = s[i] == '\\' ? 0 : text_char_len (s + i, n - i);
      if (len == 0)
        {
          if (o + 4 >= cap)
            break;
          snprintf (out + o, cap - o, "\\x%02x", (unsigned char) s[i]);
          o += 4;
          i++;
          continue;
        }
      if (o + len >= cap)
        break;
      memcpy (out + o, s + i, len);
      o += len;
      i += len;
    }
  out[o] = '\0';
  return i;
}

char *
text_escape (const char *s)
{
  size_t n;
  char *out;

  if (s == NULL)
    return NULL;
  n = strlen (s);
  out = malloc (TEXT_ESCAPED_MAX (n));
  if (out == NULL)
    abort ();
  text_escape_to (out, TEXT_ESCAPED_MAX (n), s, n);
  return out;
}
