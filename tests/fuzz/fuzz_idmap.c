/* /proc/PID/uid_map text, and every lookup on what parses. */
#include "fuzz.h"
#include "oci/idmap.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = fuzz_string (data, size);
  hook_error_t *err = NULL;
  static struct idmap map, cut;
  char desc[256];
  uint32_t out;

  if (idmap_parse_proc (&map, text, "fuzz", &err) == 0)
    {
      char *proc = idmap_format_proc (&map);
      for (size_t i = 0; i < map.n; i++)
        {
          uint32_t in = map.ext[i].inside, last = in + (map.ext[i].count - 1);
          if (!idmap_to_outside (&map, in, &out) || !idmap_to_outside (&map, last, &out)
              || !idmap_to_inside (&map, map.ext[i].outside, &out))
            abort (); /* every parsed extent must map both ways */
        }
      idmap_without_inside (&map, 0, &cut, &err);
      idmap_describe (&map, desc, sizeof desc);
      free (proc);
    }
  error_free (&err);
  free (text);
  return 0;
}
