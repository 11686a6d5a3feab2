/* Which journals a restore believes; see restore_trust.h. */
#define _GNU_SOURCE
#include "restore_trust.h"
#include "base/cleanup.h"
#include "base/trusted.h"
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

static int
check_ancestors (int dir_fd, const char *dir, hook_error_t **err)
{
  cleanup_rootless struct rootless rl = { 0 };
  cleanup_close int cur = fcntl (dir_fd, F_DUPFD_CLOEXEC, 3);
  /* Who may own a directory above the journal's: the user, root, and in a
   * rootless namespace the overflow id, which is how host root's own
   * directories (/, /home) show there.  Writable by someone else only with
   * the sticky bit, which keeps them from renaming what they do not own. */
  struct trust_rule rule = { .owner = TRUST_OWNER_SELF_OR_ROOT, .forbidden = 022, .sticky_exempt = true };
  enum trust_verdict verdict = TRUST_STAT_FAILED;
  struct stat st, up;
  int ret = 0;

  if (cur < 0 || fstat (cur, &st) < 0)
    return make_error (err, errno, "stat the journal directory '%s'", dir);
  if (rootless_detect (&rl, err) < 0)
    return -1;
  if (rl.active)
    rule.also_owner = &rl.overflow_uid;
  for (int level = 1; ret == 0; level++)
    {
      int parent = openat (cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (parent >= 0)
        verdict = trusted_fd (parent, &rule, &up);
      if (parent < 0 || verdict == TRUST_STAT_FAILED)
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
      else if (verdict != TRUST_OK)
        {
          make_error (err, 0,
                      "%s: the directory %d level%s above it (device %u:%u, inode %llu, owner uid %u, mode %04o) lets "
                      "someone else rename the journals away and put others in their place",
                      dir, level, level == 1 ? "" : "s", major (up.st_dev), minor (up.st_dev),
                      (unsigned long long) up.st_ino, (unsigned) up.st_uid, (unsigned) (up.st_mode & 07777));
          ret = error_hint (err, TRUST_HINT ": keep them below directories of root or uid %u", geteuid (), geteuid ());
        }
      st = up;
    }
  return ret;
}

int
restore_trust_dir (int dir_fd, const char *dir, hook_error_t **err)
{
  static const struct trust_rule rule = { .owner = TRUST_OWNER_SELF, .forbidden = 022 };
  struct stat st;
  enum trust_verdict verdict = trusted_fd (dir_fd, &rule, &st);

  if (verdict == TRUST_STAT_FAILED)
    return make_error (err, errno, "stat the journal directory '%s'", dir);
  if (verdict != TRUST_OK)
    {
      make_error (err, 0,
                  "journal directory '%s': owned by uid %u with mode %04o, so others may have put journals in it", dir,
                  (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777));
      return error_hint (err, TRUST_HINT ": chown %u '%s' && chmod go-w '%s', after checking what is in it", geteuid (),
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
  /* Look before opening: a device is never opened, a FIFO never waited on. */
  static const struct trust_rule rule
      = { .flags = O_RDONLY | O_NONBLOCK | O_NOCTTY, .look_first = true, .type = S_IFREG };
  struct stat st;
  enum trust_verdict verdict;
  int fd = trusted_open (dir_fd, name, &rule, &st, &verdict);

  switch (verdict)
    {
    case TRUST_OK:
      return fd;
    case TRUST_OPEN_FAILED:
      return make_error (err, errno, "open '%s'", path);
    case TRUST_STAT_FAILED:
      return make_error (err, errno, "stat '%s'", path);
    case TRUST_WRONG_TYPE:
      return not_a_journal (path, st.st_mode, err);
    case TRUST_NOT_OURS:
    case TRUST_REPLACED:
    default:
      return make_error (err, 0, "%s: replaced while it was opened", path);
    }
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
  cleanup_journal_file struct journal_file jf = { 0 };

  if (h == NULL && journal_read (fd, path, &jf, err) == 0)
    h = &jf.h;
  error_free (err);
  return h ? restore_trust_ids (h, path, err) : 0;
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
    return make_error (err, errno, "open the directory of '%s'", path);
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

/* The file alone, never read: 0 believed, 1 not written by this user
 * alone (*ST says whose), -1 with an error for anything else. */
static int
check_file (int fd, const char *path, struct stat *st, hook_error_t **err)
{
  /* Written by this user alone: the hook writes them 0600, one link. */
  static const struct trust_rule rule
      = { .type = S_IFREG, .owner = TRUST_OWNER_SELF, .forbidden = 022, .one_link = true };
  enum trust_verdict verdict = trusted_fd (fd, &rule, st);

  if (verdict == TRUST_STAT_FAILED)
    return make_error (err, errno, "stat '%s'", path);
  if (verdict == TRUST_WRONG_TYPE)
    return not_a_journal (path, st->st_mode, err);
  return verdict == TRUST_OK ? 0 : 1;
}

static int
not_ours (const char *path, const struct stat *st, hook_error_t **err)
{
  make_error (err, 0, "%s: owned by uid %u with mode %04o and %ju link%s, so someone else may have written it", path,
              (unsigned) st->st_uid, (unsigned) (st->st_mode & 07777), (uintmax_t) st->st_nlink,
              st->st_nlink == 1 ? "" : "s");
  return error_hint (err, TRUST_HINT " (the hook writes them 0600, one link, in its 0700 journal directory)",
                     geteuid ());
}

int
restore_trust_file (int fd, const char *path, hook_error_t **err)
{
  struct stat st;
  int ret = check_file (fd, path, &st, err);

  return ret == 1 ? not_ours (path, &st, err) : ret;
}

int
restore_trust_journal (int fd, const char *path, const struct journal_header *h, hook_error_t **err)
{
  struct stat st;
  int ret = check_file (fd, path, &st, err);

  if (ret < 0)
    return -1;
  if (ret == 0)
    return h ? restore_trust_ids (h, path, err) : 0;
  if (foreign_ids (fd, path, h, err) < 0)
    return -1;
  return not_ours (path, &st, err);
}
