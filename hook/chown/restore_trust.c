/* Which journals a restore believes; see restore_trust.h. */
#define _GNU_SOURCE
#include "restore_trust.h"
#include "base/cleanup.h"
#include "hook/system/rootless.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Deeper than any real path; the walk up ends at / long before. */
#define MAX_ANCESTORS 4096

#define TRUST_HINT "restore reads only journals that no one but uid %u could have written"

/* Who may own a directory above the journal's: the user, root, and in a
 * rootless namespace the overflow id, which is how host root's own
 * directories (/, /home) show there. */
static bool
trusted_owner (uid_t uid, const struct rootless *rl)
{
  return uid == geteuid () || uid == 0 || (rl->active && uid == rl->overflow_uid);
}

/* Writable by someone else: a group or others bit, without the sticky bit
 * that keeps them from renaming what they do not own. */
static bool
others_can_rename (const struct stat *st)
{
  return (st->st_mode & 022) && !(st->st_mode & S_ISVTX);
}

static int
check_ancestors (int dir_fd, const char *dir, hook_error_t **err)
{
  struct rootless rl;
  cleanup_close int cur = fcntl (dir_fd, F_DUPFD_CLOEXEC, 3);
  struct stat st, up;
  int ret = 0;

  if (cur < 0 || fstat (cur, &st) < 0)
    return make_error (err, errno, "stat the journal directory %s", dir);
  if (rootless_detect (&rl, err) < 0)
    return -1;
  for (int level = 1; ret == 0; level++)
    {
      int parent = openat (cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (parent < 0 || fstat (parent, &up) < 0)
        {
          ret = make_error (err, errno, "%s: look at the directories above it", dir);
          if (parent >= 0)
            close (parent);
          break;
        }
      close (cur);
      cur = parent;
      if (up.st_dev == st.st_dev && up.st_ino == st.st_ino)
        break; /* the root: its ".." is itself */
      if (level > MAX_ANCESTORS)
        ret = make_error (err, 0, "%s: more than %d directories above it", dir, MAX_ANCESTORS);
      else if (!trusted_owner (up.st_uid, &rl) || others_can_rename (&up))
        {
          make_error (err, 0,
                      "%s: the directory %d level%s above it (device %u:%u, inode %llu, owner uid %u, mode %04o) lets "
                      "someone else rename the journals away and put others in their place",
                      dir, level, level == 1 ? "" : "s", major (up.st_dev), minor (up.st_dev),
                      (unsigned long long) up.st_ino, (unsigned) up.st_uid, (unsigned) (up.st_mode & 07777));
          ret = error_hint (err, TRUST_HINT ": keep them below directories of root or uid %u", geteuid (),
                            geteuid ());
        }
      st = up;
    }
  rootless_free (&rl);
  return ret;
}

int
restore_trust_dir (int dir_fd, const char *dir, hook_error_t **err)
{
  struct stat st;

  if (fstat (dir_fd, &st) < 0)
    return make_error (err, errno, "stat the journal directory %s", dir);
  if (st.st_uid != geteuid () || (st.st_mode & 022))
    {
      make_error (err, 0, "journal directory %s: owned by uid %u with mode %04o, so others may have put journals in it", dir,
                  (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777));
      return error_hint (err, TRUST_HINT ": chown %u %s && chmod go-w %s, after checking what is in it", geteuid (),
                         geteuid (), dir, dir);
    }
  return check_ancestors (dir_fd, dir, err);
}

static const char *
type_name (mode_t mode)
{
  switch (mode & S_IFMT)
    {
    case S_IFLNK:
      return "a symbolic link";
    case S_IFIFO:
      return "a FIFO";
    case S_IFDIR:
      return "a directory";
    case S_IFSOCK:
      return "a socket";
    case S_IFCHR:
    case S_IFBLK:
      return "a device";
    default:
      return "not a regular file";
    }
}

static int
not_a_journal (const char *path, mode_t mode, hook_error_t **err)
{
  make_error (err, 0, "%s: not a journal: it is %s", path, type_name (mode));
  return error_hint (err, "journals are regular files that the hook writes; remove it");
}

int
restore_trust_open (int dir_fd, const char *name, const char *path, hook_error_t **err)
{
  struct stat before, st;
  cleanup_close int fd = -1;

  /* Look before opening: a device is never opened, a FIFO never waited on. */
  if (fstatat (dir_fd, name, &before, AT_SYMLINK_NOFOLLOW) < 0)
    return make_error (err, errno, "open %s", path);
  if (!S_ISREG (before.st_mode))
    return not_a_journal (path, before.st_mode, err);
  fd = openat (dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0)
    return make_error (err, errno, "open %s", path);
  if (fstat (fd, &st) < 0)
    return make_error (err, errno, "stat %s", path);
  if (!S_ISREG (st.st_mode) || st.st_dev != before.st_dev || st.st_ino != before.st_ino)
    return make_error (err, 0, "%s: replaced while it was opened", path);
  return steal_fd (&fd);
}

int
restore_trust_ids (const struct journal_header *h, const char *path, hook_error_t **err)
{
  char ids[sizeof h->hook_ids];

  if (rootless_ids (ids, sizeof ids, err) < 0)
    return error_prefix (err, "%s", path);
  if (strcmp (ids, h->hook_ids) == 0)
    return 0;
  make_error (err, 0, "%s: its ids are those of user namespace %s, and this restore runs in %s", path, h->hook_ids,
              ids);
  return error_hint (err, "restore it as the user who ran the container, in that user's namespace (podman unshare)");
}

/* Refused anyway, but a rootless user's own journal, handed to root, says
 * why best by its ids: -1 with that error, or 0 (H NULL: read it here). */
static int
foreign_ids (int fd, const char *path, const struct journal_header *h, hook_error_t **err)
{
  struct journal_file jf = { 0 };
  int ret = 0;

  if (h == NULL && journal_read (fd, path, &jf, err) == 0)
    h = &jf.h;
  error_free (err);
  if (h)
    ret = restore_trust_ids (h, path, err);
  journal_file_free (&jf);
  return ret;
}

int
restore_trust_open_path (const char *path, hook_error_t **err)
{
  cleanup_free char *d = strdup (path), *b = strdup (path);
  cleanup_close int dir_fd = -1;
  const char *dir, *name;

  if (d == NULL || b == NULL)
    return make_error (err, ENOMEM, "%s", path);
  dir = dirname (d);
  name = basename (b);
  if (strcmp (name, "/") == 0 || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return make_error (err, 0, "%s: not a journal file name", path);
  dir_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0)
    return make_error (err, errno, "open the directory of %s", path);
  if (restore_trust_dir (dir_fd, dir, err) < 0)
    {
      hook_error_t *why = NULL;
      cleanup_close int fd = restore_trust_open (dir_fd, name, path, &why);
      error_free (&why);
      if (fd >= 0 && foreign_ids (fd, path, NULL, &why) < 0)
        {
          error_free (err);
          *err = why;
          return -1;
        }
      return error_prefix (err, "%s", path);
    }
  return restore_trust_open (dir_fd, name, path, err);
}

int
restore_trust_journal (int fd, const char *path, const struct journal_header *h, hook_error_t **err)
{
  struct stat st;

  if (fstat (fd, &st) < 0)
    return make_error (err, errno, "stat %s", path);
  if (!S_ISREG (st.st_mode))
    return not_a_journal (path, st.st_mode, err);
  if (st.st_uid == geteuid () && !(st.st_mode & 022) && st.st_nlink == 1)
    return h ? restore_trust_ids (h, path, err) : 0;
  if (foreign_ids (fd, path, h, err) < 0)
    return -1;
  make_error (err, 0, "%s: owned by uid %u with mode %04o and %ju link%s, so someone else may have written it", path,
              (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777), (uintmax_t) st.st_nlink,
              st.st_nlink == 1 ? "" : "s");
  return error_hint (err, TRUST_HINT " (the hook writes them 0600, one link, in its 0700 journal directory)",
                     geteuid ());
}
