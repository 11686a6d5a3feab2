/* oci-idmap-hook inject: the command line around inject_bundle. */
#define _GNU_SOURCE
#include "base/cleanup.h"
#include "base/escape.h"
#include "commands.h"
#include "hook/engine/inject.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off */
static const char inject_usage[] =
  "Usage: oci-idmap-hook inject [--stage prestart|createRuntime] [--hook PATH] [--quiet]\n"
  "                             [HOOK OPTIONS] BUNDLE\n"
  "       oci-idmap-hook inject --remove [--quiet] BUNDLE\n"
  "\n"
  "Add this hook to BUNDLE/config.json, for runtimes that do not read hooks.d\n"
  "(plain runc or crun), at the start stage and at poststop.  The file is\n"
  "replaced atomically with the same mode and owner, every other field is\n"
  "kept, and nothing is written when the hook is already there (under any\n"
  "name: another wrapper may have added it).  One line says what was done.\n"
  "\n"
  "Options:\n"
  "      --stage STAGE  prestart (default) or createRuntime; both work with\n"
  "                     runc and crun\n"
  "      --hook PATH    the hook binary to run (default: this binary)\n"
  "      --remove       take the hook out of every stage instead (a stage list\n"
  "                     or a \"hooks\" object it leaves empty goes too)\n"
  "  -q, --quiet        print nothing when it worked\n"
  "  -h, --help         show this help and exit\n"
  "\n"
  "HOOK OPTIONS, spelled as the hook's own and checked as it checks them, are\n"
  "passed on in the entry before its stage: --log FILE, --verbose,\n"
  "--journal-dir DIR, --chown-threads N, --policy FILE, --environment LEVEL,\n"
  "--default-mounts LIST, --allow-host-root, --chown-hard-links (see\n"
  "oci-idmap-hook --help; paths must be absolute).  crun drops a hook's\n"
  "stderr: pass --log FILE, or set crun's annotation\n"
  "run.oci.hooks.stderr=FILE in config.json.\n";
/* clang-format on */

/* inject's own options, then the hook's, each as getopt value HOOK_BASE + its index. */
#define HOOK_BASE 256
static const struct option own_options[] = {
  { "stage", required_argument, NULL, 's' }, { "hook", required_argument, NULL, 'H' },
  { "remove", no_argument, NULL, 'r' },      { "quiet", no_argument, NULL, 'q' },
  { "help", no_argument, NULL, 'h' },
};
#define OWN (sizeof own_options / sizeof own_options[0])

/* The one line of a success: which file, which stages, which hook. */
static void
say_done (const char *bundle, const struct inject_options *o, const struct inject_result *res)
{
  cleanup_free char *b = text_escape (bundle), *h = text_escape (o->hook_path);
  const char *start = res->start ? (o->remove ? "its start stage" : o->stage) : "";
  const char *both = res->start && res->poststop ? " and " : "";

  if (!res->start && !res->poststop)
    printf ("%s/config.json: nothing to change, %s\n", b,
            o->remove ? "no stage runs the hook" : "the hook runs at its start stage and at poststop already");
  else if (o->remove)
    printf ("%s/config.json: removed the hook's entries at %s%s%s\n", b, start, both, res->poststop ? "poststop" : "");
  else
    printf ("%s/config.json: added %s at %s%s%s\n", b, h, start, both, res->poststop ? "poststop" : "");
}

int
command_inject (int argc, char **argv)
{
  const char *const *flags;
  size_t n_flags = hook_registration_flags (&flags);
  struct option longopts[OWN + HOOK_REGISTRATION_MAX + 1];
  cleanup_hook_registration struct hook_registration reg = { .args = NULL };
  struct inject_options opts = { .stage = "prestart" };
  struct inject_result res;
  cleanup_free char *self = NULL;
  hook_error_t *err = NULL;
  bool quiet = false;
  int c;

  memcpy (longopts, own_options, sizeof own_options);
  for (size_t i = 0; i < n_flags; i++)
    longopts[OWN + i]
        = (struct option){ flags[i] + 2, hook_registration_takes_value (flags[i]) ? required_argument : no_argument,
                           NULL, HOOK_BASE + (int) i };
  longopts[OWN + n_flags] = (struct option){ NULL, 0, NULL, 0 };
  opterr = 0;
  while ((c = getopt_long (argc, argv, ":qh", longopts, NULL)) != -1)
    switch (c)
      {
      case 's':
        opts.stage = optarg;
        break;
      case 'H':
        opts.hook_path = optarg;
        break;
      case 'r':
        opts.remove = true;
        break;
      case 'q':
        quiet = true;
        break;
      case 'h':
        fputs (inject_usage, stdout);
        return 0;
      default:
        if (c < HOOK_BASE || (size_t) (c - HOOK_BASE) >= n_flags)
          return usage_error_option ("inject", c, argv);
        if (hook_registration_add (&reg, flags[c - HOOK_BASE], optarg, flags[c - HOOK_BASE], &err) < 0)
          return usage_error_from ("inject", &err);
        break;
      }
  if (strcmp (opts.stage, "prestart") != 0 && strcmp (opts.stage, "createRuntime") != 0)
    return usage_error ("inject", "expected --stage prestart or createRuntime, not", opts.stage);
  if (argc - optind != 1)
    return usage_error ("inject", "expected one BUNDLE directory", NULL);
  if (opts.remove && reg.n_args > 0)
    return usage_error ("inject", "--remove takes no hook option, not", reg.args[0]);
  if (opts.hook_path == NULL)
    {
      if (inject_self_path (&self, &err) < 0)
        return report_failure (&err, EXIT_FAILURE);
      opts.hook_path = self;
    }
  if (opts.hook_path[0] != '/')
    return usage_error ("inject", "--hook must be an absolute path, not", opts.hook_path);
  opts.args = reg.args;
  opts.n_args = reg.n_args;
  if (inject_bundle (argv[optind], &opts, &res, &err) < 0)
    return report_failure (&err, EXIT_FAILURE);
  if (!quiet)
    say_done (argv[optind], &opts, &res);
  return 0;
}
