/* Undoing a chown from its journal: `oci-idmap-hook restore`, the
 * poststop stage of mode chown+restore, and the roll-back of a failed walk. */
#ifndef HOOK_RESTORE_H
#define HOOK_RESTORE_H

#include "chown_walk.h"
#include "base/error.h"

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

/* Restore every journal of CONTAINER in DIR_FD (named DIR), and remove
 * each once restored.  With ONLY_POSTSTOP, only those of mode
 * chown+restore.  Returns the number restored, or -1. */
int restore_container (int dir_fd, const char *dir, const char *container, bool only_poststop, hook_error_t **err);

/* A one-line summary of REP for messages; malloc'd. */
char *restore_summary (const struct restore_report *rep);

/* oci-idmap-hook restore ... */
int command_restore (int argc, char **argv);

#endif
