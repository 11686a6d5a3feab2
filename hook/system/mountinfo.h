/* /proc/PID/mountinfo: where the runtime really put each mount.  Paths in it
 * are produced by the kernel, so they hold no symlinks and no "..". */
#ifndef HOOK_MOUNTINFO_H
#define HOOK_MOUNTINFO_H

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>

struct mountinfo_entry
{
  int id;
  int parent;
  unsigned int major, minor;
  char *root;       /* the path inside its filesystem that is mounted */
  char *mountpoint; /* relative to the reading process's root */
  char *options;    /* per-mount options: rw, nosuid, idmapped, ... */
  char *fstype;
  char *source;
};

struct mountinfo
{
  struct mountinfo_entry *entries;
  size_t n;
  char *text; /* the entries point into it */
};

int mountinfo_parse (char *text, struct mountinfo *mi, hook_error_t **err);

/* Read FD, open on a /proc/PID/mountinfo (opened by the caller, who knows
 * whose it is: see container_proc.h). */
int mountinfo_read (int fd, struct mountinfo *mi, hook_error_t **err);

void mountinfo_free (struct mountinfo *mi);
#define cleanup_mountinfo __attribute__ ((cleanup (mountinfo_free))) /* on a zeroed struct */

/* The mount on top of the stack at PATH, or NULL. */
const struct mountinfo_entry *mountinfo_find (const struct mountinfo *mi, const char *path);

/* The entry of mount id ID, or NULL. */
const struct mountinfo_entry *mountinfo_by_id (const struct mountinfo *mi, int id);

/* True if mount E lies below mount TOP: TOP is its parent, or its parent's
 * parent, and so on.  A mount is not below itself. */
bool mountinfo_is_below (const struct mountinfo *mi, const struct mountinfo_entry *e,
                         const struct mountinfo_entry *top);

/* Where the source of mount E (a bind mount, from another namespace's table)
 * is in the namespace of HOST: a mount of the same filesystem whose root
 * holds E's root, joined with the rest of E's root.  The kernel resolved
 * every symlink of the source when it was mounted, so this is its real path.
 * *OUT is a malloc'd string, or NULL if HOST shows no such mount; -1 with
 * ENOMEM in *ERR when memory runs out. */
int mountinfo_host_path (const struct mountinfo *host, const struct mountinfo_entry *e, char **out, hook_error_t **err);

/* The same source may be visible at several host paths (the filesystem's
 * own mount and every bind of a directory above it): the path through
 * HOST's I-th entry, or NULL when that entry does not show E's source.
 * Malloc'd; -1 with ENOMEM in *ERR when memory runs out. */
int mountinfo_host_path_via (const struct mountinfo *host, size_t i, const struct mountinfo_entry *e, char **out,
                             hook_error_t **err);

/* True if the comma-separated OPTIONS contain OPT. */
bool mount_option_present (const char *options, const char *opt);

#endif
