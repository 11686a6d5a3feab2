/* The chown journal's files: the trusted directory, reading one whole, creating
 * or reopening one, appends made durable by a thread that syncs them while
 * the walk goes on.  Their formats are journal_format.c's. */
#define _GNU_SOURCE
#include "journal.h"
#include "base/cleanup.h"
#include "base/io.h"
#include "base/trusted.h"
#include "oci/json.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Journals of millions of files are tens of MiB; refuse anything absurd. */
#define JOURNAL_MAX_BYTES ((size_t) 4 << 30)

int
journal_dir_open (const char *dir, hook_error_t **err)
{
  static const struct trust_rule rule
      = { .flags = O_RDONLY | O_DIRECTORY, .type = S_IFDIR, .owner = TRUST_OWNER_SELF, .forbidden = 022 };
  cleanup_free char *copy = strdup (dir);
  enum trust_verdict verdict;
  struct stat st;
  int fd;

  if (copy == NULL)
    return make_error (err, ENOMEM, "%s", dir);
  if (dir[0] != '/')
    return make_error (err, 0, "journal directory '%s': not an absolute path", dir);
  /* mkdir -p; only the last component gets 0700, the rest 0755. */
  for (char *p = copy + 1; *p; p++)
    if (*p == '/')
      {
        *p = '\0';
        if (mkdir (copy, 0755) < 0 && errno != EEXIST)
          return make_error (err, errno, "create the journal directory '%s'", copy);
        *p = '/';
      }
  if (mkdir (copy, 0700) < 0 && errno != EEXIST)
    return make_error (err, errno, "create the journal directory '%s'", dir);
  fd = trusted_open (AT_FDCWD, dir, &rule, &st, &verdict);
  if (fd < 0 && verdict == TRUST_OPEN_FAILED)
    return make_error (err, errno, "open the journal directory '%s'", dir);
  if (fd < 0)
    {
      make_error (err, 0, "journal directory '%s' must be owned by the hook's user and not writable by others", dir);
      return error_hint (err, "chown root '%s' && chmod 0700 '%s'", dir, dir);
    }
  return fd;
}

/* From the start, whatever the fd's offset: a journal being written is read
 * back through the same fd to undo a failed walk. */
static int
read_whole (int fd, const char *path, unsigned char **out, size_t *len, hook_error_t **err)
{
  struct stat st;

  if (fstat (fd, &st) < 0)
    return make_error (err, errno, "stat '%s'", path);
  if (!S_ISREG (st.st_mode))
    return make_error (err, 0, "%s: not a journal (not a regular file)", path);
  if (lseek (fd, 0, SEEK_SET) < 0)
    return make_error (err, errno, "seek '%s'", path);
  return read_all_capped (fd, JOURNAL_MAX_BYTES, path, (char **) out, len, err);
}

int
journal_read (int fd, const char *path, struct journal_file *jf, hook_error_t **err)
{
  memset (jf, 0, sizeof *jf);
  if (read_whole (fd, path, &jf->data, &jf->len, err) < 0)
    return -1;
  if (journal_header_parse ((const char *) jf->data, jf->len, &jf->h, &jf->body, err) < 0)
    {
      journal_file_free (jf);
      return error_prefix (err, "%s", path);
    }
  return 0;
}

void
journal_file_free (struct journal_file *jf)
{
  free (jf->data);
  jf->data = NULL;
}

/* The length of the valid part: the header and every whole record. */
static int
valid_length (const struct journal_file *jf, size_t *out, hook_error_t **err)
{
  size_t pos = jf->body;
  struct journal_record r;
  long n;

  while ((n = journal_record_decode (jf->data + pos, jf->len - pos, &r)) > 0)
    pos += (size_t) n;
  if (n < 0)
    return make_error (err, 0, "malformed record at offset %zu", pos);
  *out = pos;
  return 0;
}

static bool
same_tree (const struct journal_header *a, const struct journal_header *b)
{
  return a->major == b->major && a->minor == b->minor && a->root_handle_type == b->root_handle_type
         && a->root_handle_bytes == b->root_handle_bytes
         && memcmp (a->root_handle, b->root_handle, a->root_handle_bytes) == 0 && a->target_uid == b->target_uid
         && a->target_gid == b->target_gid;
}

