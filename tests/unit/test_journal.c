/* hook/chown/journal.c: the header and record formats, round trips and torn tails. */
#define _GNU_SOURCE
#include "helpers.h"
#include "hook/chown/journal.h"
#include "hook/chown/restore_apply.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static void
test_names (void)
{
  cleanup_free char *a = journal_file_name ("abc-123", "/var/lib/pg data");
  cleanup_free char *b = journal_file_name ("x", "/a_b");
  cleanup_free char *c = journal_file_name ("x", "/a/b");

  is_str (a, "abc-123@%2Fvar%2Flib%2Fpg%20data.journal", "a journal name escapes '/' and spaces");
  ok (b && c && strcmp (b, c) != 0, "/a_b and /a/b get different journals (%s, %s)", b, c);
  {
    /* runc accepts '+' in ids: each escaped byte of the id takes three. */
    cleanup_free char *d = journal_file_name ("ci+build+1+2+3", "/d");
    cleanup_free char *e = journal_file_name ("+++++++++++++++++++++++++++++++++", "");
    is_str (d, "ci%2Bbuild%2B1%2B2%2B3@%2Fd.journal", "a container id's escaped bytes fit its journal name");
    ok (e && strlen (e) == 33 * 3 + sizeof "@.journal" - 1, "an id of escaped bytes only fits too");
  }
}

static void
fill_header (struct journal_header *h)
{
  memset (h, 0, sizeof *h);
  strcpy (h->container, "ctr");
  strcpy (h->dest, "/data");
  strcpy (h->source, "/srv/my data");
  h->major = 254;
  h->minor = 1;
  h->root_handle_type = 1;
  h->root_handle_bytes = 8;
  memcpy (h->root_handle, "\x01\x02\x03\x04\xaa\xbb\xcc\xff", 8);
  h->target_uid = 100999;
  h->target_gid = 100998;
  h->source_uid = 1000;
  h->source_gid = 1001;
  h->started = 1763865600123456789;
  h->restore_at_poststop = true;
  strcpy (h->mapping, "0:100000:65536");
  strcpy (h->hook_ids, "0:1001:1,1:231072:65536");
}

static void
test_header (void)
{
  struct journal_header h, back;
  hook_error_t *err = NULL;
  cleanup_free char *text = NULL;
  size_t body = 0;

  fill_header (&h);
  text = journal_header_format (&h);
  like (text, "source /srv/my data\n", "the header names the source");
  is_success (journal_header_parse (text, strlen (text), &back, &body, &err), 0, &err, "the header parses back");
  is_int ((long long) body, (long long) strlen (text), "records start after the blank line");
  ok (memcmp (&h, &back, sizeof h) == 0, "every field survives the round trip");
  {
    /* Journals written before the hook-ids line are in the host's ids. */
    cleanup_free char *old = strdup (text);
    char *line = strstr (old, "hook-ids ");
    memmove (line, strchr (line, '\n') + 1, strlen (strchr (line, '\n') + 1) + 1);
    is_success (journal_header_parse (old, strlen (old), &back, &body, &err), 0, &err,
                "a header without hook-ids parses");
    is_str (back.hook_ids, "initial", "and its ids are the host's");
  }
  is_error (journal_header_parse (text, strlen (text) - 1, &back, &body, &err), -1, &err, "cut short",
            "a header without its blank line is refused");
  is_error (journal_header_parse ("hello\n\n", 7, &back, &body, &err), -1, &err, "not an oci-idmap-hook journal",
            "a file that is not a journal is refused");
  {
    cleanup_free char *bad = strdup (text);
    char *p = strstr (bad, "target ");
    memcpy (p, "turget ", 7);
    is_error (journal_header_parse (bad, strlen (bad), &back, &body, &err), -1, &err, "lacks a required line",
              "a header without the target is refused");
  }
}

