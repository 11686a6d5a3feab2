/* Restore by walking the source instead of opening each record by file
 * handle.  open_by_handle_at needs a capability a rootless user does not
 * have, and for root, who has it, the kernel does not check that the inode
 * is below the mount's root: a record could name any inode of the
 * filesystem (the "shocker" escape), and a non-directory has no ".." to
 * check it by.  The walk only meets entries below the source, on its one
 * mount: each, opened by fd and never through a symlink, is matched by its
 * own file handle against the journal's records.  It costs more than by
 * handle (see SECURITY.md), a price for never touching what is outside. */
#ifndef HOOK_RESTORE_WALK_H
#define HOOK_RESTORE_WALK_H

#include "journal.h"
#include "restore.h"

/* Put back what JF's records hold for the tree whose top is ROOT_FD. */
int restore_by_walk (int root_fd, const struct journal_file *jf, struct restore_report *rep, hook_error_t **err);

#endif
