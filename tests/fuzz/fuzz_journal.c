/* The journal reader: a header and records, as a rootless user (who
 * writes the journal) may forge them.  Every record that decodes must
 * encode back to the same bytes. */
#define _GNU_SOURCE
#include "fuzz.h"
#include "hook/chown/journal.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct journal_header h;
  struct journal_record r;
  hook_error_t *err = NULL;
  unsigned char again[JOURNAL_RECORD_MAX];
  size_t body = 0;
  long n;

  if (journal_header_parse ((const char *) data, size, &h, &body, &err) < 0)
    {
      error_free (&err);
      body = 0; /* records alone, too */
    }
  if (body > size)
    abort ();
  while ((n = journal_record_decode (data + body, size - body, &r)) > 0)
    {
      if ((size_t) n > size - body || journal_record_encode (&r, again) != (size_t) n
          || memcmp (again, data + body, (size_t) n) != 0)
        abort ();
      body += (size_t) n;
    }
  return 0;
}
