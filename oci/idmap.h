/* ID mappings as the kernel and the OCI spec describe them: lines of
 * (inside, outside, count).  For a container's user namespace, inside is the
 * container id and outside the host id; for an idmapped mount, inside is the
 * id stored on disk and outside the id it shows as. */
#ifndef OCI_IDMAP_H
#define OCI_IDMAP_H

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The kernel's limit on lines in /proc/PID/uid_map. */
#define IDMAP_MAX_EXTENTS 340

struct id_extent
{
  uint32_t inside;
  uint32_t outside;
  uint32_t count;
};

struct idmap
{
  size_t n;
  struct id_extent ext[IDMAP_MAX_EXTENTS];
};

/* 0 .. 4294967294: (uid_t) -1 is never a valid id. */
void idmap_identity (struct idmap *map);

/* Append one extent.  Rejects zero counts, ranges that wrap past 2^32 - 1
 * and more than IDMAP_MAX_EXTENTS lines.  WHAT names the map in errors. */
int idmap_add (struct idmap *map, uint64_t inside, uint64_t outside, uint64_t count, const char *what,
               hook_error_t **err);

/* Overlapping ranges on either side make a map ambiguous; the kernel refuses them too. */
int idmap_validate (const struct idmap *map, const char *what, hook_error_t **err);

/* Parse the text of /proc/PID/uid_map (whitespace-separated triples, one per line). */
int idmap_parse_proc (struct idmap *map, const char *text, const char *what, hook_error_t **err);

/* inside -> outside.  False if ID is not mapped. */
bool idmap_to_outside (const struct idmap *map, uint32_t id, uint32_t *out);

/* outside -> inside.  False if ID is not mapped. */
bool idmap_to_inside (const struct idmap *map, uint32_t id, uint32_t *out);

/* A copy of MAP without inside id ID (splitting the extent that holds it). */
int idmap_without_inside (const struct idmap *map, uint32_t id, struct idmap *out, hook_error_t **err);

bool idmap_is_identity (const struct idmap *map);

/* "0:100000:65536,70000:..." for messages; at most LEN bytes including NUL. */
void idmap_describe (const struct idmap *map, char *buf, size_t len);

/* The format /proc/PID/uid_map accepts on write.  Returns a malloc'd string. */
char *idmap_format_proc (const struct idmap *map);

#endif
