/* One rule for believing a file that is already there (a log file, the
 * policy, the journal directory, a journal): opened without following a
 * symlink, looked at with fstat, and accepted only if its type, owner,
 * mode bits and link count say nobody else could have put it there or
 * changed it.  What to say when it is refused is the caller's: this says
 * which check failed, with the stat of what was found. */
#ifndef HOOK_TRUSTED_H
#define HOOK_TRUSTED_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

enum trust_owner
{
  TRUST_ANY_OWNER,  /* the caller looks at the owner itself, later */
  TRUST_OWNER_SELF, /* the effective uid */
  TRUST_OWNER_SELF_OR_ROOT,
};

struct trust_rule
{
  /* trusted_open only: how NAME is opened (O_NOFOLLOW | O_CLOEXEC are
   * always added).  O_PATH looks without opening: no FIFO waited on, no
   * lease broken, no device opened. */
  int flags;
  /* With O_PATH: once it passes, opened again with these through
   * /proc/self/fd, and refused unless that is the same inode. */
  int reopen_flags;
  /* trusted_open only: fstatat first, so that a wrong type is never opened
   * at all; the open must then find the same inode. */
  bool look_first;
  mode_t type; /* S_IFREG or S_IFDIR; 0 takes any */
  enum trust_owner owner;
  const uid_t *also_owner; /* one more uid that may own it (NULL: none) */
  mode_t forbidden;        /* mode bits that let someone else change it (022) */
  bool sticky_exempt;      /* ... which a sticky directory may have */
  bool one_link;           /* a second link could be someone else's name for it */
};

enum trust_verdict
{
  TRUST_OK,
  TRUST_OPEN_FAILED, /* errno says why (ENOENT: it is not there) */
  TRUST_STAT_FAILED, /* errno says why */
  TRUST_WRONG_TYPE,  /* ST says what it is */
  TRUST_NOT_OURS,    /* owner, mode bits or links: ST has them */
  TRUST_REPLACED,    /* another inode between the look and the open, or the reopen */
};

/* Open NAME (relative to DIR_FD, or AT_FDCWD) by RULE and check it.  The
 * fd, or -1 with *VERDICT saying why; *ST is what was found (as far as it
 * was looked at). */
int trusted_open (int dir_fd, const char *name, const struct trust_rule *rule, struct stat *st,
                  enum trust_verdict *verdict);

/* Check the open FD by RULE's type, owner, mode and link rules. */
enum trust_verdict trusted_fd (int fd, const struct trust_rule *rule, struct stat *st);

#endif
