#define _GNU_SOURCE
#include "idmap.h"
#include "base/cleanup.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_LIMIT ((uint64_t) UINT32_MAX) /* ids are < 2^32 - 1 */

void
idmap_identity (struct idmap *map)
{
  map->n = 1;
  map->ext[0] = (struct id_extent){ 0, 0, UINT32_MAX };
}

int
idmap_add (struct idmap *map, uint64_t inside, uint64_t outside, uint64_t count, const char *what, hook_error_t **err)
{
  if (count == 0)
    return make_error (err, 0, "%s: mapping %" PRIu64 ":%" PRIu64 " has a size of 0", what, inside, outside);
  if (inside >= ID_LIMIT || outside >= ID_LIMIT || count > ID_LIMIT || inside + count > ID_LIMIT
      || outside + count > ID_LIMIT)
    return make_error (err, 0, "%s: mapping %" PRIu64 ":%" PRIu64 ":%" PRIu64 " does not fit in 32-bit ids", what,
                       inside, outside, count);
  if (map->n >= IDMAP_MAX_EXTENTS)
    return make_error (err, 0, "%s: more than %d mapping lines", what, IDMAP_MAX_EXTENTS);
  map->ext[map->n++] = (struct id_extent){ (uint32_t) inside, (uint32_t) outside, (uint32_t) count };
  return 0;
}

static bool
ranges_overlap (uint32_t a, uint32_t an, uint32_t b, uint32_t bn)
{
  return (uint64_t) a < (uint64_t) b + bn && (uint64_t) b < (uint64_t) a + an;
}

int
idmap_validate (const struct idmap *map, const char *what, hook_error_t **err)
{
  for (size_t i = 0; i < map->n; i++)
    for (size_t j = i + 1; j < map->n; j++)
      {
        const struct id_extent *a = &map->ext[i], *b = &map->ext[j];
        if (ranges_overlap (a->inside, a->count, b->inside, b->count)
            || ranges_overlap (a->outside, a->count, b->outside, b->count))
          return make_error (err, 0, "%s: mapping lines %u:%u:%u and %u:%u:%u overlap", what, a->inside, a->outside,
                             a->count, b->inside, b->outside, b->count);
      }
  return 0;
}

/* Parse one unsigned decimal number; strict: no sign, no overflow past 64 bits. */
static const char *
parse_u64 (const char *p, uint64_t *out)
{
  uint64_t v = 0;
  if (*p < '0' || *p > '9')
    return NULL;
  for (; *p >= '0' && *p <= '9'; p++)
    {
      if (v > (UINT64_MAX - 9) / 10)
        return NULL;
      v = v * 10 + (uint64_t) (*p - '0');
    }
  *out = v;
  return p;
}

int
idmap_parse_proc (struct idmap *map, const char *text, const char *what, hook_error_t **err)
{
  const char *p = text;
  size_t line = 0;

  map->n = 0;
  while (*p)
    {
      uint64_t v[3];
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p == '\n')
        {
          p++;
          continue;
        }
      if (*p == '\0')
        break;
      line++;
      for (int k = 0; k < 3; k++)
        {
          while (*p == ' ' || *p == '\t')
            p++;
          p = parse_u64 (p, &v[k]);
          if (p == NULL)
            return make_error (err, 0, "%s: line %zu: expected three numbers", what, line);
        }
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p != '\n' && *p != '\0')
        return make_error (err, 0, "%s: line %zu: trailing characters", what, line);
      if (idmap_add (map, v[0], v[1], v[2], what, err) < 0)
        return -1;
    }
  return idmap_validate (map, what, err);
}

bool
idmap_to_outside (const struct idmap *map, uint32_t id, uint32_t *out)
{
  for (size_t i = 0; i < map->n; i++)
    if (id >= map->ext[i].inside && (uint64_t) id < (uint64_t) map->ext[i].inside + map->ext[i].count)
      {
        *out = map->ext[i].outside + (id - map->ext[i].inside);
        return true;
      }
  return false;
}

bool
idmap_to_inside (const struct idmap *map, uint32_t id, uint32_t *out)
{
  for (size_t i = 0; i < map->n; i++)
    if (id >= map->ext[i].outside && (uint64_t) id < (uint64_t) map->ext[i].outside + map->ext[i].count)
      {
        *out = map->ext[i].inside + (id - map->ext[i].outside);
        return true;
      }
  return false;
}

int
idmap_without_inside (const struct idmap *map, uint32_t id, struct idmap *out, hook_error_t **err)
{
  out->n = 0;
  for (size_t i = 0; i < map->n; i++)
    {
      const struct id_extent *e = &map->ext[i];
      uint64_t end = (uint64_t) e->inside + e->count;
      if (id < e->inside || id >= end)
        {
          if (idmap_add (out, e->inside, e->outside, e->count, "mapping", err) < 0)
            return -1;
          continue;
        }
      if (id > e->inside && idmap_add (out, e->inside, e->outside, id - e->inside, "mapping", err) < 0)
        return -1;
      if (id + 1 < end
          && idmap_add (out, (uint64_t) id + 1, (uint64_t) e->outside + (id - e->inside) + 1, end - id - 1, "mapping",
                        err)
                 < 0)
        return -1;
    }
  return 0;
}

bool
idmap_is_identity (const struct idmap *map)
{
  return map->n == 1 && map->ext[0].inside == 0 && map->ext[0].outside == 0 && map->ext[0].count == UINT32_MAX;
}

void
idmap_describe (const struct idmap *map, char *buf, size_t len)
{
  size_t used = 0;

  if (len == 0)
    return;
  buf[0] = '\0';
  if (map->n == 0)
    {
      snprintf (buf, len, "(empty)");
      return;
    }
  if (idmap_is_identity (map))
    {
      snprintf (buf, len, "identity");
      return;
    }
  for (size_t i = 0; i < map->n && used < len; i++)
    {
      int k = snprintf (buf + used, len - used, "%s%u:%u:%u", i ? "," : "", map->ext[i].inside, map->ext[i].outside,
                        map->ext[i].count);
      if (k < 0)
        break;
      used += (size_t) k;
    }
}

char *
idmap_format_proc (const struct idmap *map)
{
  /* 3 numbers of at most 10 digits, 2 spaces and a newline per line. */
  size_t cap = map->n * 34 + 1, used = 0;
  char *s = malloc (cap);

  if (s == NULL)
    return NULL;
  s[0] = '\0';
  for (size_t i = 0; i < map->n; i++)
    used += (size_t) snprintf (s + used, cap - used, "%u %u %u\n", map->ext[i].inside, map->ext[i].outside,
                               map->ext[i].count);
  return s;
}
