/* dockerd's --userns-remap as the doctor needs it: the subordinate ranges
 * of the remap user in /etc/subuid and /etc/subgid, laid out as dockerd lays
 * them into the containers' mapping. */
#define _GNU_SOURCE
#include "base/cleanup.h"
#include "base/io.h"
#include "base/str.h"
#include "doctor_stack.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The subordinate ranges of NAME (or of its id, as dockerd matches them) in
 * the file PATH, one after the other from container id 0. */
static int
read_ranges (const char *path, const char *name, const char *id, struct idmap *map, hook_error_t **err)
{
  cleanup_free char *text = NULL;
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  uint64_t inside = 0;
  size_t len;
  char *save = NULL;

  if (fd < 0)
    return make_error (err, errno, "--userns-remap: open '%s'", path);
  if (read_all_capped (fd, 1u << 20, path, &text, &len, err) < 0)
    return -1;
  for (char *line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *who = line, *start = strchr (line, ':'), *count, *end1, *end2;
      unsigned long long s, n;
      if (start == NULL || (count = strchr (start + 1, ':')) == NULL)
        continue;
      *start++ = '\0';
      *count++ = '\0';
      if (strcmp (who, name) != 0 && (id == NULL || strcmp (who, id) != 0))
        continue;
      errno = 0;
      s = strtoull (start, &end1, 10);
      n = strtoull (count, &end2, 10);
      if (errno || *end1 || *end2 || end1 == start || end2 == count)
        return make_error (err, 0, "--userns-remap: '%s': bad line for %s", path, name);
      if (idmap_add (map, inside, s, n, path, err) < 0)
        return -1;
      inside += n;
    }
  if (map->n == 0)
    {
      make_error (err, 0, "--userns-remap: '%s' has no range of %s", path, name);
      return error_hint (err,
                         "dockerd needs a line %s:START:COUNT there (with --userns-remap=default it makes "
                         "dockremap's the first time it starts); or give --uidmap and --gidmap",
                         name);
    }
  return 0;
}

int
doctor_remap_read (const char *spec, const char *subuid, const char *subgid, struct idmap *uids, struct idmap *gids,
                   hook_error_t **err)
{
  cleanup_free char *user = NULL, *uid_text = NULL, *gid_text = NULL;
  const char *group;
  char *colon;

  if (str_dup (&user, strcmp (spec, "default") == 0 ? "dockremap" : spec, err) < 0)
    return -1;
  colon = strchr (user, ':');
  if (colon)
    *colon++ = '\0';
  group = colon ? colon : user;
  /* The host's own passwd and group: trusted, and what dockerd reads. */
  struct passwd *pw = getpwnam (user);
  struct group *gr = getgrnam (group);
  if ((pw && str_printf (&uid_text, err, "%u", (unsigned) pw->pw_uid) < 0)
      || (gr && str_printf (&gid_text, err, "%u", (unsigned) gr->gr_gid) < 0))
    return -1;
  uids->n = gids->n = 0;
  if (read_ranges (subuid, user, uid_text, uids, err) < 0 || read_ranges (subgid, group, gid_text, gids, err) < 0)
    return -1;
  return 0;
}
