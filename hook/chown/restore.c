#define _GNU_SOURCE
#include "restore.h"
#include "base/escape.h"
#include "restore_walk.h"
#include "restore_trust.h"
#include "base/cleanup.h"
#include "journal.h"
#include "base/log.h"
#include "hook/system/mount_api.h"
#include "hook/system/privilege.h"
#include "hook/system/rootless.h"
#include "base/sha256.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define CAP_XATTR "security.capability"

static bool
same_handle (int fd, int type, const unsigned char *bytes, unsigned int n)
{
  struct journal_handle h;

  return journal_handle_of (fd, &h) == 0 && h.fh.handle_type == type
         && h.fh.handle_bytes == n && memcmp (h.fh.f_handle, bytes, n) == 0;
}

/* The journal's source directory on the host, checked to be the very
 * directory that was changed (same filesystem, same inode and generation). */
static int
open_source (const struct journal_header *h, const char *path, hook_error_t **err)
{
  cleanup_close int fd = open (h->source, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;

  if (fd < 0)
    {
      make_error (err, errno, "%s: open the source %s", path, h->source);
      return error_hint (err, "mount the volume back at %s and run the restore again", h->source);
    }
  if (fstat (fd, &st) < 0)
    return make_error (err, errno, "stat %s", h->source);
  if (major (st.st_dev) != h->major || minor (st.st_dev) != h->minor
      || !same_handle (fd, h->root_handle_type, h->root_handle, h->root_handle_bytes))
    {
      make_error (err, 0, "%s: %s is not the directory this journal was written for (device %u:%u)", path, h->source,
                  h->major, h->minor);
      return error_hint (err, "mount the volume back at %s and run the restore again", h->source);
    }
  return steal_fd (&fd);
}

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
  if ((S_ISREG (st.st_mode) || S_ISDIR (st.st_mode))
      && ((st.st_mode & 07777) != mode || (chowned && (mode & 06000))))
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

static int
restore_parsed (const struct journal_file *jf, const char *path, int mount_fd, bool new_files,
                struct restore_report *rep, hook_error_t **err)
{
  cleanup_close int own_fd = -1;

  memset (rep, 0, sizeof *rep);
  if (restore_trust_ids (&jf->h, path, err) < 0)
    return -1;
  if (mount_fd < 0)
    own_fd = open_source (&jf->h, path, err);
  else
    {
      /* The walk reads it: a real fd, not the O_PATH one of a mount copy. */
      own_fd = openat (mount_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (own_fd < 0)
        make_error (err, errno, "%s: open the source", path);
    }
  if (own_fd < 0)
    return -1;
  mount_fd = own_fd;
  /* Both walks go through a private nodev copy of the source: an entry
   * swapped for a device node between readdir and open never opens the
   * device as root. */
  cleanup_close int tree = mount_clone (mount_fd, false, err);
  if (tree < 0 || mount_set_walk_attrs (tree, err) < 0)
    return error_prefix (err, "%s: copy the mount of the source", path);
  cleanup_close int tree_dir = openat (tree, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (tree_dir < 0)
    return make_error (err, errno, "%s: open the copy of the source", path);
  /* By walking the source, never by open_by_handle_at: see restore_walk.h. */
  if (restore_by_walk (tree_dir, jf, rep, err) < 0)
    return error_prefix (err, "%s", path);
  if (new_files)
    {
      struct chown_spec spec = {
        .to_uid = jf->h.source_uid,
        .to_gid = jf->h.source_gid,
        .allow_host_root = true, /* only the target's ids change, and those are not root's */
        .only_new = true,
        .from_uid = jf->h.target_uid,
        .from_gid = jf->h.target_gid,
        .born_after = jf->h.started,
      };
      rep->new_files_walked = true;
      if (chown_walk (tree, &spec, NULL, &rep->new_files, err) < 0)
        return error_prefix (err, "%s: give the files created since to %u:%u", path, spec.to_uid, spec.to_gid);
    }
  return 0;
}

int
restore_journal (int jfd, const char *path, int mount_fd, bool new_files, struct restore_report *rep,
                 hook_error_t **err)
{
  struct journal_file jf;
  int ret;

  memset (rep, 0, sizeof *rep);
  if (journal_read (jfd, path, &jf, err) < 0)
    return -1;
  ret = restore_parsed (&jf, path, mount_fd, new_files, rep, err);
  journal_file_free (&jf);
  return ret;
}

char *
restore_summary (const struct restore_report *rep)
{
  cleanup_free char *left = chown_report_leftovers (&rep->new_files);
  cleanup_free char *withheld = NULL, *cleared = NULL;
  char *s = NULL;

  if (rep->withheld
      && asprintf (&withheld, "; %llu setuid/setgid or capability files given back without that privilege (%s)",
                   (unsigned long long) rep->withheld,
                   rep->withheld_undigested == rep->withheld ? "the journal predates content digests"
                   : rep->withheld_undigested             ? "content changed since the chown, or a journal from before "
                                                            "content digests"
                                                          : "content changed since the chown")
             < 0)
    withheld = NULL;
  if (rep->new_files.privilege_cleared
      && asprintf (&cleared, " (%llu without their setuid/setgid bits or capabilities)",
                   (unsigned long long) rep->new_files.privilege_cleared)
             < 0)
    cleared = NULL;
  if (asprintf (&s, "%llu of %llu journaled entries put back, %llu gone since%s; %llu files created since given back%s%s%s%s",
                (unsigned long long) rep->restored, (unsigned long long) rep->records,
                (unsigned long long) rep->vanished, withheld ? withheld : "",
                (unsigned long long) rep->new_files.changed, cleared ? cleared : "",
                rep->new_files.no_btime ? " (none: the filesystem records no birth times)" : "",
                left && left[0] ? "; " : "", left ? left : "")
      < 0)
    return NULL;
  return s;
}

static bool
journal_of (const char *name, const char *prefix)
{
  size_t n = strlen (name), p = strlen (prefix), suffix = sizeof ".journal" - 1;
  return n > p + suffix && strncmp (name, prefix, p) == 0 && strcmp (name + n - suffix, ".journal") == 0;
}

int
restore_container (int dir_fd, const char *dir, const char *container, bool only_poststop, hook_error_t **err)
{
  cleanup_free char *prefix = journal_file_name (container, "");
  DIR *d;
  struct dirent *e;
  int count = 0, ret = 0, fd;

  if (prefix == NULL)
    return make_error (err, ENOMEM, "journal");
  prefix[strlen (prefix) - sizeof ".journal" + 1] = '\0'; /* "ID@" */
  if (restore_trust_dir (dir_fd, dir, err) < 0)
    return -1;
  fd = fcntl (dir_fd, F_DUPFD_CLOEXEC, 3);
  if (fd < 0 || (d = fdopendir (fd)) == NULL)
    {
      if (fd >= 0)
        close (fd);
      return make_error (err, errno, "read the journal directory %s", dir);
    }
  while (ret == 0 && (e = readdir (d)) != NULL)
    {
      cleanup_free char *path = NULL;
      cleanup_close int jfd = -1;
      struct journal_file jf;
      struct restore_report rep;
      if (!journal_of (e->d_name, prefix))
        continue;
      if (asprintf (&path, "%s/%s", dir, e->d_name) < 0)
        {
          ret = make_error (err, ENOMEM, "journal");
          break;
        }
      jfd = restore_trust_open (dir_fd, e->d_name, path, err);
      if (jfd < 0 || journal_read (jfd, path, &jf, err) < 0)
        {
          ret = -1;
          break;
        }
      if (restore_trust_journal (jfd, path, &jf.h, err) < 0)
        {
          journal_file_free (&jf);
          ret = -1;
          break;
        }
      if (!only_poststop || jf.h.restore_at_poststop)
        {
          ret = restore_parsed (&jf, path, -1, true, &rep, err);
          if (ret == 0)
            {
              cleanup_free char *sum = restore_summary (&rep), *line = NULL;
              /* Privilege withheld or taken off is said even without --verbose. */
              if (rep.withheld || rep.new_files.privilege_cleared)
                {
                  if (asprintf (&line, "%s: %s: %s", jf.h.dest, path, sum ? sum : "restored") > 0)
                    log_line (line);
                }
              else
                log_verbose ("%s: %s: %s", jf.h.dest, path, sum ? sum : "restored");
              count++;
              if (only_poststop && unlinkat (dir_fd, e->d_name, 0) < 0)
                ret = make_error (err, errno, "remove %s", path);
            }
          else
            error_prefix (err, "%s", jf.h.dest);
        }
      journal_file_free (&jf);
    }
  closedir (d);
  return ret < 0 ? -1 : count;
}

static const char restore_usage[] =
  "Usage: oci-idmap-hook restore --journal FILE\n"
  "       oci-idmap-hook restore [--dir DIR] --container ID\n"
  "\n"
  "Undo what mode chown did to a mount: put back the owner, the mode bits\n"
  "and the file capabilities of every entry its journal records (found by\n"
  "its file handle in a walk of the source, whatever path it has now), then\n"
  "give the files created since the change, still owned by the container\n"
  "user, to the source's original owner, without setuid/setgid bits or\n"
  "capabilities.  Setuid, setgid and capabilities come back only to a file\n"
  "whose content is what the journal's digest recorded (never from a\n"
  "journal without digests); the summary counts the files given back\n"
  "without them.  Safe to run again; works on the journal of a hook that\n"
  "was killed in the middle.  The journal is kept.\n"
  "Only journals that no one but you could have written are read (a regular\n"
  "file of yours, one link, mode go-w, in a directory of yours that others\n"
  "cannot write).\n"
  "\n"
  "Options:\n"
  "      --journal FILE   the journal of one mount\n"
  "      --dir DIR        the journal directory (default\n"
  "                       " JOURNAL_DEFAULT_DIR "; in a rootless\n"
  "                       user namespace, as in podman unshare,\n"
  "                       ~/" ROOTLESS_JOURNAL_DIR ")\n"
  "      --container ID   every journal of this container in DIR\n"
  "  -v, --verbose        say what was done for each journal\n"
  "  -h, --help           show this help and exit\n"
  "\n"
  "Exit status: 0 when done, 1 on an error (one line on stderr), 2 on bad usage.\n";

static int
restore_usage_error (const char *what)
{
  fprintf (stderr, "%s restore: %s\nTry 'oci-idmap-hook restore --help'.\n", program_name, what);
  return 2;
}

/* The hook's own default: a rootless user's journals are in the user's
 * home (see rootless.h), whoever runs the restore there. */
static char *
default_journal_dir (hook_error_t **err)
{
  struct rootless rl;
  char *dir;

  if (rootless_detect (&rl, err) < 0)
    return NULL;
  dir = rl.active ? rootless_path (&rl, ROOTLESS_JOURNAL_DIR) : strdup (JOURNAL_DEFAULT_DIR);
  if (dir == NULL && !rl.active)
    make_error (err, ENOMEM, "journal directory");
  else if (dir == NULL)
    {
      make_error (err, 0, "no home directory in /etc/passwd for host uid %u, the user of this namespace", rl.host_uid);
      error_hint (err, "name the journal directory with --dir DIR");
    }
  rootless_free (&rl);
  return dir;
}

int
command_restore (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "journal", required_argument, NULL, 'j' }, { "dir", required_argument, NULL, 'd' },
    { "container", required_argument, NULL, 'c' }, { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },        { NULL, 0, NULL, 0 },
  };
  const char *journal = NULL, *dir = NULL, *container = NULL;
  cleanup_free char *own_dir = NULL;
  hook_error_t *err = NULL;
  int c;

  optind = 0;
  while ((c = getopt_long (argc, argv, "+vh", longopts, NULL)) != -1)
    switch (c)
      {
      case 'j':
        journal = optarg;
        break;
      case 'd':
        dir = optarg;
        break;
      case 'c':
        container = optarg;
        break;
      case 'v':
        log_verbose_enabled = true;
        break;
      case 'h':
        fputs (restore_usage, stdout);
        return 0;
      default:
        return restore_usage_error ("unknown option");
      }
  if (optind < argc)
    return restore_usage_error ("unexpected argument");
  if ((journal == NULL) == (container == NULL))
    return restore_usage_error ("give either --journal FILE or --container ID");
  /* Before any journal is read: the hook's sandbox, with what restore needs. */
  if (privilege_close_fds (-1, &err) < 0 || privilege_reduce (&err) < 0 || privilege_narrow_restore (&err) < 0)
    {
      error_prefix (&err, "sandbox");
      error_hint (&err, "run restore as root, or as a rootless user in that user's namespace (podman unshare)");
      error_report (&err);
      return 1;
    }
  if (log_verbose_enabled)
    {
      cleanup_free char *what = NULL;
      if (privilege_describe (&what, &err) == 0)
        log_verbose ("sandbox: %s", what);
      error_free (&err);
    }
  if (container && dir == NULL && (dir = own_dir = default_journal_dir (&err)) == NULL)
    {
      error_report (&err);
      return 1;
    }
  if (journal)
    {
      cleanup_close int fd = restore_trust_open_path (journal, &err);
      struct restore_report rep;
      cleanup_free char *sum = NULL;
      if (fd >= 0 && restore_trust_journal (fd, journal, NULL, &err) == 0
          && restore_journal (fd, journal, -1, true, &rep, &err) == 0)
        {
          sum = restore_summary (&rep);
          /* The summary names entries the container made: escape it. */
          cleanup_free char *line = NULL, *safe = NULL;
          if (asprintf (&line, "%s: %s", journal, sum ? sum : "restored") > 0 && (safe = text_escape (line)))
            printf ("%s\n", safe);
          return 0;
        }
    }
  else
    {
      cleanup_close int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      int n;
      if (dfd < 0)
        make_error (&err, errno, "open the journal directory %s", dir);
      else if ((n = restore_container (dfd, dir, container, false, &err)) >= 0)
        {
          if (n == 0)
            {
              make_error (&err, 0, "no journal of container %s in %s", container, dir);
              error_report (&err);
              return 1;
            }
          cleanup_free char *safe = text_escape (container);
          printf ("container %s: %d journal%s restored\n", safe ? safe : "?", n, n == 1 ? "" : "s");
          return 0;
        }
    }
  error_report (&err);
  return 1;
}
