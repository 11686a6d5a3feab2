/* oci/idmap.c: building, checking, parsing and applying id mappings. */
#define _GNU_SOURCE
#include "helpers.h"
#include "oci/idmap.h"

#include <stdint.h>

/* The map as idmap_describe shows it (one static buffer: use the result at once). */
static const char *
desc (const struct idmap *map)
{
  static char buf[512];
  idmap_describe (map, buf, sizeof buf);
  return buf;
}

/* MAP from /proc text that the test knows is valid. */
static void
map_from (struct idmap *map, const char *text)
{
  hook_error_t *err = NULL;
  if (idmap_parse_proc (map, text, "test map", &err) < 0)
    {
      diag ("bad test map \"%s\": %s", text, error_shown (err));
      error_free (&err);
      map->n = 0;
    }
}

static void
test_add (void)
{
  struct idmap map = { 0 };
  hook_error_t *err = NULL;
  static const struct
  {
    uint64_t inside, outside, count;
    const char *msg, *name;
  } bad[] = {
    { 0, 100000, 0, "has a size of 0", "a mapping of size 0 is rejected" },
    { 4294967294, 0, 2, "does not fit in 32-bit ids", "an inside range wrapping past 2^32-1 is rejected" },
    { 0, 4294967290, 10, "does not fit in 32-bit ids", "an outside range wrapping past 2^32-1 is rejected" },
    { 4294967295, 0, 1, "does not fit in 32-bit ids", "inside id 4294967295 is rejected" },
    { 0, 4294967295, 1, "does not fit in 32-bit ids", "outside id 4294967295 is rejected" },
    { 0, 0, 4294967296, "does not fit in 32-bit ids", "a count of 2^32 is rejected" },
    { 1, 0, UINT64_MAX, "does not fit in 32-bit ids", "a count that overflows 64 bits is rejected" },
  };

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    is_error (idmap_add (&map, bad[i].inside, bad[i].outside, bad[i].count, "uid map", &err), -1, &err, bad[i].msg,
              "%s", bad[i].name);
  is_int ((long long) map.n, 0, "rejected mappings are not added");

  is_success (idmap_add (&map, 4294967294, 4294967294, 1, "uid map", &err), 0, &err,
              "a range ending at id 4294967294 is accepted");
  map.n = 0;
  is_success (idmap_add (&map, 0, 0, 4294967295, "uid map", &err), 0, &err, "the full identity range is accepted");
  ok (idmap_is_identity (&map), "0:0:4294967295 is the identity");

  map.n = 0;
  for (uint64_t i = 0; i < IDMAP_MAX_EXTENTS; i++)
    if (idmap_add (&map, i * 10, 100000 + i * 10, 10, "uid map", &err) < 0)
      break;
  is_success ((long long) map.n, IDMAP_MAX_EXTENTS, &err, "340 mapping lines are accepted");
  is_error (idmap_add (&map, 5000, 200000, 1, "uid map", &err), -1, &err, "more than 340 mapping lines",
            "a 341st mapping line is rejected");
  is_error (idmap_add (&map, 0, 0, 0, "the uid map", &err), -1, &err,
            "the uid map:", "errors start with the name of the map");
}

static void
test_validate (void)
{
  struct idmap map = { 0 };
  hook_error_t *err = NULL;

  idmap_add (&map, 0, 100000, 10, "m", &err);
  idmap_add (&map, 10, 100010, 10, "m", &err);
  is_success (idmap_validate (&map, "m", &err), 0, &err, "adjacent ranges do not overlap");
  idmap_add (&map, 15, 200000, 10, "m", &err);
  is_error (idmap_validate (&map, "m", &err), -1, &err, "10:100010:10 and 15:200000:10 overlap",
            "ranges overlapping inside are rejected, naming both lines");
  map.n = 0;
  idmap_add (&map, 0, 100000, 10, "m", &err);
  idmap_add (&map, 100, 100009, 10, "m", &err);
  is_error (idmap_validate (&map, "m", &err), -1, &err, "overlap", "ranges overlapping outside are rejected");
}

