#define _GNU_SOURCE
#include "config.h"
#include "base/io.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WHERE "config.json"

/* [{"containerID": C, "hostID": H, "size": N}, ...] */
static int
parse_mappings (yajl_val arr, const char *where, struct idmap *map, hook_error_t **err)
{
  map->n = 0;
  for (size_t i = 0; arr && i < arr->u.array.len; i++)
    {
      yajl_val m = arr->u.array.values[i];
      uint64_t c, h, n;
      if (!YAJL_IS_OBJECT (m))
        return make_error (err, 0, "%s: item %zu must be an object", where, i);
      if (json_get_uint (m, "containerID", UINT32_MAX, where, &c, err) <= 0
          || json_get_uint (m, "hostID", UINT32_MAX, where, &h, err) <= 0
          || json_get_uint (m, "size", UINT32_MAX, where, &n, err) <= 0)
        {
          if (*err == NULL)
            make_error (err, 0, "%s: item %zu needs containerID, hostID and size", where, i);
          return -1;
        }
      if (idmap_add (map, c, h, n, where, err) < 0)
        return -1;
    }
  return idmap_validate (map, where, err);
}

static int
parse_mount (yajl_val m, size_t i, struct oci_mount *out, hook_error_t **err)
{
  char where[64];
  yajl_val options = NULL, uids = NULL, gids = NULL;

  snprintf (where, sizeof where, WHERE " mounts[%zu]", i);
  if (!YAJL_IS_OBJECT (m))
    return make_error (err, 0, "%s: must be an object", where);
  if (json_get_string (m, "destination", where, &out->destination, err) < 0
      || json_get_string (m, "source", where, &out->source, err) < 0
      || json_get_string (m, "type", where, &out->type, err) < 0
      || json_get_array (m, "options", where, &options, err) < 0
      || json_get_array (m, "uidMappings", where, &uids, err) < 0
      || json_get_array (m, "gidMappings", where, &gids, err) < 0)
    return -1;
  if (out->destination == NULL)
    return make_error (err, 0, "%s: no \"destination\"", where);
  if (json_string_array (options, where, &out->options, err) < 0)
    return -1;
  out->bind = out->type && strcmp (out->type, "bind") == 0;
  for (size_t k = 0; out->options[k]; k++)
    {
      const char *o = out->options[k];
      if (strcmp (o, "bind") == 0 || strcmp (o, "rbind") == 0)
        out->bind = true;
      if (strcmp (o, "idmap") == 0 || strcmp (o, "ridmap") == 0 || strncmp (o, "idmap=", 6) == 0)
        out->idmapped = true;
    }
  if (uids || gids)
    {
      if (parse_mappings (uids, where, &out->uid_map, err) < 0 || parse_mappings (gids, where, &out->gid_map, err) < 0)
        return -1;
      out->has_mappings = true;
      out->idmapped = true;
    }
  return 0;
}

/* The kernel's NGROUPS_MAX: more cannot be set. */
#define MAX_ADDITIONAL_GIDS 65536

static int
parse_additional_gids (yajl_val user, struct oci_config *cfg, hook_error_t **err)
{
  yajl_val gids = NULL;

  if (json_get_array (user, "additionalGids", WHERE " process.user", &gids, err) < 0)
    return -1;
  if (gids == NULL || gids->u.array.len == 0)
    return 0;
  if (gids->u.array.len > MAX_ADDITIONAL_GIDS)
    return make_error (err, 0, WHERE " process.user.additionalGids: more than %d groups", MAX_ADDITIONAL_GIDS);
  cfg->additional_gids = calloc (gids->u.array.len, sizeof *cfg->additional_gids);
  if (cfg->additional_gids == NULL)
    return make_error (err, ENOMEM, WHERE " process.user.additionalGids");
  for (size_t i = 0; i < gids->u.array.len; i++)
    {
      yajl_val v = gids->u.array.values[i];
      if (!YAJL_IS_INTEGER (v) || YAJL_GET_INTEGER (v) < 0 || YAJL_GET_INTEGER (v) > UINT32_MAX - 1)
        return make_error (err, 0, WHERE " process.user.additionalGids[%zu]: not a group id", i);
      cfg->additional_gids[cfg->n_additional_gids++] = (uint32_t) YAJL_GET_INTEGER (v);
    }
  return 0;
}

static int
parse_process (struct oci_config *cfg, hook_error_t **err)
{
  yajl_val process = NULL, user = NULL, env = NULL;
  uint64_t uid = 0, gid = 0;
  int has_uid;

  if (json_get_object (cfg->tree, "process", WHERE, &process, err) < 0
      || (process && json_get_object (process, "user", WHERE " process", &user, err) < 0)
      || (process && json_get_array (process, "env", WHERE " process", &env, err) < 0))
    return -1;
  if (json_string_array (env, WHERE " process.env", &cfg->env, err) < 0)
    return -1;
  if (user == NULL)
    return 0;
  has_uid = json_get_uint (user, "uid", UINT32_MAX - 1, WHERE " process.user", &uid, err);
  if (has_uid < 0 || json_get_uint (user, "gid", UINT32_MAX - 1, WHERE " process.user", &gid, err) < 0
      || parse_additional_gids (user, cfg, err) < 0)
    return -1;
  cfg->has_user = has_uid > 0;
  cfg->uid = (uint32_t) uid;
  cfg->gid = (uint32_t) gid;
  return 0;
}

