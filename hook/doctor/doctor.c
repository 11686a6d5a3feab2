/* oci-idmap-hook doctor: the command line, and the facts it gathers from a
 * bundle's config.json or from flags.  Changes nothing. */
#define _GNU_SOURCE
#include "doctor.h"
#include "oci/config.h"
#include "oci/json.h"
#include "base/cleanup.h"
#include "hook/cli/commands.h"
#include "base/escape.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* clang-format off */
static const char doctor_usage[] =
  "Usage: oci-idmap-hook doctor [--json] [--untrusted] BUNDLE\n"
  "       oci-idmap-hook doctor [--json] --rootfs DIR [--uidmap C:H:N]... [--gidmap C:H:N]...\n"
  "                             [--user UID[:GID]] [--mount SRC:DEST[:OPTIONS]]...\n"
  "\n"
  "Explain, before the container runs, why it could not use its files: how each\n"
  "bind mount will look to the container's user, what the hook would do with it\n"
  "and the annotation that fixes it, and which files of the root filesystem are\n"
  "owned by ids outside the mapping.  Reads only; follows no symlink out of the\n"
  "root filesystem.\n"
  "\n"
  "The doctor runs with your rights on the host paths the bundle names: it\n"
  "stats each mount source and lists the whole root.path, which config.json may\n"
  "point anywhere (/root, a symlink to /).  For a bundle you did not write, use\n"
  "      --untrusted           read root.path only below the bundle directory,\n"
  "                            through no symlink (refused otherwise); mount\n"
  "                            sources are still stat'ed, never listed\n"
  "\n"
  "BUNDLE is an OCI bundle: its config.json gives the mapping, the user (as the\n"
  "hook reads it: oci-idmap-hook/user, PUID/PGID, process.user), the bind mounts\n"
  "and what the container asks of the hook.  Without a bundle the same facts come\n"
  "from the options, in podman's syntax:\n"
  "      --rootfs DIR          the root filesystem to scan\n"
  "      --uidmap C:H:N        container id C is host id H, for N ids (repeatable;\n"
  "                            none: no user namespace)\n"
  "      --gidmap C:H:N        the same for groups (default: as --uidmap)\n"
  "      --user UID[:GID]      the container's user (default 0)\n"
  "      --group-add GID       a supplementary group of that user (repeatable;\n"
  "                            numbers only: names would be looked up in files\n"
  "                            the container controls)\n"
  "      --mount SRC:DEST[:OPTIONS]\n"
  "                            a bind mount of host SRC at DEST (repeatable);\n"
  "                            OPTIONS, separated by ',': ro, and idmap or nsmap\n"
  "                            to ask the hook for it in that mode\n"
  "      --json                print one JSON document instead of text (its\n"
  "                            strings escaped as in the text: \\xNN)\n"
  "  -h, --help                show this help and exit\n"
  "\n"
  "      --policy FILE         the administrator's policy the hook runs with\n"
  "                            (default /etc/oci-idmap-hook/policy.json, if it\n"
  "                            exists; without one the hook's defaults apply)\n"
  "\n"
  "Exit status: 0 when the container will work as asked ('warning:' lines, such\n"
  "as setuid files that lose their privilege, do not count); 1 when a problem\n"
  "will make it fail (one 'problem:' line each, with its fix); 2 on bad usage or\n"
  "when the bundle or root filesystem cannot be read.  See oci-idmap-hook(1).\n";
/* clang-format on */

static int
doctor_usage_error (const char *what, const char *arg)
{
  fprintf (stderr, "%s doctor: %s%s%s%s\nTry 'oci-idmap-hook doctor --help'.\n", program_name, what, arg ? " '" : "",
           arg ? arg : "", arg ? "'" : "");
  return 2;
}

void
doctor_problem (struct doctor *d, bool warning, const char *where, const char *fix, const char *fmt, ...)
{
  struct doctor_problem *p;
  va_list ap;

  p = reallocarray (d->problems, d->n_problems + 1, sizeof *d->problems);
  if (p == NULL)
    abort ();
  d->problems = p;
  p = &d->problems[d->n_problems++];
  memset (p, 0, sizeof *p);
  p->warning = warning;
  p->where = strdup (where);
  p->fix = fix ? strdup (fix) : NULL;
  va_start (ap, fmt);
  if (vasprintf (&p->what, fmt, ap) < 0 || p->where == NULL)
    abort ();
  va_end (ap);
}

int
doctor_exit_status (const struct doctor *d)
{
  for (size_t i = 0; i < d->n_problems; i++)
    if (!d->problems[i].warning)
      return 1;
  return 0;
}

