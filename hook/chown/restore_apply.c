/* Putting one journal record back on the inode it names; see
 * restore_apply.h. */
#define _GNU_SOURCE
#include "restore_apply.h"
#include "base/sha256.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define CAP_XATTR "security.capability"

/* Whether FD holds the content record R was written for.  The proof is
 * the content itself: a SHA-256 of every byte, and the size, taken by the
 * walk before the file changed hands.  Timestamps prove nothing (the
 * container, as the owner, sets mtime with utimensat; ctime is too coarse
 * on filesystems without multigrain timestamps to tell a write in the same
 * tick from none), and neither do the bits still being set (a writer with
 * CAP_FSETID keeps them).  The rare privileged files are read whole, once
 * at the walk and once (twice) here. */
static int
same_content (int fd, const struct journal_record *r, bool *same, hook_error_t **err)
{
  unsigned char d[SHA256_BYTES];
  uint64_t size;

  struct stat st;
  int big;

  *same = false;
  if (!r->has_digest)
    return 0;
  /* The size first: a file the container grew (or made sparse and huge)
   * is not read at all, and none is read past the recorded size. */
  if (fstat (fd, &st) < 0)
    return make_error (err, errno, "stat a journaled privileged file");
  if ((uint64_t) st.st_size != r->size)
    return 0;
  big = sha256_fd_max (fd, r->size, d, &size);
  if (big < 0)
    return make_error (err, errno, "read a journaled privileged file (to compare its content)");
  *same = big == 0 && size == r->size && memcmp (d, r->digest, SHA256_BYTES) == 0;
  return 0;
}

/* Take privilege off FD again: the content changed under the restore. */
static int
disarm (int fd, const struct journal_record *r, hook_error_t **err)
{
  if (fchmod (fd, r->mode & 01777) < 0)
    return make_error (err, errno, "clear the setuid/setgid bits of a journaled file");
  if (fremovexattr (fd, CAP_XATTR) < 0 && errno != ENODATA)
    return make_error (err, errno, "clear the file capabilities of a journaled file");
  return 0;
}

int
restore_apply (int fd, const struct journal_record *r, struct restore_report *rep, hook_error_t **err)
{
  struct stat st;
  bool chowned = false, changed = false, privileged = journal_record_privileged (r), rearm = true;
  uint32_t mode = r->mode & 07777;

  if (fstat (fd, &st) < 0)
    return make_error (err, errno, "stat a journaled file");
  if ((st.st_mode & S_IFMT) != (r->mode & S_IFMT))
    return 0; /* not what was journaled: leave it */
  /* The owner first: from here on, a write by anyone the container could
   * still be clears what is put back (they have no CAP_FSETID over it). */
  if (st.st_uid != r->uid || st.st_gid != r->gid)
    {
      if (fchownat (fd, "", r->uid, r->gid, AT_EMPTY_PATH) < 0)
        return make_error (err, errno, "chown inode %llu back to %u:%u", (unsigned long long) st.st_ino, r->uid,
                           r->gid);
      chowned = changed = true;
    }
  if (privileged && same_content (fd, r, &rearm, err) < 0)
    return -1;
  if (privileged && !rearm)
    {
      /* The owner comes back, the privilege does not. */
      mode &= 01777;
      rep->withheld++;
      rep->withheld_undigested += !r->has_digest;
      if (fstat (fd, &st) < 0)
        return make_error (err, errno, "stat a journaled file");
    }
  /* chown(2) has just dropped setuid/setgid and capabilities: put them back. */
  if ((S_ISREG (st.st_mode) || S_ISDIR (st.st_mode)) && ((st.st_mode & 07777) != mode || (chowned && (mode & 06000))))
    {
      if (fchmod (fd, mode) < 0)
        return make_error (err, errno, "chmod inode %llu back to %o", (unsigned long long) st.st_ino, mode);
      changed = true;
    }
  if (S_ISREG (st.st_mode) && privileged && !rearm)
    {
      if (fremovexattr (fd, CAP_XATTR) == 0)
        changed = true;
      else if (errno != ENODATA && errno != ENOTSUP)
        return make_error (err, errno, "clear the file capabilities of inode %llu", (unsigned long long) st.st_ino);
    }
  else if (r->cap_len && S_ISREG (st.st_mode))
    {
      unsigned char cur[JOURNAL_MAX_CAP];
      ssize_t n = fgetxattr (fd, CAP_XATTR, cur, sizeof cur);
      if (chowned || n != (ssize_t) r->cap_len || memcmp (cur, r->cap, r->cap_len) != 0)
        {
          if (fsetxattr (fd, CAP_XATTR, r->cap, r->cap_len, 0) < 0)
            return make_error (err, errno, "put back the file capabilities of inode %llu",
                               (unsigned long long) st.st_ino);
          changed = true;
        }
    }
  if (privileged && rearm && changed)
    {
      /* A write between the comparison and the re-arming left the bits
       * to be set on other content: compare again, now that a write
       * would clear them. */
      if (same_content (fd, r, &rearm, err) < 0)
        return -1;
      if (!rearm)
        {
          rep->withheld++;
          if (disarm (fd, r, err) < 0)
            return -1;
        }
    }
  return changed;
}
