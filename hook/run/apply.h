/* Carry out a plan inside the container's mount namespace: all mounts are
 * prepared first and attached only when every one of them is ready, so a
 * failure leaves the container's mounts as the runtime made them. */
#ifndef HOOK_APPLY_H
#define HOOK_APPLY_H

#include "base/error.h"
#include "plan.h"
#include "policy.h"

#include <stdbool.h>
#include <sys/types.h>

struct chown_options;
struct container_proc;

/* In the mount namespace of CP (container_proc.h).  PROC_FD: the host's
 * /proc.  CO: what mode chown needs (NULL when no mount asks for it). */
int apply_plan (int proc_fd, const struct container_proc *cp, struct plan *plan, const struct container_ids *ids,
                const struct target_user *user, const struct chown_options *co, hook_error_t **err);

#endif
