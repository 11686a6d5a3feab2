/* hook/chown/journal_list.c: the journals of a directory, and container id
 * prefixes. */
#define _GNU_SOURCE
#include "helpers.h"
#include "hook/chown/journal_list.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static char top[] = "/tmp/test_journal_list.XXXXXX";

static void
file (const char *name, mode_t mode, const char *text)
{
  char path[512];
  int fd;

  snprintf (path, sizeof path, "%s/%s", top, name);
  fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write (fd, text, strlen (text)) != (ssize_t) strlen (text) || fchmod (fd, mode) < 0)
    diag ("create %s failed", path);
  if (fd >= 0)
    close (fd);
}

static void
test_names (void)
{
  char *id = journal_name_container ("abc%2B1@%2Fdata.journal");

  is_str (id, "abc+1", "the id of a name is unescaped");
  free (id);
  errno = 0;
  id = journal_name_container ("noat.journal");
  ok (id == NULL && errno == EINVAL, "a name without '@' has no id");
}

static void
test_match (void)
{
  cleanup_journal_list struct journal_list l = { 0 };
  cleanup_close int dfd = -1;
  hook_error_t *err = NULL;
  const char *id = NULL;

  file ("aaa111@%2Fa.journal", 0600, "x");
  file ("aaa111@%2Fb.journal", 0600, "x");
  file ("aaa222@%2Fa.journal", 0600, "x");
  file ("ab@%2Fa.journal", 0600, "x");
  file ("abc@%2Fa.journal", 0600, "x");
  file ("notes.txt", 0600, "x");
  file (".hidden.journal", 0600, "x");
  dfd = open (top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  is_success (journal_list_read (dfd, top, false, &l, &err), 0, &err, "the names are listed");
  is_int ((long long) l.n, 5, "only the *.journal files, not hidden ones");
  is_str (l.n ? l.v[0].name : NULL, "aaa111@%2Fa.journal", "sorted by name");
  is_success (journal_list_match (&l, "aaa1", &id, &err), 0, &err, "a unique prefix");
  is_str (id, "aaa111", "names the id, once for its two journals");
  is_error (journal_list_match (&l, "aaa", &id, &err), -1, &err,
            "container id prefix aaa is not unique: it starts aaa111, aaa222; give more of the id",
            "an ambiguous prefix names every id it starts");
  ok (id == NULL, "and none is chosen");
  is_success (journal_list_match (&l, "ab", &id, &err), 0, &err, "an id that is whole wins over longer ones");
  is_str (id, "ab", "the exact id");
  is_int (journal_list_match (&l, "zzz", &id, &err), 1, "no id starts so");
}

static void
test_untrusted_never_read (void)
{
  cleanup_journal_list struct journal_list l = { 0 };
  cleanup_close int dfd = -1;
  hook_error_t *err = NULL;
  char sub[300];

  snprintf (sub, sizeof sub, "%s/untrusted", top);
  if (mkdir (sub, 0700) < 0)
    diag ("mkdir %s failed", sub);
  snprintf (sub, sizeof sub, "untrusted/c@%%2Fd.journal");
  file (sub, 0666, "not a header at all");
  snprintf (sub, sizeof sub, "%s/untrusted", top);
  dfd = open (sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  is_success (journal_list_read (dfd, sub, true, &l, &err), 0, &err, "a directory with an untrusted journal is listed");
  is_int ((long long) l.n, 1, "with it");
  ok (l.n == 1 && l.v[0].untrusted
          && strstr (error_shown (l.v[0].untrusted), "with mode 0666 and 1 link, so someone else"),
      "as untrusted by its owner and mode, not by what it holds: %s", l.n ? error_shown (l.v[0].untrusted) : "-");
  is_str (l.n ? l.v[0].id : NULL, "c", "its id from its name");
}

static void
test_invalid (void)
{
  cleanup_journal_list struct journal_list l = { 0 };
  cleanup_close int dfd = -1;
  hook_error_t *err = NULL;
  char sub[300];

  snprintf (sub, sizeof sub, "%s/invalid", top);
  if (mkdir (sub, 0700) < 0)
    diag ("mkdir %s failed", sub);
  file ("invalid/c@%2Fd.journal", 0600, "not a header at all");
  dfd = open (sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  is_success (journal_list_read (dfd, sub, true, &l, &err), 0, &err, "a directory with a journal of ours is listed");
  ok (l.n == 1 && l.v[0].invalid && l.v[0].untrusted, "one of ours that does not parse is invalid: %s",
      l.n ? error_shown (l.v[0].untrusted) : "-");
}

int
main (void)
{
  if (mkdtemp (top) == NULL)
    {
      diag ("mkdtemp failed");
      return 1;
    }
  test_names ();
  test_match ();
  test_untrusted_never_read ();
  test_invalid ();
  {
    char cmd[300];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", top);
    if (system (cmd) != 0)
      diag ("rm -rf %s failed", top);
  }
  return done_testing ();
}
