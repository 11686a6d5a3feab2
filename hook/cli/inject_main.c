/* oci-idmap-hook inject: the command line around inject_bundle. */
#define _GNU_SOURCE
#include "base/cleanup.h"
#include "commands.h"
#include "hook/engine/inject.h"
#include "hook/run/request.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char inject_usage[] =
  "Usage: oci-idmap-hook inject [--stage prestart|createRuntime] [--hook PATH] [--policy FILE]\n"
  "                             [--environment LEVEL] BUNDLE\n"
  "       oci-idmap-hook inject --remove BUNDLE\n"
  "\n"
  "Add this hook to BUNDLE/config.json, for runtimes that do not read hooks.d\n"
  "(plain runc or crun).  The file is replaced atomically with the same mode\n"
  "and owner, every other field is kept, and nothing is written when the hook\n"
  "is already there (under any name: another wrapper may have added it).\n"
  "\n"
  "Options:\n"
  "      --stage STAGE  prestart (default) or createRuntime\n"
  "      --hook PATH    the hook binary to run (default: this binary)\n"
  "      --policy FILE  run the hook with --policy FILE\n"
  "      --environment LEVEL  run the hook with --environment LEVEL (off, idmap, full)\n"
  "      --remove       take the hook out of every stage instead\n"
  "  -h, --help         show this help and exit\n";

int
inject_main (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "stage", required_argument, NULL, 's' },
    { "hook", required_argument, NULL, 'H' },
    { "policy", required_argument, NULL, 'P' },
    { "environment", required_argument, NULL, 'E' },
    { "remove", no_argument, NULL, 'r' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct inject_options opts = { .stage = "prestart" };
  cleanup_free char *self = NULL;
  hook_error_t *err = NULL;
  bool changed;
  enum env_trust trust;
  int c;

  while ((c = getopt_long (argc, argv, "h", longopts, NULL)) != -1)
    switch (c)
      {
      case 's':
        opts.stage = optarg;
        break;
      case 'H':
        opts.hook_path = optarg;
        break;
      case 'P':
        opts.policy_path = optarg;
        break;
      case 'E':
        if (env_trust_parse (optarg, &trust) < 0)
          return usage_failure ("inject", "--environment expects off, idmap or full, not", optarg);
        opts.environment = optarg;
        break;
      case 'r':
        opts.remove = true;
        break;
      case 'h':
        fputs (inject_usage, stdout);
        return 0;
      default:
        fputs ("Try 'oci-idmap-hook inject --help'.\n", stderr);
        return 2;
      }
  if (strcmp (opts.stage, "prestart") != 0 && strcmp (opts.stage, "createRuntime") != 0)
    return usage_failure ("inject", "expected --stage prestart or createRuntime, not", opts.stage);
  if (argc - optind != 1)
    return usage_failure ("inject", "expected one BUNDLE directory", NULL);
  if (opts.hook_path == NULL)
    {
      if (inject_self_path (&self, &err) < 0)
        return report_failure (&err);
      opts.hook_path = self;
    }
  if (opts.hook_path[0] != '/')
    return usage_failure ("inject", "--hook must be an absolute path, not", opts.hook_path);
  if (inject_bundle (argv[optind], &opts, &changed, &err) < 0)
    return report_failure (&err);
  return 0;
}
