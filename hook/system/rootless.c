/* Is the hook in rootless podman's user namespace?  See rootless.h. */
#define _GNU_SOURCE
#include "rootless.h"
#include "base/cleanup.h"
#include "base/io.h"
#include "base/str.h"
#include "oci/idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint32_t
overflow_id (const char *path)
{
  char buf[32];
  return read_small (AT_FDCWD, path, buf, sizeof buf) >= 0 ? (uint32_t) strtoul (buf, NULL, 10) : 65534;
}

/* /proc/self/uid_map (WHICH "uid") or gid_map. */
static int
read_self_map (const char *which, struct idmap *map, hook_error_t **err)
{
  char text[4096], path[32];

  snprintf (path, sizeof path, "/proc/self/%s_map", which);
  if (read_small (AT_FDCWD, path, text, sizeof text) < 0)
    return make_error (err, errno, "read '%s'", path);
  return idmap_parse_proc (map, text, path, err);
}

/* The home of UID from /etc/passwd itself: no NSS module, no socket. */
static int
home_of (uint32_t uid, char **home, hook_error_t **err)
{
  cleanup_fclose FILE *f = fopen ("/etc/passwd", "re");
  struct passwd *pw;

  *home = NULL;
  while (f && (pw = fgetpwent (f)) != NULL)
    if (pw->pw_uid == uid && pw->pw_dir[0] == '/')
      return str_dup (home, pw->pw_dir, err);
  return 0;
}

int
rootless_detect (struct rootless *r, hook_error_t **err)
{
  struct idmap map = { 0 }, gmap = { 0 };

  memset (r, 0, sizeof *r);
  if (read_self_map ("uid", &map, err) < 0 || read_self_map ("gid", &gmap, err) < 0)
    return -1;
  /* Host root is judged by host ids: which ids here, if any, are host 0. */
  if (!idmap_to_inside (&map, 0, &r->host_root_uid))
    r->host_root_uid = ROOTLESS_NO_ID;
  if (!idmap_to_inside (&gmap, 0, &r->host_root_gid))
    r->host_root_gid = ROOTLESS_NO_ID;
  r->active = !idmap_is_identity (&map);
  if (!r->active)
    return 0;
  if (!idmap_to_outside (&map, 0, &r->host_uid))
    r->host_uid = ROOTLESS_NO_ID;
  r->overflow_uid = overflow_id ("/proc/sys/kernel/overflowuid");
  r->overflow_gid = overflow_id ("/proc/sys/kernel/overflowgid");
  if (r->host_uid == ROOTLESS_NO_ID)
    return 0;
  return home_of (r->host_uid, &r->home, err);
}

int
rootless_ids (char *buf, size_t len, hook_error_t **err)
{
  struct idmap map = { 0 };

  if (read_self_map ("uid", &map, err) < 0)
    return -1;
  if (idmap_is_identity (&map))
    snprintf (buf, len, "initial");
  else
    idmap_describe (&map, buf, len);
  return 0;
}

int
rootless_check_ids (uint32_t uid, uint32_t gid, hook_error_t **err)
{
  struct idmap uids = { 0 }, gids = { 0 };
  uint32_t out;
  char desc[128];

  if (read_self_map ("uid", &uids, err) < 0 || read_self_map ("gid", &gids, err) < 0)
    return -1;
  if (idmap_to_outside (&uids, uid, &out) && idmap_to_outside (&gids, gid, &out))
    return 0;
  idmap_describe (&uids, desc, sizeof desc);
  make_error (err, 0, "the target %u:%u is outside your user namespace (uids %s), so it cannot own files", uid, gid,
              desc);
  return error_hint (err, "run the container as a user below the size of your /etc/subuid and /etc/subgid ranges");
}

void
rootless_free (struct rootless *r)
{
  free (r->home);
  r->home = NULL;
}

int
rootless_path (const struct rootless *r, const char *rel, char **out, hook_error_t **err)
{
  *out = NULL;
  if (r->home == NULL)
    return 0;
  return str_printf (out, err, "%s/%s", r->home, rel);
}
