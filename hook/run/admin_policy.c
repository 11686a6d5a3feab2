#define _GNU_SOURCE
#include "admin_policy.h"
#include "base/cleanup.h"
#include "base/io.h"
#include "base/path.h"
#include "base/str.h"
#include "base/trusted.h"
#include "oci/json.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Host trees no container gets, whatever it asks ("/" itself only; the
 * others with everything below them; "/lib*" is every /lib, /lib64, ...). */
static const char *const denied_roots[] = {
  "/etc", "/usr", "/bin", "/sbin", "/lib*", "/boot", "/dev", "/proc", "/sys", "/run", "/var/run", "/root",
};

static const char *const known_keys[] = {
  "allowedSources", "allowedModes", "allowHostRoot", "defaultMounts", "journalDir", "environment",
};

/* PATH is below the deny-list entry D; fills the matched root into BUF. */
static bool
under_denied (const char *path, const char *d, char *buf, size_t len)
{
  if (strcmp (d, "/lib*") == 0)
    {
      size_t n = strcspn (path + 1, "/");
      if (strncmp (path, "/lib", 4) != 0)
        return false;
      snprintf (buf, len, "%.*s", (int) n + 1, path);
      return true;
    }
  snprintf (buf, len, "%s", d);
  return path_is_under (path, d);
}

/* All zero: every mode allowed, no host root, no allow list. */
static void
set_defaults (struct admin_policy *pol)
{
  memset (pol, 0, sizeof *pol);
}

static int
parse_sources (yajl_val arr, const char *where, struct admin_policy *pol, hook_error_t **err)
{
  if (arr->u.array.len > ADMIN_POLICY_MAX_SOURCES)
    return make_error (err, 0, "%s: more than %d allowedSources", where, ADMIN_POLICY_MAX_SOURCES);
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      yajl_val v = arr->u.array.values[i];
      if (!YAJL_IS_STRING (v))
        return make_error (err, 0, "%s: allowedSources[%zu] must be a string", where, i);
      if (normalize_dest (v->u.string, &pol->allowed_sources[pol->n_allowed], err) < 0)
        return error_prefix (err, "%s: allowedSources[%zu]", where, i);
      pol->n_allowed++;
    }
  return 0;
}

static int
parse_modes (yajl_val arr, const char *where, struct admin_policy *pol, hook_error_t **err)
{
  for (size_t m = 0; m < MODE_COUNT; m++)
    pol->mode_denied[m] = true;
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      yajl_val v = arr->u.array.values[i];
      enum mount_mode mode;
      if (!YAJL_IS_STRING (v) || mode_parse (v->u.string, strlen (v->u.string), &mode) < 0)
        return make_error (err, 0, "%s: allowedModes[%zu] must be one of %s", where, i, mode_list);
      pol->mode_denied[mode] = false;
    }
  return 0;
}

