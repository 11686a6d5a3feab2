/* The lexical check before yajl sees a text: what yajl would accept but
 * cannot hand on exactly.  In a text yajl accepts (comments off) a '"'
 * outside a string always opens one and a backslash always escapes the next
 * byte, so this scan's string boundaries are yajl's own; on a text yajl
 * refuses anyway the scan may stop early and leave the message to yajl. */
#include "json.h"

#include <stdbool.h>
#include <stddef.h>

static int
hex4 (const char *s, size_t left, unsigned *out)
{
  unsigned v = 0;

  if (left < 4)
    return -1;
  for (int i = 0; i < 4; i++)
    {
      char c = s[i];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= (unsigned) (c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= (unsigned) (c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= (unsigned) (c - 'A' + 10);
      else
        return -1;
    }
  *out = v;
  return 0;
}

size_t
json_utf8_char (const unsigned char *s, size_t left)
{
  unsigned char c = s[0];
  unsigned char lo = 0x80, hi = 0xbf;
  size_t n;

  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf)
    n = 2;
  else if (c >= 0xe0 && c <= 0xef)
    {
      n = 3;
      /* No overlong forms, no UTF-16 surrogates (U+D800..U+DFFF). */
      if (c == 0xe0)
        lo = 0xa0;
      else if (c == 0xed)
        hi = 0x9f;
    }
  else if (c >= 0xf0 && c <= 0xf4)
    {
      n = 4;
      /* No overlong forms, nothing past U+10FFFF. */
      if (c == 0xf0)
        lo = 0x90;
      else if (c == 0xf4)
        hi = 0x8f;
    }
  else
    return 0;
  if (left < n || s[1] < lo || s[1] > hi)
    return 0;
  for (size_t i = 2; i < n; i++)
    if (s[i] < 0x80 || s[i] > 0xbf)
      return 0;
  return n;
}

/* The \u escape at TEXT[I] (I at the backslash): \u0000 and UTF-16
 * surrogates that do not form a pair are refused, because yajl gives a NUL
 * that ends the C string early, a '?' or bytes that are not UTF-8 for them.
 * Returns the index of the escape's last byte, or (size_t) -1 with *ERR set,
 * or LEN when the escape is malformed (yajl refuses that itself). */
static size_t
check_u_escape (const char *text, size_t len, size_t i, const char *what, hook_error_t **err)
{
  unsigned cp, low;

  if (hex4 (text + i + 2, len - i - 2, &cp) < 0)
    return len;
  if (cp == 0)
    {
      make_error (err, 0, "%s: a string holds the escape of U+0000, NUL (offset %zu), which cannot be passed on intact",
                  what, i);
      return (size_t) -1;
    }
  if (cp >= 0xd800 && cp <= 0xdbff && len - i >= 12 && text[i + 6] == '\\' && text[i + 7] == 'u'
      && hex4 (text + i + 8, len - i - 8, &low) == 0 && low >= 0xdc00 && low <= 0xdfff)
    return i + 11;
  if (cp >= 0xd800 && cp <= 0xdfff)
    {
      make_error (err, 0, "%s: a string holds the unpaired UTF-16 surrogate U+%04X (offset %zu)", what, cp, i);
      return (size_t) -1;
    }
  return i + 5;
}

int
json_check_text (const char *text, size_t len, const char *what, hook_error_t **err)
{
  bool in_string = false;

  for (size_t i = 0; i < len; i++)
    {
      unsigned char c = (unsigned char) text[i];
      if (!in_string)
        {
          if (c == '"')
            in_string = true;
          else if (c == '/')
            return make_error (err, 0, "%s: comments are not JSON (offset %zu)", what, i);
          continue;
        }
      if (c == '"')
        in_string = false;
      else if (c == '\\')
        {
          if (i + 1 >= len)
            return 0;
          if (text[i + 1] != 'u')
            i++;
          else if ((i = check_u_escape (text, len, i, what, err)) == (size_t) -1)
            return -1;
        }
      else if (c >= 0x80)
        {
          size_t n = json_utf8_char ((const unsigned char *) text + i, len - i);
          if (n == 0)
            return make_error (err, 0, "%s: a string is not valid UTF-8 (offset %zu)", what, i);
          i += n - 1;
        }
    }
  return 0;
}
