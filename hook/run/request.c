#define _GNU_SOURCE
#include "request.h"
#include "base/cleanup.h"
#include "base/path.h"
#include "oci/config.h"
#include "oci/state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const mode_names[] = {
  [MODE_IDMAP] = "idmap",
  [MODE_NSMAP] = "nsmap",
  [MODE_CHOWN] = "chown",
  [MODE_AUTO] = "auto",
  [MODE_CHOWN_RESTORE] = "chown+restore",
};
_Static_assert(sizeof mode_names / sizeof mode_names[0] == MODE_COUNT, "a name for every mode");

const char mode_list[] = "idmap, nsmap, chown, auto, chown+restore";

const char *
mode_name (enum mount_mode mode)
{
  return mode_names[mode];
}

/* The index of the name TEXT (LEN bytes) in NAMES[0..N), or -1. */
static int
name_index (const char *const *names, size_t n, const char *text, size_t len)
{
  for (size_t i = 0; i < n; i++)
    if (strlen (names[i]) == len && memcmp (names[i], text, len) == 0)
      return (int) i;
  return -1;
}

int
mode_parse (const char *text, size_t len, enum mount_mode *mode)
{
  int i = name_index (mode_names, MODE_COUNT, text, len);
  if (i < 0)
    return -1;
  *mode = (enum mount_mode) i;
  return 0;
}

static const char *const env_trust_names[] = {
  [ENV_TRUST_IDMAP] = "idmap",
  [ENV_TRUST_OFF] = "off",
  [ENV_TRUST_FULL] = "full",
};
_Static_assert(sizeof env_trust_names / sizeof env_trust_names[0] == ENV_TRUST_COUNT, "a name for every level");

const char env_trust_list[] = "off, idmap, full";

const char *
env_trust_name (enum env_trust trust)
{
  return env_trust_names[trust];
}

int
env_trust_parse (const char *name, enum env_trust *trust)
{
  int i = name_index (env_trust_names, ENV_TRUST_COUNT, name, strlen (name));
  if (i < 0)
    return -1;
  *trust = (enum env_trust) i;
  return 0;
}

/* What the administrator does to let the environment ask for everything. */
#define ENV_OPT_IN                                                                                                     \
  "let the environment ask: \"environment\": \"full\" in the policy file, or the hook's --environment full "           \
  "(oci-idmap-runtime --idmap-environment full)"
#define ENV_IS_THE_IMAGES "the container's environment, which its image sets as much as docker run -e does,"

