#define _GNU_SOURCE
#include "plan.h"
#include "base/cleanup.h"
#include "base/path.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *
job_source (const struct mount_job *job)
{
  if (job->mount && job->mount->source)
    return job->mount->source;
  return job->mi ? job->mi->root : "?";
}

/* The bind mount of config.json at DEST (normalised); a later entry covers an earlier one. */
static const struct oci_mount *
find_config_mount (const struct oci_config *cfg, const char *dest, hook_error_t **err)
{
  const struct oci_mount *found = NULL;

  for (size_t i = 0; i < cfg->n_mounts; i++)
    {
      cleanup_free char *norm = NULL;
      if (normalize_dest (cfg->mounts[i].destination, &norm, err) < 0)
        {
          error_free (err); /* not a path a request can name */
          continue;
        }
      if (strcmp (norm, dest) == 0)
        found = &cfg->mounts[i];
    }
  return found;
}

static bool
job_exists (const struct plan *plan, const char *dest)
{
  for (size_t i = 0; i < plan->n; i++)
    if (strcmp (plan->jobs[i].dest, dest) == 0)
      return true;
  return false;
}

/* The administrator's rules on where the source of E really is: 0 if
 * allowed, else -1.  *REAL gets that host path (NULL if unknown).  The
 * host may show the same tree at several paths (a denied tree bound again
 * below an allowed one): the rules see every one of them. */
static int
judge_source (const struct mountinfo_entry *e, const struct mountinfo *host_mi, const struct admin_policy *pol,
              char **real, hook_error_t **err)
{
  cleanup_free char **aliases = NULL;
  size_t n = 0;
  int ret;

  if (mountinfo_host_path (host_mi, e, real, err) < 0)
    return -1;
  if (*real == NULL)
    return make_error (err, 0, "cannot tell where its source '%s' is on the host (device %u:%u)", e->root, e->major,
                       e->minor);
  aliases = calloc (host_mi->n + 1, sizeof *aliases);
  if (aliases == NULL)
    return make_error (err, ENOMEM, "%s", *real);
  aliases[n++] = *real;
  ret = 0;
  for (size_t i = 0; i < host_mi->n && ret == 0; i++)
    {
      char *alias = NULL;
      ret = mountinfo_host_path_via (host_mi, i, e, &alias, err);
      if (alias && strcmp (alias, *real) != 0)
        aliases[n++] = alias;
      else
        free (alias);
    }
  if (ret == 0)
    ret = admin_policy_check_source_paths (pol, (const char *const *) aliases, n, err);
  for (size_t i = 1; i < n; i++)
    free (aliases[i]);
  return ret;
}

/* 0: allowed, or skipped under "*"; -1: refused. */
static int
check_source (struct mount_job *job, const struct mountinfo *host_mi, const struct admin_policy *pol,
              hook_error_t **err)
{
  cleanup_free char *real = NULL;

  if (judge_source (job->mi, host_mi, pol, &real, err) == 0)
    return 0;
  if (job->policy.wildcard)
    {
      error_free (err);
      job->skip = "refused by the administrator's policy";
      return 0;
    }
  return error_prefix (err, "%s: refused", job->dest);
}

