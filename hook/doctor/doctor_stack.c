/* The doctor on what the engines print: each container of a compose stack
 * or an inspect array becomes the config.json its engine would write, is
 * judged by doctor_judge_config as a bundle is, and the fix is said in the
 * engine's terms (a compose annotations: block, podman's --annotation). */
#define _GNU_SOURCE
#include "doctor_stack.h"
#include "base/cleanup.h"
#include "base/escape.h"
#include "base/io.h"
#include "base/str.h"
#include "doctor.h"
#include "oci/config.h"
#include "oci/json.h"
#include "oci/json_write.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
doctor_stack_free (struct doctor_stack *s)
{
  for (size_t i = 0; i < s->n; i++)
    free (s->c[i].binds);
  free (s->c);
  if (s->tree)
    yajl_tree_free (s->tree);
  if (s->images)
    yajl_tree_free (s->images);
  memset (s, 0, sizeof *s);
}

struct doctor_container *
doctor_stack_add (struct doctor_stack *s, const char *name, hook_error_t **err)
{
  struct doctor_container *c = reallocarray (s->c, s->n + 1, sizeof *s->c);

  if (c == NULL)
    {
      make_error (err, ENOMEM, "%s", name);
      return NULL;
    }
  s->c = c;
  c = &s->c[s->n++];
  memset (c, 0, sizeof *c);
  c->name = name;
  return c;
}

int
doctor_container_add_bind (struct doctor_container *c, const char *source, const char *dest, bool readonly,
                           hook_error_t **err)
{
  struct doctor_bind *b = reallocarray (c->binds, c->n_binds + 1, sizeof *c->binds);

  if (b == NULL)
    return make_error (err, ENOMEM, "%s", c->name);
  c->binds = b;
  c->binds[c->n_binds++] = (struct doctor_bind){ source, dest, readonly };
  return 0;
}

