/* The annotation mini-language: oci-idmap-hook/mounts and /user values. */
#include "base/path.h"
#include "fuzz.h"
#include "hook/run/request.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = fuzz_string (data, size);
  hook_error_t *err = NULL;
  struct request req = { .n = 0 };
  struct target_user user;
  char *norm = NULL;

  if (request_parse_mounts (text, "fuzz", &req, &err) == 0)
    request_free (&req);
  error_free (&err);
  parse_user_spec (text, "fuzz", &user, &err);
  error_free (&err);
  if (normalize_dest (text, &norm, &err) == 0 && (strstr (norm, "//") || strstr (norm, "/./")))
    abort (); /* a normalised path has no empty or "." components */
  free (norm);
  error_free (&err);
  free (text);
  return 0;
}
