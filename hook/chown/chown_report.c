/* What a chown walk did and left alone: counters summed over its threads,
 * and the one line that tells the user. */
#define _GNU_SOURCE
#include "chown_walk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
chown_report_merge (struct chown_report *to, const struct chown_report *from)
{
  to->entries += from->entries;
  to->changed += from->changed;
  to->host_root += from->host_root;
  to->foreign += from->foreign;
  to->hard_links += from->hard_links;
  to->devices += from->devices;
  to->submounts += from->submounts;
  to->swapped += from->swapped;
  to->vanished += from->vanished;
  to->privilege_cleared += from->privilege_cleared;
  to->no_btime |= from->no_btime;
}

void
chown_report_free (struct chown_report *report)
{
  for (size_t i = 0; i < CHOWN_REPORT_PATHS; i++)
    {
      free (report->hard_link_paths[i]);
      free (report->submount_paths[i]);
      free (report->swapped_paths[i]);
      free (report->device_paths[i]);
    }
  memset (report, 0, sizeof *report);
}

static void
append_kind (char **out, uint64_t n, const char *what, char *const *paths)
{
  char *s = NULL;
  if (n == 0)
    return;
  if (asprintf (&s, "%s%s%llu %s", *out ? *out : "", *out ? "; " : "", (unsigned long long) n, what) < 0)
    return;
  for (size_t i = 0; paths && i < CHOWN_REPORT_PATHS && paths[i]; i++)
    {
      char *t = NULL;
      if (asprintf (&t, "%s%s%s", s, i ? ", " : " (", paths[i]) < 0)
        break;
      free (s);
      s = t;
    }
  if (paths && paths[0])
    {
      char *t = NULL;
      if (asprintf (&t, "%s%s)", s, n > CHOWN_REPORT_PATHS ? ", ..." : "") >= 0)
        {
          free (s);
          s = t;
        }
    }
  free (*out);
  *out = s;
}

char *
chown_report_leftovers (const struct chown_report *r)
{
  char *out = NULL;

  append_kind (&out, r->host_root, "owned by host root left as they are (--allow-host-root to give them away)",
               NULL);
  append_kind (&out, r->foreign,
               "shown as nobody left as they are: owned by ids outside your user namespace (only their owners "
               "or real root can change them), or by your namespace's own nobody (podman unshare chown them)",
               NULL);
  append_kind (&out, r->hard_links, "hard-linked files left as they are (--chown-hard-links to change them)",
               r->hard_link_paths);
  append_kind (&out, r->devices, "device nodes left as they are", r->device_paths);
  append_kind (&out, r->submounts, "mounts below the source not entered", r->submount_paths);
  append_kind (&out, r->swapped, "entries replaced or busy during the walk left as they are", r->swapped_paths);
  append_kind (&out, r->vanished, "entries removed during the walk", NULL);
  return out ? out : strdup ("");
}
