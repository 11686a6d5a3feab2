/* The engine JSON the doctor reads: compose config, container inspect and
 * image inspect (the first byte picks which), then each container turned
 * into a config.json and judged, the report written to memory. */
#include "fuzz.h"
#include "hook/doctor/doctor_stack.h"

#include <stdio.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct doctor_stack s = { 0 };
  struct doctor_stack_options o = { .policy = NULL, .json = size > 1 && (data[1] & 1) };
  hook_error_t *err = NULL;
  char *text, *buf = NULL;
  size_t len = 0;
  int which;
  FILE *out;

  if (size == 0)
    return 0;
  which = data[0] % 3;
  text = fuzz_string (data + 1, size - 1);
  if (which == 2)
    {
      /* Images next to a fixed one-service stack that needs them. */
      static const char stack[] = "{\"services\":{\"a\":{\"image\":\"x\"}}}";
      if (doctor_compose_parse (stack, sizeof stack - 1, "stack", &s, &err) == 0
          && doctor_images_parse (text, size - 1, "fuzz", &s, &err) < 0)
        error_free (&err);
    }
  else if ((which ? doctor_inspect_parse : doctor_compose_parse) (text, size - 1, "fuzz", &s, &err) < 0)
    error_free (&err);
  if (err == NULL && s.tree && (out = open_memstream (&buf, &len)) != NULL)
    {
      if (doctor_stack_run (&s, &o, out, &err) < 0)
        error_free (&err);
      fclose (out);
      free (buf);
    }
  error_free (&err);
  doctor_stack_free (&s);
  free (text);
  return 0;
}
