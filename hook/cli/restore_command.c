/* oci-idmap-hook restore: the command line around restore_journal and
 * restore_container. */
#define _GNU_SOURCE
#include "base/cleanup.h"
#include "base/escape.h"
#include "base/log.h"
#include "base/str.h"
#include "commands.h"
#include "hook/chown/journal.h"
#include "hook/chown/journal_list.h"
#include "hook/chown/restore.h"
#include "hook/chown/restore_trust.h"
#include "hook/run/admin_policy.h"
#include "hook/run/stage.h"
#include "hook/system/privilege.h"
#include "hook/system/rootless.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* clang-format off */
static const char restore_usage[] = "Usage: oci-idmap-hook restore --journal FILE\n"
                                    "       oci-idmap-hook restore [--dir DIR | --policy FILE] --container ID\n"
                                    "       oci-idmap-hook restore [--dir DIR | --policy FILE] --all [--prune]\n"
                                    "\n"
                                    "Undo what mode chown did to a mount: put back the owner, the mode bits\n"
                                    "and the file capabilities of every entry its journal records (found by\n"
                                    "its file handle in a walk of the source, whatever path it has now), then\n"
                                    "give the files created since the change, still owned by the container\n"
                                    "user, to the source's original owner, without setuid/setgid bits or\n"
                                    "capabilities.  Setuid, setgid and capabilities come back only to a file\n"
                                    "whose content is what the journal's digest recorded (never from a\n"
                                    "journal without digests); the summary counts the files given back\n"
                                    "without them.  Safe to run again; works on the journal of a hook that\n"
                                    "was killed in the middle.  The journal is kept (but with --prune).\n"
                                    "Only journals that no one but you could have written are read (a regular\n"
                                    "file of yours, one link, mode go-w, in a directory of yours that others\n"
                                    "cannot write).  Stop the containers first: a restore gives the tree back\n"
                                    "even under a running one.  `oci-idmap-hook status` lists the journals.\n"
                                    "\n"
                                    "Options:\n"
                                    "      --journal FILE   the journal of one mount\n"
                                    "      --container ID   every journal of this container in DIR; ID may be\n"
                                    "                       the start of the id, if only one id starts so\n"
                                    "      --all            every journal in DIR, one line each; those that\n"
                                    "                       fail (stale: the source is gone or another\n"
                                    "                       directory; untrusted; invalid) are said and the\n"
                                    "                       others still restored, and the exit status\n"
                                    "                       is then 1\n"
                                    "      --prune          with --all: remove each journal once restored,\n"
                                    "                       and those that are stale; never an untrusted\n"
                                    "                       or invalid one\n"
                                    "      --dir DIR        the journal directory\n"
                                    "      --policy FILE    the policy whose journalDir the hook uses (default\n"
                                    "                       " ADMIN_POLICY_DEFAULT_PATH "; in a rootless\n"
                                    "                       user namespace, as in podman unshare,\n"
                                    "                       ~/" ROOTLESS_POLICY_PATH ");\n"
                                    "                       without journalDir: " JOURNAL_DEFAULT_DIR ",\n"
                                    "                       rootless ~/" ROOTLESS_JOURNAL_DIR "\n"
                                    "  -v, --verbose        say what was done for each journal\n"
                                    "  -h, --help           show this help and exit\n"
                                    "\n"
                                    "Exit status: 0 when done, 1 on an error (one line on stderr), 2 on bad usage.\n";
/* clang-format on */

int
command_journal_dir (const char *dir, const char *policy, char **out, hook_error_t **err)
{
  struct hook_options o = { .policy_path = policy };
  cleanup_admin_policy struct admin_policy pol = { 0 };
  cleanup_rootless struct rootless rl = { 0 };
  cleanup_free char *rootless_journal = NULL;

  if (dir)
    return str_dup (out, dir, err);
  /* What the hook reads, so that restore finds what the hook wrote. */
  if (stage_load_policy (&o, &rl, &rootless_journal, &pol, err) < 0)
    return -1;
  return str_dup (out, stage_journal_dir (&o, &pol), err);
}