static void
test_records (void)
{
  struct journal_record r
      = { .handle_type = 0x81, .handle_bytes = 12, .cap_len = 20, .uid = 4294967294u, .gid = 7, .mode = 0104755 };
  struct journal_record plain = { .handle_type = 1, .handle_bytes = 8, .uid = 1000, .gid = 1000, .mode = 040755 };
  struct journal_record back;
  unsigned char buf[2 * JOURNAL_RECORD_MAX];
  size_t n1, n2;

  for (unsigned int i = 0; i < 12; i++)
    r.handle[i] = (unsigned char) (0xf0 + i);
  for (unsigned int i = 0; i < 20; i++)
    r.cap[i] = (unsigned char) i;
  memset (plain.handle, 0x5a, 8);
  n1 = journal_record_encode (&r, buf);
  n2 = journal_record_encode (&plain, buf + n1);
  is_int ((long long) n1, JOURNAL_RECORD_HEAD + 12 + 20, "a record is its head, handle and capability");
  is_int ((long long) n2, JOURNAL_RECORD_HEAD + 8, "a record without capability is 28 bytes for an ext4 handle");

  memset (&back, 0, sizeof back);
  is_int (journal_record_decode (buf, n1 + n2, &back), (long long) n1, "the first record decodes whole");
  ok (back.handle_type == r.handle_type && back.uid == r.uid && back.gid == r.gid && back.mode == r.mode
          && back.handle_bytes == 12 && memcmp (back.handle, r.handle, 12) == 0 && back.cap_len == 20
          && memcmp (back.cap, r.cap, 20) == 0,
      "and every field of it round-trips");
  is_int (journal_record_decode (buf + n1, n2, &back), (long long) n2, "the second record decodes whole");
  ok (back.cap_len == 0 && back.mode == 040755 && back.uid == 1000, "with its own fields");

  for (size_t cut = 0; cut < n1; cut++)
    if (journal_record_decode (buf, cut, &back) != 0)
      {
        ok (0, "a record cut at %zu bytes is not whole", cut);
        break;
      }
  ok (1, "a record cut anywhere reads as not whole (0), never as a record");

  buf[0] = 0;
  is_int (journal_record_decode (buf, n1, &back), -1, "a zero-length handle is malformed");
  buf[0] = 12;
  buf[2] = 2;
  is_int (journal_record_decode (buf, n1, &back), -1, "an unknown flag is malformed");
  buf[2] = 0;
  buf[3] = 1;
  is_int (journal_record_decode (buf, n1, &back), -1, "a non-zero reserved byte is malformed");
  buf[3] = 0;
  is_int (journal_record_decode (buf, n1, &back), (long long) n1, "a record without flags (an old journal) decodes");
  ok (!back.has_digest && journal_record_privileged (&back), "as privileged, without a digest");

  /* A setuid file with capabilities: its content's size and digest too. */
  r.has_digest = true;
  r.size = 0x123456789aull;
  for (unsigned int i = 0; i < SHA256_BYTES; i++)
    r.digest[i] = (unsigned char) (0xa0 + i);
  n1 = journal_record_encode (&r, buf);
  is_int ((long long) n1, JOURNAL_RECORD_HEAD + 12 + 20 + 8 + SHA256_BYTES, "a digest adds its size and 32 bytes");
  memset (&back, 0, sizeof back);
  is_int (journal_record_decode (buf, n1, &back), (long long) n1, "a record with a digest decodes whole");
  ok (back.has_digest && back.size == r.size && memcmp (back.digest, r.digest, SHA256_BYTES) == 0 && back.cap_len == 20
          && memcmp (back.cap, r.cap, 20) == 0,
      "its digest, size and capability round-trip");
  for (size_t cut = 0; cut < n1; cut++)
    if (journal_record_decode (buf, cut, &back) != 0)
      {
        ok (0, "a record with a digest cut at %zu bytes is not whole", cut);
        break;
      }
  ok (1, "a record with a digest cut anywhere reads as not whole");
  ok (!journal_record_privileged (&plain), "a plain directory is not privileged");
  plain.mode = 042755;
  ok (!journal_record_privileged (&plain), "nor a setgid directory (its bit is inheritance, not privilege)");
  plain.mode = 0102755;
  ok (journal_record_privileged (&plain), "a setgid file is");
}

