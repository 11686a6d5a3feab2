/* Restore by walking the source instead of opening each record by file
 * handle: for a rootless user namespace, where open_by_handle_at needs a
 * capability the user does not have.  Each entry of the tree, opened by fd
 * and never through a symlink, is matched by its own file handle against
 * the journal's records. */
#ifndef HOOK_RESTORE_WALK_H
#define HOOK_RESTORE_WALK_H

#include "journal.h"
#include "restore.h"

/* Put back what JF's records hold for the tree whose top is ROOT_FD. */
int restore_by_walk (int root_fd, const struct journal_file *jf, struct restore_report *rep, hook_error_t **err);

/* hook/restore.c: put record R back on FD (that inode): the owner, the
 * mode, and the privilege (setuid/setgid, capability) only to the content
 * the record's digest names, else counted in REP->withheld.  Returns 1 if
 * something changed, 0 if not, -1 on error. */
int restore_apply (int fd, const struct journal_record *r, struct restore_report *rep, hook_error_t **err);

#endif