int
admin_policy_parse (const char *text, size_t len, const char *where, struct admin_policy *pol, hook_error_t **err)
{
  yajl_val sources = NULL, modes = NULL, root_ok;
  const char *environment = NULL;

  set_defaults (pol);
  /* A copy: the caller's name (the rootless user's policy path, say) may
   * not outlive the policy, whose refusals and hints name it. */
  if (str_dup (&pol->path, where, err) < 0)
    return -1;
  if (json_parse (text, len, where, &pol->tree, err) < 0)
    return -1;
  if (!YAJL_IS_OBJECT (pol->tree))
    return make_error (err, 0, "%s: expected a JSON object", where);
  for (size_t i = 0; i < pol->tree->u.object.len; i++)
    {
      bool known = false;
      for (size_t k = 0; k < sizeof known_keys / sizeof known_keys[0]; k++)
        known = known || strcmp (pol->tree->u.object.keys[i], known_keys[k]) == 0;
      if (!known)
        return make_error (err, 0, "%s: unknown key \"%s\"", where, pol->tree->u.object.keys[i]);
    }
  if (json_get_array (pol->tree, "allowedSources", where, &sources, err) < 0
      || json_get_array (pol->tree, "allowedModes", where, &modes, err) < 0
      || json_get_string (pol->tree, "defaultMounts", where, &pol->default_mounts, err) < 0
      || json_get_string (pol->tree, "journalDir", where, &pol->journal_dir, err) < 0
      || json_get_string (pol->tree, "environment", where, &environment, err) < 0)
    return -1;
  if (environment && env_trust_parse (environment, &pol->env_trust) < 0)
    return make_error (err, 0, "%s: \"environment\" must be one of %s, not \"%s\"", where, env_trust_list, environment);
  root_ok = json_member (pol->tree, "allowHostRoot");
  if (root_ok && !YAJL_IS_TRUE (root_ok) && !YAJL_IS_FALSE (root_ok))
    return make_error (err, 0, "%s: \"allowHostRoot\" must be true or false", where);
  pol->allow_host_root = root_ok && YAJL_IS_TRUE (root_ok);
  if (pol->journal_dir && pol->journal_dir[0] != '/')
    return make_error (err, 0, "%s: \"journalDir\" must be an absolute path", where);
  if ((sources && parse_sources (sources, where, pol, err) < 0) || (modes && parse_modes (modes, where, pol, err) < 0))
    return -1;
  return 0;
}

/* Only uid 0, or the user reading it (doctor; a rootless user's hook, whose
 * own files show as 0), may change the policy file or its directory: a
 * policy someone else can rewrite is theirs.  A sticky directory keeps
 * others from replacing a file they do not own. */
static const struct trust_rule policy_file_rule = {
  .flags = O_RDONLY | O_NONBLOCK, /* opening a FIFO for reading must not wait for a writer */
  .type = S_IFREG,
  .owner = TRUST_OWNER_SELF_OR_ROOT,
  .forbidden = 022,
};
static const struct trust_rule policy_dir_rule = {
  .owner = TRUST_OWNER_SELF_OR_ROOT,
  .forbidden = 022,
  .sticky_exempt = true,
};

static int
refuse (enum trust_verdict verdict, const struct stat *st, const char *what, const char *path, hook_error_t **err)
{
  switch (verdict)
    {
    case TRUST_OPEN_FAILED:
      return make_error (err, errno, "open %s '%s'", what, path);
    case TRUST_STAT_FAILED:
      return make_error (err, errno, "stat %s '%s'", what, path);
    case TRUST_WRONG_TYPE:
      make_error (err, 0, "%s '%s' is not a regular file", what, path);
      return error_hint (err, "put the policy in a regular file owned by root");
    case TRUST_OK:
    case TRUST_NOT_OURS:
    case TRUST_REPLACED:
    default:
      make_error (err, 0,
                  "%s '%s' is owned by uid %u with mode %04o: it must be owned by root and not writable by group or "
                  "others",
                  what, path, (unsigned int) st->st_uid, (unsigned int) (st->st_mode & 07777));
      return error_hint (err, "chown root '%s' && chmod go-w '%s'", path, path);
    }
}

int
admin_policy_load (const char *path, bool required, struct admin_policy *pol, hook_error_t **err)
{
  const char *slash = strrchr (path, '/');
  cleanup_free char *dir = slash ? strndup (path, slash == path ? 1 : (size_t) (slash - path)) : strdup (".");
  cleanup_close int dir_fd = -1, fd = -1;
  cleanup_free char *text = NULL;
  enum trust_verdict verdict = TRUST_OPEN_FAILED;
  struct stat st;
  size_t len;

  set_defaults (pol);
  if (dir == NULL)
    return make_error (err, ENOMEM, "%s", path);
  dir_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0)
    fd = trusted_open (dir_fd, slash ? slash + 1 : path, &policy_file_rule, &st, &verdict);
  if (fd < 0 && verdict == TRUST_OPEN_FAILED && errno == ENOENT && !required)
    return 0;
  if (fd < 0)
    return refuse (verdict, &st, "the policy file", path, err);
  verdict = trusted_fd (dir_fd, &policy_dir_rule, &st);
  if (verdict != TRUST_OK)
    return refuse (verdict, &st, "the policy's directory", dir, err);
  if (read_all_capped (fd, ADMIN_POLICY_MAX_BYTES, path, &text, &len, err) < 0)
    return -1;
  return admin_policy_parse (text, len, path, pol, err);
}

