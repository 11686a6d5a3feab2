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

/* The bind mounts and what the container asks the hook to do with them,
 * read with the hook's own parser. */
static void
mounts_from_config (struct doctor *d, const struct oci_config *cfg)
{
  cleanup_request struct request req = { 0 };
  hook_error_t *err = NULL;

  if (request_from_container (cfg, NULL, d->admin.env_trust, &req, &err) < 0)
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
      for (size_t k = 0; k < req.n; k++)
        if (strcmp (req.items[k].dest, "*") == 0 && !m->asked)
          {
            m->asked = true;
            m->policy = (struct mount_policy){ .mode = req.items[k].mode, .wildcard = true };
            d->wildcard = true;
            d->wildcard_mode = req.items[k].mode;
          }
        else if (strcmp (req.items[k].dest, m->dest) == 0)
          {
            m->asked = true;
            m->policy = (struct mount_policy){ .mode = req.items[k].mode };
          }
    }
  for (size_t k = 0; k < req.n; k++)
    {
      bool found = strcmp (req.items[k].dest, "*") == 0;
      for (size_t i = 0; i < d->n_mounts && !found; i++)
        found = strcmp (d->mounts[i].dest, req.items[k].dest) == 0;
      if (!found)
        doctor_problem (d, false, req.items[k].dest, "name the container path of a bind mount",
                        "the hook will refuse the container: %s asks for %s, which is not a bind mount", req.origin,
                        req.items[k].dest);
    }
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

/* Does config.json run our hook at one of the N STAGES? */
static bool
registers_hook (const struct oci_config *cfg, const char *const *stages, size_t n)
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
            return true;
        }
    }
  return false;
}

/* Without the hook registered, what the container asks is not done. */
static void
check_registration (struct doctor *d)
{
  for (size_t i = 0; i < d->n_mounts && !d->hook_registered; i++)
    if (d->mounts[i].asked)
      {
        doctor_problem (d, true, d->mounts[i].dest, "add the hook to hooks.prestart (see oci-idmap-hook(1))",
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

/* Facts from a parsed config.json, but the root filesystem. */
static int
facts_from_config (struct doctor *d, const struct oci_config *cfg, hook_error_t **err)
{
  d->rootfs = cfg->root_path;
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
  /* At a stage where it works; and at poststop, where it restores. */
  d->hook_registered = registers_hook (cfg, (const char *const[]){ "prestart", "createRuntime" }, 2);
  d->hook_at_poststop = registers_hook (cfg, (const char *const[]){ "poststop" }, 1);
  check_registration (d);
  return 0;
}

/* Facts from BUNDLE/config.json.  Returns the rootfs fd, or -1 with *ERR. */
static int
facts_from_bundle (struct doctor *d, const char *bundle, bool untrusted, struct oci_config *cfg, hook_error_t **err)
{
  cleanup_close int bundle_fd = open (bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_free char *text = NULL, *path = NULL;
  size_t len;
  int root_fd;

  if (bundle_fd < 0)
    return make_error (err, errno, "open the bundle '%s'", bundle);
  if (oci_config_read (bundle, &path, &text, &len, NULL, err) < 0)
    return -1;
  if (oci_config_parse (text, len, cfg, err) < 0)
    return error_prefix (err, "%s", bundle);
  d->bundle = bundle;
  if (facts_from_config (d, cfg, err) < 0)
    return -1;
  if (d->rootfs == NULL)
    return make_error (err, 0, "'%s/config.json' has no root.path", bundle);
  if (untrusted)
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
    }
  d->rootfs = o->rootfs;
  root_fd = open (d->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    return make_error (err, errno, "open the root filesystem '%s'", d->rootfs);
  return root_fd;
}

int
doctor_judge_config (struct doctor *d, const char *container, const struct oci_config *cfg, const char *scan_note,
                     hook_error_t **err)
{
  d->container = container;
  if (facts_from_config (d, cfg, err) < 0)
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

  if (admin_policy_load (o->policy ? o->policy : ADMIN_POLICY_DEFAULT_PATH, o->policy != NULL, &d.admin, err) == 0)
    {
      root_fd
          = o->bundle ? facts_from_bundle (&d, o->bundle, o->untrusted, &cfg, err) : facts_from_options (&d, o, err);
      if (root_fd >= 0)
        ret = run_doctor (&d, root_fd, o->json, out, err);
    }
  return ret;
}
