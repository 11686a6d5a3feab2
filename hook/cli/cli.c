/* Conventions every command line of the program shares: how bad usage
 * and a failure are told. */
#define _GNU_SOURCE
#include "commands.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

int
usage_error (const char *command, const char *what, const char *arg)
{
  const char *sp = command ? " " : "";

  command = command ? command : "";
  fprintf (stderr, "%s%s%s: %s%s%s%s\nTry '%s%s%s --help'.\n", program_name, sp, command, what, arg ? " '" : "",
           arg ? arg : "", arg ? "'" : "", program_name, sp, command);
  return EXIT_USAGE;
}

int
usage_error_option (const char *command, int c, char **argv)
{
  return usage_error (command, c == ':' ? "missing the value of" : "unknown option", argv[optind - 1]);
}

int
usage_error_from (const char *command, hook_error_t **err)
{
  const char *program = program_name;
  char *name = NULL;

  /* error_report () prints "PROGRAM: MESSAGE", escaped: for this one line
   * PROGRAM is "PROGRAM COMMAND", as on every usage line. */
  if (command && asprintf (&name, "%s %s", program, command) > 0)
    program_name = name;
  error_report (err);
  program_name = program;
  fprintf (stderr, "Try '%s%s%s --help'.\n", program, command ? " " : "", command ? command : "");
  free (name);
  return EXIT_USAGE;
}

int
report_failure (hook_error_t **err, int status)
{
  error_report (err);
  return status;
}
