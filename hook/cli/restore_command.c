/* oci-idmap-hook restore: the command line around restore_journal and
 * restore_container. */
#define _GNU_SOURCE
#include "base/cleanup.h"
#include "base/escape.h"
#include "base/log.h"
#include "base/str.h"
#include "commands.h"
#include "hook/chown/journal.h"
#include "hook/chown/restore.h"
#include "hook/chown/restore_trust.h"
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
                                    "       oci-idmap-hook restore [--dir DIR] --container ID\n"
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
                                    "was killed in the middle.  The journal is kept.\n"
                                    "Only journals that no one but you could have written are read (a regular\n"
                                    "file of yours, one link, mode go-w, in a directory of yours that others\n"
                                    "cannot write).\n"
                                    "\n"
                                    "Options:\n"
                                    "      --journal FILE   the journal of one mount\n"
                                    "      --dir DIR        the journal directory (default\n"
                                    "                       " JOURNAL_DEFAULT_DIR "; in a rootless\n"
                                    "                       user namespace, as in podman unshare,\n"
                                    "                       ~/" ROOTLESS_JOURNAL_DIR ")\n"
                                    "      --container ID   every journal of this container in DIR\n"
                                    "  -v, --verbose        say what was done for each journal\n"
                                    "  -h, --help           show this help and exit\n"
                                    "\n"
                                    "Exit status: 0 when done, 1 on an error (one line on stderr), 2 on bad usage.\n";
/* clang-format on */

/* The hook's own default: a rootless user's journals are in the user's
 * home (see rootless.h), whoever runs the restore there. */
static char *
default_journal_dir (hook_error_t **err)
{
  cleanup_rootless struct rootless rl = { 0 };
  char *dir = NULL;
  int ret;

  if (rootless_detect (&rl, err) < 0)
    return NULL;
  ret = rl.active ? rootless_path (&rl, ROOTLESS_JOURNAL_DIR, &dir, err) : str_dup (&dir, JOURNAL_DEFAULT_DIR, err);
  if (ret == 0 && dir == NULL)
    {
      make_error (err, 0, "no home directory in /etc/passwd for host uid %u, the user of this namespace", rl.host_uid);
      error_hint (err, "name the journal directory with --dir DIR");
    }
  return dir;
}

struct restore_options
{
  const char *journal;   /* --journal, or NULL */
  const char *dir;       /* --dir, or NULL: the default */
  const char *container; /* --container, or NULL */
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

/* --container ID: every journal of ID in DIR. */
static int
restore_all (const char *container, const char *dir, hook_error_t **err)
{
  cleanup_close int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_free char *safe = NULL;
  int n;

  if (dfd < 0)
    return make_error (err, errno, "open the journal directory '%s'", dir);
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

/* Before any journal is read: the hook's sandbox, with what restore needs. */
static int
enter_restore_sandbox (hook_error_t **err)
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
  if ((o.journal == NULL) == (o.container == NULL))
    return usage_error ("restore", "give either --journal FILE or --container ID", NULL);
  if (enter_restore_sandbox (&err) < 0)
    return report_failure (&err, EXIT_FAILURE);
  if (o.container && o.dir == NULL && (o.dir = own_dir = default_journal_dir (&err)) == NULL)
    return report_failure (&err, EXIT_FAILURE);
  if ((o.journal ? restore_one (o.journal, &err) : restore_all (o.container, o.dir, &err)) < 0)
    return report_failure (&err, EXIT_FAILURE);
  return 0;
}
