/* Putting one journal record back on the inode it names: the owner, the
 * mode, and the privilege only to the content the record proves.  Used by
 * restore's walk (restore_walk.c) for every entry it matches. */
#ifndef HOOK_RESTORE_APPLY_H
#define HOOK_RESTORE_APPLY_H

#include "journal.h"
#include "restore.h"

/* Put record R back on FD (that inode): the owner, the mode, and the
 * privilege (setuid/setgid, capability) only to the content the record's
 * digest names, else counted in REP->withheld.  Returns 1 if something
 * changed, 0 if not, -1 on error. */
int restore_apply (int fd, const struct journal_record *r, struct restore_report *rep, hook_error_t **err);

#endif
