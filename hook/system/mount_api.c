#define _GNU_SOURCE
#include "mount_api.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_open_tree_attr
#define SYS_open_tree_attr 467 /* same number on every architecture */
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

int
mount_open_below (int dir_fd, const char *rel, struct statx *stx, hook_error_t **err)
{
  struct open_how how = {
    .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
    .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
  };
  int fd = (int) syscall (SYS_openat2, dir_fd, rel, &how, sizeof how);

  if (fd < 0)
    return make_error (err, errno, "open %s", rel);
  if (statx (fd, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS | STATX_MNT_ID, stx) < 0)
    {
      make_error (err, errno, "statx %s", rel);
      close (fd);
      return -1;
    }
  if (!(stx->stx_mask & STATX_MNT_ID) || !(stx->stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
    {
      close (fd);
      return make_error (err, ENOSYS, "statx %s (mount id and mount root)", rel);
    }
  return fd;
}

int
mount_open_checked (const char *path, int expected_mnt_id, hook_error_t **err)
{
  struct statx stx;
  int fd = mount_open_below (AT_FDCWD, path, &stx, err);

  if (fd < 0)
    return -1;
  if (stx.stx_mnt_id != (uint64_t) expected_mnt_id)
    {
      close (fd);
      return make_error (err, 0, "%s is no longer the mount the runtime made (mount id changed)", path);
    }
  return fd;
}

int
mount_clone (int fd, bool clear_idmap, hook_error_t **err)
{
  unsigned int flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE;
  int tree;

  if (clear_idmap)
    {
      struct mount_attr attr = { .attr_clr = MOUNT_ATTR_IDMAP };
      tree = (int) syscall (SYS_open_tree_attr, fd, "", flags, &attr, sizeof attr);
      if (tree < 0 && (errno == ENOSYS || errno == EINVAL || errno == EPERM))
        {
          make_error (err, errno, "open_tree_attr");
          return error_hint (err, "the runtime already idmapped this mount and this kernel cannot replace an "
                                  "idmapping (Linux 6.15 or later can); drop the engine's idmap option for it");
        }
    }
  else
    tree = (int) syscall (SYS_open_tree, fd, "", flags);
  if (tree < 0)
    return make_error (err, errno, "open_tree");
  return tree;
}

int
mount_set_idmap (int mnt_fd, int userns_fd, bool nosuid, hook_error_t **err)
{
  struct mount_attr attr = {
    .attr_set = MOUNT_ATTR_IDMAP | (nosuid ? MOUNT_ATTR_NOSUID : 0),
    .userns_fd = (uint64_t) userns_fd,
  };

  /* This mount only: each mount below it is judged on its own. */
  if (syscall (SYS_mount_setattr, mnt_fd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
    return make_error (err, errno, "mount_setattr");
  return 0;
}

int
mount_set_walk_attrs (int tree_fd, hook_error_t **err)
{
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOSUID };

  if (syscall (SYS_mount_setattr, tree_fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
    return make_error (err, errno, "mount_setattr (nodev) on the private copy");
  return 0;
}

int
mount_attach (int tree_fd, int target_fd, hook_error_t **err)
{
  if (syscall (SYS_move_mount, tree_fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return make_error (err, errno, "move_mount");
  return 0;
}