struct restore_options
{
  const char *journal;   /* --journal, or NULL */
  const char *dir;       /* --dir, or NULL: the default */
  const char *container; /* --container, or NULL */
  const char *policy;    /* --policy, or NULL: the default path */
  bool all, prune;       /* --all, --prune */
};

/* --journal FILE: one mount's journal, and its summary on stdout. */
static int
restore_one (const char *journal, hook_error_t **err)
{
  cleanup_close int fd = restore_trust_open_path (journal, err);
  cleanup_free char *sum = NULL, *line = NULL, *safe = NULL;
  cleanup_restore_report struct restore_report rep = { 0 };

  if (fd < 0 || restore_trust_journal (fd, journal, NULL, err) < 0
      || restore_journal (fd, journal, -1, true, &rep, err) < 0)
    return -1;
  sum = restore_summary (&rep);
  if (sum == NULL || str_printf (&line, err, "%s: %s", journal, sum) < 0 || (safe = text_escape (line)) == NULL)
    return make_error (err, ENOMEM, "report the restore of '%s'", journal);
  /* The summary names entries the container made: escaped. */
  printf ("%s\n", safe);
  return 0;
}

/* --container ID: every journal of the one container whose id starts with ID, in DIR. */
static int
restore_of_container (const char *prefix, const char *dir, hook_error_t **err)
{
  cleanup_close int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_journal_list struct journal_list l = { 0 };
  cleanup_free char *safe = NULL;
  const char *container = NULL;
  int n;

  if (dfd < 0)
    return make_error (err, errno, "open the journal directory '%s'", dir);
  /* By file names only: nothing is read before restore_container checks it. */
  if (journal_list_read (dfd, dir, false, &l, err) < 0)
    return -1;
  switch (journal_list_match (&l, prefix, &container, err))
    {
    case -1:
      return -1;
    case 1:
      return make_error (err, 0, "no journal of container %s in '%s'", prefix, dir);
    default:
      break;
    }
  n = restore_container (dfd, dir, container, false, err);
  if (n < 0)
    return -1;
  if (n == 0)
    return make_error (err, 0, "no journal of container %s in '%s'", container, dir);
  if ((safe = text_escape (container)) == NULL)
    return make_error (err, ENOMEM, "report the restore of container %s", container);
  printf ("container %s: %d journal%s restored\n", safe, n, n == 1 ? "" : "s");
  return 0;
}

/* One journal that restore --all could not restore, said on stderr (after
 * what is on stdout, so that the lines keep their order). */
static void
journal_failed (hook_error_t **err, size_t *failed)
{
  fflush (stdout);
  error_report (err);
  ++*failed;
}

/* With --prune: E goes, once restored or when its source is gone. */
static int
prune (int dfd, const struct journal_entry *e, size_t *removed, hook_error_t **err)
{
  cleanup_free char *why = e->stale ? error_summary (e->stale) : NULL;
  cleanup_free char *safe_path = text_escape (e->path), *safe_why = why ? text_escape (why) : NULL;

  if (safe_path == NULL || (why && safe_why == NULL))
    return make_error (err, ENOMEM, "report the removal of '%s'", e->path);
  if (unlinkat (dfd, e->name, 0) < 0)
    return make_error (err, errno, "remove '%s'", e->path);
  ++*removed;
  printf ("%s: removed%s%s\n", safe_path, safe_why ? ", stale: " : "", safe_why ? safe_why : "");
  return 0;
}

/* --all: every journal of DIR, one line each; a failure does not stop the
 * others, and makes the exit status 1. */
