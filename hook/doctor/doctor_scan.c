/* The read-only walk of the root filesystem: every entry is stat'ed
 * relative to its directory's fd, without following symlinks, and
 * directories are entered by the one walk of hook/system/fd_walk.h (never
 * through a symlink or a magic link, never out of the rootfs, never into
 * another mount). */
#define _GNU_SOURCE
#include "doctor.h"
#include "hook/system/fd_walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Each level holds one directory fd. */
#define SCAN_MAX_DEPTH 256

#define STATX_FLAGS (AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC)
#define STATX_WANT (STATX_TYPE | STATX_MODE | STATX_UID | STATX_GID | STATX_MNT_ID)

struct walker
{
  struct doctor *d;
  /* The container path of the directory being read: the first LEN[DEPTH]
   * bytes of PATH (a directory entered writes its name after its parent's). */
  char path[PATH_MAX];
  size_t len[SCAN_MAX_DEPTH + 1];
  size_t depth;
};

/* The container path of NAME in the current directory, raw (the report
 * escapes it); malloc'd. */
static char *
path_of (const struct walker *w, const char *name)
{
  char *s = NULL;
  if (asprintf (&s, "%.*s/%s", (int) w->len[w->depth], w->path, name) < 0)
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

/* Enter directory NAME of PARENT_FD (at the walker's depth). */
static void
enter (struct walker *w, struct fd_walk *fw, int parent_fd, const char *name)
{
  size_t len = w->len[w->depth], n = strlen (name);
  int fd, entered;

  if (w->depth >= SCAN_MAX_DEPTH || len + 1 + n >= sizeof w->path)
    {
      w->d->scan.too_deep++;
      return;
    }
  fd = walk_open (parent_fd, name, WALK_OPEN_DIR);
  if (fd < 0)
    {
      if (errno == EXDEV)
        w->d->scan.other_mounts++;
      else
        w->d->scan.unreadable++;
      return;
    }
  entered = fd_walk_enter (fw, fd, NULL, NULL);
  if (entered <= 0)
    {
      if (entered == 0)
        w->d->scan.other_mounts++;
      else
        w->d->scan.unreadable++;
      return;
    }
  w->path[len] = '/';
  memcpy (w->path + len + 1, name, n);
  w->len[w->depth + 1] = len + 1 + n;
}

static int
scan_entry (void *ctx, struct fd_walk *fw, int dir_fd, void *dir_data, size_t depth, const struct dirent64 *de)
{
  struct walker *w = ctx;
  struct statx sx;

  (void) dir_data;
  w->depth = depth;
  if (statx (dir_fd, de->d_name, STATX_FLAGS, STATX_WANT, &sx) < 0)
    {
      w->d->scan.unreadable++;
      return 0;
    }
  w->d->scan.files++;
  check_entry (w, de->d_name, &sx);
  if (!S_ISDIR (sx.stx_mode))
    return 0;
  if (sx.stx_mnt_id != fw->mnt_id)
    w->d->scan.other_mounts++;
  else
    enter (w, fw, dir_fd, de->d_name);
  return 0;
}

/* A directory that cannot be read on is left, and the scan goes on (as
 * readdir's end did before the scan had its own reads: not counted). */
static int
scan_read_error (void *ctx, void *dir_data, int errnum, bool resuming)
{
  (void) ctx;
  (void) dir_data;
  (void) errnum;
  (void) resuming;
  return 0;
}

static const struct fd_walk_ops scan_ops = { .entry = scan_entry, .read_error = scan_read_error };

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
                      "%llu file%s owned by %s %u, outside the mapping %s%s, e.g. %s", (unsigned long long) g->count,
                      g->count == 1 ? "" : "s", kind, g->id, map_text,
                      image ? ": pulling or starting it under a remapping engine fails"
                            : ": they show as nobody in the container",
                      g->paths[0]);
    }
  if (t->other_files)
    doctor_problem (d, !image, "rootfs", NULL, "%llu more files owned by other %ss outside the mapping",
                    (unsigned long long) t->other_files, kind);
}

void
doctor_scan_rootfs (struct doctor *d, int root_fd)
{
  struct walker w = { .d = d };
  const char *failed;
  struct statx sx;
  uint32_t inside;
  char map_text[256];

  if (statx (root_fd, "", AT_EMPTY_PATH | STATX_FLAGS, STATX_WANT, &sx) < 0)
    {
      d->scan.error = strdup (strerror (errno));
      return;
    }
  /* A rootfs whose top belongs to the container's root on the host was
   * shifted already (Docker userns-remap, podman with --uidmap): its ids are
   * host ids.  Otherwise they are the image's ids, which an engine shifts. */
  d->scan.host_ids = sx.stx_uid != 0 && idmap_to_inside (&d->ids.uids, sx.stx_uid, &inside) && inside == 0;
  if (fd_walk_tree (root_fd, &scan_ops, &w, &failed) < 0 && failed)
    {
      d->scan.error = strdup (strerror (errno));
      return;
    }
  d->scan.done = true;

  idmap_describe (&d->ids.uids, map_text, sizeof map_text);
  report_table (d, &d->scan.uids, "uid", map_text);
  idmap_describe (&d->ids.gids, map_text, sizeof map_text);
  report_table (d, &d->scan.gids, "gid", map_text);
  if (d->scan.setid_count)
    doctor_problem (d, true, "rootfs", "chown them to an id inside the mapping",
                    "%llu setuid or setgid file%s owned by an id that shows as nobody: they run without their "
                    "privilege, e.g. %s",
                    (unsigned long long) d->scan.setid_count, d->scan.setid_count == 1 ? "" : "s",
                    d->scan.setid_paths[0]);
}