int
doctor_stack_read (const char *file, char **text, size_t *len, hook_error_t **err)
{
  bool in = strcmp (file, "-") == 0;
  cleanup_close int fd = in ? dup (STDIN_FILENO) : open (file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

  if (fd < 0)
    return make_error (err, errno, "open '%s'", file);
  /* O_NONBLOCK only kept a FIFO's open from waiting. */
  if (!in && fcntl (fd, F_SETFL, 0) < 0)
    return make_error (err, errno, "'%s'", file);
  return read_all_capped (fd, DOCTOR_STACK_MAX_BYTES, in ? "stdin" : file, text, len, err);
}

/* Is TAG (NAME:TAG, from RepoTags) what IMAGE names?  A bare name is :latest. */
static bool
same_image (const char *tag, const char *image)
{
  size_t n = strlen (image);

  return strcmp (tag, image) == 0
         || (strchr (image, ':') == NULL && strncmp (tag, image, n) == 0 && strcmp (tag + n, ":latest") == 0);
}

/* A compose user: has no ':' GID?  Docker then takes the group from the
 * image's /etc/passwd, or 0. */
static int
container_user (const struct doctor_stack *s, const struct doctor_container *c, struct target_user *u, char **note,
                hook_error_t **err)
{
  const char *spec = c->user;
  hook_error_t *bad = NULL;

  /* Only the ids count: the config's process.user names the origin. */
  *u = (struct target_user){ 0, 0, "user" };
  if ((spec == NULL || *spec == '\0') && s->engine == STACK_COMPOSE)
    {
      const char *found = NULL;
      for (size_t i = 0; s->images && YAJL_IS_ARRAY (s->images) && i < s->images->u.array.len && !found; i++)
        {
          yajl_val img = s->images->u.array.values[i], tags = json_member (img, "RepoTags"),
                   cfg = json_member (img, "Config"), id = json_member (img, "Id");
          bool match = c->image && YAJL_IS_STRING (id) && strcmp (id->u.string, c->image) == 0;
          for (size_t k = 0; c->image && YAJL_IS_ARRAY (tags) && k < tags->u.array.len; k++)
            match
                |= YAJL_IS_STRING (tags->u.array.values[k]) && same_image (tags->u.array.values[k]->u.string, c->image);
          if (match)
            {
              yajl_val user = json_member (cfg, "User");
              found = YAJL_IS_STRING (user) ? YAJL_GET_STRING (user) : "";
            }
        }
      if (found == NULL)
        return str_printf (note, err,
                           "it sets no user: it runs as its image's user (%s), which decides the answer; judged "
                           "as root (give --image-inspect with `docker image inspect %s`)",
                           c->image ? c->image : "no image named", c->image ? c->image : "IMAGE");
      spec = found;
    }
  if (spec == NULL || *spec == '\0')
    return 0;
  if (strchr (spec, ':') == NULL && parse_numeric_id (spec, strlen (spec), &u->uid) == 0)
    return str_printf (note, err,
                       "user %s has no group: the engine takes it from the image's /etc/passwd, or 0; judged "
                       "as %s:0",
                       spec, spec);
  if (parse_user_spec (spec, "user:", u, &bad) == 0)
    return 0;
  error_free (&bad);
  *u = (struct target_user){ 0, 0, "user" };
  return str_printf (note, err,
                     "user \"%s\" is a name, which the engine looks up in the image's /etc/passwd; judged as root "
                     "(give numeric UID:GID)",
                     spec);
}

static void
gen_map (yajl_gen g, const char *key, const struct idmap *m)
{
  json_gen_cstring (g, key);
  yajl_gen_array_open (g);
  for (size_t i = 0; i < m->n; i++)
    {
      yajl_gen_map_open (g);
      json_gen_cstring (g, "containerID");
      yajl_gen_integer (g, m->ext[i].inside);
      json_gen_cstring (g, "hostID");
      yajl_gen_integer (g, m->ext[i].outside);
      json_gen_cstring (g, "size");
      yajl_gen_integer (g, m->ext[i].count);
      yajl_gen_map_close (g);
    }
  yajl_gen_array_close (g);
}

/* The environment, as "K=V" strings: compose's object (null: unset) or
 * inspect's array. */
static int
gen_env (yajl_gen g, yajl_val env, hook_error_t **err)
{
  json_gen_cstring (g, "env");
  yajl_gen_array_open (g);
  for (size_t i = 0; YAJL_IS_ARRAY (env) && i < env->u.array.len; i++)
    if (YAJL_IS_STRING (env->u.array.values[i]))
      json_gen_cstring (g, YAJL_GET_STRING (env->u.array.values[i]));
  for (size_t i = 0; YAJL_IS_OBJECT (env) && i < env->u.object.len; i++)
    {
      yajl_val v = env->u.object.values[i];
      cleanup_free char *kv = NULL;
      if (!YAJL_IS_STRING (v))
        continue;
      if (str_printf (&kv, err, "%s=%s", env->u.object.keys[i], YAJL_GET_STRING (v)) < 0)
        return -1;
      json_gen_cstring (g, kv);
    }
  yajl_gen_array_close (g);
  return 0;
}

/* The config.json the engine would write for C, as far as the doctor
 * looks: user, environment, bind mounts, annotations, the mapping, and the
 * hook (the shim or hooks.d, as the fix says to register it). */
static int
config_for (const struct doctor_container *c, const struct target_user *u, const struct idmap *uids,
            const struct idmap *gids, char **text, size_t *len, hook_error_t **err)
{
  cleanup_json_gen yajl_gen g = yajl_gen_alloc (NULL);

  if (g == NULL)
    return make_error (err, ENOMEM, "%s", c->name);
  yajl_gen_map_open (g);
  json_gen_cstring (g, "ociVersion");
  json_gen_cstring (g, "1.0.2");
  json_gen_cstring (g, "process");
  yajl_gen_map_open (g);
  json_gen_cstring (g, "user");
  yajl_gen_map_open (g);
  json_gen_cstring (g, "uid");
  yajl_gen_integer (g, u->uid);
  json_gen_cstring (g, "gid");
  yajl_gen_integer (g, u->gid);
  yajl_gen_map_close (g);
  if (gen_env (g, c->env, err) < 0)
    return -1;
  /* Both engines give root its default capabilities, DAC override among them. */
  json_gen_cstring (g, "capabilities");
  yajl_gen_map_open (g);
  json_gen_cstring (g, "effective");
  yajl_gen_array_open (g);
  json_gen_cstring (g, "CAP_DAC_OVERRIDE");
  yajl_gen_array_close (g);
  yajl_gen_map_close (g);
  yajl_gen_map_close (g);
  json_gen_cstring (g, "mounts");
  yajl_gen_array_open (g);
  for (size_t i = 0; i < c->n_binds; i++)
    {
      yajl_gen_map_open (g);
      json_gen_cstring (g, "destination");
      json_gen_cstring (g, c->binds[i].dest);
      json_gen_cstring (g, "type");
      json_gen_cstring (g, "bind");
      json_gen_cstring (g, "source");
      json_gen_cstring (g, c->binds[i].source);
      json_gen_cstring (g, "options");
      yajl_gen_array_open (g);
      json_gen_cstring (g, "rbind");
      json_gen_cstring (g, c->binds[i].readonly ? "ro" : "rw");
      yajl_gen_array_close (g);
      yajl_gen_map_close (g);
    }
  yajl_gen_array_close (g);
  if (c->annotations)
    {
      json_gen_cstring (g, "annotations");
      json_gen_value (g, c->annotations);
    }
  json_gen_cstring (g, "hooks");
  yajl_gen_map_open (g);
  for (int k = 0; k < 2; k++)
    {
      json_gen_cstring (g, k ? "poststop" : "prestart");
      yajl_gen_array_open (g);
      yajl_gen_map_open (g);
      json_gen_cstring (g, "path");
      json_gen_cstring (g, "oci-idmap-hook");
      yajl_gen_map_close (g);
      yajl_gen_array_close (g);
    }
  yajl_gen_map_close (g);
  if (uids->n)
    {
      json_gen_cstring (g, "linux");
      yajl_gen_map_open (g);
      json_gen_cstring (g, "namespaces");
      yajl_gen_array_open (g);
      yajl_gen_map_open (g);
      json_gen_cstring (g, "type");
      json_gen_cstring (g, "user");
      yajl_gen_map_close (g);
      yajl_gen_array_close (g);
      gen_map (g, "uidMappings", uids);
      gen_map (g, "gidMappings", gids);
      yajl_gen_map_close (g);
    }
  yajl_gen_map_close (g);
  return json_gen_take (g, text, len, err);
}

/* Docker starts these without the shim, so no hook runs.  Any other name
 * may be the shim's entry in daemon.json. */
static bool
plain_runtime (const char *name)
{
  static const char *const plain[] = { "runc", "crun", "youki", "io.containerd.runc.v2", NULL };

  for (const char *const *p = plain; name && *p; p++)
    if (strcmp (name, *p) == 0)
      return true;
  return false;
}

static const char *const engine_noun[] = { "service", "container", "container" };

/* Judge C into D and CFG (zeroed; D points into CFG until both are freed).  -1 with *ERR: out of memory, or the policy.
 */
static int
judge (const struct doctor_stack *s, const struct doctor_container *c, const struct doctor_stack_options *o,
       struct doctor *d, struct oci_config *cfg, char **label, hook_error_t **err)
{
  cleanup_free char *text = NULL, *note = NULL;
  struct target_user u;
  const struct idmap *uids = c->has_map ? &c->uids : &o->uids, *gids = c->has_map ? &c->gids : &o->gids;
  struct idmap none = { 0 };
  size_t len;

  if (c->userns_host)
    uids = gids = &none;
  if (container_user (s, c, &u, &note, err) < 0 || config_for (c, &u, uids, gids, &text, &len, err) < 0
      || str_printf (label, err, "%s: %s", engine_noun[s->engine], c->name) < 0)
    return -1;
  if (oci_config_parse (text, len, cfg, err) < 0)
    return error_prefix (err, "%s: %s %s", s->file, engine_noun[s->engine], c->name);
  if (doctor_judge_config (d, *label, cfg, o->policy, "skipped: the image's files are not read from engine JSON", err)
      < 0)
    return -1;
  if (note)
    doctor_problem (d, true, "user", NULL, "%s", note);
  for (size_t i = 0; i < d->n_mounts && plain_runtime (c->runtime); i++)
    if (d->mounts[i].asked)
      {
        doctor_problem (
            d, false, d->mounts[i].dest,
            "give it the runtime shim: runtime: oci-idmap (docker run --runtime oci-idmap)",
            "the container asks the hook for it, but runs on %s, not through the runtime shim: no hook will run",
            c->runtime);
        break;
      }
  if (c->userns_host && o->uids.n)
    doctor_problem (d, true, "mapping", NULL, "userns_mode host: this container is not remapped");
  return 0;
}

/* VALUE as a YAML scalar (SHELL false) or one shell word, to paste as it
 * is: quoted only when it has to be.  Malloc'd; aborts when out of memory,
 * as the report's lines do. */
static char *
quoted (const char *value, bool shell)
{
  size_t n = strlen (value), k = 0;
  bool plain = shell ? strspn (value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_.,:=+-") == n
                     : strpbrk (value, "\"\\") == NULL;
  char *q = malloc (4 * n + 3);

  if (q == NULL)
    abort ();
  if (plain && !shell)
    {
      sprintf (q, "\"%s\"", value);
      return q;
    }
  if (plain)
    return strcpy (q, value);
  /* Single quotes: YAML doubles a quote inside; the shell closes, quotes it
   * in double quotes and reopens (no backslash, which the report escapes). */
  q[k++] = '\'';
  for (const char *p = value; *p; p++)
    if (*p == '\'')
      k += (size_t) sprintf (q + k, shell ? "'\"'\"'" : "''");
    else
      q[k++] = *p;
  q[k++] = '\'';
  q[k] = '\0';
  return q;
}

/* The services: block to paste, each service that needs it with its value
 * under BLOCK (annotations: or environment:) as KEY, and the runtime. */
static void
print_compose_services (const struct doctor_stack *s, char **annotations, const char *block, const char *key, FILE *out)
{
  doctor_say (out, "  services:");
  for (size_t i = 0; i < s->n; i++)
    if (annotations[i])
      {
        cleanup_free char *value = quoted (annotations[i], false);
        doctor_say (out, "    %s:", s->c[i].name);
        doctor_say (out, "      %s:", block);
        doctor_say (out, "        %s: %s", key, value);
        doctor_say (out, "      runtime: oci-idmap");
      }
}

/* The fix for every container that needs the annotation, in its engine's
 * terms (ANNOTATIONS[i]: C[i]'s value, or NULL). */
static void
print_fix (const struct doctor_stack *s, char **annotations, FILE *out)
{
  bool any = false;

  for (size_t i = 0; i < s->n; i++)
    any |= annotations[i] != NULL;
  if (!any)
    return;
  if (s->engine == STACK_COMPOSE)
    {
      doctor_say (out, "fix: add to the compose file, per service (Docker 24 and later pass annotations):");
      print_compose_services (s, annotations, "annotations", ANNOTATION_MOUNTS, out);
      doctor_say (out, "fix: with Docker before 24 (no annotations), the same value in the environment instead:");
      print_compose_services (s, annotations, "environment", ENV_MOUNTS, out);
      doctor_say (out, "fix: and register the runtime shim in /etc/docker/daemon.json (or make it the "
                       "\"default-runtime\" and leave out the runtime: lines):");
      doctor_say (out, "  \"runtimes\": { \"oci-idmap\": { \"path\": \"/usr/local/bin/oci-idmap-runtime\" } }");
      return;
    }
  for (size_t i = 0; i < s->n; i++)
    {
      cleanup_free char *flag = NULL, *env = NULL;
      if (annotations[i] == NULL)
        continue;
      if (asprintf (&flag, "%s=%s", ANNOTATION_MOUNTS, annotations[i]) < 0
          || asprintf (&env, "%s=%s", ENV_MOUNTS, annotations[i]) < 0)
        abort ();
      cleanup_free char *qflag = quoted (flag, true), *qenv = quoted (env, true);
      if (s->engine == STACK_PODMAN)
        doctor_say (out, "fix: %s: podman run --annotation %s ...", s->c[i].name, qflag);
      else
        doctor_say (out,
                    "fix: %s: docker run --runtime oci-idmap --annotation %s ... (Docker 24 and later; before: -e %s)",
                    s->c[i].name, qflag, qenv);
    }
}

static void
free_reports (struct doctor *d, struct oci_config *cfgs, char **labels, char **annotations, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      if (d)
        doctor_free (&d[i]);
      if (cfgs)
        oci_config_free (&cfgs[i]);
      if (labels)
        free (labels[i]);
      if (annotations)
        free (annotations[i]);
    }
  free (d);
  free (cfgs);
  free (labels);
  free (annotations);
}

int
doctor_stack_run (const struct doctor_stack *s, const struct doctor_stack_options *o, FILE *out, hook_error_t **err)
{
  struct doctor *d = calloc (s->n + 1, sizeof *d);
  struct oci_config *cfgs = calloc (s->n + 1, sizeof *cfgs);
  char **labels = calloc (s->n + 1, sizeof *labels), **annotations = calloc (s->n + 1, sizeof *annotations);
  int verdict = 0, ret = -1;
  size_t done = 0;

  if (d == NULL || cfgs == NULL || labels == NULL || annotations == NULL)
    make_error (err, ENOMEM, "%s", s->file);
  else
    for (; done < s->n; done++)
      {
        if (judge (s, &s->c[done], o, &d[done], &cfgs[done], &labels[done], err) < 0)
          break;
        annotations[done] = doctor_fixed_annotation (&d[done]);
        verdict |= doctor_exit_status (&d[done]);
      }
  if (done == s->n && o->json)
    {
      /* Each container's document as doctor_run prints it, in one object. */
      static const char *const engine_name[] = { "compose", "docker", "podman" };
      fprintf (out, "{\n\"engine\": \"%s\",\n\"ok\": %s,\n\"containers\": [\n", engine_name[s->engine],
               verdict ? "false" : "true");
      ret = 0;
      for (size_t i = 0; i < s->n && ret == 0; i++)
        {
          ret = doctor_report_json (&d[i], out, err);
          fprintf (out, i + 1 < s->n ? ",\n" : "\n");
        }
      fprintf (out, "]\n}\n");
    }
  else if (done == s->n)
    {
      ret = 0;
      if (o->mapping_from)
        fprintf (out, "engine mapping: from %s\n", o->mapping_from);
      else if (s->engine != STACK_PODMAN)
        fprintf (out, "engine mapping: none given (Docker's JSON does not show dockerd's --userns-remap: give "
                      "--userns-remap if the daemon runs with it)\n");
      for (size_t i = 0; i < s->n && ret == 0; i++)
        {
          ret = doctor_report_text (&d[i], out);
          fputc ('\n', out);
        }
      print_fix (s, annotations, out);
      fprintf (out, "stack: %zu %s%s, %s\n", s->n, engine_noun[s->engine], s->n == 1 ? "" : "s",
               verdict ? "not all will work as asked" : "all will work as asked");
    }
  if (ret == 0 && (fflush (out) != 0 || ferror (out)))
    ret = make_error (err, errno, "write the report");
  free_reports (d, cfgs, labels, annotations, s->n);
  return ret < 0 ? -1 : verdict;
}
