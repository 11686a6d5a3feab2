/* What the doctor found and keeps: the problems, the ids of the scan, and
 * the verdict they make. */
#define _GNU_SOURCE
#include "doctor.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
doctor_problem (struct doctor *d, bool warning, const char *where, const char *fix, const char *fmt, ...)
{
  struct doctor_problem *p;
  va_list ap;

  p = reallocarray (d->problems, d->n_problems + 1, sizeof *d->problems);
  if (p == NULL)
    abort ();
  d->problems = p;
  p = &d->problems[d->n_problems++];
  memset (p, 0, sizeof *p);
  p->warning = warning;
  p->where = strdup (where);
  p->fix = fix ? strdup (fix) : NULL;
  va_start (ap, fmt);
  if (vasprintf (&p->what, fmt, ap) < 0 || p->where == NULL)
    abort ();
  va_end (ap);
}

char *
doctor_printf (const char *fmt, ...)
{
  va_list ap;
  char *s = NULL;

  va_start (ap, fmt);
  if (vasprintf (&s, fmt, ap) < 0)
    abort ();
  va_end (ap);
  return s;
}

int
doctor_exit_status (const struct doctor *d)
{
  for (size_t i = 0; i < d->n_problems; i++)
    if (!d->problems[i].warning)
      return 1;
  return 0;
}

void
doctor_free (struct doctor *d)
{
  admin_policy_free (&d->admin);
  for (size_t i = 0; i < d->n_mounts; i++)
    {
      free (d->mounts[i].dest);
      free (d->mounts[i].hook_note);
      free (d->mounts[i].problem);
      free (d->mounts[i].fix);
      doctor_acl_free (&d->mounts[i].acl);
    }
  free (d->mounts);
  free (d->groups);
  for (size_t i = 0; i < d->n_problems; i++)
    {
      free (d->problems[i].where);
      free (d->problems[i].what);
      free (d->problems[i].fix);
    }
  free (d->problems);
  id_table_free (&d->scan.uids);
  id_table_free (&d->scan.gids);
  for (size_t k = 0; k < ID_TABLE_PATHS; k++)
    free (d->scan.setid_paths[k]);
  free (d->scan.error);
  free (d->ids_note);
  free (d->request_origin);
}

char **
id_table_count (struct id_table *t, uint32_t id)
{
  struct id_group *g = NULL;

  for (size_t i = 0; i < t->n; i++)
    if (t->groups[i].id == id)
      {
        g = &t->groups[i];
        break;
      }
  if (g == NULL)
    {
      if (t->n >= ID_TABLE_MAX)
        {
          t->other_files++;
          return NULL;
        }
      g = &t->groups[t->n++];
      memset (g, 0, sizeof *g);
      g->id = id;
    }
  if (g->count++ < ID_TABLE_PATHS)
    return &g->paths[g->count - 1];
  return NULL;
}

void
id_table_free (struct id_table *t)
{
  for (size_t i = 0; i < t->n; i++)
    for (size_t k = 0; k < ID_TABLE_PATHS; k++)
      free (t->groups[i].paths[k]);
  t->n = 0;
  t->other_files = 0;
}
