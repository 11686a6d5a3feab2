/* oci-idmap-hook: which command runs.  Each parses its own arguments. */
#define _GNU_SOURCE
#include "commands.h"

#include <string.h>

static const struct command
{
  const char *name;
  int (*run) (int argc, char **argv);
} commands[] = {
  { "doctor", command_doctor },
  { "inject", command_inject },
  { "restore", command_restore },
  { "status", command_status },
};

int
main (int argc, char **argv)
{
  const char *slash = strrchr (argv[0], '/');

  if (strcmp (slash ? slash + 1 : argv[0], "oci-idmap-runtime") == 0)
    {
      program_name = "oci-idmap-runtime";
      return command_runtime (argc, argv);
    }
  for (size_t i = 0; argc > 1 && i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].run (argc - 1, argv + 1);
  return command_hook (argc, argv);
}
