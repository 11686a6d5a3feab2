#define _GNU_SOURCE
#include "stage.h"
#include "apply.h"
#include "base/cleanup.h"
#include "base/io.h"
#include "base/log.h"
#include "base/str.h"
#include "chown_job.h"
#include "hook/chown/journal.h"
#include "hook/chown/restore.h"
#include "hook/system/container_proc.h"
#include "hook/system/mountinfo.h"
#include "hook/system/privilege.h"
#include "hook/system/rootless.h"
#include "oci/config.h"
#include "oci/json.h"
#include "oci/state.h"
#include "plan.h"
#include "request.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool
stage_known (const char *stage)
{
  return strcmp (stage, "prestart") == 0 || strcmp (stage, "createRuntime") == 0 || strcmp (stage, "poststop") == 0;
}

static int
read_config (const char *bundle, struct oci_config *cfg, hook_error_t **err)
{
  cleanup_free char *path = NULL, *text = NULL;
  size_t len;

  if (oci_config_read (bundle, &path, &text, &len, NULL, err) < 0)
    return -1;
  return oci_config_parse (text, len, cfg, err);
}

static int
read_proc_map (const struct container_proc *cp, const char *name, struct idmap *map, hook_error_t **err)
{
  char where[64];
  cleanup_free char *text = NULL;
  cleanup_close int fd = container_proc_openat (cp, name, err);
  size_t len;

  if (fd < 0)
    return -1;
  snprintf (where, sizeof where, "/proc/%d/%s", (int) cp->pid, name);
  if (read_all_capped (fd, 65536, where, &text, &len, err) < 0)
    return -1;
  return idmap_parse_proc (map, text, where, err);
}

/* The container's mapping: config.json's when it creates the namespace,
 * the kernel's when it joins one; none when it shares ours. */
static int
resolve_container_ids (const struct oci_config *cfg, int proc_fd, const struct container_proc *cp,
                       struct container_ids *ids, hook_error_t **err)
{
  if (cfg->has_userns && cfg->userns_path == NULL && cfg->has_mappings)
    {
      ids->uids = cfg->uid_map;
      ids->gids = cfg->gid_map;
      return 0;
    }
  switch (container_proc_same_namespace (proc_fd, cp, "user", err))
    {
    case -1:
      return -1;
    case 1:
      idmap_identity (&ids->uids);
      idmap_identity (&ids->gids);
      return 0;
    default:
      break;
    }
  if (read_proc_map (cp, "uid_map", &ids->uids, err) < 0 || read_proc_map (cp, "gid_map", &ids->gids, err) < 0)
    return -1;
  return 0;
}

/* The mount tables: the container's, by its /proc directory, and ours
 * (before entering the container's: where each source is on the host). */
static int
read_mount_tables (int proc_fd, const struct container_proc *cp, struct mountinfo *mi, struct mountinfo *host_mi,
                   hook_error_t **err)
{
  cleanup_close int fd = container_proc_openat (cp, "mountinfo", err);
  cleanup_close int host_fd = -1;

  if (fd < 0 || mountinfo_read (fd, mi, err) < 0)
    return -1;
  host_fd = openat (proc_fd, "self/mountinfo", O_RDONLY | O_CLOEXEC);
  if (host_fd < 0)
    return make_error (err, errno, "open /proc/self/mountinfo");
  return mountinfo_read (host_fd, host_mi, err);
}

/* The rootfs as the kernel names it in mountinfo.  The path comes from the
 * engine (state or config.json), never from inside the container. */
static int
resolve_rootfs (const struct oci_state *st, const struct oci_config *cfg, char **out, hook_error_t **err)
{
  const char *root = st->root ? st->root : cfg->root_path;
  cleanup_free char *joined = NULL;

  if (root == NULL || root[0] == '\0')
    return make_error (err, 0, "neither the state nor config.json names the root filesystem");
  if (root[0] != '/' && asprintf (&joined, "%s/%s", st->bundle, root) < 0)
    return make_error (err, ENOMEM, "rootfs");
  *out = realpath (joined ? joined : root, NULL);
  if (*out == NULL)
    return make_error (err, errno, "resolve the root filesystem '%s'", joined ? joined : root);
  return 0;
}

/* True if some item's mode is in MODES (a bit per enum mount_mode). */
static bool
needs_mode (const struct request *req, unsigned int modes)
{
  for (size_t i = 0; i < req->n; i++)
    if (modes & (1u << req->items[i].mode))
      return true;
  return false;
}

#define MODE_BIT(m) (1u << (m))
/* Modes that may change owners on disk, and so need a journal directory. */
#define CHOWNING_MODES (MODE_BIT (MODE_CHOWN) | MODE_BIT (MODE_CHOWN_RESTORE) | MODE_BIT (MODE_AUTO))

