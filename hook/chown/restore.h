/* Undoing a chown from its journal: `oci-idmap-hook restore`, the
 * poststop stage of mode chown+restore, and the roll-back of a failed walk. */
#ifndef HOOK_RESTORE_H
#define HOOK_RESTORE_H

#include "base/error.h"
#include "chown_walk.h"
#include "journal.h"

#include <stdbool.h>
#include <stdint.h>

struct restore_report
{
  uint64_t records, restored, vanished;
  /* Privileged files (setuid, setgid, capability) given back their owner
   * without the privilege: content changed since the walk, or (undigested)
   * a journal from before content digests. */
  uint64_t withheld, withheld_undigested;
  bool new_files_walked;
  struct chown_report new_files; /* entries created after the chown */
};

/* Put back the owner, mode and capability that each record of the journal
 * JFD (named PATH) holds, by file handle; idempotent.  MOUNT_FD is the
 * journal's source directory (an fd of it), or -1 to open the source path
 * of the header and check that it is the same directory.  With NEW_FILES,
 * entries born after the chown and owned by its target ids are then given
 * to the source's original owner. */
int restore_journal (int jfd, const char *path, int mount_fd, bool new_files, struct restore_report *rep,
                     hook_error_t **err);

/* The journal's source directory on the host (H's source, PATH the
 * journal for messages), checked to be the very directory that was
 * changed: same filesystem, same inode and generation.  Only opens it.
 * Returns the fd, or -1 (errno ENOENT when the source is gone). */
int restore_open_source (const struct journal_header *h, const char *path, hook_error_t **err);

/* Restore every journal of CONTAINER in DIR_FD (named DIR), and remove
 * each once restored.  With ONLY_POSTSTOP, only those of mode
 * chown+restore.  Returns the number restored, or -1. */
int restore_container (int dir_fd, const char *dir, const char *container, bool only_poststop, hook_error_t **err);

void restore_report_free (struct restore_report *rep);
#define cleanup_restore_report __attribute__ ((cleanup (restore_report_free))) /* on a zeroed struct */

/* A one-line summary of REP for messages; malloc'd. */
char *restore_summary (const struct restore_report *rep);

#endif