void
doctor_free (struct doctor *d)
{
  admin_policy_free (&d->admin);
  for (size_t i = 0; i < d->n_mounts; i++)
    {
      free (d->mounts[i].dest);
      free (d->mounts[i].hook_note);
      free (d->mounts[i].problem);
      free (d->mounts[i].fix);
      doctor_acl_free (&d->mounts[i].acl);
    }
  free (d->mounts);
  free (d->groups);
  for (size_t i = 0; i < d->n_problems; i++)
    {
      free (d->problems[i].where);
      free (d->problems[i].what);
      free (d->problems[i].fix);
    }
  free (d->problems);
  id_table_free (&d->scan.uids);
  id_table_free (&d->scan.gids);
  for (size_t k = 0; k < ID_TABLE_PATHS; k++)
    free (d->scan.setid_paths[k]);
  free (d->scan.error);
  free (d->ids_note);
}

/* Record ERR as a problem at WHERE, its hint as the fix. */
static void
problem_from_error (struct doctor *d, const char *where, hook_error_t **err)
{
  char *semi = strstr ((*err)->msg, "; ");
  if (semi)
    *semi = '\0';
  doctor_problem (d, false, where, semi ? semi + 2 : NULL, "%s", (*err)->msg);
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

/* "C:H:N", as podman's --uidmap. */
static int
parse_map_flag (const char *text, struct idmap *map, hook_error_t **err)
{
  unsigned long long v[3];
  const char *p = text;
  char *end;

  for (int k = 0; k < 3; k++)
    {
      if (*p < '0' || *p > '9')
        return make_error (err, 0, "\"%s\": expected CONTAINER_ID:HOST_ID:SIZE", text);
      errno = 0;
      v[k] = strtoull (p, &end, 10);
      if (errno || *end != (k < 2 ? ':' : '\0'))
        return make_error (err, 0, "\"%s\": expected CONTAINER_ID:HOST_ID:SIZE", text);
      p = end + 1;
    }
  return idmap_add (map, v[0], v[1], v[2], text, err);
}

/* SRC:DEST[:OPTIONS] */
static int
parse_mount_flag (struct doctor *d, char *text, hook_error_t **err)
{
  char *dest = strchr (text, ':'), *opts, *opt, *save = NULL;
  struct doctor_mount *m;

  if (dest == NULL || dest == text)
    return make_error (err, 0, "\"%s\": expected SRC:DEST[:OPTIONS]", text);
  *dest++ = '\0';
  opts = strchr (dest, ':');
  if (opts)
    *opts++ = '\0';
  m = add_mount (d, text, dest, err);
  if (m == NULL)
    return -1;
  for (opt = opts ? strtok_r (opts, ",", &save) : NULL; opt; opt = strtok_r (NULL, ",", &save))
    if (strcmp (opt, "ro") == 0 || strcmp (opt, "rw") == 0)
      m->readonly = opt[1] == 'o';
    else if (strcmp (opt, "idmap") == 0 || strcmp (opt, "nsmap") == 0)
      {
        m->asked = true;
        m->policy.mode = opt[0] == 'i' ? MODE_IDMAP : MODE_NSMAP;
      }
    else
      return make_error (err, 0, "--mount %s:%s: unknown option \"%s\"; use ro, rw, idmap or nsmap", text, dest, opt);
  return 0;
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
  struct request req = { .n = 0 };
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
  request_free (&req);
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

/* Does config.json run our hook at a stage where it works? */
static bool
registers_hook (const struct oci_config *cfg)
{
  static const char *const stages[] = { "prestart", "createRuntime" };

  for (size_t s = 0; s < sizeof stages / sizeof stages[0]; s++)
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
  make_error (err, errno, "--untrusted: open root.path %s below the bundle %s", root, bundle);
  if (errno == EXDEV || errno == ELOOP)
    error_hint (err, "it leaves the bundle or goes through a symlink; give a root.path inside the bundle "
                     "directory, or drop --untrusted for a bundle you trust");
  return -1;
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
    return make_error (err, errno, "open the bundle %s", bundle);
  if (oci_config_read (bundle, &path, &text, &len, NULL, err) < 0)
    return -1;
  if (oci_config_parse (text, len, cfg, err) < 0)
    return error_prefix (err, "%s", bundle);
  d->bundle = bundle;
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
  d->hook_registered = registers_hook (cfg);
  check_registration (d);
  if (d->rootfs == NULL)
    return make_error (err, 0, "%s/config.json has no root.path", bundle);
  if (untrusted)
    return open_confined_rootfs (bundle_fd, d->rootfs, bundle, err);
  /* The engine's path: opened as written, then walked by fd. */
  root_fd = openat (bundle_fd, d->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    return make_error (err, errno, "open the root filesystem %s (in %s)", d->rootfs, bundle);
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
run_doctor (struct doctor *d, int root_fd, bool json)
{
  hook_error_t *err = NULL;

  check_users (d);
  doctor_check_mounts (d);
  doctor_scan_rootfs (d, root_fd);
  if (json ? doctor_report_json (d, stdout, &err) < 0 : doctor_report_text (d, stdout) < 0)
    {
      if (err == NULL)
        make_error (&err, errno, "write the report");
      error_report (&err);
      return 2;
    }
  return doctor_exit_status (d);
}

/* --group-add GID: a number, as in the container. */
static int
add_group_flag (struct doctor *d, const char *text, hook_error_t **err)
{
  uint32_t *groups, gid;

  if (parse_numeric_id (text, strlen (text), &gid) < 0)
    return make_error (err, 0, "--group-add %s: give a numeric group id", text);
  groups = realloc (d->groups, (d->n_groups + 1) * sizeof *groups);
  if (groups == NULL)
    return make_error (err, ENOMEM, "--group-add");
  d->groups = groups;
  d->groups[d->n_groups++] = gid;
  return 0;
}

int
command_doctor (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "rootfs", required_argument, NULL, 'r' }, { "uidmap", required_argument, NULL, 'u' },
    { "gidmap", required_argument, NULL, 'g' }, { "user", required_argument, NULL, 'U' },
    { "mount", required_argument, NULL, 'm' },  { "group-add", required_argument, NULL, 'G' },
    { "json", no_argument, NULL, 'j' },        { "untrusted", no_argument, NULL, 'T' },
    { "policy", required_argument, NULL, 'P' }, { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *policy = NULL;
  struct doctor d = { 0 };
  struct oci_config cfg = { 0 };
  struct idmap uids = { 0 }, gids = { 0 };
  hook_error_t *err = NULL;
  const char *user = NULL;
  bool json = false, by_flags = false, untrusted = false;
  cleanup_close int root_fd = -1;
  cleanup_free char *safe = NULL;
  int c, ret = 2;

  optind = 1;
  while ((c = getopt_long (argc, argv, "+h", longopts, NULL)) != -1)
    {
      by_flags |= c != 'j' && c != 'h' && c != 'P' && c != 'T';
      switch (c)
        {
        case 'r':
          d.rootfs = optarg;
          break;
        case 'u':
        case 'g':
          if (parse_map_flag (optarg, c == 'u' ? &uids : &gids, &err) < 0)
            goto usage;
          break;
        case 'U':
          user = optarg;
          break;
        case 'm':
          if (parse_mount_flag (&d, optarg, &err) < 0)
            goto usage;
          break;
        case 'G':
          if (add_group_flag (&d, optarg, &err) < 0)
            goto usage;
          break;
        case 'j':
          json = true;
          break;
        case 'T':
          untrusted = true;
          break;
        case 'P':
          policy = optarg;
          break;
        case 'h':
          fputs (doctor_usage, stdout);
          doctor_free (&d);
          return 0;
        default:
          doctor_free (&d);
          return doctor_usage_error ("unknown option", argv[optind - 1]);
        }
    }
  if (by_flags == (optind < argc) || argc - optind > 1 || (by_flags && d.rootfs == NULL))
    {
      doctor_free (&d);
      return doctor_usage_error (argc - optind > 1 ? "unexpected argument"
                                                   : "give a BUNDLE, or --rootfs DIR with "
                                                     "the mapping, user and mounts",
                                 argc - optind > 1 ? argv[optind + 1] : NULL);
    }
  if (untrusted && by_flags)
    {
      doctor_free (&d);
      return doctor_usage_error ("--untrusted is for a BUNDLE: --rootfs and --mount name your own paths", NULL);
    }
  if (admin_policy_load (policy ? policy : ADMIN_POLICY_DEFAULT_PATH, policy != NULL, &d.admin, &err) < 0)
    {
      error_report (&err);
      doctor_free (&d);
      return 2;
    }
  if (by_flags)
    {
      idmap_identity (&d.ids.uids);
      idmap_identity (&d.ids.gids);
      if (uids.n)
        {
          d.userns = true;
          d.ids.uids = uids;
          d.ids.gids = gids.n ? gids : uids; /* podman: --gidmap defaults to --uidmap */
        }
      else if (gids.n)
        {
          make_error (&err, 0, "--gidmap needs --uidmap");
          goto usage;
        }
      if (idmap_validate (&d.ids.uids, "--uidmap", &err) < 0 || idmap_validate (&d.ids.gids, "--gidmap", &err) < 0
          || (user && parse_user_spec (user, "--user", &d.user, &err) < 0))
        goto usage;
      if (user == NULL)
        d.user = (struct target_user){ 0, 0, "the default user" };
      d.user_known = d.process_user_known = d.privileged = d.hook_registered = true;
      d.process_user = d.user;
      root_fd = open (d.rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (root_fd < 0)
        make_error (&err, errno, "open the root filesystem %s", d.rootfs);
    }
  else
    root_fd = facts_from_bundle (&d, argv[optind], untrusted, &cfg, &err);
  if (root_fd < 0)
    {
      error_report (&err);
      ret = 2;
    }
  else
    ret = run_doctor (&d, root_fd, json);
  doctor_free (&d);
  oci_config_free (&cfg);
  return ret;

usage:
  fprintf (stderr, "%s doctor: %s\nTry 'oci-idmap-hook doctor --help'.\n", program_name, (safe = text_escape (err->msg)));
  error_free (&err);
  doctor_free (&d);
  return 2;
}
