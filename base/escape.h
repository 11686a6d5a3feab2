/* The one rule for turning bytes from untrusted input (annotations,
 * config.json, file names) into text that is safe on a terminal, in a log
 * line and in a JSON string.
 *
 * Printable text is well-formed UTF-8 (shortest form, no surrogates,
 * nothing above U+10FFFF) of code points that are not controls: not C0
 * (U+0000-U+001F), DEL, C1 (U+0080-U+009F; U+009B is an 8-bit CSI for
 * many terminals), nor the characters that break a line or reorder what a
 * terminal shows (U+2028, U+2029, and the bidirectional marks, embeddings,
 * overrides and isolates U+061C, U+200E, U+200F, U+202A-U+202E,
 * U+2066-U+2069: "Trojan Source" text that shows one thing and says
 * another).
 *
 * Escaping writes every byte that is not part of a printable character,
 * and every backslash, as \xNN (two lowercase hex digits), and copies the
 * rest.  So the output is printable text without a newline, at most four
 * bytes per input byte, and reading each \xNN back as one byte gives the
 * input again. */
#ifndef HOOK_ESCAPE_H
#define HOOK_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

/* What escaping N bytes takes at most, with the final NUL. */
#define TEXT_ESCAPED_MAX(n) (4 * (size_t) (n) + 1)

/* The length (1 to 4) of the printable character that starts S (N bytes
 * left), or 0 if its first byte must be escaped. */
size_t text_char_len (const char *s, size_t n);

/* Are all N bytes of S printable text?  (A backslash is printable.) */
bool text_is_printable (const char *s, size_t n);

/* Escape S[0..N) into OUT, which has room for CAP bytes (CAP >= 1); only
 * whole characters and whole escapes are written, always NUL-terminated.
 * Returns how many bytes of S were consumed. */
size_t text_escape_to (char *out, size_t cap, const char *s, size_t n);

/* S escaped, malloc'd (aborts when out of memory); NULL for NULL. */
char *text_escape (const char *s);

#endif
