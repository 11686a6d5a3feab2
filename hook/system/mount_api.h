/* The new mount API (Linux 5.12+ for idmapped mounts), by file descriptor. */
#ifndef HOOK_MOUNT_API_H
#define HOOK_MOUNT_API_H

#include "base/error.h"

#include <stdbool.h>
#include <sys/stat.h>

/* Open PATH (a kernel-produced mount point path, in the current mount
 * namespace) without following any symlink, and check that the mount on top
 * there is EXPECTED_MNT_ID.  Returns an O_PATH fd. */
int mount_open_checked (const char *path, int expected_mnt_id, hook_error_t **err);

/* A detached recursive copy of the mount at FD.  With CLEAR_IDMAP, the copy
 * shows on-disk ids even if the original was idmapped (Linux 6.15+). */
int mount_clone (int fd, bool clear_idmap, hook_error_t **err);

/* Open what REL below DIR_FD leads to (mounts crossed, no symlink
 * followed) and statx it, mount id and STATX_ATTR_MOUNT_ROOT included.
 * Returns an O_PATH fd. */
int mount_open_below (int dir_fd, const char *rel, struct statx *stx, hook_error_t **err);

/* Idmap the one mount MNT_FD (the root of a mount in a detached tree, not
 * the mounts below it) with USERNS_FD's mapping, and with NOSUID make
 * setuid/setgid bits and file capabilities inert. */
int mount_set_idmap (int mnt_fd, int userns_fd, bool nosuid, hook_error_t **err);

/* Make the detached tree TREE_FD (a private copy, never attached) safe to
 * walk as root: nodev, so opening an entry can never open a device. */
int mount_set_walk_attrs (int tree_fd, hook_error_t **err);

/* Mount the detached tree TREE_FD on top of the mount point TARGET_FD. */
int mount_attach (int tree_fd, int target_fd, hook_error_t **err);

#endif
