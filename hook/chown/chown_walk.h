/* The recursive ownership change, by file descriptor only.
 *
 * Every entry is opened relative to its parent's fd as hook/system/fd_walk.h
 * opens them (never through a symlink, a magic link or into another mount),
 * checked with statx on that fd, and changed on that fd:
 * a symlink is changed itself, never followed; a directory swapped for a
 * symlink after readdir fails to open and is looked at again; a mount below
 * the root is not entered; device nodes are left alone.  Depth costs one fd
 * and a few bytes per level (no recursion, one read buffer per thread).  A non-directory changes only if one statx of
 * its name showed that very inode with a single link: an fd's own link
 * count cannot prove that (the link it was opened through may be gone).  chown(2) drops setuid/setgid bits and file
 * capabilities: they are put back right after (not with only_new: files
 * the container made get none).  With a journal, the
 * original owner, mode and capability of each entry (and the content's
 * digest of a privileged file) are appended and synced before it changes.  Parallel over a bounded queue of directory
 * fds. */
#ifndef HOOK_CHOWN_WALK_H
#define HOOK_CHOWN_WALK_H

#include "base/error.h"
#include "chown_walkers.h"
#include "hook/system/fd_walk.h"
#include "journal.h"

#include <stdbool.h>
#include <stdint.h>

struct chown_spec
{
  uint32_t to_uid, to_gid;
  bool allow_host_root; /* give away entries owned by host root */
  /* The on-disk ids that are host root's, as the policy sees them (see
   * struct mount_policy): 0:0 unless set, none under rootless podman. */
  uint32_t host_root_uid, host_root_gid;
  /* Rootless: entries owned by the overflow ids belong to ids outside the
   * namespace and are left alone. */
  bool rootless;
  uint32_t overflow_uid, overflow_gid;
  bool hard_links;      /* change non-directories with more than one link */
  unsigned int threads; /* 0: as the filesystem suits (chown_walkers.h) */
  /* Only entries born after BORN_AFTER and owned (uid or gid) by
   * FROM_UID/FROM_GID; only those ids change.  For giving files that a
   * container created back to the source's owner. */
  bool only_new;
  uint32_t from_uid, from_gid;
  int64_t born_after;
};

#define CHOWN_REPORT_PATHS 3

struct chown_report
{
  uint64_t entries, changed, host_root, foreign, hard_links, devices, submounts, swapped, vanished;
  uint64_t privilege_cleared; /* only_new: setuid/setgid/capabilities taken off */
  bool no_btime;              /* only_new, and the filesystem does not record birth times */
  /* How many walked (fewer than chosen if not all could start), and why. */
  struct chown_walkers walkers;
  /* The first few paths (relative to the root) of what was left alone. */
  char *hard_link_paths[CHOWN_REPORT_PATHS], *submount_paths[CHOWN_REPORT_PATHS];
  char *swapped_paths[CHOWN_REPORT_PATHS], *device_paths[CHOWN_REPORT_PATHS];
};

/* Walk the tree whose top directory is ROOT_FD (any fd of it, O_PATH is
 * fine).  JOURNAL may be NULL (no undo).  REPORT is filled even on error. */
int chown_walk (int root_fd, const struct chown_spec *spec, struct journal *journal, struct chown_report *report,
                hook_error_t **err);

/* hook/chown/chown_report.c */
void chown_report_free (struct chown_report *report);
#define cleanup_chown_report __attribute__ ((cleanup (chown_report_free))) /* on a zeroed struct */

/* Add FROM's counters to TO's. */
void chown_report_merge (struct chown_report *to, const struct chown_report *from);

/* "3 hard-linked files left unchanged (a/x, b/y, ...)"-style summary of what
 * was left alone, or "" when nothing was.  Returns a malloc'd string, or
 * NULL when memory runs out (an ENOMEM for the caller to report). */
char *chown_report_leftovers (const struct chown_report *report);

#endif