const char *
stage_journal_dir (const struct hook_options *opts, const struct admin_policy *pol)
{
  if (opts->journal_dir)
    return opts->journal_dir;
  return pol->journal_dir ? pol->journal_dir : JOURNAL_DEFAULT_DIR;
}

/* The request is known: keep only what its modes need, and say so. */
static int
narrow_sandbox (const struct request *req, hook_error_t **err)
{
  cleanup_free char *what = NULL;

  if (privilege_narrow (needs_mode (req, CHOWNING_MODES), err) < 0)
    return error_prefix (err, "sandbox");
  if (log_verbose_enabled && privilege_describe (&what, err) == 0)
    log_verbose ("sandbox: %s", what);
  error_free (err);
  return 0;
}

static int
fix_mounts (const struct oci_state *st, const struct oci_config *cfg, const struct request *req,
            const struct hook_options *opts, const struct admin_policy *pol, hook_error_t **err)
{
  struct target_user user = { 0, 0, "none" };
  struct container_ids ids;
  struct chown_options co = { .journal_dir_fd = -1,
                              .journal_dir = stage_journal_dir (opts, pol),
                              .container = st->id,
                              .hard_links = opts->chown_hard_links,
                              .threads = opts->threads };
  cleanup_container_proc struct container_proc cp = CONTAINER_PROC_NONE;
  cleanup_free char *rootfs = NULL;
  cleanup_close int proc_fd = -1, dir_fd = -1;
  /* Freed first (in reverse): the plan's fds before the container's. */
  cleanup_mountinfo struct mountinfo mi = { 0 };
  cleanup_mountinfo struct mountinfo host_mi = { 0 };
  cleanup_plan struct plan plan = { 0 };

  if (st->pid <= 0)
    return make_error (err, 0, "container state has no pid; register the hook for prestart or createRuntime");
  proc_fd = open ("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (proc_fd < 0)
    return make_error (err, errno, "open /proc");
  /* Held from here on, by pidfd: the number is not looked up again. */
  if (container_proc_open (proc_fd, st->pid, &cp, err) < 0)
    return -1;
  if (needs_mode (req, MODE_BIT (MODE_IDMAP) | CHOWNING_MODES)
      && target_user_from_container (cfg, st->annotations, pol->env_trust, &user, err) < 0)
    return -1;
  /* On the host side: apply_plan enters the container's mount namespace. */
  if (needs_mode (req, CHOWNING_MODES))
    {
      dir_fd = co.journal_dir_fd = journal_dir_open (co.journal_dir, err);
      if (dir_fd < 0)
        return -1;
    }
  if (narrow_sandbox (req, err) < 0)
    return -1;
  if (resolve_container_ids (cfg, proc_fd, &cp, &ids, err) < 0 || resolve_rootfs (st, cfg, &rootfs, err) < 0)
    return -1;
  if (read_mount_tables (proc_fd, &cp, &mi, &host_mi, err) < 0
      || plan_build (req, cfg, rootfs, &mi, &host_mi, pol, &plan, err) < 0)
    return -1;
  return apply_plan (proc_fd, &cp, &plan, &ids, &user, &co, err);
}

/* Mode chown+restore: put back what the chown changed, now that the
 * container is gone; the journals say which mounts. */
static int
restore_at_poststop (const struct oci_state *st, const struct hook_options *opts, const struct admin_policy *pol,
                     hook_error_t **err)
{
  const char *dir = stage_journal_dir (opts, pol);
  cleanup_close int dir_fd = open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int n;

  if (dir_fd < 0 && errno == ENOENT)
    return 0;
  if (dir_fd < 0)
    return make_error (err, errno, "open the journal directory '%s'", dir);
  n = restore_container (dir_fd, dir, st->id, true, err);
  if (n < 0)
    return error_hint (err, "run: oci-idmap-hook restore --dir '%s' --container %s", dir, st->id);
  if (n == 0)
    log_verbose ("nothing to restore at poststop");
  return 0;
}

int
enter_sandbox (hook_error_t **err)
{
  if (privilege_reduce (err) < 0)
    return error_prefix (err, "sandbox");
  return 0;
}

int
hook_policy_load (const struct hook_options *opts, const char *default_path, struct admin_policy *pol,
                  hook_error_t **err)
{
  if (admin_policy_load (opts->policy_path ? opts->policy_path : default_path, opts->policy_path != NULL, pol, err) < 0)
    return -1;
  pol->allow_host_root = pol->allow_host_root || opts->allow_host_root;
  if (opts->env_trust_set)
    pol->env_trust = opts->env_trust;
  if (opts->default_mounts)
    {
      pol->default_mounts = opts->default_mounts;
      pol->default_mounts_by_option = true;
    }
  return 0;
}

int
hook_default_request (const struct admin_policy *pol, struct request *req, hook_error_t **err)
{
  cleanup_free char *origin = NULL;

  if (pol->default_mounts == NULL)
    return 0;
  if (pol->default_mounts_by_option ? str_dup (&origin, "--default-mounts", err) < 0
                                    : str_printf (&origin, err, "defaultMounts of '%s'", pol->path) < 0)
    return -1;
  if (request_parse_mounts (pol->default_mounts, origin, req, err) < 0)
    return pol->default_mounts_by_option ? error_hint (err, "correct --default-mounts in the hook's registration")
                                         : error_hint (err, "correct defaultMounts in '%s'", pol->path);
  req->origin_owned = steal_pointer (&origin);
  req->from_policy = true;
  return 0;
}

int
hook_request (const struct oci_config *cfg, const char **state_annotations, const struct admin_policy *pol,
              struct request *req, hook_error_t **err)
{
  /* A registration's own request (--default-mounts, as in a CDI device's
   * hook) is the administrator's choice of what to serve: an annotation,
   * which whoever starts the container sets, may replace it; the image's
   * environment may not widen it. */
  enum env_trust trust = pol->default_mounts_by_option ? ENV_TRUST_OFF : pol->env_trust;

  if (request_from_container (cfg, state_annotations, trust, req, err) < 0)
    return -1;
  /* The administrator's default for containers that ask for nothing; a
   * pod's sandbox has no volumes and is never served. */
  if (req->n > 0 || request_is_pod_sandbox (cfg, state_annotations))
    return 0;
  return hook_default_request (pol, req, err);
}

/* The administrator's policy (the rootless user's own under a rootless
 * engine), with what the hook knows of where it runs.  RL and
 * *ROOTLESS_JOURNAL, which POL may point to, belong to the caller. */
int
stage_load_policy (const struct hook_options *opts, struct rootless *rl, char **rootless_journal,
                   struct admin_policy *pol, hook_error_t **err)
{
  cleanup_free char *rootless_policy = NULL;

  if (rootless_detect (rl, err) < 0)
    return -1;
  if (rl->active)
    {
      if (rootless_path (rl, ROOTLESS_POLICY_PATH, &rootless_policy, err) < 0
          || rootless_path (rl, ROOTLESS_JOURNAL_DIR, rootless_journal, err) < 0)
        return -1;
      log_verbose ("rootless: in a user namespace of host uid %u (home %s)", rl->host_uid, rl->home ? rl->home : "?");
    }
  if (hook_policy_load (opts, rootless_policy ? rootless_policy : ADMIN_POLICY_DEFAULT_PATH, pol, err) < 0)
    return -1;
  pol->rootless = rl->active;
  if (pol->journal_dir == NULL)
    pol->journal_dir = *rootless_journal;
  pol->overflow_uid = rl->overflow_uid;
  pol->overflow_gid = rl->overflow_gid;
  pol->host_root_uid = rl->host_root_uid;
  pol->host_root_gid = rl->host_root_gid;
  return 0;
}

/* Every owned struct starts zeroed and is freed by its cleanup attribute,
 * so that each outcome is one return. */
int
run_stage (const char *stage, int state_fd, const struct hook_options *opts, hook_error_t **err)
{
  cleanup_oci_state struct oci_state st = { 0 };
  cleanup_oci_config struct oci_config cfg = { 0 };
  cleanup_request struct request req = { 0 };
  cleanup_admin_policy struct admin_policy pol = { 0 };
  cleanup_rootless struct rootless rl = { 0 };
  cleanup_free char *text = NULL, *rootless_journal = NULL;
  size_t len;

  if (enter_sandbox (err) < 0 || stage_load_policy (opts, &rl, &rootless_journal, &pol, err) < 0)
    return -1;
  if (read_all_capped (state_fd, OCI_STATE_MAX_BYTES, "container state on stdin", &text, &len, err) < 0
      || oci_state_parse (text, len, &st, err) < 0)
    return -1;
  log_set_container (st.id);
  if (strcmp (stage, "poststop") == 0 || (st.status && strcmp (st.status, "stopped") == 0))
    return restore_at_poststop (&st, opts, &pol, err);
  if (read_config (st.bundle, &cfg, err) < 0)
    return -1;
  if (hook_request (&cfg, st.annotations, &pol, &req, err) < 0)
    return -1;
  if (req.n == 0)
    {
      log_verbose ("container %s asks for nothing", st.id);
      return 0;
    }
  return fix_mounts (&st, &cfg, &req, opts, &pol, err);
}
