/* The doctor's findings as text for people and as one JSON document for
 * scripts.  Both show the same facts. */
#define _GNU_SOURCE
#include "base/cleanup.h"
#include "base/escape.h"
#include "doctor.h"
#include "oci/json_write.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yajl/yajl_gen.h>

static const char *
file_type (mode_t mode)
{
  if (S_ISDIR (mode))
    return "directory";
  if (S_ISREG (mode))
    return "file";
  if (S_ISLNK (mode))
    return "symlink";
  return "other";
}

/* One line of the text report (and of the doctor_stack.c fix), escaped as a whole (base/escape.h): the
 * strings from the bundle (paths, annotations, file names) can neither end
 * the line, forge another one nor reach the terminal as a control.  Our own
 * text is printable and has no backslash, so it is printed as it is. */
void
doctor_say (FILE *out, const char *fmt, ...)
{
  cleanup_free char *line = NULL, *safe = NULL;
  va_list ap;

  va_start (ap, fmt);
  if (vasprintf (&line, fmt, ap) < 0)
    abort ();
  va_end (ap);
  if ((safe = text_escape (line)) == NULL)
    abort ();
  fprintf (out, "%s\n", safe);
}

/* "UID:GID ..., user U can rwx"; malloc'd. */
static char *
view_text (const struct doctor *d, const struct doctor_view *v)
{
  char acc[4], who[64] = "", *s = NULL;

  if (d->user_known)
    snprintf (who, sizeof who, ", user %u can %s", d->user.uid, doctor_access_text (v->access, acc));
  if (asprintf (&s, "%u:%u%s%s", v->uid, v->gid, v->uid_unmapped || v->gid_unmapped ? " (unmapped: nobody)" : "", who)
      < 0)
    abort ();
  return s;
}

static void
print_mount (FILE *out, const struct doctor *d, const struct doctor_mount *m)
{
  doctor_say (out, "mount %s%s", m->dest, m->readonly ? " (read-only)" : "");
  if (m->stat_errno)
    doctor_say (out, "  source:  %s: %s", m->source ? m->source : "(none)", strerror (m->stat_errno));
  else
    doctor_say (out, "  source:  %s, %s owned by host %u:%u, mode %04o%s", m->source, file_type (m->mode), m->owner_uid,
                m->owner_gid, (unsigned) (m->mode & 07777), m->acl.n ? " with an ACL" : "");
  if (m->runtime_uids)
    {
      char u[128], g[128];
      idmap_describe (m->runtime_uids, u, sizeof u);
      idmap_describe (m->runtime_gids, g, sizeof g);
      doctor_say (out, "  runtime: idmaps it itself (on-disk uids %s; gids %s)", u, g);
    }
  if (!m->stat_errno && !S_ISLNK (m->mode))
    {
      cleanup_free char *v = view_text (d, &m->before);
      doctor_say (out, "  inside:  %s", v);
    }
  doctor_say (out, "  hook:    %s%s%s", m->action, m->hook_note ? ": " : "", m->hook_note ? m->hook_note : "");
  if (m->asked && !m->stat_errno && !S_ISLNK (m->mode) && strcmp (m->action, "refuses") != 0)
    {
      cleanup_free char *v = view_text (d, &m->after);
      doctor_say (out, "  after:   %s", v);
    }
  if (m->problem)
    doctor_say (out, "  problem: %s", m->problem);
  if (m->fix)
    doctor_say (out, "  fix:     %s", m->fix);
}

/* How the container asks, and what the hook takes from where. */
static void
print_channels (FILE *out, const struct doctor *d)
{
  static const char *const env_may[] = {
    [ENV_TRUST_IDMAP] = "OCI_IDMAP_MOUNTS may ask for idmap and nsmap",
    [ENV_TRUST_OFF] = "the container's environment is not read",
    [ENV_TRUST_FULL] = "the container's environment asks like an annotation",
  };
  _Static_assert(sizeof env_may / sizeof env_may[0] == ENV_TRUST_COUNT, "a line for every level");
  const char *engine = doctor_engine_name (d->engine.kind);

  if (engine)
    doctor_say (out, "engine:  %s (%s)", engine, d->engine.why);
  doctor_say (out, "environment: %s (%s): %s", env_trust_name (d->admin.env_trust),
              d->env_from ? d->env_from : "the hook's default", env_may[d->admin.env_trust]);
  if (d->request_origin == NULL)
    doctor_say (out, "asks:    nothing");
  else
    doctor_say (out, "asks:    from %s%s", d->request_origin,
                d->request_from_policy ? " (the container asks for nothing itself)" : "");
}