static int
restore_every (const char *dir, bool pruning)
{
  cleanup_close int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_journal_list struct journal_list l = { 0 };
  hook_error_t *err = NULL;
  size_t failed = 0, restored = 0, removed = 0;

  if (dfd < 0 && errno != ENOENT)
    {
      make_error (&err, errno, "open the journal directory '%s'", dir);
      return report_failure (&err, EXIT_FAILURE);
    }
  if (dfd >= 0 && journal_list_read (dfd, dir, true, &l, &err) < 0)
    return report_failure (&err, EXIT_FAILURE);
  for (size_t i = 0; i < l.n; i++)
    {
      struct journal_entry *e = &l.v[i];
      if (e->untrusted) /* never removed either: it is not ours to judge */
        journal_failed (&e->untrusted, &failed);
      else if (e->stale && !pruning)
        journal_failed (&e->stale, &failed);
      else if (!e->stale && restore_one (e->path, &err) < 0)
        journal_failed (&err, &failed);
      else
        {
          restored += e->stale == NULL;
          if (pruning && prune (dfd, e, &removed, &err) < 0)
            journal_failed (&err, &failed);
        }
    }
  cleanup_free char *safe = text_escape (dir);
  if (safe == NULL)
    return EXIT_FAILURE;
  printf ("%zu journal%s in '%s': %zu restored, %zu removed, %zu failed\n", l.n, l.n == 1 ? "" : "s", safe, restored,
          removed, failed);
  return failed ? EXIT_FAILURE : 0;
}

/* Before any journal is read: the hook's sandbox, with what restore needs. */
int
restore_sandbox_enter (hook_error_t **err)
{
  if (privilege_close_fds (-1, err) < 0 || privilege_reduce (err) < 0 || privilege_narrow_restore (err) < 0)
    {
      error_prefix (err, "sandbox");
      return error_hint (err, "run restore as root, or as a rootless user in that user's namespace (podman unshare)");
    }
  if (log_verbose_enabled)
    {
      cleanup_free char *what = NULL;
      if (privilege_describe (&what, err) == 0)
        log_verbose ("sandbox: %s", what);
      error_free (err);
    }
  return 0;
}

int
command_restore (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "journal", required_argument, NULL, 'j' },
    { "dir", required_argument, NULL, 'd' },
    { "container", required_argument, NULL, 'c' },
    { "all", no_argument, NULL, 'a' },
    { "prune", no_argument, NULL, 'P' },
    { "policy", required_argument, NULL, 'p' },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct restore_options o = { .journal = NULL };
  cleanup_free char *own_dir = NULL;
  hook_error_t *err = NULL;
  int c;

  optind = 0;
  opterr = 0;
  while ((c = getopt_long (argc, argv, "+:vh", longopts, NULL)) != -1)
    switch (c)
      {
      case 'j':
        o.journal = optarg;
        break;
      case 'd':
        o.dir = optarg;
        break;
      case 'c':
        o.container = optarg;
        break;
      case 'a':
        o.all = true;
        break;
      case 'P':
        o.prune = true;
        break;
      case 'p':
        o.policy = optarg;
        break;
      case 'v':
        log_verbose_enabled = true;
        break;
      case 'h':
        fputs (restore_usage, stdout);
        return 0;
      default:
        return usage_error_option ("restore", c, argv);
      }
  if (optind < argc)
    return usage_error ("restore", "unexpected argument", argv[optind]);
  if ((o.journal != NULL) + (o.container != NULL) + o.all != 1)
    return usage_error ("restore", "give one of --journal FILE, --container ID or --all", NULL);
  if (o.prune && !o.all)
    return usage_error ("restore", "--prune goes with --all", NULL);
  if (o.journal && (o.dir || o.policy))
    return usage_error ("restore", "--journal FILE names its directory: no --dir or --policy", NULL);
  if (o.dir && o.policy)
    return usage_error ("restore", "give --dir DIR or --policy FILE, not both", NULL);
  if (restore_sandbox_enter (&err) < 0)
    return report_failure (&err, EXIT_FAILURE);
  if (o.journal)
    return restore_one (o.journal, &err) < 0 ? report_failure (&err, EXIT_FAILURE) : 0;
  if (command_journal_dir (o.dir, o.policy, &own_dir, &err) < 0)
    return report_failure (&err, EXIT_FAILURE);
  if (o.all)
    return restore_every (own_dir, o.prune);
  if (restore_of_container (o.container, own_dir, &err) < 0)
    return report_failure (&err, EXIT_FAILURE);
  return 0;
}