static void
test_parse_proc (void)
{
  struct idmap map;
  hook_error_t *err = NULL;
  static const struct
  {
    const char *text, *msg, *name;
  } bad[] = {
    { "abc\n", "line 1: expected three numbers", "garbage is rejected" },
    { "0 100000\n", "line 1: expected three numbers", "a line of two numbers is rejected" },
    { "0 100000 65536\n1 2\n", "line 2: expected three numbers", "errors name the line" },
    { "0 100000 65536 7\n", "line 1: trailing characters", "a fourth number is rejected" },
    { "0 100000 65536x\n", "trailing characters", "letters after the count are rejected" },
    { "0 100000 65536\r\n", "trailing characters", "a carriage return is rejected" },
    { "-1 100000 1\n", "expected three numbers", "a negative id is rejected" },
    { "99999999999999999999 0 1\n", "expected three numbers", "a number past 2^64 is rejected" },
    { "5000000000 0 1\n", "does not fit in 32-bit ids", "a number past 2^32 is rejected" },
    { "0 0 0\n", "has a size of 0", "a line with count 0 is rejected" },
    { "0 100000 65536\n1000 200000 1\n", "overlap", "overlapping lines are rejected" },
  };

  map_from (&map, "         0     100000      65536\n");
  is_str (desc (&map), "0:100000:65536", "a padded line as the kernel prints it is parsed");
  map_from (&map, "         0       1000          1\n         1     100000      65536\n");
  is_str (desc (&map), "0:1000:1,1:100000:65536", "two padded lines are parsed in order");
  map_from (&map, "         0          0 4294967295\n");
  ok (idmap_is_identity (&map), "the initial namespace's map is the identity");
  map_from (&map, "0\t1000\t1\n\n  \n1 100000 10");
  is_str (desc (&map), "0:1000:1,1:100000:10", "tabs, blank lines and a missing final newline are accepted");
  is_success (idmap_parse_proc (&map, "", "m", &err), 0, &err, "an empty map is accepted");
  is_int ((long long) map.n, 0, "an empty map has no lines");

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    is_error (idmap_parse_proc (&map, bad[i].text, "/proc/1/uid_map", &err), -1, &err, bad[i].msg, "%s", bad[i].name);
  is_error (idmap_parse_proc (&map, "x", "/proc/1/uid_map", &err), -1, &err, "/proc/1/uid_map: line 1",
            "parse errors start with the file name");
}

static void
test_translate (void)
{
  struct idmap map;
  uint32_t out = 7;
  static const struct
  {
    bool outward;
    uint32_t id;
    bool mapped;
    uint32_t expect;
  } cases[] = {
    { true, 0, true, 100000 },       { true, 65535, true, 165535 }, { true, 65536, false, 0 },
    { true, 70000, true, 300000 },   { true, 70009, true, 300009 }, { true, 70010, false, 0 },
    { true, 69999, false, 0 },       { false, 100000, true, 0 },    { false, 99999, false, 0 },
    { false, 165535, true, 65535 },  { false, 165536, false, 0 },   { false, 300009, true, 70009 },
    { false, 4294967295, false, 0 },
  };

  map_from (&map, "0 100000 65536\n70000 300000 10\n");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      const char *side = cases[i].outward ? "inside" : "outside";
      bool got
          = cases[i].outward ? idmap_to_outside (&map, cases[i].id, &out) : idmap_to_inside (&map, cases[i].id, &out);
      if (cases[i].mapped)
        is_int (got ? (long long) out : -1, cases[i].expect, "%s %u maps to %u", side, cases[i].id, cases[i].expect);
      else
        ok (!got, "%s %u is not mapped", side, cases[i].id);
    }
  idmap_identity (&map);
  ok (idmap_to_outside (&map, 4294967294, &out) && out == 4294967294, "the identity maps 4294967294 to itself");
  ok (!idmap_to_outside (&map, 4294967295, &out), "the identity does not map (uid_t) -1");
}

