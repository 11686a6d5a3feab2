/* Where the hook's lines go.  stderr always; and, with --log FILE, a file,
 * because crun and podman throw a hook's stderr away and show only
 * "error executing hook ... (exit code: 1)". */
#ifndef HOOK_LOG_H
#define HOOK_LOG_H

#include "error.h"

#include <stdbool.h>

extern bool log_verbose_enabled;

/* Append to PATH (created 0640 if missing; never through a symlink). */
int log_open_file (const char *path, hook_error_t **err);

/* Name the container in the file's lines from now on. */
void log_set_container (const char *id);

/* "PROGRAM: MESSAGE" on stderr and as a timestamped line in the log file,
 * MESSAGE escaped as text (base/escape.h): one line, no control bytes. */
void log_line (const char *msg);

/* Print ERR as one line with log_line ("PROGRAM: CONTEXT: what: strerror;
 * fix"), then free it.  Does nothing if *ERR is NULL. */
void error_report (hook_error_t **err);

/* log_line of FMT applied to the arguments. */
void log_linef (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/* log_linef, only with --verbose. */
void log_verbose (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

#endif