static int
add_job (struct plan *plan, const char *dest, const struct oci_mount *m, enum mount_mode mode, bool wildcard,
         const char *rootfs, const struct mountinfo *mi, const struct mountinfo *host_mi,
         const struct admin_policy *pol, hook_error_t **err)
{
  struct mount_job *job = &plan->jobs[plan->n];

  memset (job, 0, sizeof *job);
  job->target_fd = job->tree_fd = job->userns_fd = job->journal_fd = -1;
  job->mount = m;
  job->policy = (struct mount_policy){ .mode = mode,
                                       .wildcard = wildcard,
                                       .allow_host_root = pol->allow_host_root,
                                       .rootless = pol->rootless,
                                       .overflow_uid = pol->overflow_uid,
                                       .overflow_gid = pol->overflow_gid,
                                       .host_root_uid = pol->host_root_uid,
                                       .host_root_gid = pol->host_root_gid };
  job->dest = strdup (dest);
  if (job->dest == NULL || asprintf (&job->host_path, "%s%s", strcmp (rootfs, "/") ? rootfs : "", dest) < 0)
    {
      free (job->dest);
      return make_error (err, ENOMEM, "%s", dest);
    }
  plan->n++;
  job->mi = mountinfo_find (mi, job->host_path);
  if (job->mi == NULL)
    {
      if (wildcard)
        {
          job->skip = "not found in the container's mount table";
          return 0;
        }
      make_error (err, 0, "%s: not mounted at '%s' in the container", dest, job->host_path);
      return error_hint (err, "the destination may be a symlink inside the image; name the real path");
    }
  return check_source (job, host_mi, pol, err);
}

/* Does a job other than JOB hold E: is its mount E, or above E, and below JOB's? */
static bool
held_by_inner (const struct plan *plan, const struct mountinfo *mi, const struct mount_job *job,
               const struct mountinfo_entry *e)
{
  for (size_t i = 0; i < plan->n; i++)
    {
      const struct mountinfo_entry *k = plan->jobs[i].mi;
      /* Mount points first: a mount's are below those of the mounts above it. */
      if (k && k != job->mi && path_is_under (e->mountpoint, k->mountpoint)
          && path_is_under (k->mountpoint, job->mi->mountpoint) && (k == e || mountinfo_is_below (mi, e, k))
          && mountinfo_is_below (mi, k, job->mi))
        return true;
    }
  return false;
}

/* E is below JOB's mount: the policy judges its source now, its owner is
 * judged when the job is carried out. */
static int
add_submount (struct mount_job *job, const struct mountinfo_entry *e, const struct mountinfo *host_mi,
              const struct admin_policy *pol, hook_error_t **err)
{
  struct submount *sub = &job->subs[job->n_subs];
  const char *rel = e->mountpoint + strlen (job->host_path);
  hook_error_t *why = NULL;

  rel += rel[0] == '/';
  memset (sub, 0, sizeof *sub);
  sub->target_fd = sub->tree_fd = sub->userns_fd = -1;
  sub->mi = e;
  if (asprintf (&sub->dest, "%s%s%s", job->dest, strcmp (job->dest, "/") ? "/" : "", rel) < 0)
    {
      sub->dest = NULL;
      return make_error (err, ENOMEM, "%s", e->mountpoint);
    }
  sub->rel = sub->dest + strlen (sub->dest) - strlen (rel);
  job->n_subs++;
  if (judge_source (e, host_mi, pol, &sub->source, &why) < 0)
    {
      if (job->policy.wildcard)
        {
          sub->skip = "refused by the administrator's policy";
          error_free (&why);
        }
      else
        sub->refusal = why;
    }
  if (sub->source == NULL && (sub->source = strdup (e->root)) == NULL)
    return make_error (err, ENOMEM, "%s", e->mountpoint);
  return 0;
}

/* The mounts below each job's mount that no job nearer to them holds, and
 * each job's nearest job above it. */
static int
plan_submounts (struct plan *plan, const struct mountinfo *mi, const struct mountinfo *host_mi,
                const struct admin_policy *pol, hook_error_t **err)
{
  for (size_t i = 0; i < plan->n; i++)
    {
      struct mount_job *job = &plan->jobs[i];
      if (job->mi == NULL)
        continue;
      for (size_t k = 0; k < plan->n; k++)
        {
          struct mount_job *o = &plan->jobs[k];
          if (o->mi && o != job && path_is_under (job->host_path, o->host_path)
              && mountinfo_is_below (mi, job->mi, o->mi)
              && (job->outer == NULL || mountinfo_is_below (mi, o->mi, job->outer->mi)))
            job->outer = o;
        }
      if (job->skip)
        continue;
      job->subs = calloc (mi->n + 1, sizeof *job->subs);
      if (job->subs == NULL)
        return make_error (err, ENOMEM, "plan");
      for (size_t k = 0; k < mi->n; k++)
        {
          const struct mountinfo_entry *e = &mi->entries[k];
          /* Mount points first (cheap): a mount below the job's has one below the job's. */
          if (!path_is_under (e->mountpoint, job->host_path) || strcmp (e->mountpoint, job->host_path) == 0
              || !mountinfo_is_below (mi, e, job->mi) || held_by_inner (plan, mi, job, e))
            continue;
          if (add_submount (job, e, host_mi, pol, err) < 0)
            return -1;
        }
    }
  return 0;
}

