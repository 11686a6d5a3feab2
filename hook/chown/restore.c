#define _GNU_SOURCE
#include "restore.h"
#include "base/cleanup.h"
#include "base/log.h"
#include "base/str.h"
#include "hook/system/mount_api.h"
#include "journal.h"
#include "restore_trust.h"
#include "restore_walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static bool
same_handle (int fd, int type, const unsigned char *bytes, unsigned int n)
{
  struct journal_handle h;

  return journal_handle_of (fd, &h) == 0 && h.fh.handle_type == type && h.fh.handle_bytes == n
         && memcmp (h.fh.f_handle, bytes, n) == 0;
}

int
restore_open_source (const struct journal_header *h, const char *path, hook_error_t **err)
{
  cleanup_close int fd = open (h->source, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;

  if (fd < 0)
    {
      make_error (err, errno, "%s: open the source '%s'", path, h->source);
      return error_hint (err, "mount the volume back at '%s' and run the restore again", h->source);
    }
  if (fstat (fd, &st) < 0)
    return make_error (err, errno, "stat '%s'", h->source);
  if (major (st.st_dev) != h->major || minor (st.st_dev) != h->minor
      || !same_handle (fd, h->root_handle_type, h->root_handle, h->root_handle_bytes))
    {
      make_error (err, 0, "%s: '%s' is not the directory this journal was written for (device %u:%u)", path, h->source,
                  h->major, h->minor);
      return error_hint (err, "mount the volume back at '%s' and run the restore again", h->source);
    }
  return steal_fd (&fd);
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
    own_fd = restore_open_source (&jf->h, path, err);
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
  cleanup_journal_file struct journal_file jf = { 0 };

  memset (rep, 0, sizeof *rep);
  if (journal_read (jfd, path, &jf, err) < 0)
    return -1;
  return restore_parsed (&jf, path, mount_fd, new_files, rep, err);
}

void
restore_report_free (struct restore_report *rep)
{
  chown_report_free (&rep->new_files);
}

char *
restore_summary (const struct restore_report *rep)
{
  cleanup_free char *left = chown_report_leftovers (&rep->new_files);
  cleanup_free char *withheld = NULL, *cleared = NULL;
  char *s = NULL;

  if (left == NULL)
    return NULL;
  if (rep->withheld
      && asprintf (&withheld, "; %llu setuid/setgid or capability files given back without that privilege (%s)",
                   (unsigned long long) rep->withheld,
                   rep->withheld_undigested == rep->withheld ? "the journal predates content digests"
                   : rep->withheld_undigested ? "content changed since the chown, or a journal from before "
                                                "content digests"
                                              : "content changed since the chown")
             < 0)
    return NULL;
  if (rep->new_files.privilege_cleared
      && asprintf (&cleared, " (%llu without their setuid/setgid bits or capabilities)",
                   (unsigned long long) rep->new_files.privilege_cleared)
             < 0)
    return NULL;
  if (asprintf (
          &s, "%llu of %llu journaled entries put back, %llu gone since%s; %llu files created since given back%s%s%s%s",
          (unsigned long long) rep->restored, (unsigned long long) rep->records, (unsigned long long) rep->vanished,
          withheld ? withheld : "", (unsigned long long) rep->new_files.changed, cleared ? cleared : "",
          rep->new_files.no_btime ? " (none: the filesystem records no birth times)" : "", left[0] ? "; " : "", left)
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
      return make_error (err, errno, "read the journal directory '%s'", dir);
    }
  rewinddir (d); /* the dup shares DIR_FD's offset, which a listing may have left at the end */
  while (ret == 0 && (e = readdir (d)) != NULL)
    {
      cleanup_free char *path = NULL;
      cleanup_close int jfd = -1;
      cleanup_journal_file struct journal_file jf = { 0 };
      cleanup_restore_report struct restore_report rep = { 0 };
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
          ret = -1;
          break;
        }
      if (!only_poststop || jf.h.restore_at_poststop)
        {
          ret = restore_parsed (&jf, path, -1, true, &rep, err);
          if (ret == 0)
            {
              cleanup_free char *sum = restore_summary (&rep);
              if (sum == NULL)
                ret = make_error (err, ENOMEM, "%s: report the restore of '%s'", jf.h.dest, path);
              /* Privilege withheld or taken off is said even without --verbose. */
              else if (rep.withheld || rep.new_files.privilege_cleared)
                log_linef ("%s: %s: %s", jf.h.dest, path, sum);
              else
                log_verbose ("%s: %s: %s", jf.h.dest, path, sum);
              count++;
              if (only_poststop && unlinkat (dir_fd, e->d_name, 0) < 0)
                ret = make_error (err, errno, "remove '%s'", path);
            }
          else
            error_prefix (err, "%s", jf.h.dest);
        }
    }
  closedir (d);
  return ret < 0 ? -1 : count;
}
