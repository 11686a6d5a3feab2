/* What a container asks of the hook: the annotation mini-language.
 *
 *   oci-idmap-hook/mounts  DEST[=MODE] items separated by ';' or white space
 *   oci-idmap-hook/user    UID[:GID] | env
 *
 * each also as KEY.NAME for the container named NAME in a Kubernetes pod,
 * and the same two values from the container's environment
 * (OCI_IDMAP_MOUNTS, OCI_IDMAP_USER) for engines without annotations, as far
 * as enum env_trust lets the environment ask. */
#ifndef HOOK_REQUEST_H
#define HOOK_REQUEST_H

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ANNOTATION_MOUNTS "oci-idmap-hook/mounts"
#define ANNOTATION_USER "oci-idmap-hook/user"
#define ENV_MOUNTS "OCI_IDMAP_MOUNTS"
/* Set by Kubernetes engines: the container's name in its pod (CRI-O's,
 * then containerd's), and the sandbox marker of CRI-O and of containerd. */
#define ANNOTATION_CONTAINER_NAME "io.kubernetes.container.name"
#define ANNOTATION_CRI_CONTAINER_NAME "io.kubernetes.cri.container-name"
#define ANNOTATION_CRIO_TYPE "io.kubernetes.cri-o.ContainerType"
#define ANNOTATION_CRI_TYPE "io.kubernetes.cri.container-type"
#define ENV_USER "OCI_IDMAP_USER"

#define REQUEST_MAX_ITEMS 256
#define REQUEST_MAX_TEXT 65536

enum mount_mode
{
  MODE_IDMAP,
  MODE_NSMAP,
  MODE_CHOWN,
  MODE_AUTO,
  MODE_CHOWN_RESTORE, /* chown, undone at poststop */
  MODE_COUNT,         /* not a mode: the size of every array indexed by one */
};

/* How far the container's environment is a request channel.  The image sets
 * it (ENV) as much as the operator does (docker run -e), and config.json
 * cannot tell them apart, so by default it cannot change owners on the host
 * nor pick the target user; annotations are the operator's channel. */
enum env_trust
{
  ENV_TRUST_IDMAP, /* the default: modes idmap and nsmap; the user is process.user */
  ENV_TRUST_OFF,   /* not read at all */
  ENV_TRUST_FULL,  /* like an annotation (opt-in: Docker < 24's only channel) */
  ENV_TRUST_COUNT,
};

/* "off, idmap, full", for messages. */
extern const char env_trust_list[];
const char *env_trust_name (enum env_trust trust);
int env_trust_parse (const char *name, enum env_trust *trust);

struct mount_request
{
  char *dest; /* normalised absolute container path, or "*" */
  enum mount_mode mode;
};

struct request
{
  struct mount_request items[REQUEST_MAX_ITEMS];
  size_t n;
  const char *origin; /* where the mounts list came from, for messages */
  char *origin_owned; /* ORIGIN, when the request made it (freed with it) */
  bool from_env;      /* it came from the environment */
  bool from_policy;   /* it is the policy's defaultMounts */
};

struct target_user
{
  uint32_t uid, gid;
  const char *origin; /* where it came from, for messages */
};

const char *mode_name (enum mount_mode mode);

/* The mode named exactly NAME (LEN bytes); -1 if there is none. */
int mode_parse (const char *name, size_t len, enum mount_mode *mode);

/* "idmap, nsmap, ..., chown+restore": every mode's name, for messages. */
extern const char mode_list[];

/* Parse the mounts list.  ORIGIN names its source in errors. */
int request_parse_mounts (const char *text, const char *origin, struct request *req, hook_error_t **err);
void request_free (struct request *req);
#define cleanup_request __attribute__ ((cleanup (request_free))) /* on a zeroed struct */

/* A decimal id in 0 .. 2^32 - 2 spanning exactly [S, S+LEN). */
int parse_numeric_id (const char *s, size_t len, uint32_t *out);

/* "UID[:GID]"; a missing GID equals UID.  Names are not accepted: resolving
 * them would mean reading files the container controls. */
int parse_user_spec (const char *text, const char *origin, struct target_user *user, hook_error_t **err);

struct oci_config;

/* Everything the container asked for, from annotations (KEY.NAME before
 * KEY; config.json before STATE_ANNOTATIONS) or its environment, as far as
 * TRUST allows (below ENV_TRUST_FULL, a mode that may change owners asked
 * in the environment is refused).
 * REQ->n == 0: nothing asked, always so for a pod's sandbox container. */
/* A pod's sandbox ("pause") container carries the pod's annotations too,
 * but has no volumes: it never asks for anything, and no default serves it. */
bool request_is_pod_sandbox (const struct oci_config *cfg, const char **state_annotations);

int request_from_container (const struct oci_config *cfg, const char **state_annotations, enum env_trust trust,
                            struct request *req, hook_error_t **err);

/* Whether the container asks at all (valid or not), cheaply. */
bool request_present (const struct oci_config *cfg, const char **state_annotations, enum env_trust trust);

/* The user who must own the mounts: the user annotation, PUID/PGID, or
 * process.user.  Below ENV_TRUST_FULL, OCI_IDMAP_USER naming another user
 * than process.user is refused. */
int target_user_from_container (const struct oci_config *cfg, const char **state_annotations, enum env_trust trust,
                                struct target_user *user, hook_error_t **err);

#endif
