/* oci-idmap-hook doctor: the facts it gathers from a bundle's config.json
 * or from options, then the checks and the report.  Changes nothing.  Its
 * command line is hook/cli/doctor_command.c. */
#define _GNU_SOURCE
#include "doctor.h"
#include "base/cleanup.h"
#include "base/path.h"
#include "base/str.h"
#include "oci/config.h"
#include "oci/json.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Record ERR as a problem at WHERE, its hint as the fix. */
static void
problem_from_error (struct doctor *d, const char *where, hook_error_t **err)
{
  cleanup_free char *what = error_summary (*err);

  doctor_problem (d, false, where, error_hint_text (*err), "%s", what);
  error_free (err);
}

static struct doctor_mount *
add_mount (struct doctor *d, const char *source, const char *dest, hook_error_t **err)
{
  struct doctor_mount *m = reallocarray (d->mounts, d->n_mounts + 1, sizeof *d->mounts);

  if (m == NULL)
    abort ();
  d->mounts = m;
  m = &d->mounts[d->n_mounts];
  memset (m, 0, sizeof *m);
  if (normalize_dest (dest, &m->dest, err) < 0)
    return NULL;
  m->source = source;
  d->n_mounts++;
  return m;
}

static bool
has_option (const struct oci_mount *m, const char *name)
{
  for (size_t k = 0; m->options && m->options[k]; k++)
    if (strcmp (m->options[k], name) == 0)
      return true;
  return false;
}

/* The mapping the runtime will give the container. */
static void
ids_from_config (struct doctor *d, const struct oci_config *cfg)
{
  idmap_identity (&d->ids.uids);
  idmap_identity (&d->ids.gids);
  if (!cfg->has_userns)
    return;
  d->userns = true;
  if (cfg->userns_path)
    doctor_problem (d, true, "mapping", NULL,
                    "the container joins the user namespace %s: its mapping is not in "
                    "config.json, and the checks below assume none",
                    cfg->userns_path);
  else if (!cfg->has_mappings)
    doctor_problem (d, false, "mapping", "add linux.uidMappings and linux.gidMappings",
                    "config.json asks for a new user namespace without uidMappings and gidMappings");
  else
    {
      d->ids.uids = cfg->uid_map;
      d->ids.gids = cfg->gid_map;
    }
}

/* Mark the mounts REQ asks for, as plan.c matches them: "*" every one,
 * else by destination; a destination that is no bind mount is refused. */
static void
apply_request (struct doctor *d, const struct request *req)
{
  for (size_t i = 0; i < d->n_mounts; i++)
    {
      struct doctor_mount *m = &d->mounts[i];
      for (size_t k = 0; k < req->n; k++)
        if (strcmp (req->items[k].dest, "*") == 0 && !m->asked)
          {
            m->asked = true;
            m->policy = (struct mount_policy){ .mode = req->items[k].mode, .wildcard = true };
            d->wildcard = true;
            d->wildcard_mode = req->items[k].mode;
          }
        else if (strcmp (req->items[k].dest, m->dest) == 0)
          {
            m->asked = true;
            m->policy = (struct mount_policy){ .mode = req->items[k].mode };
          }
    }
  for (size_t k = 0; k < req->n; k++)
    {
      bool found = strcmp (req->items[k].dest, "*") == 0;
      for (size_t i = 0; i < d->n_mounts && !found; i++)
        found = strcmp (d->mounts[i].dest, req->items[k].dest) == 0;
      if (!found)
        doctor_problem (d, false, req->items[k].dest, "name the container path of a bind mount",
                        "the hook will refuse the container: %s asks for %s, which is not a bind mount", req->origin,
                        req->items[k].dest);
    }
  if (req->n > 0)
    {
      d->request_origin = doctor_printf ("%s", req->origin);
      d->request_from_policy = req->from_policy;
    }
}

/* The bind mounts, and what the container asks the hook to do with them
 * after the policy (defaultMounts), read with the hook's own code. */