static void
print_table (FILE *out, const struct id_table *t, const char *kind)
{
  for (size_t i = 0; i < t->n; i++)
    {
      const struct id_group *g = &t->groups[i];
      cleanup_free char *list = strdup ("");
      for (size_t k = 0; list && k < ID_TABLE_PATHS && g->paths[k]; k++)
        {
          char *more = NULL;
          if (asprintf (&more, "%s %s", list, g->paths[k]) < 0)
            abort ();
          free (list);
          list = more;
        }
      if (list == NULL)
        abort ();
      doctor_say (out, "  %s %u outside the mapping: %llu file%s:%s%s", kind, g->id, (unsigned long long) g->count,
                  g->count == 1 ? "" : "s", list, g->count > ID_TABLE_PATHS ? " ..." : "");
    }
}

static void
print_scan (FILE *out, const struct doctor_scan *s)
{
  if (!s->done)
    {
      doctor_say (out, "rootfs:  not scanned: %s", s->error ? s->error : "unknown error");
      return;
    }
  doctor_say (out, "rootfs:  %llu entries; ids on disk read as %s", (unsigned long long) s->files,
              s->host_ids ? "host ids (its top belongs to the container's root on the host)"
                          : "image ids (an engine that remaps shifts them through the mapping)");
  if (s->other_mounts || s->too_deep || s->unreadable)
    doctor_say (out, "  not entered: %llu other mounts, %llu too deep, %llu unreadable",
                (unsigned long long) s->other_mounts, (unsigned long long) s->too_deep,
                (unsigned long long) s->unreadable);
  print_table (out, &s->uids, "uid");
  print_table (out, &s->gids, "gid");
}

int
doctor_report_text (const struct doctor *d, FILE *out)
{
  char u[256], g[256];
  cleanup_free char *annotation = doctor_fixed_annotation (d);
  size_t problems = 0;

  if (d->container)
    doctor_say (out, "%s", d->container);
  else if (d->bundle)
    doctor_say (out, "bundle:  %s (rootfs %s)", d->bundle, d->rootfs);
  else
    doctor_say (out, "rootfs:  %s", d->rootfs);
  idmap_describe (&d->ids.uids, u, sizeof u);
  idmap_describe (&d->ids.gids, g, sizeof g);
  if (d->userns)
    doctor_say (out, "mapping: uids %s; gids %s", u, g);
  else
    doctor_say (out, "mapping: none (no user namespace: container ids are host ids)");
  if (!d->user_known)
    doctor_say (out, "user:    unknown");
  else if (d->user_mapped)
    doctor_say (out, "user:    %u:%u (from %s), host %u:%u", d->user.uid, d->user.gid, d->user.origin, d->host_uid,
                d->host_gid);
  else
    doctor_say (out, "user:    %u:%u (from %s), not mapped", d->user.uid, d->user.gid, d->user.origin);
  if (d->user_known && d->n_groups > 0)
    {
      fprintf (out, "groups: ");
      for (size_t i = 0; i < d->n_groups; i++)
        fprintf (out, "%s%u", i ? ", " : " ", d->groups[i]);
      fprintf (out, " (supplementary)\n");
    }
  if (d->admin.path)
    doctor_say (out, "policy:  %s (%s)", d->admin.path, d->policy_from ? d->policy_from : "given");
  else
    doctor_say (out, "policy:  no policy file: the hook's defaults (host root stays host root)");
  if (d->bundle)
    print_channels (out, d);
  for (size_t i = 0; i < d->n_mounts; i++)
    print_mount (out, d, &d->mounts[i]);
  print_scan (out, &d->scan);
  for (size_t i = 0; i < d->n_problems; i++)
    {
      const struct doctor_problem *p = &d->problems[i];
      problems += !p->warning;
      doctor_say (out, "%s: %s: %s%s%s", p->warning ? "warning" : "problem", p->where, p->what, p->fix ? "; fix: " : "",
                  p->fix ? p->fix : "");
    }
  if (annotation)
    doctor_say (out, "annotation: %s=%s", ANNOTATION_MOUNTS, annotation);
  if (annotation && d->engine.kind != ENGINE_UNKNOWN)
    {
      cleanup_free char *ask = doctor_ask_text (d, annotation);
      doctor_say (out, "ask:     %s", ask);
    }
  if (problems)
    doctor_say (out, "verdict: the container will not work as asked (%zu problem%s)", problems,
                problems == 1 ? "" : "s");
  else
    doctor_say (out, "verdict: ok, the container will work as asked");
  fflush (out);
  return ferror (out) ? -1 : 0;
}

/* JSON */

/* Every string as the text report shows it (base/escape.h): valid UTF-8
 * for strict JSON readers, and safe to print once a script decodes it. */
