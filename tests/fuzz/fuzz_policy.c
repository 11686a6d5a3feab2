/* The administrator's policy file, and a source check on what parses. */
#include "fuzz.h"
#include "hook/run/admin_policy.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = fuzz_string (data, size);
  hook_error_t *err = NULL;
  struct admin_policy pol;

  if (admin_policy_parse (text, size, "fuzz", &pol, &err) == 0)
    {
      admin_policy_check_source (&pol, "/srv/data", &err);
      error_free (&err);
      admin_policy_check_mode (&pol, MODE_NSMAP, &err);
    }
  admin_policy_free (&pol);
  error_free (&err);
  free (text);
  return 0;
}