static void
mounts_from_config (struct doctor *d, const struct oci_config *cfg)
{
  cleanup_request struct request req = { 0 };
  hook_error_t *err = NULL;

  if (hook_request (cfg, NULL, &d->admin, &req, &err) < 0)
    {
      error_prefix (&err, "the hook will refuse the container");
      problem_from_error (d, "annotation", &err);
    }
  for (size_t i = 0; i < cfg->n_mounts; i++)
    {
      const struct oci_mount *om = &cfg->mounts[i];
      struct doctor_mount *m;
      if (!om->bind)
        continue;
      m = add_mount (d, om->source, om->destination, &err);
      if (m == NULL)
        {
          error_free (&err);
          continue;
        }
      m->readonly = has_option (om, "ro");
      m->runtime_idmapped = om->idmapped;
      if (!oci_mount_runtime_maps (om, &d->ids.uids, &d->ids.gids, &m->runtime_uids, &m->runtime_gids))
        m->runtime_uids = m->runtime_gids = NULL;
    }
  apply_request (d, &req);
  /* Level off: a request in the environment is not even read. */
  if (d->admin.env_trust == ENV_TRUST_OFF && env_lookup (cfg->env, ENV_MOUNTS)
      && !request_present (cfg, NULL, ENV_TRUST_OFF))
    doctor_problem (d, true, "environment",
                    "ask with the annotation instead, or let the environment ask (see --environment)",
                    "%s is in the container's environment, but the hook's environment level is off (%s): it is "
                    "not read",
                    ENV_MOUNTS, d->env_from);
}

static bool
keeps_dac_override (const struct oci_config *cfg)
{
  const char *path[] = { "process", "capabilities", "effective", NULL };
  yajl_val caps = yajl_tree_get (cfg->tree, path, yajl_t_array);

  for (size_t i = 0; caps && i < caps->u.array.len; i++)
    {
      yajl_val v = caps->u.array.values[i];
      if (YAJL_IS_STRING (v) && strcmp (v->u.string, "CAP_DAC_OVERRIDE") == 0)
        return true;
    }
  return false;
}

/* Our first entry in config.json at one of the N STAGES, or NULL. */
static yajl_val
hook_entry (const struct oci_config *cfg, const char *const *stages, size_t n)
{
  for (size_t s = 0; s < n; s++)
    {
      const char *path[] = { "hooks", stages[s], NULL };
      yajl_val hooks = yajl_tree_get (cfg->tree, path, yajl_t_array);
      for (size_t i = 0; hooks && i < hooks->u.array.len; i++)
        {
          const char *key[] = { "path", NULL };
          yajl_val p = yajl_tree_get (hooks->u.array.values[i], key, yajl_t_string);
          const char *base = p ? strrchr (p->u.string, '/') : NULL;
          if (p && strcmp (base ? base + 1 : p->u.string, "oci-idmap-hook") == 0)
            return hooks->u.array.values[i];
        }
    }
  return NULL;
}

/* The options ENTRY's args run the hook with, read by the hook's own
 * parser.  Args the hook would refuse: it exits 2 and the container fails. */
static void
read_hook_entry (struct doctor *d, const struct doctor_options *o, yajl_val entry)
{
  const char *key[] = { "args", NULL };
  yajl_val args = yajl_tree_get (entry, key, yajl_t_array);
  cleanup_free char **argv = NULL;
  hook_error_t *err = NULL;
  size_t n = args ? args->u.array.len : 0;

  if (o->parse_hook_args == NULL || n == 0)
    return;
  argv = calloc (n + 1, sizeof *argv);
  if (argv == NULL)
    abort ();
  for (size_t i = 0; i < n; i++)
    {
      if (!YAJL_IS_STRING (args->u.array.values[i]))
        {
          doctor_problem (d, false, "hook", "give the hook's args as strings",
                          "the hook entry's args[%zu] is not a string: the runtime will refuse config.json", i);
          return;
        }
      argv[i] = args->u.array.values[i]->u.string;
    }
  if (o->parse_hook_args ((int) n, argv, &d->hook, &err) < 0)
    {
      error_prefix (&err, "the hook entry's args: the hook will exit with bad usage, and the container will not "
                          "start");
      problem_from_error (d, "hook", &err);
      d->hook = (struct hook_options){ .allow_host_root = false };
    }
}

