/* config.json, then what the hook reads from it: the request and the user. */
#include "fuzz.h"
#include "hook/run/request.h"
#include "oci/config.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = fuzz_string (data, size);
  hook_error_t *err = NULL;
  struct oci_config cfg;
  struct request req = { .n = 0 };
  struct target_user user;

  if (oci_config_parse (text, size, &cfg, &err) == 0)
    /* Every level: each takes its own path through the environment. */
    for (int t = 0; t < ENV_TRUST_COUNT; t++)
      {
        if (request_from_container (&cfg, NULL, (enum env_trust) t, &req, &err) == 0)
          request_free (&req);
        error_free (&err);
        target_user_from_container (&cfg, NULL, (enum env_trust) t, &user, &err);
        error_free (&err);
      }
  oci_config_free (&cfg);
  error_free (&err);
  free (text);
  return 0;
}