void
admin_policy_free (struct admin_policy *pol)
{
  for (size_t i = 0; i < pol->n_allowed; i++)
    free (pol->allowed_sources[i]);
  yajl_tree_free (pol->tree);
  free (pol->path);
  set_defaults (pol);
}

/* Where the administrator changes a rule: the file the policy came from, or
 * the one the hook reads by default. */
static const char *
policy_file (const struct admin_policy *pol)
{
  return pol->path ? pol->path : ADMIN_POLICY_DEFAULT_PATH;
}

int
admin_policy_check_source (const struct admin_policy *pol, const char *real_path, hook_error_t **err)
{
  return admin_policy_check_source_paths (pol, &real_path, 1, err);
}

int
admin_policy_check_source_paths (const struct admin_policy *pol, const char *const *paths, size_t n, hook_error_t **err)
{
  const char *allowed_by = NULL;
  char denied[64];

  for (size_t p = 0; p < n; p++)
    if (strcmp (paths[p], "/") == 0)
      {
        make_error (err, 0, "the host's root directory is never served (built-in deny list)");
        return error_hint (err, "use a directory below it as the source");
      }
  /* One name the administrator allowed is enough ... */
  for (size_t p = 0; p < n && allowed_by == NULL; p++)
    for (size_t i = 0; i < pol->n_allowed && allowed_by == NULL; i++)
      if (path_is_under (paths[p], pol->allowed_sources[i]))
        allowed_by = pol->allowed_sources[i];
  if (pol->n_allowed > 0 && allowed_by == NULL)
    {
      make_error (err, 0, "the source '%s' is not under any of allowedSources in '%s'", paths[0], policy_file (pol));
      return error_hint (err, "add the directory to allowedSources in '%s', or use a source under one it lists",
                         policy_file (pol));
    }
  /* ... but a denied tree is denied under every name it has, and served
   * only where the admin listed a path inside it. */
  for (size_t p = 0; p < n; p++)
    for (size_t i = 0; i < sizeof denied_roots / sizeof denied_roots[0]; i++)
      if (under_denied (paths[p], denied_roots[i], denied, sizeof denied)
          && (allowed_by == NULL || !path_is_under (allowed_by, denied)))
        {
          make_error (err, 0, "the source '%s' is under %s (built-in deny list)", paths[p], denied);
          return error_hint (err, "list it in allowedSources of '%s' to allow it, or use another source",
                             policy_file (pol));
        }
  return 0;
}

int
admin_policy_check_mode (const struct admin_policy *pol, enum mount_mode mode, hook_error_t **err)
{
  char allowed[128] = "";
  size_t o = 0;

  if ((unsigned int) mode < MODE_COUNT && !pol->mode_denied[mode])
    return 0;
  for (size_t m = 0; m < MODE_COUNT && o < sizeof allowed; m++)
    if (!pol->mode_denied[m])
      o += (size_t) snprintf (allowed + o, sizeof allowed - o, "%s%s", o ? ", " : "", mode_name ((enum mount_mode) m));
  make_error (err, 0, "mode %s is not in allowedModes of '%s'", mode_name (mode), policy_file (pol));
  return error_hint (err, "ask for a mode it lists (%s), or add %s to allowedModes in '%s'", o ? allowed : "none",
                     mode_name (mode), policy_file (pol));
}
