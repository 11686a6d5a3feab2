/* Which journals a restore believes.  A journal says which inodes get
 * which owner, mode bits and capabilities back, so whoever can write one
 * can make root give files of the source's filesystem any owner.  A
 * journal is read only if the user running the restore alone could have
 * written it: a regular file with one link, owned by that user and not
 * writable by group or others, in a directory of the same kind, below
 * directories in which nobody else can rename it away.  In a rootless
 * user namespace (podman unshare) that user is uid 0 there: the user's own
 * journals pass, other users' (shown as the overflow id) do not. */
#ifndef HOOK_RESTORE_TRUST_H
#define HOOK_RESTORE_TRUST_H

#include "base/error.h"
#include "journal.h"

/* Check the journal directory DIR_FD (named DIR) and every directory above it. */
int restore_trust_dir (int dir_fd, const char *dir, hook_error_t **err);

/* Open the journal NAME of the checked directory DIR_FD (PATH for
 * messages): never through a symlink, never blocking on a FIFO, only a
 * regular file.  Returns the fd, or -1. */
int restore_trust_open (int dir_fd, const char *name, const char *path, hook_error_t **err);

/* The same for a journal given by its PATH: its directory is opened and
 * checked first. */
int restore_trust_open_path (const char *path, hook_error_t **err);

/* The opened journal FD (PATH), whose header is H (NULL: read it here):
 * ids of this user namespace, owner and mode as above. */
int restore_trust_journal (int fd, const char *path, const struct journal_header *h, hook_error_t **err);

/* The same check of owner and mode, on the file alone: never reading it,
 * for a list of journals that may hold any bytes. */
int restore_trust_file (int fd, const char *path, hook_error_t **err);

/* Its ids are this namespace's: 0 of a rootless namespace is a user, 0 of
 * the initial one is root. */
int restore_trust_ids (const struct journal_header *h, const char *path, hook_error_t **err);

#endif