/* A journal left by a killed run of the same container: keep its records
 * (they hold the original owners) and append after the last whole one.
 * Returns 1 when its header was cut short: nothing changed before the
 * header was synced, so it is removed and written again. */
static int
reopen_existing (int dir_fd, const char *path, const char *name, const struct journal_header *h, int *out,
                 hook_error_t **err)
{
  cleanup_close int fd = openat (dir_fd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  cleanup_journal_file struct journal_file old = { 0 };
  size_t valid = 0;
  int ret = 0;

  if (fd < 0)
    return make_error (err, errno, "open '%s'", path);
  if (read_whole (fd, path, &old.data, &old.len, err) < 0)
    return -1;
  if (memmem (old.data, old.len, "\n\n", 2) == NULL)
    {
      if (unlinkat (dir_fd, name, 0) < 0)
        return make_error (err, errno, "remove '%s'", path);
      return 1;
    }
  if (journal_header_parse ((const char *) old.data, old.len, &old.h, &old.body, err) < 0)
    return error_prefix (err, "%s", path);
  if (!same_tree (&old.h, h))
    {
      make_error (err, 0, "'%s' exists and describes another change of this mount", path);
      ret = error_hint (err, "undo it first: oci-idmap-hook restore --journal '%s'", path);
    }
  else if (valid_length (&old, &valid, err) < 0)
    ret = error_prefix (err, "%s", path);
  else if (ftruncate (fd, (off_t) valid) < 0 || lseek (fd, 0, SEEK_END) < 0)
    ret = make_error (err, errno, "truncate '%s'", path);
  if (ret == 0)
    *out = steal_fd (&fd);
  return ret;
}

static int
write_journal (int fd, const void *buf, size_t len, const char *path, hook_error_t **err)
{
  if (write_all (fd, buf, len) == 0)
    return 0;
  make_error (err, errno, "write the journal '%s'", path);
  if (errno == ENOSPC || errno == EDQUOT)
    error_hint (err, "free space there or pass --journal-dir DIR on another filesystem");
  return -1;
}

int
journal_create (int dir_fd, const char *dir, const char *name, const struct journal_header *h, struct journal *j,
                hook_error_t **err)
{
  cleanup_free char *text = NULL;
  int fd;

  j->fd = -1;
  j->records = 0;
  j->reopened = false;
  if (asprintf (&j->path, "%s/%s", dir, name) < 0)
    {
      j->path = NULL;
      return make_error (err, ENOMEM, "journal");
    }
  pthread_mutex_init (&j->lock, NULL);
  pthread_cond_init (&j->synced_cond, NULL);
  pthread_cond_init (&j->appended_cond, NULL);
  j->appends = j->synced = 0;
  j->syncing = j->syncer = j->syncer_stop = j->syncer_started = false;
  j->sync_errno = 0;
  if (strchr (h->source, '\n') || strchr (h->dest, '\n') || strchr (h->container, '\n'))
    return make_error (err, 0, "%s: a newline in the source path or the container id", j->path);
  fd = openat (dir_fd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST)
    {
      int r = reopen_existing (dir_fd, j->path, name, h, &j->fd, err);
      if (r < 0)
        return -1;
      j->reopened = r == 0;
      if (r == 0)
        return 0;
      fd = openat (dir_fd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    }
  if (fd < 0)
    return make_error (err, errno, "create the journal '%s'", j->path);
  j->fd = fd;
  text = journal_header_format (h);
  if (text == NULL)
    return make_error (err, ENOMEM, "journal header");
  if (write_journal (fd, text, strlen (text), j->path, err) < 0)
    return -1;
  /* The file's name must be durable too, or a crash loses the journal. */
  if (fdatasync (fd) < 0 || fsync (dir_fd) < 0)
    return make_error (err, errno, "sync the journal '%s'", j->path);
  return 0;
}

int
journal_handle_of (int fd, struct journal_handle *h)
{
  int mnt;

  h->fh.handle_bytes = JOURNAL_MAX_HANDLE;
  return name_to_handle_at (fd, "", &h->fh, &mnt, AT_EMPTY_PATH);
}

int
journal_write (struct journal *j, const void *buf, size_t len, size_t n_records, uint64_t *ticket, hook_error_t **err)
{
  int ret = 0;

  pthread_mutex_lock (&j->lock);
  if (len > 0)
    ret = write_journal (j->fd, buf, len, j->path, err);
  if (ret == 0 && len > 0)
    {
      j->records += n_records;
      j->appends++;
      pthread_cond_signal (&j->appended_cond);
    }
  *ticket = j->appends;
  pthread_mutex_unlock (&j->lock);
  return ret;
}

/* One fdatasync covering every append so far; called and returns with the
 * lock held. */
static void
sync_now (struct journal *j)
{
  uint64_t upto = j->appends;
  int r;

  j->syncing = true;
  pthread_mutex_unlock (&j->lock);
  r = fdatasync (j->fd);
  pthread_mutex_lock (&j->lock);
  j->syncing = false;
  if (r < 0 && j->sync_errno == 0)
    j->sync_errno = errno;
  else if (r == 0)
    j->synced = upto;
  pthread_cond_broadcast (&j->synced_cond);
}

int
journal_wait (struct journal *j, uint64_t ticket, hook_error_t **err)
{
  int errnum;

  pthread_mutex_lock (&j->lock);
  while (j->synced < ticket && j->sync_errno == 0)
    {
      if (j->syncing || j->syncer)
        {
          j->waiting++;
          pthread_cond_signal (&j->appended_cond);
          pthread_cond_wait (&j->synced_cond, &j->lock);
          j->waiting--;
        }
      else
        sync_now (j);
    }
  errnum = j->synced < ticket ? j->sync_errno : 0;
  pthread_mutex_unlock (&j->lock);
  return errnum ? make_error (err, errnum, "sync the journal '%s'", j->path) : 0;
}

static void *
syncer_main (void *arg)
{
  struct journal *j = arg;

  pthread_mutex_lock (&j->lock);
  while (!j->syncer_stop && j->sync_errno == 0)
    {
      /* Each sync also commits the tree's changes so far (on the same
       * filesystem): wait for a few appends, unless someone waits. */
      if (j->synced < j->appends && !j->syncing && (j->appends - j->synced >= j->sync_every || j->waiting))
        sync_now (j);
      else
        pthread_cond_wait (&j->appended_cond, &j->lock);
    }
  /* Waiters sync themselves from now on. */
  j->syncer = false;
  pthread_cond_broadcast (&j->synced_cond);
  pthread_mutex_unlock (&j->lock);
  return NULL;
}

int
journal_syncer_start (struct journal *j, unsigned int every, hook_error_t **err)
{
  int r;

  pthread_mutex_lock (&j->lock);
  j->sync_every = every ? every : 1;
  j->waiting = 0;
  j->syncer = true;
  j->syncer_stop = false;
  pthread_mutex_unlock (&j->lock);
  r = pthread_create (&j->syncer_tid, NULL, syncer_main, j);
  j->syncer_started = r == 0;
  if (r != 0)
    {
      j->syncer = false;
      return make_error (err, r, "start the journal's sync thread");
    }
  return 0;
}

void
journal_syncer_stop (struct journal *j)
{
  if (!j->syncer_started)
    return;
  pthread_mutex_lock (&j->lock);
  j->syncer_stop = true;
  pthread_cond_signal (&j->appended_cond);
  pthread_mutex_unlock (&j->lock);
  pthread_join (j->syncer_tid, NULL);
  j->syncer_started = false;
}

void
journal_close (struct journal *j)
{
  if (j->fd >= 0)
    close (j->fd);
  j->fd = -1;
  if (j->path)
    {
      pthread_mutex_destroy (&j->lock);
      pthread_cond_destroy (&j->synced_cond);
      pthread_cond_destroy (&j->appended_cond);
    }
  free (j->path);
  j->path = NULL;
}
