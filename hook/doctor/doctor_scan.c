/* The read-only walk of the root filesystem: every entry is stat'ed
 * relative to its directory's fd, without following symlinks, and
 * directories are entered as the chown walk enters them (RESOLVE_WALK:
 * never through a symlink or a magic link, never into another mount). */
#define _GNU_SOURCE
#include "hook/chown/chown_walk.h"
#include "base/cleanup.h"
#include "doctor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Each level holds one directory fd. */
#define SCAN_MAX_DEPTH 256

#define STATX_FLAGS (AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC)
#define STATX_WANT (STATX_TYPE | STATX_MODE | STATX_UID | STATX_GID | STATX_MNT_ID)

struct walker
{
  struct doctor *d;
  uint64_t mnt_id;
  char path[PATH_MAX]; /* the container path of the directory being read */
  size_t len;
  int depth;
};

/* The container path of NAME in the current directory, raw (the report
 * escapes it); malloc'd. */
static char *
path_of (const struct walker *w, const char *name)
{
  char *s = NULL;
  if (asprintf (&s, "%.*s/%s", (int)w->len, w->path, name) < 0)
    abort ();
  return s;
}

/* Is on-disk ID inside MAP?  Image ids are container ids (an engine shifts
 * them on pull); host ids must come back to a container id. */
static bool
id_mapped (const struct walker *w, const struct idmap *map, uint32_t id)
{
  uint32_t unused;
  return w->d->scan.host_ids ? idmap_to_inside (map, id, &unused) : idmap_to_outside (map, id, &unused);
}

static void
check_entry (struct walker *w, const char *name, const struct statx *sx)
{
  struct doctor_scan *s = &w->d->scan;
  bool uid_ok = id_mapped (w, &w->d->ids.uids, sx->stx_uid);
  bool gid_ok = id_mapped (w, &w->d->ids.gids, sx->stx_gid);
  char **slot;

  if (!uid_ok && (slot = id_table_count (&s->uids, sx->stx_uid)))
    *slot = path_of (w, name);
  if (!gid_ok && (slot = id_table_count (&s->gids, sx->stx_gid)))
    *slot = path_of (w, name);
  /* The kernel ignores setuid/setgid bits of an unmapped owner on exec:
   * su, ping, sudo lose their privilege. */
  if (S_ISREG (sx->stx_mode)
      && (((sx->stx_mode & S_ISUID) && !uid_ok) || ((sx->stx_mode & S_ISGID) && (sx->stx_mode & S_IXGRP) && !gid_ok)))
    {
      if (s->setid_count < ID_TABLE_PATHS)
        s->setid_paths[s->setid_count] = path_of (w, name);
      s->setid_count++;
    }
}

static void walk_dir (struct walker *w, int dir_fd);

static void
enter (struct walker *w, int parent_fd, const char *name)
{
  struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
                          .resolve = RESOLVE_WALK };
  cleanup_close int fd = -1;
  struct statx sx;
  size_t saved = w->len, n = strlen (name);

  if (w->depth >= SCAN_MAX_DEPTH || w->len + 1 + n >= sizeof w->path)
    {
      w->d->scan.too_deep++;
      return;
    }
  fd = (int) syscall (SYS_openat2, parent_fd, name, &how, sizeof how);
  if (fd < 0)
    {
      if (errno == EXDEV)
        w->d->scan.other_mounts++;
      else
        w->d->scan.unreadable++;
      return;
    }
  /* Something may have been mounted there since the statx: check the fd. */
  if (statx (fd, "", AT_EMPTY_PATH | STATX_FLAGS, STATX_MNT_ID, &sx) < 0 || sx.stx_mnt_id != w->mnt_id)
    {
      w->d->scan.other_mounts++;
      return;
    }
  w->path[w->len] = '/';
  memcpy (w->path + w->len + 1, name, n);
  w->len += 1 + n;
  w->depth++;
  walk_dir (w, steal_fd (&fd));
  w->depth--;
  w->len = saved;
}

/* Takes DIR_FD. */
static void
walk_dir (struct walker *w, int dir_fd)
{
  DIR *dir = fdopendir (dir_fd);
  struct dirent *de;

  if (dir == NULL)
    {
      close (dir_fd);
      w->d->scan.unreadable++;
      return;
    }
  while ((de = readdir (dir)) != NULL)
    {
      struct statx sx;
      if (de->d_name[0] == '.' && (de->d_name[1] == '\0' || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
        continue;
      if (statx (dir_fd, de->d_name, STATX_FLAGS, STATX_WANT, &sx) < 0)
        {
          w->d->scan.unreadable++;
          continue;
        }
      w->d->scan.files++;
      check_entry (w, de->d_name, &sx);
      if (!S_ISDIR (sx.stx_mode))
        continue;
      if (sx.stx_mnt_id != w->mnt_id)
        w->d->scan.other_mounts++;
      else
        enter (w, dir_fd, de->d_name);
    }
  closedir (dir);
}

static void
report_table (struct doctor *d, const struct id_table *t, const char *kind, const char *map_text)
{
  bool image = !d->scan.host_ids;

  for (size_t i = 0; i < t->n; i++)
    {
      const struct id_group *g = &t->groups[i];
      doctor_problem (d, !image, "rootfs",
                      image ? "chown those files to an id inside the mapping in the image, or widen the mapping"
                            : "chown those files to a host id of the mapping, or widen the mapping",
                      "%llu file%s owned by %s %u, outside the mapping %s%s, e.g. %s", (unsigned long long)g->count,
                      g->count == 1 ? "" : "s", kind, g->id, map_text,
                      image ? ": pulling or starting it under a remapping engine fails"
                            : ": they show as nobody in the container",
                      g->paths[0]);
    }
  if (t->other_files)
    doctor_problem (d, !image, "rootfs", NULL, "%llu more files owned by other %ss outside the mapping",
                    (unsigned long long)t->other_files, kind);
}

void
doctor_scan_rootfs (struct doctor *d, int root_fd)
{
  struct walker w = { .d = d };
  struct statx sx;
  uint32_t inside;
  char map_text[256];

  if (statx (root_fd, "", AT_EMPTY_PATH | STATX_FLAGS, STATX_WANT, &sx) < 0)
    {
      d->scan.error = strdup (strerror (errno));
      return;
    }
  w.mnt_id = sx.stx_mnt_id;
  /* A rootfs whose top belongs to the container's root on the host was
   * shifted already (Docker userns-remap, podman with --uidmap): its ids are
   * host ids.  Otherwise they are the image's ids, which an engine shifts. */
  d->scan.host_ids = sx.stx_uid != 0 && idmap_to_inside (&d->ids.uids, sx.stx_uid, &inside) && inside == 0;
  walk_dir (&w, fcntl (root_fd, F_DUPFD_CLOEXEC, 3));
  d->scan.done = true;

  idmap_describe (&d->ids.uids, map_text, sizeof map_text);
  report_table (d, &d->scan.uids, "uid", map_text);
  idmap_describe (&d->ids.gids, map_text, sizeof map_text);
  report_table (d, &d->scan.gids, "gid", map_text);
  if (d->scan.setid_count)
    doctor_problem (d, true, "rootfs", "chown them to an id inside the mapping",
                    "%llu setuid or setgid file%s owned by an id that shows as nobody: they run without their "
                    "privilege, e.g. %s",
                    (unsigned long long)d->scan.setid_count, d->scan.setid_count == 1 ? "" : "s",
                    d->scan.setid_paths[0]);
}
