/* What the hook has changed and not given back: the journals of a journal
 * directory, each believed or not (restore_trust.h), and for those
 * believed what they say and whether a restore can still find their
 * source.  Nothing on disk changes. */
#ifndef HOOK_JOURNAL_LIST_H
#define HOOK_JOURNAL_LIST_H

#include "base/error.h"
#include "journal.h"

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct journal_entry
{
  char *name;              /* the file name in the directory */
  char *path;              /* DIR/NAME, for messages */
  char *id;                /* the container id its name carries (unescaped) */
  hook_error_t *untrusted; /* why it is not believed or not read, or NULL; the rest only when NULL */
  bool invalid;            /* believed, but its header does not parse */
  struct journal_header h;
  uint64_t records;      /* whole records: inodes whose owner changed */
  struct timespec mtime; /* its last append */
  hook_error_t *stale;   /* why its source is not the directory it was written for, or NULL */
};

struct journal_list
{
  struct journal_entry *v;
  size_t n;
};

/* List every "*.journal" of the directory DIR_FD (named DIR), sorted by
 * name; with READ false only their names and ids.  Only a journal that restore would believe is read; the others,
 * and all of them in a directory that is not believed, are listed with
 * the reason.  -1 only when the directory cannot be read. */
int journal_list_read (int dir_fd, const char *dir, bool read, struct journal_list *l, hook_error_t **err);

void journal_list_free (struct journal_list *l);
#define cleanup_journal_list __attribute__ ((cleanup (journal_list_free))) /* on a zeroed struct */

/* "ID" of the file name "ID@DEST.journal" (%XX undone); malloc'd, or NULL
 * with errno (EINVAL: no '@'). */
char *journal_name_container (const char *name);

/* The one container id of L that PREFIX names: itself if some journal has
 * exactly that id, else the only id starting with it.  0 and *ID (one of
 * L's) when found, 1 when none is; -1 when several are, naming them. */
int journal_list_match (const struct journal_list *l, const char *prefix, const char **id, hook_error_t **err);

#endif
