/* Conventions every command line of the program shares. */
#define _GNU_SOURCE
#include "commands.h"

#include <stdio.h>

int
usage_failure (const char *command, const char *what, const char *arg)
{
  const char *sp = command ? " " : "";
  command = command ? command : "";
  if (arg)
    fprintf (stderr, "%s%s%s: %s '%s'\nTry 'oci-idmap-hook%s%s --help'.\n", program_name, sp, command, what, arg, sp,
             command);
  else
    fprintf (stderr, "%s%s%s: %s\nTry 'oci-idmap-hook%s%s --help'.\n", program_name, sp, command, what, sp, command);
  return 2;
}

int
report_failure (hook_error_t **err)
{
  error_report (err);
  return 1;
}
