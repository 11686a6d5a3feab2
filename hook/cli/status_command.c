/* oci-idmap-hook status: the journals of the journal directory, that is,
 * the host trees that mode chown changed and that are not given back. */
#define _GNU_SOURCE
#include "base/cleanup.h"
#include "base/escape.h"
#include "base/str.h"
#include "commands.h"
#include "hook/chown/journal.h"
#include "hook/chown/journal_list.h"
#include "hook/run/admin_policy.h"
#include "hook/system/rootless.h"
#include "oci/json_write.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* clang-format off */
static const char status_usage[] = "Usage: oci-idmap-hook status [--dir DIR | --policy FILE] [--json]\n"
                                   "\n"
                                   "List the journals that mode chown keeps, one per mount it changed: the\n"
                                   "host trees whose owners are the container's until they are restored.\n"
                                   "For each: its state, how many entries it holds, when the change started\n"
                                   "(UTC), the mode, the container, the destination and the source.  Nothing\n"
                                   "is changed.  States:\n"
                                   "  restorable  its source is the directory it was written for: restore\n"
                                   "              puts the owners back (again, if it was already restored:\n"
                                   "              restore keeps the journal, so it cannot be told apart; a\n"
                                   "              chown+restore journal is removed by its poststop restore,\n"
                                   "              so one listed means that has not happened yet or failed)\n"
                                   "  stale       its source is gone or is another directory now (another\n"
                                   "              device, or not the inode the journal was written for)\n"
                                   "  untrusted   someone but you could have written it, or its ids are\n"
                                   "              another user namespace's: never read; the reason follows\n"
                                   "  invalid     yours, but its header does not parse\n"
                                   "Whether the container still exists is not shown: runtimes keep their\n"
                                   "state where each is told to (--root), which the journal does not say.\n"
                                   "\n"
                                   "Options:\n"
                                   "      --dir DIR       the journal directory\n"
                                   "      --policy FILE   the policy whose journalDir the hook uses (default\n"
                                   "                      " ADMIN_POLICY_DEFAULT_PATH "; in a rootless\n"
                                   "                      user namespace ~/" ROOTLESS_POLICY_PATH ");\n"
                                   "                      without journalDir: " JOURNAL_DEFAULT_DIR ",\n"
                                   "                      rootless ~/" ROOTLESS_JOURNAL_DIR "\n"
                                   "      --json          the same as one JSON object\n"
                                   "  -v, --verbose       say more of what is done\n"
                                   "  -h, --help          show this help and exit\n"
                                   "\n"
                                   "Exit status: 0 when listed, 1 on an error (one line on stderr), 2 on bad usage.\n";
/* clang-format on */

static const char *
state_name (const struct journal_entry *e)
{
  return e->invalid ? "invalid" : e->untrusted ? "untrusted" : e->stale ? "stale" : "restorable";
}

