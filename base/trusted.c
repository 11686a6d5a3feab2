/* See trusted.h. */
#define _GNU_SOURCE
#include "trusted.h"
#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static bool
owner_ok (uid_t uid, const struct trust_rule *rule)
{
  if (rule->also_owner && uid == *rule->also_owner)
    return true;
  switch (rule->owner)
    {
    case TRUST_OWNER_SELF:
      return uid == geteuid ();
    case TRUST_OWNER_SELF_OR_ROOT:
      return uid == geteuid () || uid == 0;
    case TRUST_ANY_OWNER:
    default:
      return true;
    }
}

static enum trust_verdict
judge (const struct stat *st, const struct trust_rule *rule)
{
  bool sticky_dir = S_ISDIR (st->st_mode) && (st->st_mode & S_ISVTX);

  if (rule->type && (st->st_mode & S_IFMT) != rule->type)
    return TRUST_WRONG_TYPE;
  if (!owner_ok (st->st_uid, rule) || ((st->st_mode & rule->forbidden) && !(rule->sticky_exempt && sticky_dir))
      || (rule->one_link && st->st_nlink != 1))
    return TRUST_NOT_OURS;
  return TRUST_OK;
}

static bool
same_inode (const struct stat *a, const struct stat *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino && (a->st_mode & S_IFMT) == (b->st_mode & S_IFMT);
}

enum trust_verdict
trusted_fd (int fd, const struct trust_rule *rule, struct stat *st)
{
  if (fstat (fd, st) < 0)
    return TRUST_STAT_FAILED;
  return judge (st, rule);
}

/* The checked O_PATH fd PFD, opened for real; -1 with *VERDICT. */
static int
reopen (int pfd, const struct trust_rule *rule, const struct stat *st, enum trust_verdict *verdict)
{
  char self[64];
  struct stat again;
  int fd;

  snprintf (self, sizeof self, "/proc/self/fd/%d", pfd);
  fd = open (self, rule->reopen_flags | O_CLOEXEC);
  if (fd < 0)
    {
      *verdict = TRUST_OPEN_FAILED;
      return -1;
    }
  if (fstat (fd, &again) < 0 || !same_inode (st, &again))
    {
      close (fd);
      *verdict = TRUST_REPLACED;
      return -1;
    }
  return fd;
}

int
trusted_open (int dir_fd, const char *name, const struct trust_rule *rule, struct stat *st, enum trust_verdict *verdict)
{
  cleanup_close int fd = -1;
  struct stat before = { 0 };

  if (rule->look_first)
    {
      if (fstatat (dir_fd, name, st, AT_SYMLINK_NOFOLLOW) < 0)
        {
          *verdict = TRUST_OPEN_FAILED;
          return -1;
        }
      if (rule->type && (st->st_mode & S_IFMT) != rule->type)
        {
          *verdict = TRUST_WRONG_TYPE;
          return -1;
        }
      before = *st;
    }
  fd = openat (dir_fd, name, rule->flags | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      *verdict = TRUST_OPEN_FAILED;
      return -1;
    }
  if (fstat (fd, st) < 0)
    *verdict = TRUST_STAT_FAILED;
  else if (rule->look_first && !same_inode (&before, st))
    *verdict = TRUST_REPLACED;
  else
    *verdict = judge (st, rule);
  if (*verdict != TRUST_OK)
    return -1;
  if (rule->flags & O_PATH)
    return reopen (fd, rule, st, verdict);
  return steal_fd (&fd);
}