/* One record written and made durable, as a walker does in two steps. */
static int
append_durably (struct journal *j, const unsigned char *rec, size_t n, hook_error_t **err)
{
  uint64_t ticket;
  return journal_write (j, rec, n, 1, &ticket, err) < 0 ? -1 : journal_wait (j, ticket, err);
}

/* Create, append, a torn tail, reopen (it is cut off), another mapping refused. */
static void
test_files (void)
{
  char dir[] = "/tmp/test_journal.XXXXXX";
  cleanup_free char *sub = NULL, *rm = NULL;
  struct journal_header h;
  struct journal j = { .fd = -1 };
  struct journal_record r = { .handle_type = 1, .handle_bytes = 8, .uid = 1, .gid = 2, .mode = 0100644 };
  unsigned char rec[JOURNAL_RECORD_MAX];
  struct journal_file jf;
  hook_error_t *err = NULL;
  struct stat st;
  size_t n = journal_record_encode (&r, rec);
  int dfd;

  if (mkdtemp (dir) == NULL || asprintf (&sub, "%s/a/journal", dir) < 0)
    abort ();
  dfd = journal_dir_open (sub, &err);
  ok (dfd >= 0 && err == NULL, "the journal directory is created");
  error_free (&err);
  ok (stat (sub, &st) == 0 && (st.st_mode & 0777) == 0700, "with mode 0700");
  fill_header (&h);
  is_success (journal_create (dfd, sub, "c@x.journal", &h, &j, &err), 0, &err, "a journal is created");
  is_success (append_durably (&j, rec, n, &err), 0, &err, "a record is appended");
  /* A kill in the middle of a write leaves part of a record. */
  ok (write (j.fd, rec, n - 3) == (ssize_t) (n - 3), "a torn record is left at the end");
  journal_close (&j);

  is_success (journal_create (dfd, sub, "c@x.journal", &h, &j, &err), 0, &err,
              "a re-run with the same mapping reopens it");
  ok (j.reopened, "and says so");
  is_success (append_durably (&j, rec, n, &err), 0, &err, "and appends after the last whole record");
  journal_close (&j);

  {
    cleanup_close int fd = openat (dfd, "c@x.journal", O_RDONLY);
    size_t pos;
    struct journal_record back;
    int count = 0;
    long k;
    is_success (journal_read (fd, "c@x.journal", &jf, &err), 0, &err, "the journal reads back");
    for (pos = jf.body; (k = journal_record_decode (jf.data + pos, jf.len - pos, &back)) > 0; pos += (size_t) k)
      count++;
    is_int (count, 2, "two whole records");
    is_int ((long long) pos, (long long) jf.len, "and nothing after them: the torn tail was cut off");
    journal_file_free (&jf);
  }

  /* Written now, durable later: a sync thread, then the writer itself. */
  {
    uint64_t t1, t2;
    int pipe_fds[2], file_fd;
    is_success (journal_create (dfd, sub, "c@x.journal", &h, &j, &err), 0, &err, "reopened for the sync thread");
    is_success (journal_syncer_start (&j, 4, &err), 0, &err, "a sync thread starts");
    is_success (journal_write (&j, rec, n, 1, &t1, &err), 0, &err, "a record is written");
    is_success (journal_wait (&j, t1, &err), 0, &err,
                "a writer that waits is not left waiting for more appends than the thread collects");
    ok (j.synced >= t1, "its record is synced");
    is_success (journal_write (&j, rec, n, 1, &t2, &err), 0, &err, "another is written");
    ok (t2 == t1 + 1, "with the next ticket");
    journal_syncer_stop (&j);
    ok (!j.syncer, "the sync thread stops");
    is_success (journal_wait (&j, t2, &err), 0, &err, "and a writer then syncs by itself");
    ok (j.synced >= t2, "its record is synced");
    journal_syncer_stop (&j);
    ok (!j.syncer_started, "stopping a thread that is not running does nothing");
    /* A sync that fails (fdatasync on a pipe: EINVAL) fails every wait after
     * it, and ends the sync thread, which is still joined. */
    if (pipe (pipe_fds) < 0)
      abort ();
    is_success (journal_write (&j, rec, n, 1, &t2, &err), 0, &err, "a record is written");
    file_fd = j.fd;
    j.fd = pipe_fds[0];
    is_success (journal_syncer_start (&j, 1, &err), 0, &err, "a sync thread starts on a journal it cannot sync");
    is_error (journal_wait (&j, t2, &err), -1, &err, "sync the journal", "a failed sync is an error for the waiter");
    is_error (journal_wait (&j, t2, &err), -1, &err, "sync the journal", "and stays one");
    journal_syncer_stop (&j);
    ok (!j.syncer_started && !j.syncer, "the thread the failure ended is joined");
    j.fd = file_fd;
    close (pipe_fds[0]);
    close (pipe_fds[1]);
    journal_close (&j);
  }

  h.target_uid++;
  is_error (journal_create (dfd, sub, "c@x.journal", &h, &j, &err), -1, &err, "describes another change",
            "a journal of another mapping is not appended to");
  journal_close (&j);

  /* Killed while writing the header: nothing was changed yet. */
  {
    cleanup_close int fd = openat (dfd, "torn.journal", O_WRONLY | O_CREAT, 0600);
    cleanup_free char *text = journal_header_format (&h);
    ok (fd >= 0 && write (fd, text, 40) == 40, "a journal with a torn header is left");
  }
  is_success (journal_create (dfd, sub, "torn.journal", &h, &j, &err), 0, &err,
              "a re-run replaces a journal whose header was cut short");
  ok (!j.reopened, "as a new journal");
  journal_close (&j);
  {
    cleanup_close int fd = openat (dfd, "torn.journal", O_RDONLY);
    is_success (journal_read (fd, "torn.journal", &jf, &err), 0, &err, "whose header is whole");
    is_int ((long long) jf.len, (long long) jf.body, "and which holds no record");
    journal_file_free (&jf);
  }
  close (dfd);
  if (asprintf (&rm, "rm -rf %s", dir) > 0)
    ok (system (rm) == 0, "clean up");
}

