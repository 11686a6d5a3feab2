/* /proc/PID/mountinfo text, and a lookup in what parses. */
#include "fuzz.h"
#include "hook/system/mountinfo.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = fuzz_string (data, size);
  hook_error_t *err = NULL;
  struct mountinfo mi = { 0 };

  if (mountinfo_parse (text, &mi, &err) == 0 && mi.n > 0)
    mountinfo_find (&mi, mi.entries[mi.n - 1].mountpoint);
  free (mi.entries);
  error_free (&err);
  free (text);
  return 0;
}