/* Without the hook registered, what the container asks is not done. */
static void
check_registration (struct doctor *d)
{
  for (size_t i = 0; i < d->n_mounts && !d->hook_registered; i++)
    if (d->mounts[i].asked)
      {
        doctor_problem (d, true, d->mounts[i].dest,
                        d->engine.kind == ENGINE_UNKNOWN ? "add the hook to hooks.prestart (see oci-idmap-hook(1))"
                                                         : doctor_register_text (d),
                        "the container asks the hook for it, but config.json does not run the hook: nothing "
                        "will be done");
        d->mounts[i].asked = false;
      }
}

/* --untrusted: ROOT (root.path) below the bundle, through no symlink, so
 * that a bundle cannot make the doctor list a host directory it names. */
static int
open_confined_rootfs (int bundle_fd, const char *root, const char *bundle, hook_error_t **err)
{
  struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                          .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
  int fd = (int) syscall (SYS_openat2, bundle_fd, root, &how, sizeof how);

  if (fd >= 0)
    return fd;
  make_error (err, errno, "--untrusted: open root.path '%s' below the bundle '%s'", root, bundle);
  if (errno == EXDEV || errno == ELOOP)
    error_hint (err, "it leaves the bundle or goes through a symlink; give a root.path inside the bundle "
                     "directory, or drop --untrusted for a bundle you trust");
  return -1;
}

/* A policy file or directory the doctor's user owns passes admin_policy_load
 * for the doctor (and for that user's rootless hook), but a hook run by
 * root refuses it. */