static void
utc (int64_t ns, char *buf, size_t len, bool iso)
{
  time_t t = (time_t) (ns / 1000000000);
  struct tm tm;

  if (gmtime_r (&t, &tm) == NULL || strftime (buf, len, iso ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M:%S", &tm) == 0)
    snprintf (buf, len, "-");
}

/* A reason, indented below its line. */
static int
print_reason (const hook_error_t *why)
{
  cleanup_free char *line = error_string (why);
  cleanup_free char *safe = line ? text_escape (line) : NULL;

  if (safe == NULL)
    return -1;
  printf ("            %s\n", safe);
  return 0;
}

/* Paths and ids are anybody's bytes: escaped. */
static int
print_entry (const struct journal_entry *e)
{
  cleanup_free char *id = text_escape (e->id);
  cleanup_free char *dest = text_escape (e->untrusted ? "-" : e->h.dest);
  cleanup_free char *source = text_escape (e->untrusted ? e->name : e->h.source);
  char when[32] = "-", entries[24] = "-";

  if (id == NULL || dest == NULL || source == NULL)
    return -1;
  if (!e->untrusted)
    {
      utc (e->h.started, when, sizeof when, false);
      snprintf (entries, sizeof entries, "%llu", (unsigned long long) e->records);
    }
  printf ("%-11s %-8s %-19s %-13s %-12.12s  %s  %s\n", state_name (e), entries, when,
          e->untrusted               ? "-"
          : e->h.restore_at_poststop ? "chown+restore"
                                     : "chown",
          id, dest, source);
  return e->untrusted || e->stale ? print_reason (e->untrusted ? e->untrusted : e->stale) : 0;
}

static int
print_text (const struct journal_list *l, const char *dir)
{
  cleanup_free char *safe = text_escape (dir);
  size_t stale = 0, untrusted = 0, invalid = 0;

  if (safe == NULL)
    return -1;
  if (l->n)
    printf ("%-11s %-8s %-19s %-13s %-12s  %s  %s\n", "STATE", "ENTRIES", "STARTED (UTC)", "MODE", "CONTAINER",
            "DESTINATION", "SOURCE");
  for (size_t i = 0; i < l->n; i++)
    {
      invalid += l->v[i].invalid;
      untrusted += l->v[i].untrusted && !l->v[i].invalid;
      stale += !l->v[i].untrusted && l->v[i].stale;
      if (print_entry (&l->v[i]) < 0)
        return -1;
    }
  printf ("%zu journal%s in '%s': %zu restorable, %zu stale, %zu untrusted", l->n, l->n == 1 ? "" : "s", safe,
          l->n - stale - untrusted - invalid, stale, untrusted);
  if (invalid)
    printf (", %zu invalid", invalid);
  putchar ('\n');
  return 0;
}

static int
j_kstr (yajl_gen g, const char *key, const char *value)
{
  cleanup_free char *safe = value ? text_escape (value) : NULL;

  if (json_gen_cstring (g, key) < 0 || (value && safe == NULL))
    return -1;
  return value ? json_gen_cstring (g, safe) : (yajl_gen_null (g) == yajl_gen_status_ok ? 0 : -1);
}

static int
j_reason (yajl_gen g, const char *key, const hook_error_t *why)
{
  cleanup_free char *line = why ? error_string (why) : NULL;

  return why && line == NULL ? -1 : j_kstr (g, key, line);
}

static int
j_entry (yajl_gen g, const struct journal_entry *e)
{
  char started[32], modified[32], device[32];

  yajl_gen_map_open (g);
  if (j_kstr (g, "file", e->path) < 0 || j_kstr (g, "state", state_name (e)) < 0
      || j_reason (g, "reason", e->untrusted ? e->untrusted : e->stale) < 0)
    return -1;
  if (e->untrusted)
    return j_kstr (g, "container", e->id) < 0 || yajl_gen_map_close (g) != yajl_gen_status_ok ? -1 : 0;
  utc (e->h.started, started, sizeof started, true);
  utc ((int64_t) e->mtime.tv_sec * 1000000000, modified, sizeof modified, true);
  snprintf (device, sizeof device, "%u:%u", e->h.major, e->h.minor);
  if (j_kstr (g, "container", e->h.container) < 0 || j_kstr (g, "destination", e->h.dest) < 0
      || j_kstr (g, "source", e->h.source) < 0 || j_kstr (g, "device", device) < 0
      || j_kstr (g, "mode", e->h.restore_at_poststop ? "chown+restore" : "chown") < 0
      || j_kstr (g, "started", started) < 0 || j_kstr (g, "modified", modified) < 0
      || json_gen_cstring (g, "entries") < 0 || yajl_gen_integer (g, (long long) e->records) != yajl_gen_status_ok
      || j_kstr (g, "mapping", e->h.mapping) < 0)
    return -1;
  return yajl_gen_map_close (g) == yajl_gen_status_ok ? 0 : -1;
}

static int
print_json (const struct journal_list *l, const char *dir, hook_error_t **err)
{
  cleanup_json_gen yajl_gen g = yajl_gen_alloc (NULL);
  cleanup_free char *text = NULL;
  size_t len;
  int ret = 0;

  if (g == NULL)
    return make_error (err, ENOMEM, "JSON status");
  yajl_gen_config (g, yajl_gen_beautify, 1);
  yajl_gen_map_open (g);
  ret = j_kstr (g, "directory", dir);
  if (ret == 0)
    ret = json_gen_cstring (g, "journals");
  yajl_gen_array_open (g);
  for (size_t i = 0; ret == 0 && i < l->n; i++)
    ret = j_entry (g, &l->v[i]);
  yajl_gen_array_close (g);
  yajl_gen_map_close (g);
  if (ret < 0)
    return make_error (err, ENOMEM, "JSON status");
  if (json_gen_take (g, &text, &len, err) < 0)
    return -1;
  fputs (text, stdout);
  return 0;
}

static int
status (const char *dir, bool json, hook_error_t **err)
{
  cleanup_close int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_journal_list struct journal_list l = { 0 };

  if (dfd < 0 && errno != ENOENT)
    return make_error (err, errno, "open the journal directory '%s'", dir);
  /* No directory: the hook never changed anything here. */
  if (dfd >= 0 && journal_list_read (dfd, dir, true, &l, err) < 0)
    return -1;
  if (json)
    return print_json (&l, dir, err);
  if (print_text (&l, dir) < 0)
    return make_error (err, ENOMEM, "status");
  return 0;
}

int
command_status (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "dir", required_argument, NULL, 'd' }, { "policy", required_argument, NULL, 'p' },
    { "json", no_argument, NULL, 'J' },      { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },      { NULL, 0, NULL, 0 },
  };
  const char *dir_opt = NULL, *policy = NULL;
  cleanup_free char *dir = NULL;
  hook_error_t *err = NULL;
  bool json = false;
  int c;

  optind = 0;
  opterr = 0;
  while ((c = getopt_long (argc, argv, "+:vh", longopts, NULL)) != -1)
    switch (c)
      {
      case 'd':
        dir_opt = optarg;
        break;
      case 'p':
        policy = optarg;
        break;
      case 'J':
        json = true;
        break;
      case 'v':
        log_verbose_enabled = true;
        break;
      case 'h':
        fputs (status_usage, stdout);
        return 0;
      default:
        return usage_error_option ("status", c, argv);
      }
  if (optind < argc)
    return usage_error ("status", "unexpected argument", argv[optind]);
  if (dir_opt && policy)
    return usage_error ("status", "give --dir DIR or --policy FILE, not both", NULL);
  if (restore_sandbox_enter (&err) < 0 || command_journal_dir (dir_opt, policy, &dir, &err) < 0
      || status (dir, json, &err) < 0)
    return report_failure (&err, EXIT_FAILURE);
  return 0;
}
