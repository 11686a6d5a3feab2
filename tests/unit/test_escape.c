/* base/escape.c: which bytes are printable text, and the \xNN escape of the rest. */
#define _GNU_SOURCE
#include "base/cleanup.h"
#include "base/escape.h"
#include "tap.h"

#include <stdlib.h>

static bool
printable (const char *s)
{
  return text_is_printable (s, strlen (s));
}

static void
test_valid (void)
{
  ok (printable ("/srv/data plain ASCII ~!@#$%^&*()\\\"'"), "printable ASCII (with backslash) is printable");
  ok (printable ("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf"),
      "2, 3 and 4 byte characters up to U+10FFFF are printable");
  ok (printable ("\xc2\xa0 \xef\xbb\xbf \xef\xbf\xbd"), "U+00A0, U+FEFF and U+FFFD are printable");
  ok (printable (""), "the empty string is printable");
}

static void
test_invalid (void)
{
  static const struct
  {
    const char *s, *why;
  } bad[] = {
    { "a\nb", "a newline" },
    { "\r", "a carriage return" },
    { "\t", "a tab" },
    { "\x1b[8m", "ESC" },
    { "\x7f", "DEL" },
    { "\xc2\x80", "U+0080 (C1)" },
    { "\xc2\x9b"
      "31m",
      "U+009B, the 8-bit CSI" },
    { "\xc2\x9f", "U+009F (C1)" },
    { "\xc0\xaf", "an overlong '/' (c0 af)" },
    { "\xc1\xbf", "an overlong (c1 bf)" },
    { "\xe0\x80\xaf", "an overlong '/' in three bytes" },
    { "\xe0\x9f\xbf", "an overlong U+07FF" },
    { "\xf0\x8f\xbf\xbf", "an overlong U+FFFF in four bytes" },
    { "\xed\xa0\x80", "the surrogate U+D800" },
    { "\xed\xbf\xbf", "the surrogate U+DFFF" },
    { "\xf4\x90\x80\x80", "U+110000" },
    { "\xf5\x80\x80\x80", "a lead byte past U+10FFFF" },
    { "\xff", "the byte ff" },
    { "\x80", "a lone continuation byte" },
    { "\xc3", "a truncated sequence" },
    { "\xe2\x82", "a truncated three-byte sequence" },
    { "\xe2\x28\xa1", "a sequence broken by ASCII" },
    { "\xe2\x80\xae", "U+202E RIGHT-TO-LEFT OVERRIDE" },
    { "\xe2\x80\xaa", "U+202A LEFT-TO-RIGHT EMBEDDING" },
    { "\xe2\x81\xa6", "U+2066 LEFT-TO-RIGHT ISOLATE" },
    { "\xe2\x81\xa9", "U+2069 POP DIRECTIONAL ISOLATE" },
    { "\xe2\x80\x8f", "U+200F RIGHT-TO-LEFT MARK" },
    { "\xd8\x9c", "U+061C ARABIC LETTER MARK" },
    { "\xe2\x80\xa8", "U+2028 LINE SEPARATOR" },
    { "\xe2\x80\xa9", "U+2029 PARAGRAPH SEPARATOR" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    ok (!printable (bad[i].s), "not printable: %s", bad[i].why);
  ok (!text_is_printable ("a\0b", 3), "not printable: a NUL inside the length");
  ok (text_char_len ("\xe2\x80\xad", 3) == 0 && text_char_len ("\xe2\x80\xa7", 3) == 3
          && text_char_len ("\xe2\x81\xaa", 3) == 3,
      "the bidi range ends where it should (U+2027 and U+206A are printable)");
}

static void
test_escape (void)
{
  static const struct
  {
    const char *in, *out;
  } cases[] = {
    { "/srv/x", "/srv/x" },
    { "/srv/x\nverdict: ok\x1b[8m", "/srv/x\\x0averdict: ok\\x1b[8m" },
    { "a\\x0a", "a\\x5cx0a" },
    { "caf\xc3\xa9", "caf\xc3\xa9" },
    { "\xc0\xaf", "\\xc0\\xaf" },
    { "\xed\xa0\x80", "\\xed\\xa0\\x80" },
    { "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" },
    { "\xc2\x9b"
      "2J",
      "\\xc2\\x9b2J" },
    { "\xe2\x80\xae"
      "txt.exe",
      "\\xe2\\x80\\xaetxt.exe" },
    { "\xe2\x82"
      "A",
      "\\xe2\\x82"
      "A" },
    { "\xff\xfe", "\\xff\\xfe" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      cleanup_free char *got = text_escape (cases[i].in);
      is_str (got, cases[i].out, "escape case %zu", i);
      ok (printable (got), "and the result is printable");
    }
  ok (text_escape (NULL) == NULL, "NULL stays NULL");
}

/* A small buffer takes whole characters and escapes only. */
static void
test_bounded (void)
{
  char out[8];
  size_t used;

  used = text_escape_to (out, sizeof out, "ab\ncd", 5);
  is_str (out, "ab\\x0ac", "an escape that fits is written whole");
  is_int ((long long) used, 4, "and the consumed count says where it stopped");
  used = text_escape_to (out, sizeof out, "abcd\x1b", 5);
  is_str (out, "abcd", "an escape that does not fit is left out, not cut");
  is_int ((long long) used, 4, "and not counted");
  used = text_escape_to (out, sizeof out, "abcde\xe2\x82\xac", 8);
  is_str (out, "abcde", "a character that does not fit is left out, not cut");
  used = text_escape_to (out, 1, "abc", 3);
  ok (used == 0 && out[0] == '\0', "a buffer of one byte gets the NUL only");
  {
    char big[TEXT_ESCAPED_MAX (3)];
    used = text_escape_to (big, sizeof big, "\x01\x02\x03", 3);
    ok (used == 3 && strlen (big) == 12, "TEXT_ESCAPED_MAX is enough for escapes only");
  }
}

int
main (void)
{
  test_valid ();
  test_invalid ();
  test_escape ();
  test_bounded ();
  return done_testing ();
}
