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

#define JOURNAL_MAGIC "oci-idmap-hook journal 1\n"

/* Journals of millions of files are tens of MiB; refuse anything absurd. */
#define JOURNAL_MAX_BYTES ((size_t) 4 << 30)

static bool
plain_char (unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* Append S escaped to OUT (when not NULL); returns the bytes it takes.
 * One rule for both the size and the bytes, so that they cannot disagree. */
static size_t
escape_part (const char *s, char *out)
{
  size_t n = 0;

  for (; *s; s++)
    if (plain_char ((unsigned char) *s))
      {
        if (out)
          out[n] = *s;
        n++;
      }
    else
      {
        if (out)
          snprintf (out + n, 4, "%%%02X", (unsigned char) *s);
        n += 3;
      }
  return n;
}

char *
journal_file_name (const char *container, const char *dest)
{
  size_t c = escape_part (container, NULL), d = escape_part (dest, NULL);
  char *name = malloc (c + d + sizeof "@.journal");

  if (name == NULL)
    return NULL;
  escape_part (container, name);
  name[c] = '@';
  escape_part (dest, name + c + 1);
  strcpy (name + c + 1 + d, ".journal");
  return name;
}

static void
hex_encode (const unsigned char *in, size_t n, char *out)
{
  for (size_t i = 0; i < n; i++)
    sprintf (out + 2 * i, "%02x", in[i]);
  out[2 * n] = '\0';
}

char *
journal_header_format (const struct journal_header *h)
{
  char handle[2 * JOURNAL_MAX_HANDLE + 1];
  char *text = NULL;

  hex_encode (h->root_handle, h->root_handle_bytes, handle);
  if (asprintf (&text,
                JOURNAL_MAGIC "container %s\ndestination %s\nsource %s\ndevice %u:%u\nroot-handle %d %s\n"
                              "target %" PRIu32 ":%" PRIu32 "\nsource-owner %" PRIu32 ":%" PRIu32 "\nstarted %" PRId64
                              "\nrestore-at-poststop %s\nmapping %s\nhook-ids %s\n\n",
                h->container, h->dest, h->source, h->major, h->minor, h->root_handle_type, handle, h->target_uid,
                h->target_gid, h->source_uid, h->source_gid, h->started, h->restore_at_poststop ? "yes" : "no",
                h->mapping, h->hook_ids[0] ? h->hook_ids : "initial")
      < 0)
    return NULL;
  return text;
}

static int
copy_value (char *dst, size_t size, const char *val, size_t len, const char *key, hook_error_t **err)
{
  if (len >= size)
    return make_error (err, 0, "journal header: %s is too long", key);
  memcpy (dst, val, len);
  dst[len] = '\0';
  return 0;
}

static int
parse_handle (const char *val, struct journal_header *h)
{
  char hex[2 * JOURNAL_MAX_HANDLE + 2];
  size_t n;

  if (sscanf (val, "%d %129s", &h->root_handle_type, hex) != 2)
    return -1;
  n = strlen (hex);
  if (n % 2 || n / 2 > JOURNAL_MAX_HANDLE || n == 0)
    return -1;
  for (size_t i = 0; i < n / 2; i++)
    {
      unsigned int b;
      if (sscanf (hex + 2 * i, "%2x", &b) != 1)
        return -1;
      h->root_handle[i] = (unsigned char) b;
    }
  h->root_handle_bytes = (unsigned int) (n / 2);
  return 0;
}

static int
header_field (struct journal_header *h, const char *key, size_t klen, const char *val, size_t vlen, unsigned int *seen,
              hook_error_t **err)
{
  cleanup_free char *v = strndup (val, vlen);
  char tail;
  int bad = 0;

  if (v == NULL)
    return make_error (err, ENOMEM, "journal header");
#define KEY(s) (klen == sizeof s - 1 && memcmp (key, s, klen) == 0)
  if (KEY ("container"))
    bad = copy_value (h->container, sizeof h->container, val, vlen, "container", err), *seen |= 1;
  else if (KEY ("destination"))
    bad = copy_value (h->dest, sizeof h->dest, val, vlen, "destination", err), *seen |= 2;
  else if (KEY ("source"))
    bad = copy_value (h->source, sizeof h->source, val, vlen, "source", err), *seen |= 4;
  else if (KEY ("mapping"))
    bad = copy_value (h->mapping, sizeof h->mapping, val, vlen, "mapping", err);
  else if (KEY ("hook-ids"))
    bad = copy_value (h->hook_ids, sizeof h->hook_ids, val, vlen, "hook-ids", err);
  else if (KEY ("device"))
    bad = sscanf (v, "%u:%u%c", &h->major, &h->minor, &tail) != 2, *seen |= 8;
  else if (KEY ("root-handle"))
    bad = parse_handle (v, h), *seen |= 16;
  else if (KEY ("target"))
    bad = sscanf (v, "%" SCNu32 ":%" SCNu32 "%c", &h->target_uid, &h->target_gid, &tail) != 2, *seen |= 32;
  else if (KEY ("source-owner"))
    bad = sscanf (v, "%" SCNu32 ":%" SCNu32 "%c", &h->source_uid, &h->source_gid, &tail) != 2;
  else if (KEY ("started"))
    bad = sscanf (v, "%" SCNd64 "%c", &h->started, &tail) != 1;
  else if (KEY ("restore-at-poststop"))
    h->restore_at_poststop = strcmp (v, "yes") == 0;
#undef KEY
  if (bad && *err == NULL)
    make_error (err, 0, "journal header: bad %.*s line", (int) klen, key);
  return bad ? -1 : 0;
}

int
journal_header_parse (const char *text, size_t len, struct journal_header *h, size_t *body, hook_error_t **err)
{
  size_t magic = sizeof JOURNAL_MAGIC - 1, pos = magic;
  unsigned int seen = 0;

  memset (h, 0, sizeof *h);
  strcpy (h->hook_ids, "initial"); /* journals from before the line */
  if (len < magic || memcmp (text, JOURNAL_MAGIC, magic) != 0)
    return make_error (err, 0, "not an oci-idmap-hook journal (no \"%.*s\" line)", (int) magic - 1, JOURNAL_MAGIC);
  for (;;)
    {
      const char *line = text + pos, *nl = memchr (line, '\n', len - pos), *sp;
      if (nl == NULL)
        return make_error (err, 0, "journal header is cut short");
      pos = (size_t) (nl - text) + 1;
      if (nl == line)
        break;
      sp = memchr (line, ' ', (size_t) (nl - line));
      if (sp == NULL)
        return make_error (err, 0, "journal header: bad line");
      if (header_field (h, line, (size_t) (sp - line), sp + 1, (size_t) (nl - sp - 1), &seen, err) < 0)
        return -1;
    }
  if (seen != 63)
    return make_error (err, 0, "journal header lacks a required line");
  *body = pos;
  return 0;
}

static void
put32 (unsigned char *p, uint32_t v)
{
  p[0] = (unsigned char) v;
  p[1] = (unsigned char) (v >> 8);
  p[2] = (unsigned char) (v >> 16);
  p[3] = (unsigned char) (v >> 24);
}

static uint32_t
get32 (const unsigned char *p)
{
  return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static void
put64 (unsigned char *p, uint64_t v)
{
  put32 (p, (uint32_t) v);
  put32 (p + 4, (uint32_t) (v >> 32));
}

bool
journal_record_privileged (const struct journal_record *r)
{
  return S_ISREG (r->mode) && ((r->mode & (S_ISUID | S_ISGID)) || r->cap_len > 0);
}

size_t
journal_record_encode (const struct journal_record *r, unsigned char *buf)
{
  size_t pos = JOURNAL_RECORD_HEAD + r->handle_bytes + r->cap_len;

  buf[0] = (unsigned char) r->handle_bytes;
  buf[1] = (unsigned char) r->cap_len;
  buf[2] = r->has_digest ? JOURNAL_REC_DIGEST : 0;
  buf[3] = 0;
  put32 (buf + 4, (uint32_t) r->handle_type);
  put32 (buf + 8, r->uid);
  put32 (buf + 12, r->gid);
  put32 (buf + 16, r->mode);
  memcpy (buf + JOURNAL_RECORD_HEAD, r->handle, r->handle_bytes);
  memcpy (buf + JOURNAL_RECORD_HEAD + r->handle_bytes, r->cap, r->cap_len);
  if (r->has_digest)
    {
      put64 (buf + pos, r->size);
      memcpy (buf + pos + 8, r->digest, SHA256_BYTES);
      pos += JOURNAL_DIGEST_BYTES;
    }
  return pos;
}

long
journal_record_decode (const unsigned char *buf, size_t avail, struct journal_record *r)
{
  size_t size;

  if (avail < JOURNAL_RECORD_HEAD)
    return 0;
  r->handle_bytes = buf[0];
  r->cap_len = buf[1];
  if (r->handle_bytes == 0 || r->handle_bytes > JOURNAL_MAX_HANDLE || r->cap_len > JOURNAL_MAX_CAP
      || (buf[2] & ~JOURNAL_REC_DIGEST) || buf[3])
    return -1;
  r->has_digest = buf[2] & JOURNAL_REC_DIGEST;
  size = JOURNAL_RECORD_HEAD + r->handle_bytes + r->cap_len;
  if (avail < size + (r->has_digest ? JOURNAL_DIGEST_BYTES : 0))
    return 0;
  r->handle_type = (int) get32 (buf + 4);
  r->uid = get32 (buf + 8);
  r->gid = get32 (buf + 12);
  r->mode = get32 (buf + 16);
  memcpy (r->handle, buf + JOURNAL_RECORD_HEAD, r->handle_bytes);
  memcpy (r->cap, buf + JOURNAL_RECORD_HEAD + r->handle_bytes, r->cap_len);
  r->size = 0;
  if (r->has_digest)
    {
      r->size = (uint64_t) get32 (buf + size) | (uint64_t) get32 (buf + size + 4) << 32;
      memcpy (r->digest, buf + size + 8, SHA256_BYTES);
      size += JOURNAL_DIGEST_BYTES;
    }
  return (long) size;
}

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
