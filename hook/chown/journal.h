/* The chown journal: what a recursive ownership change needs to undo it.
 *
 * One file per mount, written before the changes it describes.  A text
 * header (what was changed, where, to what), a blank line, then binary
 * records, one per inode whose owner is about to change:
 *
 *   u8 handle_bytes, u8 cap_len, u8 flags, u8 zero, i32 handle_type,
 *   u32 uid, u32 gid, u32 mode (with the file type bits),
 *   handle_bytes bytes of file handle, cap_len bytes of security.capability,
 *   with flag JOURNAL_REC_DIGEST: u64 size and the SHA-256 of the content
 *
 * all little-endian.  The digest is taken for regular files that carry
 * privilege (setuid, setgid or a capability) before they change: restore
 * gives the privilege back only to the same content (see restore.h).
 * Journals from before it have flags 0: their privileges are never given
 * back.  A file handle names one inode exactly (inode number
 * and generation), whatever path it has by the time of the restore.  A
 * record cut short by a kill is ignored, and cut off before appending. */
#ifndef HOOK_JOURNAL_H
#define HOOK_JOURNAL_H

#include "base/error.h"
#include "base/sha256.h"

#include <fcntl.h> /* struct file_handle (_GNU_SOURCE) */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* LOCALSTATEDIR comes from the Makefile (make LOCALSTATEDIR=...). */
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif
#define JOURNAL_DEFAULT_DIR LOCALSTATEDIR "/lib/oci-idmap-hook/journal"
#define JOURNAL_MAX_HANDLE 64
#define JOURNAL_MAX_CAP 64
/* Privileged files larger than this get no digest: their privilege is
 * never given back by a restore (reading them would stall it). */
#define JOURNAL_DIGEST_MAX ((uint64_t) 64 << 20)
#define JOURNAL_RECORD_HEAD 20
#define JOURNAL_DIGEST_BYTES (8 + SHA256_BYTES)
#define JOURNAL_RECORD_MAX (JOURNAL_RECORD_HEAD + JOURNAL_MAX_HANDLE + JOURNAL_MAX_CAP + JOURNAL_DIGEST_BYTES)
#define JOURNAL_REC_DIGEST 0x01

/* A file handle of the size journals keep. */
struct journal_handle
{
  struct file_handle fh;
  unsigned char bytes[JOURNAL_MAX_HANDLE];
};

/* The file handle of FD itself; -1 with errno (a filesystem without them). */
int journal_handle_of (int fd, struct journal_handle *h);

struct journal_header
{
  char container[256];
  char dest[1024];
  char source[4096];         /* the host path of the mount source, to find the filesystem again */
  unsigned int major, minor; /* the filesystem (st_dev of the source) */
  int root_handle_type;      /* the source's top directory */
  unsigned int root_handle_bytes;
  unsigned char root_handle[JOURNAL_MAX_HANDLE];
  uint32_t target_uid, target_gid; /* on-disk ids the tree was given to */
  uint32_t source_uid, source_gid; /* on-disk owner of the top before */
  int64_t started;                 /* when the walk started (ns since the epoch) */
  bool restore_at_poststop;
  char mapping[512]; /* the container's mapping, for people reading it */
  /* The ids the records are in: "initial" (the host's), or the uid map of
   * the rootless user namespace the hook ran in.  Only a restore in the
   * same namespace may use them: there, 0 is the user, not root. */
  char hook_ids[512];
};

struct journal_record
{
  int handle_type;
  unsigned int handle_bytes, cap_len;
  uint32_t uid, gid, mode;
  unsigned char handle[JOURNAL_MAX_HANDLE];
  unsigned char cap[JOURNAL_MAX_CAP];
  bool has_digest; /* the content when recorded: SIZE bytes with DIGEST */
  uint64_t size;
  unsigned char digest[SHA256_BYTES];
};

/* Whether record R is of a file whose owner's privilege it holds
 * (setuid/setgid on a non-directory, or a capability). */
bool journal_record_privileged (const struct journal_record *r);

/* "ID@DEST.journal" with ID and DEST escaped (%XX outside [A-Za-z0-9._-]); malloc'd. */
char *journal_file_name (const char *container, const char *dest);

/* Header text; malloc'd, NUL-terminated, ends with the blank line. */
char *journal_header_format (const struct journal_header *h);

/* Parse the header at the start of TEXT (LEN bytes); *BODY is the offset
 * of the first record. */
int journal_header_parse (const char *text, size_t len, struct journal_header *h, size_t *body, hook_error_t **err);

/* Encode one record into BUF (JOURNAL_RECORD_MAX bytes); returns its size. */
size_t journal_record_encode (const struct journal_record *r, unsigned char *buf);

/* Decode the record at BUF (AVAIL bytes left).  Returns its size, 0 when
 * the bytes end in the middle of a record, -1 on a malformed record. */
long journal_record_decode (const unsigned char *buf, size_t avail, struct journal_record *r);

/* Open DIR (created 0700 if missing, never through a symlink, must be a
 * directory owned by root).  Returns an fd. */
int journal_dir_open (const char *dir, hook_error_t **err);

/* An open journal being written. */
struct journal
{
  int fd;
  char *path;           /* for messages */
  pthread_mutex_t lock; /* appends come from several walker threads */
  pthread_cond_t synced_cond, appended_cond;
  uint64_t appends, synced; /* one fdatasync covers the appends of every thread before it */
  bool syncing;
  int sync_errno;           /* a failed sync: nothing appended since can be trusted */
  bool syncer, syncer_stop; /* a thread syncs what is appended (journal_syncer_start) */
  bool syncer_started;      /* ... and is to be joined, even if it ended on an error */
  unsigned int sync_every, waiting;
  pthread_t syncer_tid;
  uint64_t records; /* appended by this run */
  bool reopened;    /* a killed run's journal, appended to */
};

/* Create (or, for a re-run after a kill, reopen when its header matches H)
 * the journal NAME in DIR_FD, write and sync its header.  A journal of
 * another mapping is an error. */
int journal_create (int dir_fd, const char *dir, const char *name, const struct journal_header *h, struct journal *j,
                    hook_error_t **err);

/* Append LEN bytes of encoded records (N_RECORDS is for the count);
 * *TICKET names them.  Then, so that a walker can go on meanwhile, wait
 * until everything up to TICKET is durable (fdatasync): one sync covers
 * every append before it, from any thread. */
int journal_write (struct journal *j, const void *buf, size_t len, size_t n_records, uint64_t *ticket,
                   hook_error_t **err);
int journal_wait (struct journal *j, uint64_t ticket, hook_error_t **err);

/* A thread that syncs what has been written once EVERY appends wait (or
 * someone waits), so that writers rarely wait for a whole sync.  Without
 * it journal_wait syncs itself.  Stop it before journal_close (a no-op if
 * it was not started); it ends by itself after a failed sync. */
int journal_syncer_start (struct journal *j, unsigned int every, hook_error_t **err);
void journal_syncer_stop (struct journal *j);

void journal_close (struct journal *j);
#define cleanup_journal __attribute__ ((cleanup (journal_close))) /* on JOURNAL_NONE */
#define JOURNAL_NONE                                                                                                   \
  {                                                                                                                    \
    .fd = -1                                                                                                           \
  }

/* A journal read whole into memory for a restore. */
struct journal_file
{
  struct journal_header h;
  unsigned char *data;
  size_t len, body;
};

int journal_read (int fd, const char *path, struct journal_file *jf, hook_error_t **err);
void journal_file_free (struct journal_file *jf);
#define cleanup_journal_file __attribute__ ((cleanup (journal_file_free))) /* on a zeroed struct */

#endif
