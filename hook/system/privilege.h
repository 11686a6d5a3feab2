/* Least privilege for the hook, applied before it touches any container
 * tree, in this order: inherited fds closed, a fixed minimal environment,
 * no_new_privs, every capability but the few the mount work needs dropped
 * from all sets, and a seccomp allow list of the system calls it makes. */
#ifndef HOOK_PRIVILEGE_H
#define HOOK_PRIVILEGE_H

#include "base/error.h"

#include <stdbool.h>

/* Close every fd above stderr except KEEP (-1 for none). */
int privilege_close_fds (int keep, hook_error_t **err);

/* The rest of the sequence: environment, no_new_privs, capabilities, seccomp. */
int privilege_reduce (hook_error_t **err);

/* Once the request is known: without CHOWNING, drop what only mode chown needs. */
int privilege_narrow (bool chowning, hook_error_t **err);

/* For `oci-idmap-hook restore`, after privilege_reduce: keep only what
 * putting owners, modes and capabilities back needs. */
int privilege_narrow_restore (hook_error_t **err);

/* One line describing what is in force, from /proc/self/status: each
 * capability set as its mask and its capabilities by name, no_new_privs and
 * the seccomp mode.  Malloc'd. */
int privilege_describe (char **out, hook_error_t **err);

/* Inside the sandbox: make a system call the hook never makes (socket) and
 * see the sandbox stop it.  *STOPPED is the number of the call it stopped
 * (*NAME its name, malloc'd, or NULL), or -1 if the call went through. */
int privilege_probe (int *stopped, char **name, hook_error_t **err);

#endif
