/* The commands of oci-idmap-hook, one file each in hook/cli/: each parses
 * its own arguments (argv from its own name on), calls the library with
 * the options parsed, and returns the process exit status. */
#ifndef HOOK_COMMANDS_H
#define HOOK_COMMANDS_H

#include "base/log.h"
#include "hook/run/stage.h"

/* Bad usage: the exit status of every command. */
#define EXIT_USAGE 2

/* oci-idmap-hook [OPTIONS] STAGE: the hook itself (hook_command.c). */
int command_hook (int argc, char **argv);
/* The hook's command line, parsed and not yet acted on. */
struct hook_args
{
  struct hook_options opts;
  const char *log; /* --log FILE */
  bool verbose;
  bool check_sandbox, help, version; /* each stops the parsing: it acts alone */
  const char *stage;                 /* NULL with those three */
};

/* Parse the hook's ARGV (ARGV[0] its name), as the runtime passes it.  -1
 * with *ERR on bad usage, the message as the hook says it. */
int hook_args_parse (int argc, char **argv, struct hook_args *a, hook_error_t **err);

/* Only the options that decide what the hook does, for the doctor to read
 * a bundle's hook entry exactly as the hook will (struct doctor_options). */
int hook_options_from_args (int argc, char **argv, struct hook_options *opts, hook_error_t **err);

/* A registration of the hook (inject's entry, the shim's): the hook's own
 * options to pass on, in hook_command.c beside the hook's parser, so that
 * what inject and the shim accept is what the hook will accept. */
struct hook_registration
{
  struct hook_args parsed; /* what they say, as the hook will read them */
  const char **args;       /* "--log", "FILE", ...: pointers into argv, and the flag's own name */
  size_t n_args;
};

/* The flags a registration may pass on ("--log", "--verbose", ...): at
 * most HOOK_REGISTRATION_MAX. */
#define HOOK_REGISTRATION_MAX 16
size_t hook_registration_flags (const char *const **names);
bool hook_registration_takes_value (const char *flag);

/* Add the hook's FLAG ("--log") with VALUE (NULL for a flag without one),
 * checked as the hook checks it; SPELLED is how the user wrote it (the
 * shim's "--idmap-log"), for the one line of a refusal.  A path must be
 * absolute.  VALUE must outlive R. */
int hook_registration_add (struct hook_registration *r, const char *flag, const char *value, const char *spelled,
                           hook_error_t **err);
void hook_registration_free (struct hook_registration *r);
#define cleanup_hook_registration __attribute__ ((cleanup (hook_registration_free)))

/* doctor: explain why a container can't use its files (doctor_command.c). */
int command_doctor (int argc, char **argv);
/* restore: undo mode chown from its journal (restore_command.c). */
int command_restore (int argc, char **argv);
/* status: the journals of mode chown, listed (status_command.c). */
int command_status (int argc, char **argv);
/* inject: add the hook to a bundle's config.json (inject_command.c). */
int command_inject (int argc, char **argv);
/* oci-idmap-runtime: the same binary called under that name (runtime_command.c). */
int command_runtime (int argc, char **argv);

/* What restore and status share (restore_command.c): the sandbox entered
 * before any journal is read, and the journal directory: DIR if given,
 * else the one the hook uses with the policy POLICY (NULL: the default
 * path), into *OUT (malloc'd). */
int restore_sandbox_enter (hook_error_t **err);
int command_journal_dir (const char *dir, const char *policy, char **out, hook_error_t **err);

/* "PROGRAM COMMAND: WHAT 'ARG'" (COMMAND NULL: the hook itself; ARG may be
 * NULL) and "Try 'PROGRAM COMMAND --help'." on stderr.  Returns EXIT_USAGE. */
int usage_error (const char *command, const char *what, const char *arg);

/* getopt_long's C for a bad option ('?': unknown, ':': its value missing;
 * the option string starts with ':' and opterr is 0, so that this is the
 * one line said), as usage_error.  Returns EXIT_USAGE. */
int usage_error_option (const char *command, int c, char **argv);

/* The same, WHAT being ERR's message (an argument's parser failed); frees
 * ERR.  Returns EXIT_USAGE. */
int usage_error_from (const char *command, hook_error_t **err);

/* A command that failed: ERR's one line by error_report ().  Returns STATUS
 * (EXIT_FAILURE but for the doctor, whose 1 is its verdict). */
int report_failure (hook_error_t **err, int status);

#endif