static bool
is_separator (char c)
{
  return c == ';' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
add_item (const char *item, size_t len, const char *origin, struct request *req, hook_error_t **err)
{
  cleanup_free char *text = strndup (item, len);
  cleanup_free char *dest = NULL;
  enum mount_mode mode = MODE_IDMAP;
  char *eq;

  if (text == NULL)
    return make_error (err, ENOMEM, "%s", origin);
  eq = strchr (text, '=');
  if (eq)
    {
      *eq = '\0';
      if (mode_parse (eq + 1, strlen (eq + 1), &mode) < 0)
        return make_error (err, 0, "%s: \"%s\": unknown mode \"%s\"; use one of %s", origin, text, eq + 1, mode_list);
    }
  if (strcmp (text, "*") == 0)
    dest = strdup ("*");
  else if (normalize_dest (text, &dest, err) < 0)
    return error_prefix (err, "%s", origin);
  if (dest == NULL)
    return make_error (err, ENOMEM, "%s", origin);
  if (strcmp (dest, "/") == 0)
    return make_error (err, 0, "%s: \"/\" is the container's root, not a bind mount", origin);
  for (size_t i = 0; i < req->n; i++)
    if (strcmp (req->items[i].dest, dest) == 0)
      return make_error (err, 0, "%s: '%s' is listed twice", origin, dest);
  if (req->n >= REQUEST_MAX_ITEMS)
    return make_error (err, 0, "%s: more than %d items", origin, REQUEST_MAX_ITEMS);
  req->items[req->n].dest = steal_pointer (&dest);
  req->items[req->n].mode = mode;
  req->n++;
  return 0;
}

int
request_parse_mounts (const char *text, const char *origin, struct request *req, hook_error_t **err)
{
  const char *p = text;

  /* REQ is written over whole (callers may pass it uninitialised). */
  req->n = 0;
  req->origin = origin;
  req->origin_owned = NULL;
  req->from_policy = false;
  if (strlen (text) > REQUEST_MAX_TEXT)
    return make_error (err, 0, "%s: longer than %d bytes", origin, REQUEST_MAX_TEXT);
  if (strchr (text, ','))
    return make_error (err, 0, "%s: \"%s\": separate items with ';' or spaces, not ','", origin, text);
  while (*p)
    {
      const char *start;
      while (is_separator (*p))
        p++;
      start = p;
      while (*p && !is_separator (*p))
        p++;
      if (p > start && add_item (start, (size_t) (p - start), origin, req, err) < 0)
        {
          request_free (req);
          return -1;
        }
    }
  if (req->n == 0)
    return make_error (err, 0, "%s: empty list; name the container paths of bind mounts, or \"*\"", origin);
  return 0;
}

void
request_free (struct request *req)
{
  for (size_t i = 0; i < req->n; i++)
    free (req->items[i].dest);
  req->n = 0;
  free (req->origin_owned);
  req->origin_owned = NULL;
}

int
parse_numeric_id (const char *s, size_t len, uint32_t *out)
{
  uint64_t v = 0;
  if (len == 0 || len > 10)
    return -1;
  for (size_t i = 0; i < len; i++)
    {
      if (s[i] < '0' || s[i] > '9')
        return -1;
      v = v * 10 + (uint64_t) (s[i] - '0');
    }
  if (v >= UINT32_MAX)
    return -1;
  *out = (uint32_t) v;
  return 0;
}

int
parse_user_spec (const char *text, const char *origin, struct target_user *user, hook_error_t **err)
{
  const char *colon = strchr (text, ':');
  size_t ulen = colon ? (size_t) (colon - text) : strlen (text);

  if (parse_numeric_id (text, ulen, &user->uid) < 0)
    return make_error (err, 0, "%s: \"%s\": expected UID[:GID] with numeric ids below 4294967295", origin, text);
  user->gid = user->uid;
  if (colon && parse_numeric_id (colon + 1, strlen (colon + 1), &user->gid) < 0)
    return make_error (err, 0, "%s: \"%s\": expected UID[:GID] with numeric ids below 4294967295", origin, text);
  user->origin = origin;
  return 0;
}

/* KEY in config.json's annotations, else in the state's. */
static const char *
annotation (const struct oci_config *cfg, const char **state_annotations, const char *key)
{
  const char *v = pairs_lookup (cfg->annotations, key);
  return v ? v : pairs_lookup (state_annotations, key);
}

/* "KEY.NAME" in PAIRS; *STORED then points at the key as stored, so that
 * messages can name it after this returns. */
static const char *
scoped_lookup (const char **pairs, const char *key, const char *name, const char **stored)
{
  size_t n = strlen (key);

  for (size_t i = 0; pairs && pairs[i]; i += 2)
    if (strncmp (pairs[i], key, n) == 0 && pairs[i][n] == '.' && strcmp (pairs[i] + n + 1, name) == 0)
      {
        *stored = pairs[i];
        return pairs[i + 1];
      }
  return NULL;
}

/* Pod annotations reach every container of a pod, so "KEY.NAME" (NAME the
 * container's name in the pod, as CRI-O or containerd sets it) comes
 * first, then KEY, from config.json, then from the state; then an env
 * variable, unless TRUST is off (*FROM_ENV says it came from there). */
static const char *
container_setting (const struct oci_config *cfg, const char **state_annotations, const char *key, const char *env_name,
                   enum env_trust trust, const char **origin, bool *from_env)
{
  const char *name = annotation (cfg, state_annotations, ANNOTATION_CONTAINER_NAME);
  const char *v;

  *from_env = false;
  if (name == NULL)
    name = annotation (cfg, state_annotations, ANNOTATION_CRI_CONTAINER_NAME);

  if (name
      && ((v = scoped_lookup (cfg->annotations, key, name, origin))
          || (v = scoped_lookup (state_annotations, key, name, origin))))
    return v;
  if ((v = annotation (cfg, state_annotations, key)))
    {
      *origin = key;
      return v;
    }
  if (trust == ENV_TRUST_OFF)
    return NULL;
  *origin = env_name;
  v = env_lookup (cfg->env, env_name);
  *from_env = v != NULL;
  return v;
}

bool
request_is_pod_sandbox (const struct oci_config *cfg, const char **state_annotations)
{
  static const char *const type_keys[] = { ANNOTATION_CRIO_TYPE, ANNOTATION_CRI_TYPE };

  for (size_t i = 0; i < sizeof type_keys / sizeof type_keys[0]; i++)
    {
      const char *type = annotation (cfg, state_annotations, type_keys[i]);
      if (type && strcmp (type, "sandbox") == 0)
        return true;
    }
  return false;
}

bool
request_present (const struct oci_config *cfg, const char **state_annotations, enum env_trust trust)
{
  const char *origin;
  bool from_env;
  return !request_is_pod_sandbox (cfg, state_annotations)
         && container_setting (cfg, state_annotations, ANNOTATION_MOUNTS, ENV_MOUNTS, trust, &origin, &from_env)
                != NULL;
}

static bool
mode_may_chown (enum mount_mode mode)
{
  return mode == MODE_CHOWN || mode == MODE_CHOWN_RESTORE || mode == MODE_AUTO;
}

int
request_from_container (const struct oci_config *cfg, const char **state_annotations, enum env_trust trust,
                        struct request *req, hook_error_t **err)
{
  const char *origin = NULL;
  bool from_env;
  const char *text
      = container_setting (cfg, state_annotations, ANNOTATION_MOUNTS, ENV_MOUNTS, trust, &origin, &from_env);

  req->n = 0;
  req->origin_owned = NULL;
  req->from_policy = false;
  req->from_env = from_env;
  if (text == NULL || request_is_pod_sandbox (cfg, state_annotations))
    return 0;
  if (request_parse_mounts (text, origin, req, err) < 0)
    return -1;
  for (size_t i = 0; from_env && trust != ENV_TRUST_FULL && i < req->n; i++)
    if (mode_may_chown (req->items[i].mode))
      {
        make_error (err, 0,
                    "%s: %s=%s: refused: " ENV_IS_THE_IMAGES
                    " cannot ask for a mode that may change owners on the host",
                    origin, req->items[i].dest, mode_name (req->items[i].mode));
        request_free (req);
        return error_hint (err, "ask with the annotation %s, or " ENV_OPT_IN, ANNOTATION_MOUNTS);
      }
  return 0;
}

/* config.json's process.user. */
static int
process_user (const struct oci_config *cfg, struct target_user *user, hook_error_t **err)
{
  if (!cfg->has_user)
    return make_error (err, 0, "config.json has no process.user; set %s=UID[:GID]", ANNOTATION_USER);
  user->uid = cfg->uid;
  user->gid = cfg->gid;
  user->origin = "process.user";
  return 0;
}

/* The user TEXT names: UID[:GID], or "env" for PUID/PGID. */
static int
user_from_text (const struct oci_config *cfg, const char *text, const char *origin, struct target_user *user,
                hook_error_t **err)
{
  const char *puid, *pgid;

  if (strcmp (text, "env") != 0)
    return parse_user_spec (text, origin, user, err);

  /* LinuxServer-style images start as root and drop to PUID:PGID. */
  puid = env_lookup (cfg->env, "PUID");
  pgid = env_lookup (cfg->env, "PGID");
  if (puid == NULL)
    return make_error (err, 0, "%s=env: PUID is not set in the container's environment", origin);
  if (parse_numeric_id (puid, strlen (puid), &user->uid) < 0)
    return make_error (err, 0, "%s=env: PUID=\"%s\" is not a numeric id", origin, puid);
  user->gid = user->uid;
  if (pgid && parse_numeric_id (pgid, strlen (pgid), &user->gid) < 0)
    return make_error (err, 0, "%s=env: PGID=\"%s\" is not a numeric id", origin, pgid);
  user->origin = "PUID/PGID";
  return 0;
}

int
target_user_from_container (const struct oci_config *cfg, const char **state_annotations, enum env_trust trust,
                            struct target_user *user, hook_error_t **err)
{
  const char *origin = NULL;
  bool from_env;
  const char *text = container_setting (cfg, state_annotations, ANNOTATION_USER, ENV_USER, trust, &origin, &from_env);

  if (text == NULL)
    return process_user (cfg, user, err);
  if (user_from_text (cfg, text, origin, user, err) < 0)
    return -1;
  if (!from_env || trust == ENV_TRUST_FULL)
    return 0;
  /* Only process.user itself, which the engine's --user sets, may be named there. */
  if (cfg->has_user && cfg->uid == user->uid && cfg->gid == user->gid)
    {
      user->origin = "process.user";
      return 0;
    }
  if (cfg->has_user)
    make_error (err, 0,
                "%s=%s names %u:%u, not process.user %u:%u: refused: " ENV_IS_THE_IMAGES " cannot pick the target user",
                origin, text, user->uid, user->gid, cfg->uid, cfg->gid);
  else
    make_error (err, 0,
                "%s=%s: refused: config.json has no process.user, and " ENV_IS_THE_IMAGES
                " cannot pick the target user",
                origin, text);
  return error_hint (err, "run the container as that user, set the annotation %s, or " ENV_OPT_IN, ANNOTATION_USER);
}
