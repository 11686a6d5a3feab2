/* Restore by walking the source; see restore_walk.h. */
#define _GNU_SOURCE
#include "restore_walk.h"
#include "chown_walk.h"
#include "base/cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>


/* A record, found by its handle: the handle's bytes stay in the journal. */
struct key
{
  const unsigned char *handle;
  unsigned int bytes;
  int type;
  size_t off; /* of the record in the journal's data */
  bool done;
};

static bool
key_eq (const struct key *x, const struct key *y)
{
  return x->type == y->type && x->bytes == y->bytes && memcmp (x->handle, y->handle, x->bytes) == 0;
}

/* FNV-1a over the type and the bytes. */
static uint64_t
key_hash (const struct key *k)
{
  uint64_t h = 14695981039346656037ULL ^ (uint32_t) k->type;

  for (unsigned int i = 0; i < k->bytes; i++)
    h = (h ^ k->handle[i]) * 1099511628211ULL;
  return h;
}

struct rwalk
{
  const struct journal_file *jf;
  struct key *keys;
  size_t n;
  /* Open addressing, a power of two at least twice N: index + 1 of a key, or 0. */
  size_t *slots, mask;
  struct restore_report *rep;
};

/* The slot of K: the one holding an equal key, or the empty one where it goes. */
static size_t *
slot_of (const struct rwalk *rw, const struct key *k)
{
  size_t i = (size_t) key_hash (k) & rw->mask;

  while (rw->slots[i] && !key_eq (&rw->keys[rw->slots[i] - 1], k))
    i = (i + 1) & rw->mask;
  return &rw->slots[i];
}

/* Index every key; a second record of one inode (a re-run's) is not used:
 * the first holds what it was before any run. */
static int
index_keys (struct rwalk *rw)
{
  size_t size = 16;

  while (size < 2 * rw->n)
    size *= 2;
  rw->slots = calloc (size, sizeof *rw->slots);
  if (rw->slots == NULL)
    return -1;
  rw->mask = size - 1;
  for (size_t i = 0; i < rw->n; i++)
    {
      size_t *slot = slot_of (rw, &rw->keys[i]);
      if (*slot)
        rw->keys[i].done = true;
      else
        *slot = i + 1;
    }
  return 0;
}

/* FD is an entry of the tree: restore it if the journal has it. */
static int
visit (struct rwalk *rw, int fd, hook_error_t **err)
{
  struct journal_handle h;
  struct journal_record r;
  struct key want, *k;
  size_t slot;
  int changed;

  if (journal_handle_of (fd, &h) < 0)
    return make_error (err, errno, "get the file handle of an entry");
  want = (struct key){ .handle = h.fh.f_handle, .bytes = h.fh.handle_bytes, .type = h.fh.handle_type };
  slot = *slot_of (rw, &want);
  if (slot == 0 || (k = &rw->keys[slot - 1])->done)
    return 0;
  k->done = true;
  if (journal_record_decode (rw->jf->data + k->off, rw->jf->len - k->off, &r) <= 0)
    return make_error (err, 0, "malformed record at offset %zu", k->off);
  changed = restore_apply (fd, &r, rw->rep, err);
  if (changed < 0)
    return -1;
  rw->rep->restored += (uint64_t) changed;
  return 0;
}

/* Open NAME in DIR_FD as the walk needs it; -1 with errno when it is gone
 * or not to be entered (a symlink now, another mount). */
