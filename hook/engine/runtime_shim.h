/* oci-idmap-runtime, the runtime shim for engines that do not read hooks.d
 * (Docker, containerd): called exactly as runc is; on `create` and `run`
 * of a container that asks for the hook, it adds the hook to the bundle's
 * config.json; then it execs the real runtime with the arguments unchanged. */
#ifndef HOOK_RUNTIME_SHIM_H
#define HOOK_RUNTIME_SHIM_H

#include "base/error.h"
#include "hook/run/stage.h"

/* The shim's own global flags, taken out of the runtime's arguments:
 * RUNTIME_FLAG, and each of the hook's options with RUNTIME_HOOK_PREFIX
 * in place of its "--" (--idmap-log=FILE for the hook's --log FILE). */
#define RUNTIME_ENV "OCI_IDMAP_RUNTIME"
/* Set for the real runtime: a shim started again under it (a wrapper that
 * calls the shim back) stops instead of calling itself for ever.  runc and
 * crun pass their environment to neither hooks nor containers. */
#define RUNTIME_ACTIVE_ENV "OCI_IDMAP_RUNTIME_ACTIVE"
#define RUNTIME_FLAG "--idmap-runtime"
#define RUNTIME_HOOK_PREFIX "--idmap-"

/* What the shim's command line says (hook/cli/runtime_command.c). */
struct runtime_options
{
  const char *runtime;             /* the real runtime, a path or a name in PATH */
  const struct hook_options *hook; /* the hook's options passed on: policy and environment level */
  const char *const *hook_args;    /* the same, as the hook entry's arguments before its stage */
  size_t n_hook_args;
  const char *command;          /* the runtime's command ("create", "run", ...), or NULL */
  const char *bundle;           /* the bundle of create and run */
  const char *log, *log_format; /* the engine's --log and --log-format, or NULL */
};

/* On create and run of a container that asks for the hook (or of any, when
 * the policy has defaultMounts), add the hook to its bundle. */
int runtime_prepare_bundle (const struct runtime_options *o, hook_error_t **err);

/* Engines read the runtime's --log (JSON lines with --log-format json) to
 * tell the user why a container failed: MSG goes there too, if there is one. */
void runtime_log_for_engine (const struct runtime_options *o, const char *msg);

/* Refuse to exec ourselves: a shim configured as its own runtime would loop. */
int runtime_check_not_self (const char *runtime, hook_error_t **err);

#endif
