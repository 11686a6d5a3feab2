/* User namespaces that exist only to carry a mapping for an idmapped mount. */
#ifndef HOOK_USERNS_H
#define HOOK_USERNS_H

#include "base/error.h"
#include "oci/idmap.h"

/* Create a user namespace with UIDS and GIDS and return an fd of it (O_CLOEXEC).
 * PROC_FD is an fd of the host's /proc, valid whatever mount namespace we are in. */
int userns_create (int proc_fd, const struct idmap *uids, const struct idmap *gids, hook_error_t **err);

#endif