static void
test_without_inside (void)
{
  struct idmap map, out;
  hook_error_t *err = NULL;
  static const struct
  {
    const char *map;
    uint32_t id;
    const char *expect, *name;
  } cases[] = {
    { "0 100000 65536", 0, "1:100001:65535", "removing the first id of a range keeps the rest" },
    { "0 100000 65536", 65535, "0:100000:65535", "removing the last id of a range keeps the rest" },
    { "0 100000 65536", 1000, "0:100000:1000,1001:101001:64535", "removing a middle id splits the range" },
    { "0 100000 65536", 70000, "0:100000:65536", "removing an unmapped id changes nothing" },
    { "0 100000 1\n1 200000 5", 0, "1:200000:5", "removing the only id of a range drops the range" },
    { "0 0 4294967295", 0, "1:1:4294967294", "removing 0 from the identity keeps all other ids" },
    { "0 100000 1", 0, "(empty)", "removing the only id leaves an empty map" },
  };

  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      map_from (&map, cases[i].map);
      is_success (idmap_without_inside (&map, cases[i].id, &out, &err), 0, &err, "%s (succeeds)", cases[i].name);
      is_str (desc (&out), cases[i].expect, "%s", cases[i].name);
    }
}

static void
test_describe_and_format (void)
{
  struct idmap map, back;
  hook_error_t *err = NULL;
  char small[10];
  char *text;

  idmap_identity (&map);
  ok (idmap_is_identity (&map), "idmap_identity gives the identity");
  is_str (desc (&map), "identity", "the identity is described as such");
  map.ext[0].count = 65536;
  ok (!idmap_is_identity (&map), "0:0:65536 is not the identity");
  map.n = 0;
  is_str (desc (&map), "(empty)", "an empty map is described as (empty)");

  map_from (&map, "0 100000 65536\n70000 300000 10\n");
  is_str (desc (&map), "0:100000:65536,70000:300000:10", "a map is described as comma-separated triples");
  idmap_describe (&map, small, sizeof small);
  is_str (small, "0:100000:", "a description is cut to the buffer and ends in NUL");

  text = idmap_format_proc (&map);
  is_str (text, "0 100000 65536\n70000 300000 10\n", "a map is formatted as uid_map lines");
  is_success (idmap_parse_proc (&back, text, "m", &err), 0, &err, "formatted text parses again");
  is_str (desc (&back), "0:100000:65536,70000:300000:10", "formatting and parsing is a round trip");
  free (text);

  map.n = 0;
  for (uint32_t i = 0; i < IDMAP_MAX_EXTENTS; i++)
    idmap_add (&map, 1000000000u + i * 1000, 3000000000u + i * 1000, 1000, "m", &err);
  text = idmap_format_proc (&map);
  is_int (text ? (long long) strlen (text) : -1, 340 * 27, "340 lines of 10-digit ids are all formatted");
  is_success (idmap_parse_proc (&back, text, "m", &err), 0, &err, "340 formatted lines parse again");
  ok (back.n == map.n && memcmp (back.ext, map.ext, map.n * sizeof map.ext[0]) == 0,
      "340 lines survive the round trip unchanged");
  free (text);

  map.n = 0;
  idmap_add (&map, 1000000000, 3000000000, 1000000000, "m", &err);
  text = idmap_format_proc (&map);
  is_str (text, "1000000000 3000000000 1000000000\n", "a line of three 10-digit numbers is formatted whole");
  free (text);

  map.n = 0;
  text = idmap_format_proc (&map);
  is_str (text, "", "an empty map formats as empty text");
  free (text);
}

int
main (void)
{
  test_add ();
  test_validate ();
  test_parse_proc ();
  test_translate ();
  test_without_inside ();
  test_describe_and_format ();
  return done_testing ();
}
