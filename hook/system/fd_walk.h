/* The one way to walk a tree the container can write to, by file
 * descriptor: the chown walk, restore's walk and the doctor's rootfs scan
 * all go through it.
 *
 * Every entry is opened relative to its directory's fd with openat2 and
 * RESOLVE_WALK: never through a symlink or a magic link, never out of the
 * directory, never into another mount (a mount point fails with EXDEV).  A
 * directory is entered only when its fd is on the walk's mount (its mount
 * id, checked on the fd, after the open).  No recursion: an explicit stack
 * of directory fds, one per level, and one getdents64 buffer for them all
 * (only the deepest level is being read; a parent reads on from the offset
 * of the subdirectory it entered). */
#ifndef HOOK_FD_WALK_H
#define HOOK_FD_WALK_H

#include <dirent.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* How every walk opens an entry below a directory it holds. */
#define RESOLVE_WALK (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)
/* What one getdents64 call of a walk reads: a few thousand names. */
#define WALK_DENTS_BUF (64 * 1024)
/* The least: a page holds at least fourteen entries of the longest name. */
#define WALK_DENTS_MIN 4096

enum walk_open
{
  WALK_OPEN_DIR,  /* to read it (O_DIRECTORY: a swap to anything else fails) */
  WALK_OPEN_FILE, /* a regular file, to read it (O_NONBLOCK: never wait on a FIFO or a lease) */
  WALK_OPEN_PATH, /* anything else: O_PATH, nothing opened */
};

/* Open NAME below DIR_FD as HOW says, never following anything; an fd, or
 * -1 with errno (ELOOP: a symlink on the way; ENOTDIR: not a directory, or
 * a symlink, opened as one; EXDEV: a mount point, or out of DIR_FD). */
int walk_open (int dir_fd, const char *name, enum walk_open how);

/* A fresh file description of directory FD (any fd of it, O_PATH is fine)
 * to read, and the mount id of that directory; -1 with errno.  *WHAT says
 * which step failed, for messages. */
int walk_open_top (int fd, uint64_t *mnt_id, const char **what);

struct fd_walk;

struct fd_walk_ops
{
  /* Entry D (never "." or "..") of the directory DIR_FD at DEPTH (0: the
   * top), whose data is DIR_DATA.  To enter a subdirectory, hand its fd to
   * fd_walk_enter.  Returns 0 to read on, -1 to end the walk. */
  int (*entry) (void *ctx, struct fd_walk *fw, int dir_fd, void *dir_data, size_t depth, const struct dirent64 *d);
  /* Reading the directory of DIR_DATA failed with ERRNUM (RESUMING: when
   * reading on after a subdirectory).  Returns -1 to end the walk, 0 to
   * leave that directory and go on. */
  int (*read_error) (void *ctx, void *dir_data, int errnum, bool resuming);
  /* A directory is left (its fd is closed): free DIR_DATA.  May be NULL. */
  void (*leave) (void *ctx, void *dir_data);
  /* Whether to end the walk now (checked before each read).  May be NULL. */
  bool (*stopped) (void *ctx);
};

struct fd_walk_level
{
  int fd;
  void *data;
  /* After a descent: read on from d_off RESUME.  A flag of its own, as a
   * directory offset is a cookie that may look negative (NFS). */
  bool resuming;
  off_t resume;
};

struct fd_walk
{
  const struct fd_walk_ops *ops;
  void *ctx;
  uint64_t mnt_id; /* the one mount the walk stays on */
  unsigned char *dents;
  size_t dents_len;
  struct fd_walk_level *stack;
  size_t depth, cap;
};

/* Set FW up for a walk on the mount MNT_ID; -1 (ENOMEM) if the buffer
 * cannot be had. */
int fd_walk_init (struct fd_walk *fw, const struct fd_walk_ops *ops, void *ctx, uint64_t mnt_id);
/* The same with a getdents64 buffer of DENTS_LEN bytes (at least
 * WALK_DENTS_MIN), for many walks at once: a smaller one costs only more
 * reads of a big directory. */
int fd_walk_init_buffer (struct fd_walk *fw, const struct fd_walk_ops *ops, void *ctx, uint64_t mnt_id,
                         size_t dents_len);
void fd_walk_free (struct fd_walk *fw);

/* Walk directory FD (with DATA; both taken over) depth first.  Returns 0,
 * or -1 when a callback ended the walk (or ENOMEM, told through
 * read_error). */
int fd_walk_run (struct fd_walk *fw, int fd, void *data);

/* The whole walk of the tree whose top is directory ROOT_FD (any fd of it):
 * its top opened with walk_open_top, then fd_walk_run with OPS and CTX (the
 * top's data is NULL).  Returns 0, or -1: when it could not start, with
 * errno and *FAILED naming the step; else *FAILED is NULL (a callback
 * ended it). */
int fd_walk_tree (int root_fd, const struct fd_walk_ops *ops, void *ctx, const char **failed);

/* From an entry callback, at most once per entry: enter directory FD (with
 * DATA) before its parent reads on.  STX, when not NULL, is a statx of FD
 * with its mount id; without, FD is looked at here.  Returns 1 when it is
 * entered (FD and DATA taken over); else FD is closed and DATA stays the
 * caller's: 0 when FD is on another mount (or cannot be looked at), -1 out
 * of memory. */
int fd_walk_enter (struct fd_walk *fw, int fd, const struct statx *stx, void *data);

#endif