int
plan_build (const struct request *req, const struct oci_config *cfg, const char *rootfs, const struct mountinfo *mi,
            const struct mountinfo *host_mi, const struct admin_policy *pol, struct plan *plan, hook_error_t **err)
{
  const struct mount_request *all = NULL;

  plan->n = 0;
  /* Each config mount is served at most once, each explicit item once. */
  plan->jobs = calloc (cfg->n_mounts + req->n + 1, sizeof *plan->jobs);
  if (plan->jobs == NULL)
    return make_error (err, ENOMEM, "plan");

  for (size_t i = 0; i < req->n; i++)
    {
      const struct mount_request *item = &req->items[i];
      const struct oci_mount *m;
      if (admin_policy_check_mode (pol, item->mode, err) < 0)
        return error_prefix (err, "%s: refused", item->dest);
      if (strcmp (item->dest, "*") == 0)
        {
          all = item;
          continue;
        }
      m = find_config_mount (cfg, item->dest, err);
      if (m == NULL)
        {
          make_error (err, 0, "%s: the container has no mount at this path (asked for by %s)", item->dest, req->origin);
          return error_hint (err, "name the container path of a bind mount, e.g. the DEST of -v SRC:DEST");
        }
      if (!m->bind)
        return make_error (err, 0, "%s: is a %s mount, not a bind mount of a host path", item->dest,
                           m->type ? m->type : "non-bind");
      if (add_job (plan, item->dest, m, item->mode, false, rootfs, mi, host_mi, pol, err) < 0)
        return -1;
    }

  for (size_t i = 0; all && i < cfg->n_mounts; i++)
    {
      cleanup_free char *dest = NULL;
      const struct oci_mount *m = &cfg->mounts[i];
      if (!m->bind || normalize_dest (m->destination, &dest, err) < 0)
        {
          error_free (err);
          continue;
        }
      /* A later mount on the same path covers this one; serve that one. */
      if (find_config_mount (cfg, dest, err) != m || job_exists (plan, dest) || strcmp (dest, "/") == 0)
        continue;
      if (add_job (plan, dest, m, all->mode, true, rootfs, mi, host_mi, pol, err) < 0)
        return -1;
    }
  return plan_submounts (plan, mi, host_mi, pol, err);
}

void
plan_free (struct plan *plan)
{
  for (size_t i = 0; i < plan->n; i++)
    {
      struct mount_job *job = &plan->jobs[i];
      free (job->dest);
      free (job->host_path);
      free (job->journal_path);
      if (job->target_fd >= 0)
        close (job->target_fd);
      if (job->tree_fd >= 0)
        close (job->tree_fd);
      if (job->userns_fd >= 0)
        close (job->userns_fd);
      if (job->journal_fd >= 0)
        close (job->journal_fd);
      for (size_t k = 0; k < job->n_subs; k++)
        {
          free (job->subs[k].dest);
          free (job->subs[k].source);
          error_free (&job->subs[k].refusal);
          if (job->subs[k].target_fd >= 0)
            close (job->subs[k].target_fd);
          if (job->subs[k].tree_fd >= 0)
            close (job->subs[k].tree_fd);
          if (job->subs[k].userns_fd >= 0)
            close (job->subs[k].userns_fd);
        }
      free (job->subs);
    }
  free (plan->jobs);
  plan->jobs = NULL;
  plan->n = 0;
}
