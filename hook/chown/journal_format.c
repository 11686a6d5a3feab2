/* The chown journal's formats: its file name, the text header and the
 * binary records.  Pure functions of bytes, fuzzed (tests/fuzz/); the files
 * themselves, and their durability, are journal.c's. */
#define _GNU_SOURCE
#include "base/cleanup.h"
#include "journal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#define JOURNAL_MAGIC "oci-idmap-hook journal 1\n"

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