static void
check_policy_owner (struct doctor *d)
{
  cleanup_free char *dir = NULL;
  const char *slash;
  struct stat st;

  if (d->admin.path == NULL || geteuid () == 0)
    return;
  slash = strrchr (d->admin.path, '/');
  dir = slash ? strndup (d->admin.path, slash == d->admin.path ? 1 : (size_t) (slash - d->admin.path)) : strdup (".");
  if (dir == NULL)
    abort ();
  if ((fstatat (AT_FDCWD, d->admin.path, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_uid != 0)
      || (stat (dir, &st) == 0 && st.st_uid != 0))
    doctor_problem (d, true, "policy", NULL,
                    "'%s' or its directory is owned by uid %u, not root: a rootless engine's hook of that user "
                    "reads it, a hook run by root refuses it and every container",
                    d->admin.path, (unsigned int) st.st_uid);
}

/* The policy the hook will read: its entry's --policy, else the doctor's
 * --policy (the file it is meant to be given), else the default path; by
 * the hook's own loader, with the entry's options over the file's.  -1 with
 * *ERR only when the doctor's own --policy cannot be read. */
static int
load_hook_policy (struct doctor *d, const struct doctor_options *o, hook_error_t **err)
{
  struct hook_options opts = d->hook;
  const char *level_key[] = { "environment", NULL };

  d->policy_from = "the default path";
  if (d->hook.policy_path)
    {
      d->policy_from = "the hook entry's --policy";
      if (o->policy && strcmp (o->policy, d->hook.policy_path) != 0)
        doctor_problem (d, true, "policy", NULL,
                        "--policy '%s' is not what the hook reads: its entry in config.json runs it with --policy "
                        "'%s'",
                        o->policy, d->hook.policy_path);
    }
  else if (o->policy)
    {
      opts.policy_path = o->policy;
      d->policy_from = "--policy";
    }
  if (hook_policy_load (&opts, ADMIN_POLICY_DEFAULT_PATH, &d->admin, err) < 0)
    {
      if (d->hook.policy_path == NULL)
        return -1;
      error_prefix (err, "the hook will refuse every container");
      problem_from_error (d, "policy", err);
      admin_policy_free (&d->admin);
      d->admin.allow_host_root = opts.allow_host_root;
      d->admin.env_trust = opts.env_trust_set ? opts.env_trust : ENV_TRUST_IDMAP;
    }
  check_policy_owner (d);
  if (opts.env_trust_set)
    d->env_from = "the hook entry's --environment";
  else if (d->admin.tree && yajl_tree_get (d->admin.tree, level_key, yajl_t_string))
    d->env_from = "\"environment\" of the policy";
  else
    d->env_from = "the hook's default";
  return 0;
}

/* Facts from a parsed config.json, but the root filesystem: the hook entry
 * and the policy it will read, then ids, user and mounts.  WHERE is the
 * bundle's real path, for the engine (NULL when there is no bundle). */
static int
facts_from_config (struct doctor *d, const struct doctor_options *o, const struct oci_config *cfg, const char *where,
                   hook_error_t **err)
{
  yajl_val entry;

  d->rootfs = cfg->root_path;
  doctor_engine_detect (where ? where : "", cfg, &d->engine);
  /* At a stage where it works; and at poststop, where it restores. */
  entry = hook_entry (cfg, (const char *const[]){ "prestart", "createRuntime" }, 2);
  d->hook_registered = entry != NULL;
  d->hook_at_poststop = hook_entry (cfg, (const char *const[]){ "poststop" }, 1) != NULL;
  if (entry)
    read_hook_entry (d, o, entry);
  if (load_hook_policy (d, o, err) < 0)
    return -1;
  ids_from_config (d, cfg);
  d->privileged = keeps_dac_override (cfg);
  if (target_user_from_container (cfg, NULL, d->admin.env_trust, &d->user, err) < 0)
    problem_from_error (d, "user", err);
  else
    d->user_known = true;
  d->process_user_known = cfg->has_user;
  d->process_user = (struct target_user){ cfg->uid, cfg->gid, "process.user" };
  /* Groups belong to the process: they say nothing of another target user. */
  if (d->user_known && d->user.uid == cfg->uid && cfg->n_additional_gids > 0)
    {
      d->groups = malloc (cfg->n_additional_gids * sizeof *d->groups);
      if (d->groups == NULL)
        return make_error (err, ENOMEM, "groups");
      memcpy (d->groups, cfg->additional_gids, cfg->n_additional_gids * sizeof *d->groups);
      d->n_groups = cfg->n_additional_gids;
    }
  mounts_from_config (d, cfg);
  check_registration (d);
  return 0;
}

/* Facts from BUNDLE/config.json.  Returns the rootfs fd, or -1 with *ERR. */
static int
facts_from_bundle (struct doctor *d, const struct doctor_options *o, struct oci_config *cfg, hook_error_t **err)
{
  const char *bundle = o->bundle;
  cleanup_close int bundle_fd = open (bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_free char *text = NULL, *path = NULL, *real = NULL;
  size_t len;
  int root_fd;

  if (bundle_fd < 0)
    return make_error (err, errno, "open the bundle '%s'", bundle);
  if (oci_config_read (bundle, &path, &text, &len, NULL, err) < 0)
    return -1;
  if (oci_config_parse (text, len, cfg, err) < 0)
    return error_prefix (err, "%s", bundle);
  d->bundle = bundle;
  real = realpath (bundle, NULL);
  if (facts_from_config (d, o, cfg, real ? real : bundle, err) < 0)
    return -1;
  if (d->rootfs == NULL)
    return make_error (err, 0, "'%s/config.json' has no root.path", bundle);
  if (o->untrusted)
    return open_confined_rootfs (bundle_fd, d->rootfs, bundle, err);
  /* The engine's path: opened as written, then walked by fd. */
  root_fd = openat (bundle_fd, d->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    return make_error (err, errno, "open the root filesystem '%s' (in '%s')", d->rootfs, bundle);
  return root_fd;
}

static void
check_users (struct doctor *d)
{
  hook_error_t *err = NULL;
  uint32_t unused;

  if (d->user_known)
    {
      if (policy_target_host_ids (&d->ids, &d->user, &d->host_uid, &d->host_gid, &err) < 0)
        problem_from_error (d, "user", &err);
      else
        d->user_mapped = true;
    }
  if (d->process_user_known
      && (!idmap_to_outside (&d->ids.uids, d->process_user.uid, &unused)
          || !idmap_to_outside (&d->ids.gids, d->process_user.gid, &unused)))
    doctor_problem (d, false, "user", "run the container as a user inside the mapping",
                    "process.user %u:%u is not mapped: the runtime will fail with \"cannot set uid to unmapped "
                    "user in user namespace\"",
                    d->process_user.uid, d->process_user.gid);
}

static int
run_doctor (struct doctor *d, int root_fd, bool json, FILE *out, hook_error_t **err)
{
  check_users (d);
  doctor_check_mounts (d);
  doctor_scan_rootfs (d, root_fd);
  if (json ? doctor_report_json (d, out, err) < 0 : doctor_report_text (d, out) < 0)
    {
      if (*err == NULL)
        make_error (err, errno, "write the report");
      return -1;
    }
  return doctor_exit_status (d);
}

/* Facts from the options, in podman's syntax.  Returns the rootfs fd, or
 * -1 with *ERR. */
static int
facts_from_options (struct doctor *d, const struct doctor_options *o, hook_error_t **err)
{
  cleanup_request struct request req = { 0 };
  bool any_asked = false;
  int root_fd;

  idmap_identity (&d->ids.uids);
  idmap_identity (&d->ids.gids);
  if (o->uids.n)
    {
      d->userns = true;
      d->ids.uids = o->uids;
      d->ids.gids = o->gids.n ? o->gids : o->uids; /* podman: --gidmap defaults to --uidmap */
    }
  d->user = o->user_set ? o->user : (struct target_user){ 0, 0, "the default user" };
  d->user_known = d->process_user_known = d->privileged = d->hook_registered = d->hook_at_poststop = true;
  d->process_user = d->user;
  if (o->n_groups > 0)
    {
      d->groups = malloc (o->n_groups * sizeof *d->groups);
      if (d->groups == NULL)
        return make_error (err, ENOMEM, "groups");
      memcpy (d->groups, o->groups, o->n_groups * sizeof *d->groups);
      d->n_groups = o->n_groups;
    }
  for (size_t i = 0; i < o->n_mounts; i++)
    {
      const struct doctor_mount_option *mo = &o->mounts[i];
      struct doctor_mount *m = add_mount (d, mo->source, mo->dest, err);
      if (m == NULL)
        return -1;
      m->readonly = mo->readonly;
      m->asked = mo->asked;
      m->policy.mode = mo->mode;
      any_asked = any_asked || mo->asked;
    }
  if (load_hook_policy (d, o, err) < 0)
    return -1;
  /* A container that asks for nothing gets the policy's defaultMounts. */
  if (!any_asked && hook_default_request (&d->admin, &req, err) < 0)
    return error_prefix (err, "the hook will refuse the container");
  apply_request (d, &req);
  d->rootfs = o->rootfs;
  root_fd = open (d->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    return make_error (err, errno, "open the root filesystem '%s'", d->rootfs);
  return root_fd;
}

int
doctor_judge_config (struct doctor *d, const char *container, const struct oci_config *cfg, const char *policy,
                     const char *scan_note, hook_error_t **err)
{
  /* The hook entry engine JSON stands for names no policy of its own. */
  const struct doctor_options o = { .policy = policy };

  d->container = container;
  if (facts_from_config (d, &o, cfg, NULL, err) < 0)
    return -1;
  d->rootfs = NULL;
  check_users (d);
  doctor_check_mounts (d);
  return str_dup (&d->scan.error, scan_note, err);
}

int
doctor_run (const struct doctor_options *o, FILE *out, hook_error_t **err)
{
  cleanup_doctor struct doctor d = { 0 };
  cleanup_oci_config struct oci_config cfg = { 0 };
  cleanup_close int root_fd = -1;
  int ret = -1;

  root_fd = o->bundle ? facts_from_bundle (&d, o, &cfg, err) : facts_from_options (&d, o, err);
  if (root_fd >= 0)
    ret = run_doctor (&d, root_fd, o->json, out, err);
  return ret;
}
