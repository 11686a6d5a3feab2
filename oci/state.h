/* The OCI runtime state a hook receives on stdin. */
#ifndef OCI_STATE_H
#define OCI_STATE_H

#include "base/error.h"

#include <stddef.h>
#include <sys/types.h>
#include <yajl/yajl_tree.h>

/* A runtime state document is a few KiB; anything near this is not one. */
#define OCI_STATE_MAX_BYTES (1024 * 1024)

struct oci_state
{
  yajl_val tree;
  const char *id;
  const char *status;
  pid_t pid;                /* 0 when absent (poststop) */
  const char *bundle;       /* "bundle", or "bundlePath" from old engines */
  const char *root;         /* crun and podman add the rootfs path; may be relative to bundle */
  const char **annotations; /* NULL-terminated key, value, key, value ... */
};

int oci_state_parse (const char *text, size_t len, struct oci_state *st, hook_error_t **err);
void oci_state_free (struct oci_state *st);
#define cleanup_oci_state __attribute__ ((cleanup (oci_state_free))) /* on a zeroed struct */

/* Value of KEY in a NULL-terminated key/value array, or NULL. */
const char *pairs_lookup (const char **pairs, const char *key);

#endif
