/* The journals of a directory, as status and restore --all see them; see
 * journal_list.h. */
#define _GNU_SOURCE
#include "journal_list.h"
#include "base/cleanup.h"
#include "base/str.h"
#include "restore.h"
#include "restore_trust.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
hex_digit (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

char *
journal_name_container (const char *name)
{
  const char *at = strchr (name, '@');
  char *id, *o;

  if (at == NULL)
    {
      errno = EINVAL;
      return NULL;
    }
  id = o = malloc ((size_t) (at - name) + 1);
  if (id == NULL)
    return NULL;
  for (const char *p = name; p < at; p++)
    if (*p == '%' && at - p >= 3 && hex_digit (p[1]) >= 0 && hex_digit (p[2]) >= 0)
      {
        *o++ = (char) (hex_digit (p[1]) * 16 + hex_digit (p[2]));
        p += 2;
      }
    else
      *o++ = *p;
  *o = '\0';
  return id;
}

static bool
is_journal_name (const char *name)
{
  size_t n = strlen (name), suffix = sizeof ".journal" - 1;
  return name[0] != '.' && n > suffix && strcmp (name + n - suffix, ".journal") == 0;
}

static uint64_t
count_records (const struct journal_file *jf)
{
  struct journal_record r;
  size_t pos = jf->body;
  uint64_t n = 0;
  long len;

  while ((len = journal_record_decode (jf->data + pos, jf->len - pos, &r)) > 0)
    {
      pos += (size_t) len;
      n++;
    }
  return n;
}

/* Believed (or E->untrusted says why): its header, count, time, and whether
 * restore would find its source. */
static int
read_entry (int dir_fd, struct journal_entry *e, hook_error_t **err)
{
  cleanup_journal_file struct journal_file jf = { 0 };
  cleanup_close int fd = restore_trust_open (dir_fd, e->name, e->path, &e->untrusted);
  cleanup_close int src = -1;
  struct stat st;

  if (fd < 0 || restore_trust_file (fd, e->path, &e->untrusted) < 0)
    return 0;
  if (fstat (fd, &st) < 0)
    return make_error (err, errno, "stat '%s'", e->path);
  /* Believed from here on: a journal that does not parse is still the
   * user's own, and said so. */
  if (journal_read (fd, e->path, &jf, &e->untrusted) < 0)
    {
      e->invalid = true;
      return 0;
    }
  if (restore_trust_ids (&jf.h, e->path, &e->untrusted) < 0)
    return 0;
  e->h = jf.h;
  e->records = count_records (&jf);
  e->mtime = st.st_mtim;
  src = restore_open_source (&e->h, e->path, &e->stale);
  return 0;
}

/* The directory's reason, for each of its journals. */
static void
copy_error (hook_error_t **to, const hook_error_t *from)
{
  const char *hint = error_hint_text (from);

  make_error (to, error_errno (from), "%s", error_message (from));
  if (hint)
    error_hint (to, "%s", hint);
}

static int
by_name (const void *a, const void *b)
{
  return strcmp (((const struct journal_entry *) a)->name, ((const struct journal_entry *) b)->name);
}

static int
add_entry (struct journal_list *l, size_t *cap, const char *dir, const char *name, hook_error_t **err)
{
  struct journal_entry *e;

  if (l->n == *cap)
    {
      size_t ncap = *cap ? 2 * *cap : 16;
      struct journal_entry *v = reallocarray (l->v, ncap, sizeof *v);
      if (v == NULL)
        return make_error (err, ENOMEM, "list the journals of '%s'", dir);
      l->v = v;
      *cap = ncap;
    }
  e = &l->v[l->n];
  memset (e, 0, sizeof *e);
  l->n++;
  if (str_dup (&e->name, name, err) < 0 || str_printf (&e->path, err, "%s/%s", dir, name) < 0)
    return -1;
  e->id = journal_name_container (name);
  if (e->id == NULL && errno == ENOMEM)
    return make_error (err, ENOMEM, "list the journals of '%s'", dir);
  if (e->id == NULL)
    return str_dup (&e->id, "", err);
  return 0;
}

int
journal_list_read (int dir_fd, const char *dir, bool read, struct journal_list *l, hook_error_t **err)
{
  hook_error_t *dir_untrusted = NULL;
  size_t cap = 0;
  int fd, ret = 0;
  DIR *d;
  struct dirent *de;

  memset (l, 0, sizeof *l);
  fd = fcntl (dir_fd, F_DUPFD_CLOEXEC, 3);
  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      if (fd >= 0)
        close (fd);
      return make_error (err, errno, "read the journal directory '%s'", dir);
    }
  rewinddir (d); /* the dup shares DIR_FD's offset */
  if (read)
    restore_trust_dir (dir_fd, dir, &dir_untrusted);
  errno = 0;
  while (ret == 0 && (de = readdir (d)) != NULL)
    if (is_journal_name (de->d_name))
      ret = add_entry (l, &cap, dir, de->d_name, err);
  if (ret == 0 && errno != 0)
    ret = make_error (err, errno, "read the journal directory '%s'", dir);
  closedir (d);
  if (ret == 0 && l->n)
    qsort (l->v, l->n, sizeof *l->v, by_name);
  for (size_t i = 0; read && ret == 0 && i < l->n; i++)
    if (dir_untrusted)
      copy_error (&l->v[i].untrusted, dir_untrusted);
    else
      ret = read_entry (dir_fd, &l->v[i], err);
  error_free (&dir_untrusted);
  return ret;
}

void
journal_list_free (struct journal_list *l)
{
  for (size_t i = 0; i < l->n; i++)
    {
      free (l->v[i].name);
      free (l->v[i].path);
      free (l->v[i].id);
      error_free (&l->v[i].untrusted);
      error_free (&l->v[i].stale);
    }
  free (l->v);
  memset (l, 0, sizeof *l);
}

int
journal_list_match (const struct journal_list *l, const char *prefix, const char **id, hook_error_t **err)
{
  size_t p = strlen (prefix), found = 0;
  cleanup_free char *ids = NULL;

  *id = NULL;
  for (size_t i = 0; i < l->n; i++)
    if (strcmp (l->v[i].id, prefix) == 0)
      {
        *id = l->v[i].id;
        return 0;
      }
  for (size_t i = 0; i < l->n; i++)
    {
      const char *c = l->v[i].id;
      char *more = NULL;
      /* The list is by name, so that the journals of one id are next to each other: each id counts once. */
      if (strncmp (c, prefix, p) != 0 || (i > 0 && strcmp (l->v[i - 1].id, c) == 0))
        continue;
      if (found++ == 0)
        *id = c;
      if (str_printf (&more, err, "%s%s%s", ids ? ids : "", ids ? ", " : "", c) < 0)
        return -1;
      free (ids);
      ids = more;
    }
  if (found == 0)
    return 1;
  if (found == 1)
    return 0;
  *id = NULL;
  make_error (err, 0, "container id prefix %s is not unique: it starts %s", prefix, ids);
  return error_hint (err, "give more of the id");
}
