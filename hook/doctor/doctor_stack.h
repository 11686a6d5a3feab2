/* The doctor on what the engines print: a compose stack (`docker compose
 * config --format json`) or containers (`docker|podman container inspect`),
 * each container judged as doctor_run judges a bundle, and the fix said in
 * the engine's own terms.
 *
 *   doctor_remap.c    dockerd's --userns-remap ranges
 *   doctor_stack.c    the list of containers, the judging and the fix
 *   doctor_compose.c  compose JSON into the list (uses doctor_stack.c)
 *   doctor_inspect.c  inspect JSON into the list (uses doctor_stack.c)
 * Every string of the list points into the parsed tree that it owns. */
#ifndef HOOK_DOCTOR_STACK_H
#define HOOK_DOCTOR_STACK_H

#include "base/error.h"
#include "oci/idmap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <yajl/yajl_tree.h>

/* Inputs are read whole, up to this size (a compose stack of hundreds of
 * services fits many times over). */
#define DOCTOR_STACK_MAX_BYTES (16u << 20)

enum stack_source
{
  STACK_COMPOSE, /* docker compose config --format json */
  STACK_DOCKER,  /* docker container inspect */
  STACK_PODMAN,  /* podman container inspect */
};

struct doctor_bind
{
  const char *source, *dest;
  bool readonly;
};

struct doctor_container
{
  const char *name;
  const char *user;    /* as the engine has it: "UID[:GID]", a name; NULL or "": the image's */
  const char *image;   /* for --image-inspect, or NULL */
  const char *runtime; /* Docker's runtime: (HostConfig.Runtime), or NULL */
  bool userns_host;    /* userns_mode / UsernsMode "host": no remapping */
  yajl_val env;        /* an object (compose) or an array of "K=V" (inspect), or NULL */
  yajl_val annotations;
  struct doctor_bind *binds;
  size_t n_binds;
  bool has_map; /* podman's IDMappings */
  struct idmap uids, gids;
};

struct doctor_stack
{
  enum stack_source engine;
  const char *file; /* as given: "-" is stdin */
  yajl_val tree;    /* owns the strings of every container */
  struct doctor_container *c;
  size_t n;
  yajl_val images; /* --image-inspect, or NULL */
};

void doctor_stack_free (struct doctor_stack *s);
#define cleanup_doctor_stack __attribute__ ((cleanup (doctor_stack_free))) /* on a zeroed struct */

/* A new container named NAME at the end of S, zeroed but for its name. */
struct doctor_container *doctor_stack_add (struct doctor_stack *s, const char *name, hook_error_t **err);
int doctor_container_add_bind (struct doctor_container *c, const char *source, const char *dest, bool readonly,
                               hook_error_t **err);

/* FILE ("-": stdin), whole, at most DOCTOR_STACK_MAX_BYTES. */
int doctor_stack_read (const char *file, char **text, size_t *len, hook_error_t **err);

/* `docker compose config --format json` and `docker|podman container
 * inspect` output (which of the two engines: from the fields), into S, which
 * then owns the tree.  Each error names FILE, the service or container and
 * the field. */
int doctor_compose_parse (const char *text, size_t len, const char *file, struct doctor_stack *s, hook_error_t **err);
int doctor_inspect_parse (const char *text, size_t len, const char *file, struct doctor_stack *s, hook_error_t **err);

/* `docker image inspect` output, into S->images, for the user of a service
 * that sets none. */
int doctor_images_parse (const char *text, size_t len, const char *file, struct doctor_stack *s, hook_error_t **err);

/* dockerd's --userns-remap: "default" (the user dockremap), USER or
 * USER:GROUP (names or numbers), its subordinate ranges in SUBUID and SUBGID
 * (/etc/subuid, /etc/subgid), mapped one after the other from container id
 * 0, as dockerd maps them. */
int doctor_remap_read (const char *spec, const char *subuid, const char *subgid, struct idmap *uids, struct idmap *gids,
                       hook_error_t **err);

struct doctor_stack_options
{
  const char *policy; /* as doctor_options */
  bool json;
  struct idmap uids, gids;  /* the engine's mapping (n == 0: none) */
  const char *mapping_from; /* "--userns-remap default", ... for the report */
};

/* Judge every container of S and print the reports and the fix to OUT.
 * Returns the verdict (1 when a container will fail), or -1 with *ERR. */
int doctor_stack_run (const struct doctor_stack *s, const struct doctor_stack_options *o, FILE *out,
                      hook_error_t **err);

#endif
