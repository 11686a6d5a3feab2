/* The parts of a bundle's config.json that the hook needs. */
#ifndef OCI_CONFIG_H
#define OCI_CONFIG_H

#include "base/error.h"
#include "idmap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <yajl/yajl_tree.h>

/* Kubernetes configs with many env vars and mounts stay far below this. */
#define OCI_CONFIG_MAX_BYTES (8 * 1024 * 1024)

struct oci_mount
{
  const char *destination;
  const char *source; /* may be NULL */
  const char *type;   /* may be NULL */
  const char **options;
  bool bind;     /* type "bind" or a bind/rbind option */
  bool idmapped; /* the runtime idmaps it: uid/gidMappings or an idmap/ridmap option */
  bool has_mappings;
  struct idmap uid_map, gid_map;
};

struct oci_config
{
  yajl_val tree;
  const char *root_path;
  bool has_user;
  uint32_t uid, gid;
  uint32_t *additional_gids; /* process.user.additionalGids (malloc'd) */
  size_t n_additional_gids;
  const char **env;         /* NULL-terminated "K=V" strings */
  const char **annotations; /* NULL-terminated key, value, ... */
  struct oci_mount *mounts;
  size_t n_mounts;
  bool has_userns;         /* linux.namespaces has a "user" entry */
  const char *userns_path; /* ... joined by path */
  bool has_mappings;       /* linux.uidMappings and gidMappings */
  struct idmap uid_map, gid_map;
};

int oci_config_parse (const char *text, size_t len, struct oci_config *cfg, hook_error_t **err);

/* The mapping through which the runtime idmaps mount M itself, each as
 * on-disk id (inside) -> host id (outside): the mount's uidMappings and
 * gidMappings, or, for a bare idmap option, the container's own NS_UIDS
 * and NS_GIDS (what crun does for podman's :idmap).  False when M is not
 * idmapped by the runtime, or config.json does not say how. */
bool oci_mount_runtime_maps (const struct oci_mount *m, const struct idmap *ns_uids, const struct idmap *ns_gids,
                             const struct idmap **uids, const struct idmap **gids);

/* Read BUNDLE/config.json: never through a symlink, only a regular file
 * (a FIFO there would block), at most OCI_CONFIG_MAX_BYTES.  *PATH (for
 * messages) and *TEXT are malloc'd; on an error *PATH may still be set.
 * ST, unless NULL, gets the file's stat.  An error from open keeps its
 * errno (ENOENT: no config.json). */
int oci_config_read (const char *bundle, char **path, char **text, size_t *len, struct stat *st, hook_error_t **err);
void oci_config_free (struct oci_config *cfg);
#define cleanup_oci_config __attribute__ ((cleanup (oci_config_free))) /* on a zeroed struct */

/* Value of NAME in a "K=V" environment array, or NULL. */
const char *env_lookup (const char **env, const char *name);

#endif
