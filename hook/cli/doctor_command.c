/* oci-idmap-hook doctor: its command line, around doctor_run. */
#define _GNU_SOURCE
#include "base/cleanup.h"
#include "base/path.h"
#include "base/str.h"
#include "commands.h"
#include "hook/doctor/doctor.h"
#include "hook/doctor/doctor_stack.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off */
static const char doctor_usage[] =
  "Usage: oci-idmap-hook doctor [--json] [--untrusted] [--policy FILE] BUNDLE\n"
  "       oci-idmap-hook doctor [--json] [--policy FILE] --rootfs DIR [--uidmap C:H:N]...\n"
  "                             [--gidmap C:H:N]... [--user UID[:GID]] [--group-add GID]...\n"
  "                             [--mount SRC:DEST[:OPTIONS]]...\n"
  "       oci-idmap-hook doctor [--json] [--policy FILE] --compose FILE|- [--image-inspect FILE]\n"
  "                             [--userns-remap default|USER[:GROUP] | --uidmap C:H:N...]\n"
  "       oci-idmap-hook doctor [--json] [--policy FILE] --inspect FILE|-\n"
  "                             [--userns-remap default|USER[:GROUP] | --uidmap C:H:N...]\n"
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
  "from the options, named and written as podman's (--mount takes what podman's\n"
  "-v takes):\n"
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
  "                            OPTIONS, separated by ',': ro or rw (default), and\n"
  "                            a mode to ask the hook for it in that mode: idmap,\n"
  "                            nsmap, chown, auto or chown+restore (chown: the\n"
  "                            access shown is the one after the chown)\n"
  "\n"
  "The doctor judges what the hook will do: with the options of the bundle's\n"
  "hook entry (its --policy, --environment, --allow-host-root, read by the\n"
  "hook's own parser), the policy's defaultMounts for a container that asks for\n"
  "nothing, and OCI_IDMAP_MOUNTS as far as the environment level lets it ask.\n"
  "The fix is said the way the bundle's engine can apply it (Docker, podman,\n"
  "containerd, a Kubernetes pod: from the bundle's path and annotations).\n"
  "\n"
  "What the engines print, every container judged as a bundle is (no rootfs\n"
  "scan), then the fix in the engine's terms:\n"
  "      --compose FILE|-      the output of `docker compose config --format json`:\n"
  "                            each service's user:, bind volumes, annotations:,\n"
  "                            environment: and userns_mode:; the fix is the\n"
  "                            annotations: block (or environment:) to paste\n"
  "      --image-inspect FILE  `docker image inspect` of the images: the user of a\n"
  "                            service that sets no user: (without it: judged as\n"
  "                            root, with a warning that the image decides)\n"
  "      --inspect FILE|-      `docker container inspect` or `podman container\n"
  "                            inspect` (Config.User, Mounts, annotations, podman's\n"
  "                            IDMappings); the fix is the --annotation flag\n"
  "      --userns-remap SPEC   the mapping of dockerd --userns-remap SPEC: the\n"
  "                            ranges of that user (default: dockremap) in\n"
  "                            /etc/subuid and /etc/subgid (or --uidmap, --gidmap)\n"
  "\n"
  "With a bundle or without:\n"
  "      --policy FILE         the administrator's policy the hook runs with,\n"
  "                            unless the bundle's hook entry names its own\n"
  "                            --policy (default /etc/oci-idmap-hook/policy.json,\n"
  "                            if it exists; without one the hook's defaults)\n"
  "      --json                print one JSON document instead of text (its\n"
  "                            strings escaped as in the text: \\xNN)\n"
  "  -h, --help                show this help and exit\n"
  "\n"
  "Exit status: 0 when the container will work as asked ('warning:' lines, such\n"
  "as setuid files that lose their privilege, do not count); 1 when a problem\n"
  "will make it fail (one 'problem:' line each, with its fix); 2 on bad usage or\n"
  "when the bundle or root filesystem cannot be read.  See oci-idmap-hook(1).\n";
/* clang-format on */

/* The options as they are parsed: they own their arrays. */
struct doctor_args
{
  struct doctor_options o;
  struct doctor_mount_option *mounts;
  uint32_t *groups;
  const char *user;
  bool by_flags; /* an option that describes a container without a bundle */
  const char *compose, *inspect, *images, *remap;
  bool container_flags; /* --rootfs, --user, --mount, --group-add: not for engine JSON */
};