static int
parse_linux (struct oci_config *cfg, hook_error_t **err)
{
  yajl_val linux_ = NULL, namespaces = NULL, uids = NULL, gids = NULL;

  if (json_get_object (cfg->tree, "linux", WHERE, &linux_, err) < 0)
    return -1;
  if (linux_ == NULL)
    return 0;
  if (json_get_array (linux_, "namespaces", WHERE " linux", &namespaces, err) < 0
      || json_get_array (linux_, "uidMappings", WHERE " linux", &uids, err) < 0
      || json_get_array (linux_, "gidMappings", WHERE " linux", &gids, err) < 0)
    return -1;
  for (size_t i = 0; namespaces && i < namespaces->u.array.len; i++)
    {
      yajl_val ns = namespaces->u.array.values[i];
      const char *type = NULL, *path = NULL;
      if (json_get_string (ns, "type", WHERE " linux.namespaces", &type, err) < 0
          || json_get_string (ns, "path", WHERE " linux.namespaces", &path, err) < 0)
        return -1;
      if (type && strcmp (type, "user") == 0)
        {
          cfg->has_userns = true;
          cfg->userns_path = path && path[0] ? path : NULL;
        }
    }
  if (uids && gids)
    {
      if (parse_mappings (uids, WHERE " linux.uidMappings", &cfg->uid_map, err) < 0
          || parse_mappings (gids, WHERE " linux.gidMappings", &cfg->gid_map, err) < 0)
        return -1;
      cfg->has_mappings = cfg->uid_map.n > 0 && cfg->gid_map.n > 0;
    }
  return 0;
}

int
oci_config_parse (const char *text, size_t len, struct oci_config *cfg, hook_error_t **err)
{
  yajl_val root = NULL, annotations = NULL, mounts = NULL;

  memset (cfg, 0, sizeof *cfg);
  if (json_parse (text, len, WHERE, &cfg->tree, err) < 0)
    return -1;
  if (!YAJL_IS_OBJECT (cfg->tree))
    return make_error (err, 0, WHERE ": expected a JSON object");
  if (json_get_object (cfg->tree, "root", WHERE, &root, err) < 0
      || (root && json_get_string (root, "path", WHERE " root", &cfg->root_path, err) < 0)
      || json_get_object (cfg->tree, "annotations", WHERE, &annotations, err) < 0
      || json_string_map (annotations, WHERE " annotations", &cfg->annotations, err) < 0
      || json_get_array (cfg->tree, "mounts", WHERE, &mounts, err) < 0 || parse_process (cfg, err) < 0
      || parse_linux (cfg, err) < 0)
    return -1;
  if (mounts && mounts->u.array.len > 0)
    {
      cfg->mounts = calloc (mounts->u.array.len, sizeof *cfg->mounts);
      if (cfg->mounts == NULL)
        return make_error (err, 0, WHERE ": out of memory");
      /* Counted before parsing so that oci_config_free frees a half-parsed list. */
      cfg->n_mounts = mounts->u.array.len;
      for (size_t i = 0; i < cfg->n_mounts; i++)
        if (parse_mount (mounts->u.array.values[i], i, &cfg->mounts[i], err) < 0)
          return -1;
    }
  return 0;
}

void
oci_config_free (struct oci_config *cfg)
{
  for (size_t i = 0; i < cfg->n_mounts; i++)
    free (cfg->mounts[i].options);
  free (cfg->mounts);
  free (cfg->additional_gids);
  free (cfg->env);
  free (cfg->annotations);
  yajl_tree_free (cfg->tree);
  memset (cfg, 0, sizeof *cfg);
}

const char *
env_lookup (const char **env, const char *name)
{
  size_t n = strlen (name);
  const char *found = NULL;

  /* The last definition wins, as with execve. */
  for (size_t i = 0; env && env[i]; i++)
    if (strncmp (env[i], name, n) == 0 && env[i][n] == '=')
      found = env[i] + n + 1;
  return found;
}

bool
oci_mount_runtime_maps (const struct oci_mount *m, const struct idmap *ns_uids, const struct idmap *ns_gids,
                        const struct idmap **uids, const struct idmap **gids)
{
  if (m == NULL || !m->idmapped)
    return false;
  if (m->has_mappings)
    {
      *uids = &m->uid_map;
      *gids = &m->gid_map;
      return true;
    }
  for (size_t i = 0; m->options && m->options[i]; i++)
    if (strcmp (m->options[i], "idmap") == 0 || strcmp (m->options[i], "ridmap") == 0)
      {
        *uids = ns_uids;
        *gids = ns_gids;
        return true;
      }
  return false;
}

int
oci_config_read (const char *bundle, char **path, char **text, size_t *len, struct stat *st, hook_error_t **err)
{
  struct stat own;
  int fd, ret;

  if (st == NULL)
    st = &own;
  *text = NULL;
  if (asprintf (path, "%s/config.json", bundle) < 0)
    {
      *path = NULL;
      return make_error (err, ENOMEM, "config.json");
    }
  fd = open (*path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0)
    return make_error (err, errno, "open '%s'", *path);
  if (fstat (fd, st) < 0)
    ret = make_error (err, errno, "stat '%s'", *path);
  else if (!S_ISREG (st->st_mode))
    ret = make_error (err, 0, "'%s' is not a regular file", *path);
  else
    ret = read_all_capped (fd, OCI_CONFIG_MAX_BYTES, *path, text, len, err);
  close (fd);
  return ret;
}