static void
j_str (yajl_gen g, const char *s)
{
  cleanup_free char *safe = text_escape (s);
  if (safe)
    json_gen_cstring (g, safe);
  else
    yajl_gen_null (g);
}

static void
j_key (yajl_gen g, const char *key)
{
  j_str (g, key);
}

static void
j_kstr (yajl_gen g, const char *key, const char *s)
{
  j_key (g, key);
  j_str (g, s);
}

static void
j_kuint (yajl_gen g, const char *key, unsigned long long v)
{
  j_key (g, key);
  yajl_gen_integer (g, (long long) v);
}

static void
j_kbool (yajl_gen g, const char *key, bool v)
{
  j_key (g, key);
  yajl_gen_bool (g, v);
}

static void
j_map (yajl_gen g, const char *key, const struct idmap *map)
{
  j_key (g, key);
  yajl_gen_array_open (g);
  for (size_t i = 0; i < map->n; i++)
    {
      yajl_gen_map_open (g);
      j_kuint (g, "containerID", map->ext[i].inside);
      j_kuint (g, "hostID", map->ext[i].outside);
      j_kuint (g, "size", map->ext[i].count);
      yajl_gen_map_close (g);
    }
  yajl_gen_array_close (g);
}

static void
j_view (yajl_gen g, const char *key, const struct doctor *d, const struct doctor_view *v)
{
  char acc[4];
  j_key (g, key);
  yajl_gen_map_open (g);
  j_kuint (g, "uid", v->uid);
  j_kuint (g, "gid", v->gid);
  j_kbool (g, "uid_unmapped", v->uid_unmapped);
  j_kbool (g, "gid_unmapped", v->gid_unmapped);
  j_kstr (g, "access", d->user_known ? doctor_access_text (v->access, acc) : NULL);
  yajl_gen_map_close (g);
}

static void
j_mount (yajl_gen g, const struct doctor *d, const struct doctor_mount *m)
{
  char mode[8];
  bool seen = !m->stat_errno && !S_ISLNK (m->mode);

  yajl_gen_map_open (g);
  j_kstr (g, "destination", m->dest);
  j_kstr (g, "source", m->source);
  j_kbool (g, "readonly", m->readonly);
  j_kstr (g, "source_error", m->stat_errno ? strerror (m->stat_errno) : NULL);
  if (!m->stat_errno)
    {
      snprintf (mode, sizeof mode, "%04o", (unsigned) (m->mode & 07777));
      j_kstr (g, "source_type", file_type (m->mode));
      j_kstr (g, "source_mode", mode);
      j_kuint (g, "source_uid", m->owner_uid);
      j_kuint (g, "source_gid", m->owner_gid);
      j_kbool (g, "source_acl", m->acl.n > 0);
    }
  if (m->runtime_uids)
    {
      j_map (g, "runtime_uid_mappings", m->runtime_uids);
      j_map (g, "runtime_gid_mappings", m->runtime_gids);
    }
  if (seen)
    j_view (g, "inside", d, &m->before);
  j_kbool (g, "asked", m->asked);
  j_kstr (g, "requested_mode", m->asked ? mode_name (m->policy.mode) : NULL);
  j_kstr (g, "hook", m->action);
  j_kstr (g, "hook_note", m->hook_note);
  j_kbool (g, "chowns", m->chowns);
  if (m->chowns)
    {
      j_kuint (g, "chown_uid", m->chown_uid);
      j_kuint (g, "chown_gid", m->chown_gid);
      j_kbool (g, "restored_at_stop", m->policy.mode == MODE_CHOWN_RESTORE);
    }
  if (seen)
    j_view (g, "after_hook", d, &m->after);
  j_kstr (g, "problem", m->problem);
  j_kstr (g, "fix", m->fix);
  j_kbool (g, "fix_is_annotation", m->fix_is_annotation);
  yajl_gen_map_close (g);
}

/* The first paths kept of a group: up to ID_TABLE_PATHS, NULL-ended. */
static void
j_paths (yajl_gen g, const char *key, char *const paths[ID_TABLE_PATHS])
{
  j_key (g, key);
  yajl_gen_array_open (g);
  for (size_t k = 0; k < ID_TABLE_PATHS && paths[k]; k++)
    j_str (g, paths[k]);
  yajl_gen_array_close (g);
}

static void
j_table (yajl_gen g, const char *key, const struct id_table *t)
{
  j_key (g, key);
  yajl_gen_array_open (g);
  for (size_t i = 0; i < t->n; i++)
    {
      yajl_gen_map_open (g);
      j_kuint (g, "id", t->groups[i].id);
      j_kuint (g, "count", t->groups[i].count);
      j_paths (g, "paths", t->groups[i].paths);
      yajl_gen_map_close (g);
    }
  yajl_gen_array_close (g);
}

