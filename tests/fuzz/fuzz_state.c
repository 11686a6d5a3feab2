/* The runtime state on stdin: any bytes, never a crash or a leak. */
#include "fuzz.h"
#include "oci/state.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = fuzz_string (data, size);
  hook_error_t *err = NULL;
  struct oci_state st;

  oci_state_parse (text, size, &st, &err);
  oci_state_free (&st);
  error_free (&err);
  free (text);
  return 0;
}