/* A v2 security.capability granting cap_net_raw, effective. */
static const unsigned char net_raw_cap[20] = { 0x01, 0, 0, 0x02, 0, 0x20, 0, 0 };

/* PATH as the walk found it (1000:1000, MODE, with the capability when
 * CAP) and recorded it (with a digest when DIGEST), then handed to the
 * container (4242:4242).  Returns an fd of it and fills R. */
static int
journaled_privileged (const char *path, mode_t mode, bool cap, bool digest, struct journal_record *r)
{
  int fd = open (path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  struct stat st;

  if (fd < 0 || write (fd, "#!/bin/sh\necho admin\n", 22) != 22 || fchown (fd, 1000, 1000) < 0 || fchmod (fd, mode) < 0
      || (cap && fsetxattr (fd, "security.capability", net_raw_cap, 20, 0) < 0) || fstat (fd, &st) < 0)
    abort ();
  *r = (struct journal_record){ .uid = 1000, .gid = 1000, .mode = st.st_mode, .cap_len = cap ? 20 : 0 };
  memcpy (r->cap, net_raw_cap, 20);
  if (digest && sha256_fd_max (fd, UINT64_MAX, r->digest, &r->size) != 0)
    abort ();
  r->has_digest = digest;
  if (fchown (fd, 4242, 4242) < 0 || fchmod (fd, mode) < 0)
    abort ();
  return fd;
}

static bool
has_cap (int fd)
{
  return fgetxattr (fd, "security.capability", NULL, 0) > 0;
}

/* restore_apply gives setuid/setgid and capabilities back only to the
 * content the walk recorded. */
static void
test_restore_privilege (void)
{
  char dir[] = "/tmp/test_restore.XXXXXX", path[64];
  struct journal_record r;
  struct restore_report rep;
  hook_error_t *err = NULL;
  struct stat st;
  int fd;

  if (geteuid () != 0)
    {
      diag ("skipped: changing owners needs root");
      return;
    }
  if (mkdtemp (dir) == NULL)
    abort ();
  snprintf (path, sizeof path, "%s/f", dir);

  memset (&rep, 0, sizeof rep);
  fd = journaled_privileged (path, 04755, true, true, &r);
  is_success (restore_apply (fd, &r, &rep, &err), 1, &err, "an untouched setuid file with a capability is restored");
  ok (fstat (fd, &st) == 0 && st.st_uid == 1000 && (st.st_mode & 07777) == 04755 && has_cap (fd) && !rep.withheld,
      "owner, setuid bit and capability come back (%o)", st.st_mode & 07777);
  close (fd);

  /* The container rewrites it in place and sets its mtime back. */
  memset (&rep, 0, sizeof rep);
  fd = journaled_privileged (path, 06755, true, true, &r);
  if (pwrite (fd, "#!/bin/sh\necho owned", 21, 0) != 21
      || futimens (fd, (struct timespec[]){ { 0, UTIME_OMIT }, { 1000000000, 0 } }) < 0)
    abort ();
  is_success (restore_apply (fd, &r, &rep, &err), 1, &err, "a rewritten setuid file is restored");
  ok (fstat (fd, &st) == 0 && st.st_uid == 1000 && st.st_gid == 1000 && (st.st_mode & 07777) == 0755 && !has_cap (fd),
      "its owner comes back, its setuid/setgid bits and capability do not (%o)", st.st_mode & 07777);
  ok (rep.withheld == 1 && rep.withheld_undigested == 0, "and it is counted");
  close (fd);

  /* Setgid without group-exec survives chown(2): still not given back. */
  memset (&rep, 0, sizeof rep);
  fd = journaled_privileged (path, 02745, false, true, &r);
  if (pwrite (fd, "x", 1, 0) != 1)
    abort ();
  is_success (restore_apply (fd, &r, &rep, &err), 1, &err, "a rewritten setgid file is restored");
  ok (fstat (fd, &st) == 0 && (st.st_mode & 07777) == 0745 && rep.withheld == 1, "without its setgid bit (%o)",
      st.st_mode & 07777);
  close (fd);

  /* The container makes it a sparse file of a terabyte: restore must not
   * read it (it would take hours), only see that the size changed. */
  memset (&rep, 0, sizeof rep);
  fd = journaled_privileged (path, 04755, true, true, &r);
  if (ftruncate (fd, (off_t) 1 << 40) < 0)
    abort ();
  is_success (restore_apply (fd, &r, &rep, &err), 1, &err, "a setuid file grown sparse to 1 TiB is restored");
  ok (fstat (fd, &st) == 0 && st.st_uid == 1000 && (st.st_mode & 07777) == 0755 && !has_cap (fd) && rep.withheld == 1,
      "at once, without reading it, and without its privilege (%o)", st.st_mode & 07777);
  close (fd);

  {
    unsigned char d[SHA256_BYTES];
    uint64_t size = 0;
    fd = open (path, O_RDWR | O_TRUNC);
    ok (fd >= 0 && ftruncate (fd, (off_t) 1 << 40) == 0 && sha256_fd_max (fd, JOURNAL_DIGEST_MAX, d, &size) == 1,
        "the walk's digest of a 1 TiB sparse file stops past JOURNAL_DIGEST_MAX: no digest");
    close (fd);
  }

  /* A journal from before digests: nothing proves the content. */
  memset (&rep, 0, sizeof rep);
  fd = journaled_privileged (path, 04755, true, false, &r);
  is_success (restore_apply (fd, &r, &rep, &err), 1, &err, "a record without a digest is restored");
  ok (fstat (fd, &st) == 0 && st.st_uid == 1000 && (st.st_mode & 07777) == 0755 && !has_cap (fd) && rep.withheld == 1
          && rep.withheld_undigested == 1,
      "without its privilege, counted as undigested");
  close (fd);
  {
    cleanup_free char *sum = restore_summary (&rep);
    like (sum, "1 setuid/setgid or capability files given back without that privilege (the journal predates",
          "the summary says so");
  }
  unlink (path);
  rmdir (dir);
}

int
main (void)
{
  test_names ();
  test_header ();
  test_records ();
  test_files ();
  test_restore_privilege ();
  return done_testing ();
}