static void
j_scan (yajl_gen g, const struct doctor_scan *s)
{
  j_key (g, "rootfs_scan");
  yajl_gen_map_open (g);
  j_kbool (g, "done", s->done);
  j_kstr (g, "error", s->error);
  j_kstr (g, "ids_on_disk", s->host_ids ? "host" : "image");
  j_kuint (g, "entries", s->files);
  j_kuint (g, "other_mounts", s->other_mounts);
  j_kuint (g, "too_deep", s->too_deep);
  j_kuint (g, "unreadable", s->unreadable);
  j_table (g, "unmapped_uids", &s->uids);
  j_kuint (g, "unmapped_uids_other_files", s->uids.other_files);
  j_table (g, "unmapped_gids", &s->gids);
  j_kuint (g, "unmapped_gids_other_files", s->gids.other_files);
  j_kuint (g, "setid_unmapped", s->setid_count);
  j_paths (g, "setid_unmapped_paths", s->setid_paths);
  yajl_gen_map_close (g);
}

static void
j_user (yajl_gen g, const struct doctor *d)
{
  j_key (g, "user");
  if (!d->user_known)
    {
      yajl_gen_null (g);
      return;
    }
  yajl_gen_map_open (g);
  j_kuint (g, "uid", d->user.uid);
  j_kuint (g, "gid", d->user.gid);
  j_kstr (g, "origin", d->user.origin);
  j_key (g, "groups");
  yajl_gen_array_open (g);
  for (size_t i = 0; i < d->n_groups; i++)
    yajl_gen_integer (g, d->groups[i]);
  yajl_gen_array_close (g);
  j_kbool (g, "mapped", d->user_mapped);
  if (d->user_mapped)
    {
      j_kuint (g, "host_uid", d->host_uid);
      j_kuint (g, "host_gid", d->host_gid);
    }
  yajl_gen_map_close (g);
}

int
doctor_report_json (const struct doctor *d, FILE *out, hook_error_t **err)
{
  cleanup_json_gen yajl_gen g = yajl_gen_alloc (NULL);
  cleanup_free char *annotation = doctor_fixed_annotation (d);
  cleanup_free char *ask = annotation ? doctor_ask_text (d, annotation) : NULL;
  const unsigned char *buf;
  size_t len;

  if (g == NULL)
    return make_error (err, ENOMEM, "JSON report");
  yajl_gen_config (g, yajl_gen_beautify, 1);
  yajl_gen_map_open (g);
  if (d->container)
    j_kstr (g, "container", d->container);
  j_kstr (g, "bundle", d->bundle);
  j_kstr (g, "rootfs", d->rootfs);
  j_kbool (g, "userns", d->userns);
  j_map (g, "uid_mappings", &d->ids.uids);
  j_map (g, "gid_mappings", &d->ids.gids);
  j_user (g, d);
  j_kstr (g, "policy", d->admin.path);
  j_kstr (g, "policy_from", d->policy_from);
  j_kstr (g, "engine", doctor_engine_name (d->engine.kind));
  j_kstr (g, "environment", env_trust_name (d->admin.env_trust));
  j_kstr (g, "request_origin", d->request_origin);
  j_kbool (g, "request_from_policy", d->request_from_policy);
  j_key (g, "mounts");
  yajl_gen_array_open (g);
  for (size_t i = 0; i < d->n_mounts; i++)
    j_mount (g, d, &d->mounts[i]);
  yajl_gen_array_close (g);
  j_scan (g, &d->scan);
  j_kstr (g, "annotation", annotation);
  j_kstr (g, "ask", ask);
  j_key (g, "problems");
  yajl_gen_array_open (g);
  for (size_t i = 0; i < d->n_problems; i++)
    {
      yajl_gen_map_open (g);
      j_kstr (g, "where", d->problems[i].where);
      j_kstr (g, "message", d->problems[i].what);
      j_kstr (g, "fix", d->problems[i].fix);
      j_kbool (g, "warning", d->problems[i].warning);
      yajl_gen_map_close (g);
    }
  yajl_gen_array_close (g);
  j_kbool (g, "ok", doctor_exit_status (d) == 0);
  yajl_gen_map_close (g);
  if (yajl_gen_get_buf (g, &buf, &len) != yajl_gen_status_ok)
    return make_error (err, 0, "JSON report: generator error");
  if (fwrite (buf, 1, len, out) != len || fflush (out) != 0)
    return make_error (err, errno, "write the JSON report");
  return 0;
}
