/* The walk by file descriptor; see fd_walk.h. */
#define _GNU_SOURCE
#include "fd_walk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int
walk_open (int dir_fd, const char *name, enum walk_open how)
{
  struct open_how oh = { .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC, .resolve = RESOLVE_WALK };

  switch (how)
    {
    case WALK_OPEN_DIR:
      oh.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
      break;
    case WALK_OPEN_FILE:
      oh.flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC;
      break;
    case WALK_OPEN_PATH:
    default:
      break;
    }
  return (int) syscall (SYS_openat2, dir_fd, name, &oh, sizeof oh);
}

int
walk_open_top (int fd, uint64_t *mnt_id, const char **what)
{
  struct statx stx;
  int top;

  /* "." itself: an fd of the directory, not of a name in it. */
  *what = "open the top directory";
  top = walk_open (fd, ".", WALK_OPEN_DIR);
  if (top < 0)
    return -1;
  *what = "statx (mount id) of the top directory";
  errno = 0;
  if (statx (top, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx) < 0 || !(stx.stx_mask & STATX_MNT_ID))
    {
      int e = errno ? errno : ENOSYS;
      close (top);
      errno = e;
      return -1;
    }
  *mnt_id = stx.stx_mnt_id;
  return top;
}

int
fd_walk_init (struct fd_walk *fw, const struct fd_walk_ops *ops, void *ctx, uint64_t mnt_id)
{
  return fd_walk_init_buffer (fw, ops, ctx, mnt_id, WALK_DENTS_BUF);
}

int
fd_walk_init_buffer (struct fd_walk *fw, const struct fd_walk_ops *ops, void *ctx, uint64_t mnt_id, size_t dents_len)
{
  if (dents_len < WALK_DENTS_MIN)
    dents_len = WALK_DENTS_MIN;
  *fw = (struct fd_walk){ .ops = ops, .ctx = ctx, .mnt_id = mnt_id, .dents_len = dents_len };
  fw->dents = malloc (dents_len);
  if (fw->dents == NULL)
    {
      errno = ENOMEM;
      return -1;
    }
  return 0;
}

void
fd_walk_free (struct fd_walk *fw)
{
  free (fw->dents);
  free (fw->stack);
  fw->dents = NULL;
  fw->stack = NULL;
  fw->cap = 0;
}

static int
push (struct fd_walk *fw, int fd, void *data)
{
  if (fw->depth == fw->cap)
    {
      size_t cap = fw->cap ? fw->cap * 2 : 32;
      struct fd_walk_level *st = realloc (fw->stack, cap * sizeof *st);
      if (st == NULL)
        return -1;
      fw->stack = st;
      fw->cap = cap;
    }
  fw->stack[fw->depth++] = (struct fd_walk_level){ .fd = fd, .data = data };
  return 0;
}

static void
pop (struct fd_walk *fw)
{
  struct fd_walk_level *lv = &fw->stack[--fw->depth];

  close (lv->fd);
  if (fw->ops->leave)
    fw->ops->leave (fw->ctx, lv->data);
}

int
fd_walk_enter (struct fd_walk *fw, int fd, const struct statx *stx, void *data)
{
  struct statx own;

  if (stx == NULL)
    {
      /* Something may have been mounted there since the name was looked at. */
      if (statx (fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC, STATX_MNT_ID, &own)
          < 0)
        own.stx_mask = 0;
      stx = &own;
    }
  if (!(stx->stx_mask & STATX_MNT_ID) || stx->stx_mnt_id != fw->mnt_id)
    {
      close (fd);
      return 0;
    }
  if (push (fw, fd, data) < 0)
    {
      close (fd);
      return -1;
    }
  return 1;
}

static bool
is_dot (const char *name)
{
  return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/* Read on in the deepest level: its entries up to the first subdirectory
 * entered.  Returns 0 or -1 (a callback ended the walk). */
static int
read_level (struct fd_walk *fw)
{
  const struct fd_walk_ops *ops = fw->ops;
  size_t depth = fw->depth;
  struct fd_walk_level *lv = &fw->stack[depth - 1];
  bool resuming = lv->resuming;
  ssize_t n;

  if ((resuming && lseek (lv->fd, lv->resume, SEEK_SET) < 0) || (n = getdents64 (lv->fd, fw->dents, fw->dents_len)) < 0)
    {
      int ret = ops->read_error (fw->ctx, lv->data, errno, resuming);
      if (ret == 0)
        pop (fw);
      return ret;
    }
  if (n == 0)
    {
      pop (fw);
      return 0;
    }
  for (ssize_t off = 0; off < n;)
    {
      struct dirent64 *d = (struct dirent64 *) (fw->dents + off);
      off += d->d_reclen;
      /* The level may move (the stack grows): found by index each time. */
      fw->stack[depth - 1].resuming = false;
      if (is_dot (d->d_name))
        continue;
      if (ops->entry (fw->ctx, fw, fw->stack[depth - 1].fd, fw->stack[depth - 1].data, depth - 1, d) < 0)
        return -1;
      if (fw->depth > depth)
        {
          /* A subdirectory is entered now; this one reads on from the next entry. */
          fw->stack[depth - 1].resuming = true;
          fw->stack[depth - 1].resume = d->d_off;
          break;
        }
    }
  return 0;
}

int
fd_walk_run (struct fd_walk *fw, int fd, void *data)
{
  int ret = 0;

  if (push (fw, fd, data) < 0)
    {
      close (fd);
      ret = fw->ops->read_error (fw->ctx, data, ENOMEM, false);
      if (fw->ops->leave)
        fw->ops->leave (fw->ctx, data);
      return ret < 0 ? -1 : 0;
    }
  while (fw->depth > 0 && ret == 0)
    {
      if (fw->ops->stopped && fw->ops->stopped (fw->ctx))
        ret = -1;
      else
        ret = read_level (fw);
    }
  while (fw->depth > 0)
    pop (fw);
  return ret;
}

int
fd_walk_tree (int root_fd, const struct fd_walk_ops *ops, void *ctx, const char **failed)
{
  struct fd_walk fw;
  uint64_t mnt_id;
  int top, ret;

  top = walk_open_top (root_fd, &mnt_id, failed);
  if (top < 0)
    return -1;
  *failed = "walk";
  if (fd_walk_init (&fw, ops, ctx, mnt_id) < 0)
    {
      close (top);
      errno = ENOMEM;
      return -1;
    }
  *failed = NULL;
  ret = fd_walk_run (&fw, top, NULL);
  fd_walk_free (&fw);
  return ret;
}