static int
open_entry (int dir_fd, const char *name, unsigned char *type)
{
  struct open_how how = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC, .resolve = RESOLVE_WALK };

  if (*type == DT_UNKNOWN)
    {
      struct stat st;
      if (fstatat (dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -1;
      *type = S_ISDIR (st.st_mode) ? DT_DIR : S_ISREG (st.st_mode) ? DT_REG : DT_LNK;
    }
  /* Directories to read (O_DIRECTORY: a swap to anything else fails),
   * regular files to put capabilities back. */
  if (*type == DT_DIR)
    how.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  else if (*type == DT_REG)
    how.flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC;
  return (int) syscall (SYS_openat2, dir_fd, name, &how, sizeof how);
}

/* Depth first with one read buffer: a parent reads on from the offset of
 * the subdirectory it entered.  One fd per level. */
static int
walk (struct rwalk *rw, int root_fd, hook_error_t **err)
{
  struct level
  {
    int fd;
    off_t resume;
  } *stack = NULL;
  size_t depth = 0, cap = 0;
  cleanup_free unsigned char *buf = malloc (WALK_DENTS_BUF);
  int ret = 0, top = fcntl (root_fd, F_DUPFD_CLOEXEC, 3);

  if (buf == NULL || top < 0)
    {
      if (top >= 0)
        close (top);
      return make_error (err, buf ? errno : ENOMEM, "walk the source");
    }
  for (int fd = top; fd >= 0 && ret == 0;)
    {
      /* Push FD (a directory just entered), then read the top level. */
      if (depth == cap)
        {
          struct level *s = realloc (stack, (cap = cap ? cap * 2 : 32) * sizeof *s);
          if (s == NULL)
            {
              close (fd);
              ret = make_error (err, ENOMEM, "walk the source");
              break;
            }
          stack = s;
        }
      stack[depth++] = (struct level){ fd, 0 };
      fd = -1;
      while (fd < 0 && depth > 0 && ret == 0)
        {
          struct level *lv = &stack[depth - 1];
          ssize_t n;
          if (lseek (lv->fd, lv->resume, SEEK_SET) < 0 || (n = getdents64 (lv->fd, buf, WALK_DENTS_BUF)) < 0)
            {
              ret = make_error (err, errno, "read a directory of the source");
              break;
            }
          if (n == 0)
            {
              close (stack[--depth].fd);
              continue;
            }
          for (ssize_t off = 0; off < n && fd < 0 && ret == 0;)
            {
              struct dirent64 *d = (struct dirent64 *) (buf + off);
              unsigned char type = d->d_type;
              int efd;
              off += d->d_reclen;
              lv->resume = d->d_off;
              if (strcmp (d->d_name, ".") == 0 || strcmp (d->d_name, "..") == 0)
                continue;
              efd = open_entry (lv->fd, d->d_name, &type);
              if (efd < 0)
                continue; /* gone, a symlink now, or another mount: never followed */
              ret = visit (rw, efd, err);
              if (type == DT_DIR && ret == 0)
                fd = efd; /* entered next */
              else
                close (efd);
            }
        }
    }
  while (depth > 0)
    close (stack[--depth].fd);
  free (stack);
  return ret;
}

int
restore_by_walk (int root_fd, const struct journal_file *jf, struct restore_report *rep, hook_error_t **err)
{
  struct rwalk rw = { .jf = jf, .rep = rep };
  size_t pos = jf->body, cap = 0;
  struct journal_record r;
  long n;
  int ret;

  while ((n = journal_record_decode (jf->data + pos, jf->len - pos, &r)) > 0)
    {
      if (rw.n == cap)
        {
          struct key *k = realloc (rw.keys, (cap = cap ? cap * 2 : 1024) * sizeof *k);
          if (k == NULL)
            {
              free (rw.keys);
              return make_error (err, ENOMEM, "read the journal");
            }
          rw.keys = k;
        }
      rw.keys[rw.n++] = (struct key){ .handle = jf->data + pos + JOURNAL_RECORD_HEAD,
                                      .bytes = r.handle_bytes,
                                      .type = r.handle_type,
                                      .off = pos };
      pos += (size_t) n;
    }
  if (n < 0)
    {
      free (rw.keys);
      return make_error (err, 0, "malformed record at offset %zu", pos);
    }
  if (index_keys (&rw) < 0)
    {
      free (rw.keys);
      return make_error (err, ENOMEM, "read the journal");
    }
  rep->records = rw.n;
  /* The top directory is an entry like the others. */
  ret = visit (&rw, root_fd, err);
  if (ret == 0)
    ret = walk (&rw, root_fd, err);
  for (size_t i = 0; i < rw.n; i++)
    rep->vanished += !rw.keys[i].done;
  free (rw.slots);
  free (rw.keys);
  return ret;
}
