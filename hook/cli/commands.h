/* The subcommands of oci-idmap-hook, one file each.  Each gets argv from
 * its own name on and returns the process exit status. */
#ifndef HOOK_COMMANDS_H
#define HOOK_COMMANDS_H

#include "base/log.h"

int inject_main (int argc, char **argv);

/* oci-idmap-runtime: the same binary called under that name. */
int runtime_main (int argc, char **argv);

/* "PROGRAM COMMAND: WHAT 'ARG'" and a pointer to --help on stderr; returns 2. */
int usage_failure (const char *command, const char *what, const char *arg);

/* error_report (), then return 1. */
int report_failure (hook_error_t **err);
/* doctor: explain why a container can't use its files (hook/doctor/doctor.c). */
int command_doctor (int argc, char **argv);
/* hook/chown/restore.c: undo mode chown from its journal. */
int command_restore (int argc, char **argv);

#endif