static void
doctor_args_free (struct doctor_args *a)
{
  free (a->mounts);
  free (a->groups);
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

/* SRC:DEST[:OPTIONS], in place. */
static int
parse_mount_flag (struct doctor_args *a, char *text, hook_error_t **err)
{
  char *dest = strchr (text, ':'), *opts, *opt, *save = NULL;
  cleanup_free char *normal = NULL;
  struct doctor_mount_option *m;

  if (dest == NULL || dest == text)
    return make_error (err, 0, "\"%s\": expected SRC:DEST[:OPTIONS]", text);
  *dest++ = '\0';
  opts = strchr (dest, ':');
  if (opts)
    *opts++ = '\0';
  if (normalize_dest (dest, &normal, err) < 0)
    return -1;
  m = reallocarray (a->mounts, a->o.n_mounts + 1, sizeof *a->mounts);
  if (m == NULL)
    return make_error (err, ENOMEM, "--mount");
  a->mounts = m;
  m = &a->mounts[a->o.n_mounts++];
  *m = (struct doctor_mount_option){ .source = text, .dest = dest };
  for (opt = opts ? strtok_r (opts, ",", &save) : NULL; opt; opt = strtok_r (NULL, ",", &save))
    if (strcmp (opt, "ro") == 0 || strcmp (opt, "rw") == 0)
      m->readonly = opt[1] == 'o';
    else if (mode_parse (opt, strlen (opt), &m->mode) == 0)
      m->asked = true;
    else
      return make_error (err, 0, "--mount %s:%s: unknown option \"%s\"; use ro or rw, and a mode: %s", text, dest, opt,
                         mode_list);
  return 0;
}

/* --group-add GID: a number, as in the container. */
static int
add_group_flag (struct doctor_args *a, const char *text, hook_error_t **err)
{
  uint32_t *groups, gid;

  if (parse_numeric_id (text, strlen (text), &gid) < 0)
    return make_error (err, 0, "--group-add %s: give a numeric group id", text);
  groups = reallocarray (a->groups, a->o.n_groups + 1, sizeof *groups);
  if (groups == NULL)
    return make_error (err, ENOMEM, "--group-add");
  a->groups = groups;
  a->groups[a->o.n_groups++] = gid;
  return 0;
}

/* The options that take a value, each into A.  -1 with *ERR: bad usage. */
static int
parse_option (struct doctor_args *a, int c, char *arg, hook_error_t **err)
{
  switch (c)
    {
    case 'r':
      a->o.rootfs = arg;
      return 0;
    case 'C':
      a->compose = arg;
      return 0;
    case 'I':
      a->inspect = arg;
      return 0;
    case 'i':
      a->images = arg;
      return 0;
    case 'R':
      a->remap = arg;
      return 0;
    case 'u':
      return parse_map_flag (arg, &a->o.uids, err);
    case 'g':
      return parse_map_flag (arg, &a->o.gids, err);
    case 'U':
      a->user = arg;
      return 0;
    case 'm':
      return parse_mount_flag (a, arg, err);
    case 'G':
      return add_group_flag (a, arg, err);
    case 'P':
      a->o.policy = arg;
      return 0;
    default:
      return make_error (err, 0, "unknown option");
    }
}

/* Without a bundle: the mapping and the user make sense together. */
static int
check_flags (struct doctor_args *a, hook_error_t **err)
{
  if (a->o.uids.n == 0 && a->o.gids.n)
    return make_error (err, 0, "--gidmap needs --uidmap");
  if (idmap_validate (&a->o.uids, "--uidmap", err) < 0
      || idmap_validate (a->o.gids.n ? &a->o.gids : &a->o.uids, "--gidmap", err) < 0)
    return -1;
  a->o.user_set = a->user != NULL;
  if (a->user && parse_user_spec (a->user, "--user", &a->o.user, err) < 0)
    return -1;
  return 0;
}

/* --compose or --inspect: read, parse, judge.  The doctor's exit status. */
static int
run_stack (struct doctor_args *a)
{
  cleanup_doctor_stack struct doctor_stack s = { 0 };
  struct doctor_stack_options so = { .policy = a->o.policy, .json = a->o.json };
  cleanup_free char *text = NULL, *images = NULL, *from = NULL;
  const char *file = a->compose ? a->compose : a->inspect;
  hook_error_t *err = NULL;
  size_t len, ilen;
  int ret;

  if (a->remap)
    {
      if (doctor_remap_read (a->remap, "/etc/subuid", "/etc/subgid", &so.uids, &so.gids, &err) < 0)
        return report_failure (&err, DOCTOR_EXIT_CANNOT_CHECK);
      if (str_printf (&from, &err, "--userns-remap %s", a->remap) < 0)
        return report_failure (&err, DOCTOR_EXIT_CANNOT_CHECK);
    }
  else if (a->o.uids.n)
    {
      so.uids = a->o.uids;
      so.gids = a->o.gids.n ? a->o.gids : a->o.uids;
      if (str_dup (&from, "--uidmap", &err) < 0)
        return report_failure (&err, DOCTOR_EXIT_CANNOT_CHECK);
    }
  so.mapping_from = from;
  if (doctor_stack_read (file, &text, &len, &err) < 0
      || (a->compose ? doctor_compose_parse (text, len, file, &s, &err)
                     : doctor_inspect_parse (text, len, file, &s, &err))
             < 0
      || (a->images
          && (doctor_stack_read (a->images, &images, &ilen, &err) < 0
              || doctor_images_parse (images, ilen, a->images, &s, &err) < 0)))
    return report_failure (&err, DOCTOR_EXIT_CANNOT_CHECK);
  ret = doctor_stack_run (&s, &so, stdout, &err);
  return ret < 0 ? report_failure (&err, DOCTOR_EXIT_CANNOT_CHECK) : ret;
}

/* The stack options' combinations; NULL when they make sense. */
static const char *
stack_usage (const struct doctor_args *a, int rest)
{
  if (a->compose && a->inspect)
    return "give --compose or --inspect, not both";
  if (a->container_flags || a->o.untrusted || rest)
    return "--compose and --inspect take no BUNDLE, --rootfs, --user, --mount, --group-add or --untrusted";
  if (a->images && !a->compose)
    return "--image-inspect is for --compose";
  if (a->remap && a->o.uids.n)
    return "give --userns-remap or --uidmap, not both";
  return NULL;
}

int
command_doctor (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "rootfs", required_argument, NULL, 'r' },
    { "uidmap", required_argument, NULL, 'u' },
    { "gidmap", required_argument, NULL, 'g' },
    { "user", required_argument, NULL, 'U' },
    { "mount", required_argument, NULL, 'm' },
    { "group-add", required_argument, NULL, 'G' },
    { "json", no_argument, NULL, 'j' },
    { "untrusted", no_argument, NULL, 'T' },
    { "policy", required_argument, NULL, 'P' },
    { "compose", required_argument, NULL, 'C' },
    { "inspect", required_argument, NULL, 'I' },
    { "image-inspect", required_argument, NULL, 'i' },
    { "userns-remap", required_argument, NULL, 'R' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  __attribute__ ((cleanup (doctor_args_free))) struct doctor_args a = { .mounts = NULL };
  hook_error_t *err = NULL;
  int c, ret;

  optind = 1;
  opterr = 0;
  while ((c = getopt_long (argc, argv, "+:h", longopts, NULL)) != -1)
    switch (c)
      {
      case 'j':
        a.o.json = true;
        break;
      case 'T':
        a.o.untrusted = true;
        break;
      case 'h':
        fputs (doctor_usage, stdout);
        return 0;
      case '?':
      case ':':
        return usage_error_option ("doctor", c, argv);
      default:
        a.by_flags |= c != 'P';
        a.container_flags |= strchr ("rUmG", c) != NULL;
        if (parse_option (&a, c, optarg, &err) < 0)
          return usage_error_from ("doctor", &err);
        break;
      }
  if (a.compose || a.inspect || a.images || a.remap)
    {
      const char *bad = a.compose || a.inspect ? stack_usage (&a, argc - optind)
                                               : "--image-inspect and --userns-remap are for --compose or --inspect";
      if (bad)
        return usage_error ("doctor", bad, NULL);
      if (check_flags (&a, &err) < 0)
        return usage_error_from ("doctor", &err);
      return run_stack (&a);
    }
  if (a.by_flags == (optind < argc) || argc - optind > 1 || (a.by_flags && a.o.rootfs == NULL))
    return usage_error ("doctor",
                        argc - optind > 1 ? "unexpected argument"
                                          : "give a BUNDLE, or --rootfs DIR with the mapping, user and mounts",
                        argc - optind > 1 ? argv[optind + 1] : NULL);
  if (a.o.untrusted && a.by_flags)
    return usage_error ("doctor", "--untrusted is for a BUNDLE: --rootfs and --mount name your own paths", NULL);
  if (a.by_flags && check_flags (&a, &err) < 0)
    return usage_error_from ("doctor", &err);
  a.o.bundle = a.by_flags ? NULL : argv[optind];
  a.o.mounts = a.mounts;
  a.o.groups = a.groups;
  a.o.parse_hook_args = hook_options_from_args;
  ret = doctor_run (&a.o, stdout, &err);
  return ret < 0 ? report_failure (&err, DOCTOR_EXIT_CANNOT_CHECK) : ret;
}
