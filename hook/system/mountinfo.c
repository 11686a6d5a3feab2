#define _GNU_SOURCE
#include "mountinfo.h"
#include "base/cleanup.h"
#include "base/io.h"
#include "base/path.h"
#include "base/str.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A host with thousands of mounts still has far less than this. */
#define MOUNTINFO_MAX_BYTES (64 * 1024 * 1024)

/* Undo the kernel's octal escapes (\040 for space, \011, \012, \134) in place. */
static void
unescape (char *s)
{
  char *o = s;
  for (char *p = s; *p; p++)
    {
      if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7')
        {
          *o++ = (char) ((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
          p += 3;
        }
      else
        *o++ = *p;
    }
  *o = '\0';
}

/* Split off the next space-separated field of *LINE. */
static char *
next_field (char **line)
{
  char *f = *line, *sp;
  if (f == NULL || *f == '\0')
    return NULL;
  sp = strchr (f, ' ');
  if (sp)
    {
      *sp = '\0';
      *line = sp + 1;
    }
  else
    *line = NULL;
  return f;
}

/* Digits only, up to END; returns the character after END, or NULL. */
static const char *
parse_uint (const char *s, char end, unsigned int *out)
{
  unsigned long v = 0;
  const char *p = s;

  for (; *p >= '0' && *p <= '9'; p++)
    {
      v = v * 10 + (unsigned long) (*p - '0');
      if (v > UINT_MAX)
        return NULL;
    }
  if (p == s || *p != end)
    return NULL;
  *out = (unsigned int) v;
  return p + 1;
}

static int
parse_line (char *line, struct mountinfo_entry *e)
{
  char *f[6], *sep;
  const char *p;
  unsigned int id, parent;

  for (int i = 0; i < 6; i++)
    if ((f[i] = next_field (&line)) == NULL)
      return -1;
  /* optional fields, ended by a lone "-" */
  while ((sep = next_field (&line)) != NULL && strcmp (sep, "-") != 0)
    ;
  if (sep == NULL)
    return -1;
  e->fstype = next_field (&line);
  e->source = next_field (&line);
  if (e->fstype == NULL || e->source == NULL)
    return -1;
  if (parse_uint (f[0], '\0', &id) == NULL || parse_uint (f[1], '\0', &parent) == NULL
      || (p = parse_uint (f[2], ':', &e->major)) == NULL || parse_uint (p, '\0', &e->minor) == NULL || id > INT_MAX
      || parent > INT_MAX)
    return -1;
  e->id = (int) id;
  e->parent = (int) parent;
  e->root = f[3];
  e->mountpoint = f[4];
  e->options = f[5];
  unescape (e->root);
  unescape (e->mountpoint);
  unescape (e->source);
  return 0;
}

int
mountinfo_parse (char *text, struct mountinfo *mi, hook_error_t **err)
{
  size_t lines = 0, n = 0;
  char *save = NULL;

  for (char *p = text; *p; p++)
    lines += *p == '\n';
  mi->entries = calloc (lines + 1, sizeof *mi->entries);
  if (mi->entries == NULL)
    return make_error (err, ENOMEM, "mountinfo");
  for (char *line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      if (parse_line (line, &mi->entries[n]) < 0)
        return make_error (err, 0, "mountinfo: cannot parse line %zu", n + 1);
      n++;
    }
  mi->n = n;
  return 0;
}

int
mountinfo_read (int fd, struct mountinfo *mi, hook_error_t **err)
{
  size_t len;

  memset (mi, 0, sizeof *mi);
  if (read_all_capped (fd, MOUNTINFO_MAX_BYTES, "mountinfo", &mi->text, &len, err) < 0)
    return -1;
  return mountinfo_parse (mi->text, mi, err);
}

void
mountinfo_free (struct mountinfo *mi)
{
  free (mi->entries);
  free (mi->text);
  memset (mi, 0, sizeof *mi);
}

const struct mountinfo_entry *
mountinfo_find (const struct mountinfo *mi, const char *path)
{
  /* Mounts stacked on one path form a chain, each the parent of the next:
   * the top is the one that is nobody's parent there. */
  for (size_t i = 0; i < mi->n; i++)
    {
      bool covered = false;
      if (strcmp (mi->entries[i].mountpoint, path) != 0)
        continue;
      for (size_t j = 0; j < mi->n && !covered; j++)
        covered = j != i && mi->entries[j].parent == mi->entries[i].id && strcmp (mi->entries[j].mountpoint, path) == 0;
      if (!covered)
        return &mi->entries[i];
    }
  return NULL;
}

const struct mountinfo_entry *
mountinfo_by_id (const struct mountinfo *mi, int id)
{
  for (size_t i = 0; i < mi->n; i++)
    if (mi->entries[i].id == id)
      return &mi->entries[i];
  return NULL;
}

bool
mountinfo_is_below (const struct mountinfo *mi, const struct mountinfo_entry *e, const struct mountinfo_entry *top)
{
  /* At most N steps up: a table whose parents form a loop ends too. */
  for (size_t steps = 0; e && steps < mi->n; steps++)
    {
      if (e->parent == e->id)
        return false; /* the root of the tree */
      e = mountinfo_by_id (mi, e->parent);
      if (e == top)
        return true;
    }
  return false;
}

int
mountinfo_host_path_via (const struct mountinfo *host, size_t i, const struct mountinfo_entry *e, char **out,
                         hook_error_t **err)
{
  const struct mountinfo_entry *h = &host->entries[i];
  const char *rest;

  *out = NULL;
  if (h->major != e->major || h->minor != e->minor || !path_is_under (e->root, h->root))
    return 0;
  rest = e->root + (strcmp (h->root, "/") == 0 ? 0 : strlen (h->root));
  /* The root of a filesystem mounted at M is M itself, not "M/". */
  if (strcmp (rest, "/") == 0 && strcmp (h->mountpoint, "/") != 0)
    rest = "";
  return str_printf (out, err, "%s%s", strcmp (h->mountpoint, "/") == 0 && rest[0] ? "" : h->mountpoint, rest);
}

int
mountinfo_host_path (const struct mountinfo *host, const struct mountinfo_entry *e, char **out, hook_error_t **err)
{
  size_t best = host->n;

  for (size_t i = 0; i < host->n; i++)
    {
      const struct mountinfo_entry *h = &host->entries[i];
      if (h->major == e->major && h->minor == e->minor && path_is_under (e->root, h->root)
          && (best == host->n || strlen (h->root) > strlen (host->entries[best].root)))
        best = i;
    }
  *out = NULL;
  return best == host->n ? 0 : mountinfo_host_path_via (host, best, e, out, err);
}

bool
mount_option_present (const char *options, const char *opt)
{
  size_t n = strlen (opt);
  for (const char *p = options; p && *p;)
    {
      const char *end = strchr (p, ',');
      size_t len = end ? (size_t) (end - p) : strlen (p);
      if (len == n && memcmp (p, opt, n) == 0)
        return true;
      p = end ? end + 1 : NULL;
    }
  return false;
}
