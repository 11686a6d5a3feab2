/* hook/doctor/doctor_access.c and hook/doctor/doctor_mount.c: how ids and modes look to the
 * container's user, the id table, and the verdict on one mount. */
#define _GNU_SOURCE
#include "base/escape.h"
#include "helpers.h"
#include "hook/cli/commands.h"
#include "hook/doctor/doctor.h"
#include "oci/config.h"

#include <sys/stat.h>

static void
set_map (struct idmap *map, const char *text)
{
  hook_error_t *err = NULL;
  if (idmap_parse_proc (map, text, "test map", &err) < 0)
    {
      diag ("bad test map: %s", error_shown (err));
      error_free (&err);
    }
}

static void
test_id_inside (void)
{
  struct idmap ns, mnt;
  uint32_t shown = 0;

  set_map (&ns, "0 100000 65536");
  ok (doctor_id_inside (NULL, &ns, 100999, &shown) && shown == 999, "host 100999 shows as 999 under 0:100000:65536");
  ok (!doctor_id_inside (NULL, &ns, 1000, &shown) && shown == DOCTOR_OVERFLOW_ID,
      "host 1000 is unmapped and shows as the overflow id");
  set_map (&mnt, "1000 100999 1");
  ok (doctor_id_inside (&mnt, &ns, 1000, &shown) && shown == 999, "through the mount map, on-disk 1000 shows as 999");
  ok (!doctor_id_inside (&mnt, &ns, 1001, &shown) && shown == DOCTOR_OVERFLOW_ID,
      "an on-disk id outside the mount map shows as the overflow id");
  idmap_identity (&ns);
  ok (doctor_id_inside (NULL, &ns, 4242, &shown) && shown == 4242, "without a user namespace ids are unchanged");
}

/* "rwx"-style access of WHO (user, groups, privileged) to V of MODE with ACL. */
static const char *
access_of (const struct doctor_view *v, mode_t mode, const struct doctor_acl *acl, const struct target_user *user,
           const uint32_t *groups, size_t n_groups, bool privileged)
{
  static char buf[4];
  struct doctor_subject who = { user, groups, n_groups, privileged };
  return doctor_access_text (doctor_access_for (v, mode, acl, &who), buf);
}

static void
test_access (void)
{
  struct target_user user = { 999, 999, "test" }, root = { 0, 0, "test" };
  struct doctor_view v = { .uid = 999, .gid = 50 };
  uint32_t groups[] = { 7, 2 };

  is_str (access_of (&v, S_IFDIR | 0750, NULL, &user, NULL, 0, false), "rwx", "the owner gets the owner bits");
  v.uid = 1;
  v.gid = 999;
  is_str (access_of (&v, S_IFDIR | 0750, NULL, &user, NULL, 0, false), "r-x", "a group member gets the group bits");
  v.gid = 2;
  is_str (access_of (&v, S_IFDIR | 0751, NULL, &user, NULL, 0, false), "--x", "anyone else gets the other bits");
  is_str (access_of (&v, S_IFDIR | 0771, NULL, &user, groups, 2, false), "rwx",
          "a member of a supplementary group gets the group bits");
  v.gid_unmapped = true;
  is_str (access_of (&v, S_IFDIR | 0771, NULL, &user, groups, 2, false), "--x",
          "not through an unmapped gid of the same number");
  v = (struct doctor_view){ .uid = 999, .gid = 999, .uid_unmapped = true, .gid_unmapped = true };
  is_str (access_of (&v, S_IFDIR | 0705, NULL, &user, NULL, 0, false), "r-x",
          "an unmapped owner never matches the user, even with the same number");
  v = (struct doctor_view){ .uid = 5, .gid = 5 };
  is_str (access_of (&v, S_IFDIR | 0700, NULL, &root, NULL, 0, true), "rwx",
          "privileged root may enter and write a mapped directory it does not own");
  is_str (access_of (&v, S_IFREG | 0600, NULL, &root, NULL, 0, true), "rw-",
          "privileged root cannot execute a file without any x bit");
  is_str (access_of (&v, S_IFDIR | 0700, NULL, &root, NULL, 0, false), "---",
          "root without CAP_DAC_OVERRIDE gets the other bits");
  v.gid_unmapped = true;
  is_str (access_of (&v, S_IFDIR | 0705, NULL, &root, NULL, 0, true), "r-x",
          "the capability does not count for a file with an unmapped gid");
}

/* Bytes of a system.posix_acl_access xattr. */
static size_t
acl_bytes (unsigned char *buf, const unsigned (*entries)[3], size_t n)
{
  buf[0] = 2, buf[1] = buf[2] = buf[3] = 0;
  for (size_t i = 0; i < n; i++)
    {
      unsigned char *e = buf + 4 + 8 * i;
      e[0] = (unsigned char) entries[i][0], e[1] = (unsigned char) (entries[i][0] >> 8);
      e[2] = (unsigned char) entries[i][1], e[3] = 0;
      for (int k = 0; k < 4; k++)
        e[4 + k] = (unsigned char) (entries[i][2] >> (8 * k));
    }
  return 4 + 8 * n;
}

static void
test_acl (void)
{
  /* setfacl -m u:999:rwx,g:2000:rw,m::rwx on a 0750 directory of 1:50. */
  static const unsigned entries[][3] = {
    { ACL_TAG_USER_OBJ, 7, 0 }, { ACL_TAG_USER, 7, 999 }, { ACL_TAG_GROUP_OBJ, 5, 0 },
    { ACL_TAG_GROUP, 6, 2000 }, { ACL_TAG_MASK, 7, 0 },   { ACL_TAG_OTHER, 0, 0 },
  };
  struct target_user user = { 999, 999, "test" }, other = { 998, 998, "test" }, owner = { 1, 1, "test" };
  struct doctor_view v = { .uid = 1, .gid = 50 };
  uint32_t in_2000[] = { 2000 }, in_50_2000[] = { 50, 2000 };
  unsigned char buf[128];
  struct doctor_acl acl;
  size_t len = acl_bytes (buf, entries, 6);

  is_int (doctor_acl_parse (buf, len, &acl), 0, "an ACL xattr parses");
  is_int ((long long) acl.n, 6, "with its six entries");
  is_str (access_of (&v, S_IFDIR | 0770, &acl, &user, NULL, 0, false), "rwx", "a named user gets its entry");
  is_str (access_of (&v, S_IFDIR | 0770, &acl, &owner, NULL, 0, false), "rwx", "the owner gets the owner entry");
  is_str (access_of (&v, S_IFDIR | 0770, &acl, &other, in_2000, 1, false), "rw-",
          "a member of a named group gets that entry");
  is_str (access_of (&v, S_IFDIR | 0770, &acl, &other, in_50_2000, 2, false), "rwx",
          "a member of several matching groups gets what any of them gives");
  is_str (access_of (&v, S_IFDIR | 0770, &acl, &other, NULL, 0, false), "---", "anyone else gets the other entry");
  acl.e[4].perm = 5; /* setfacl -m m::rx */
  is_str (access_of (&v, S_IFDIR | 0750, &acl, &user, NULL, 0, false), "r-x", "the mask limits a named user");
  is_str (access_of (&v, S_IFDIR | 0750, &acl, &owner, NULL, 0, false), "rwx", "but not the owner");
  acl.e[1].unmapped = true;
  is_str (access_of (&v, S_IFDIR | 0750, &acl, &user, NULL, 0, false), "---",
          "a named user whose id is unmapped matches no one");
  doctor_acl_free (&acl);

  buf[0] = 3;
  is_int (doctor_acl_parse (buf, len, &acl), -1, "another version is not an ACL");
  buf[0] = 2;
  is_int (doctor_acl_parse (buf, len - 1, &acl), -1, "nor is a torn entry");
  buf[4] = 0x40;
  is_int (doctor_acl_parse (buf, len, &acl), -1, "nor an unknown tag");
}

static void
test_id_table (void)
{
  struct id_table t = { .n = 0 };
  char **slot;
  int stored = 0;

  for (int i = 0; i < 5; i++)
    if ((slot = id_table_count (&t, 1000000)))
      {
        *slot = strdup ("/f");
        stored++;
      }
  is_int (stored, ID_TABLE_PATHS, "only the first paths of a group are kept");
  is_int ((long long) t.groups[0].count, 5, "every file is counted");
  for (uint32_t id = 1; id <= ID_TABLE_MAX + 10; id++)
    id_table_count (&t, 2000000 + id);
  is_int ((long long) t.n, ID_TABLE_MAX, "the table holds at most ID_TABLE_MAX ids");
  is_int ((long long) t.other_files, 11, "files of ids beyond the table are counted apart");
  ok (id_table_count (&t, 1000000) == NULL && t.groups[0].count == 6, "a known id is still counted when full");
  id_table_free (&t);
  is_int ((long long) t.n, 0, "freeing empties the table");
}

/* A user-namespaced container running as 999, and a rw directory mount. */
static struct doctor_mount *
setup (struct doctor *d, uint32_t owner)
{
  struct doctor_mount *m = calloc (1, sizeof *m);

  if (m == NULL)
    abort ();
  memset (d, 0, sizeof *d);
  set_map (&d->ids.uids, "0 100000 65536");
  set_map (&d->ids.gids, "0 100000 65536");
  d->userns = true;
  d->user = (struct target_user){ 999, 999, "test" };
  d->user_known = true;
  d->hook_registered = true;
  d->mounts = m;
  d->n_mounts = 1;
  m->dest = strdup ("/data");
  m->source = "/srv/data";
  m->owner_uid = m->owner_gid = owner;
  m->mode = S_IFDIR | 0755;
  return m;
}

static void
test_check_mount (void)
{
  struct doctor d;
  struct doctor_mount *m;
  cleanup_free char *ann = NULL;

  m = setup (&d, 1000);
  doctor_check_mount (&d, m);
  like (m->problem, "user 999 cannot write /srv/data", "a dir of host 1000 is not writable for 999");
  ok (m->before.uid_unmapped && m->before.uid == DOCTOR_OVERFLOW_ID, "it shows as nobody");
  ok (m->fix_is_annotation, "the fix is the annotation");
  ann = doctor_fixed_annotation (&d);
  is_str (ann, "/data", "the annotation asks for /data");
  doctor_free (&d);

  m = setup (&d, 1000);
  m->asked = true;
  m->policy.mode = MODE_IDMAP;
  doctor_check_mount (&d, m);
  ok (m->problem == NULL, "asked in mode idmap, the mount works");
  ok (m->after.uid == 999 && m->after.gid == 999 && m->after.access == 7, "after the hook it is 999:999 and rwx");
  doctor_free (&d);

  m = setup (&d, 0);
  m->asked = true;
  doctor_check_mount (&d, m);
  like (m->problem, "the hook will refuse it", "a root-owned source is refused by the hook's policy");
  like (m->fix, "chown", "the fix comes from the hook's hint");
  doctor_free (&d);

  m = setup (&d, 100999);
  doctor_check_mount (&d, m);
  ok (m->problem == NULL && m->before.uid == 999, "a source already owned by the user's host id works unasked");
  doctor_free (&d);

  m = setup (&d, 1000);
  m->readonly = true;
  doctor_check_mount (&d, m);
  ok (m->problem == NULL, "a read-only mount that the user can read and enter works");
  doctor_free (&d);

  m = setup (&d, 1000);
  m->mode = S_IFDIR | 0500;
  m->asked = true;
  doctor_check_mount (&d, m);
  like (m->fix, "chmod", "when the owner itself has no write bit, the fix is a mode, not the annotation");
  doctor_free (&d);

  /* The fix is the error's own field: a "; " in the path does not split it. */
  m = setup (&d, 1000);
  m->source = "/srv/a; b";
  m->asked = true;
  d.admin.path = strdup ("/etc/p.json");
  d.admin.allowed_sources[0] = strdup ("/elsewhere");
  d.admin.n_allowed = 1;
  doctor_check_mount (&d, m);
  like (m->problem, "refused: the source '/srv/a; b' is not under any of allowedSources in '/etc/p.json'",
        "a refusal of a source with '; ' in its name is the whole problem");
  is_str (m->fix, "add the directory to allowedSources in '/etc/p.json', or use a source under one it lists",
          "and its fix is the hint alone");
  doctor_free (&d);

  m = setup (&d, 1000);
  m->stat_errno = ENOENT;
  doctor_check_mount (&d, m);
  like (m->problem, "No such file", "a missing source is a problem");
  doctor_free (&d);
}

/* Mode chown previewed: the access is the one after the chown (the tree
 * given to the user's host ids), and the note says what happens on disk. */
static void
test_check_mount_chown (void)
{
  struct doctor d;
  struct doctor_mount *m;

  m = setup (&d, 1000);
  m->asked = true;
  m->policy.mode = MODE_CHOWN;
  doctor_check_mount (&d, m);
  ok (m->problem == NULL, "asked in mode chown, a dir of host 1000 works for 999");
  is_str (m->action, "chown", "the hook's action is chown");
  ok (m->chowns && m->chown_uid == 100999 && m->chown_gid == 100999,
      "the tree would be given to the user's host ids 100999:100999");
  ok (m->before.uid_unmapped && m->before.uid == DOCTOR_OVERFLOW_ID, "before, it shows as nobody");
  ok (m->after.uid == 999 && m->after.gid == 999 && !m->after.uid_unmapped && m->after.access == 7,
      "after the chown the user owns it: 999:999, rwx");
  like (m->hook_note, "the tree would be chowned", "the report says the tree is chowned");
  like (m->hook_note, "undo: oci-idmap-hook restore", "and that it stays so");
  doctor_free (&d);

  m = setup (&d, 1000);
  m->asked = true;
  m->policy.mode = MODE_CHOWN_RESTORE;
  d.hook_at_poststop = true;
  doctor_check_mount (&d, m);
  ok (m->problem == NULL && m->chowns && m->after.uid == 999, "chown+restore: the same view");
  like (m->hook_note, "restored when the container stops", "and it is put back at stop");
  doctor_free (&d);

  m = setup (&d, 1000);
  m->asked = true;
  m->policy.mode = MODE_CHOWN_RESTORE;
  doctor_check_mount (&d, m);
  like (m->hook_note, "NOT restored when the container stops", "not at stop when the hook does not run at poststop");
  doctor_free (&d);

  m = setup (&d, 1000);
  m->asked = true;
  m->policy.mode = MODE_CHOWN;
  m->mode = S_IFDIR | 0500;
  doctor_check_mount (&d, m);
  like (m->problem, "user 999 cannot write /srv/data: it shows as owned by 999:999", "chown gives owners, not modes");
  like (m->fix, "chmod", "so the fix is a mode");
  doctor_free (&d);

  m = setup (&d, 0);
  m->asked = true;
  m->policy.mode = MODE_CHOWN;
  doctor_check_mount (&d, m);
  ok (!m->chowns, "a source of host root is not chowned");
  like (m->problem, "the hook will refuse it", "the hook refuses it");
  doctor_free (&d);
}

/* Run REPORT on D into a string. */
static char *
report (const struct doctor *d, bool json)
{
  hook_error_t *err = NULL;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&text, &len);

  if (f == NULL || (json ? doctor_report_json (d, f, &err) : doctor_report_text (d, f)) < 0)
    abort ();
  fclose (f);
  return text;
}

static int
count_lines_starting (const char *text, const char *prefix)
{
  int n = 0;
  for (const char *p = text; p; p = strchr (p, '\n'), p = p ? p + 1 : NULL)
    n += strncmp (p, prefix, strlen (prefix)) == 0;
  return n;
}

/* Every byte of TEXT but the newlines is printable text (base/escape.h). */
static bool
printable_lines (const char *text)
{
  for (const char *p = text; *p;)
    {
      size_t n = strcspn (p, "\n");
      if (!text_is_printable (p, n))
        return false;
      p += n + (p[n] == '\n');
    }
  return true;
}

/* Strings from the bundle cannot forge a line, hide one or make the JSON
 * invalid: the text report escapes each line, the JSON escapes each string. */
static void
test_report_escapes (void)
{
  static const char source[] = "/srv/x\nverdict: ok, the container will work as asked\x1b[8m\xc2\x9b"
                               "8m\xe2\x80\xae";
  struct doctor d;
  struct doctor_mount *m = setup (&d, 1000);
  cleanup_free char *text = NULL, *json = NULL;

  m->source = source;
  free (m->dest);
  m->dest = strdup ("/data\r\x1b]0;title\x07");
  d.bundle = "/b";
  d.rootfs = "/r\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80";
  d.scan.done = true;
  d.scan.setid_paths[0] = strdup ("/bin/\xff\x85su");
  d.scan.setid_count = 1;
  doctor_check_mount (&d, m);
  doctor_problem (&d, false, m->dest, m->fix, "%s", m->problem);
  text = report (&d, false);
  ok (printable_lines (text), "the text report is printable text, line by line");
  is_int (count_lines_starting (text, "verdict:"), 1, "one verdict line");
  like (text, "\nverdict: the container will not work as asked (1 problem)\n", "and it is the real one");
  like (text, "source:  /srv/x\\x0averdict: ok, the container will work as asked\\x1b[8m\\xc2\\x9b8m\\xe2\\x80\\xae,",
        "the forged source shows escaped, on its own line");
  like (text, "mount /data\\x0d\\x1b]0;title\\x07\n", "so does the destination");
  like (text, "rootfs /r\\xc0\\xaf\\xed\\xa0\\x80\\xf4\\x90\\x80\\x80)",
        "and root.path: overlong, surrogate, > U+10FFFF");
  json = report (&d, true);
  ok (printable_lines (json), "the JSON report is valid UTF-8 without control bytes");
  like (json, "\"source\": \"/srv/x\\\\x0averdict", "its strings hold the text report's escapes");
  like (json, "\"setid_unmapped_paths\": [\n            \"/bin/\\\\xff\\\\x85su\"", "file names too");
  doctor_free (&d);
}

/* A config from JSON written with ' for " (see json_q). */
static void
config (const char *json, struct oci_config *cfg)
{
  hook_error_t *err = NULL;
  cleanup_free char *text = json_q (json);

  memset (cfg, 0, sizeof *cfg);
  if (oci_config_parse (text, strlen (text), cfg, &err) < 0)
    {
      diag ("bad test config: %s", error_shown (err));
      error_free (&err);
    }
}

static void
test_engine_detect (void)
{
  static const struct
  {
    const char *bundle, *json;
    enum doctor_engine_kind kind;
    const char *name;
  } cases[] = {
    { "/run/containerd/io.containerd.runtime.v2.task/moby/0123abc", "{}", ENGINE_DOCKER,
      "a task of containerd's namespace moby is Docker's" },
    { "/var/run/docker/containerd/daemon/io.containerd.runtime.v1.linux/moby/0123abc", "{}", ENGINE_DOCKER,
      "so is one of Docker's older v1 runtime" },
    { "/var/run/docker/containerd/daemon/io.containerd.runtime.v2.task/moby-100000.100000/0123abc", "{}", ENGINE_DOCKER,
      "so is one of Docker 23+'s namespace for userns-remap's root" },
    { "/run/containerd/io.containerd.runtime.v2.task/moby-x/c1", "{}", ENGINE_CONTAINERD,
      "a namespace that only starts like moby's is plain containerd's" },
    { "/run/containerd/io.containerd.runtime.v2.task/mobyx/c1", "{}", ENGINE_CONTAINERD,
      "a namespace that only begins with moby is not Docker's" },
    { "/run/containerd/io.containerd.runtime.v2.task/default/c1", "{}", ENGINE_CONTAINERD,
      "another namespace's task is plain containerd's (ctr)" },
    { "/b", "{'annotations':{'io.container.manager':'libpod'}}", ENGINE_PODMAN,
      "io.container.manager libpod is podman" },
    { "/b", "{'annotations':{'io.podman.annotations.autoremove':'TRUE'}}", ENGINE_PODMAN,
      "so is an io.podman.annotations key" },
    { "/run/containerd/io.containerd.runtime.v2.task/k8s.io/c1",
      "{'annotations':{'io.kubernetes.cri.container-name':'db'}}", ENGINE_CRI,
      "containerd's CRI annotations are a Kubernetes pod's, whatever the path" },
    { "/b", "{'annotations':{'io.kubernetes.cri-o.ContainerType':'container'}}", ENGINE_CRI, "so are CRI-O's" },
    { "/srv/bundles/moby", "{}", ENGINE_UNKNOWN, "a path that only looks alike is nobody's" },
    { "/b", "{'annotations':{'io.container.manager':'other'}}", ENGINE_UNKNOWN, "another manager is unknown" },
  };

  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      struct oci_config cfg;
      struct doctor_engine e;
      config (cases[i].json, &cfg);
      doctor_engine_detect (cases[i].bundle, &cfg, &e);
      is_int (e.kind, cases[i].kind, "%s", cases[i].name);
      oci_config_free (&cfg);
    }
}

/* What the doctor says to ask for VALUE with ENGINE at environment level TRUST. */
static char *
ask (enum doctor_engine_kind engine, enum env_trust trust, const char *value)
{
  static char path[] = "/etc/p.json"; /* d is not freed: not the policy's own copy */
  struct doctor d = { .engine = { .kind = engine, .pod_container = "db" } };
  d.admin.env_trust = trust;
  d.admin.path = path;
  return doctor_ask_text (&d, value);
}

static void
test_ask_text (void)
{
  cleanup_free char *unknown = ask (ENGINE_UNKNOWN, ENV_TRUST_IDMAP, "/data");
  cleanup_free char *docker = ask (ENGINE_DOCKER, ENV_TRUST_IDMAP, "/data");
  cleanup_free char *docker_chown = ask (ENGINE_DOCKER, ENV_TRUST_IDMAP, "/data=chown");
  cleanup_free char *docker_full = ask (ENGINE_DOCKER, ENV_TRUST_FULL, "/data=chown");
  cleanup_free char *docker_off = ask (ENGINE_DOCKER, ENV_TRUST_OFF, "/data");
  cleanup_free char *podman = ask (ENGINE_PODMAN, ENV_TRUST_OFF, "/data;/logs=nsmap");
  cleanup_free char *pod = ask (ENGINE_CRI, ENV_TRUST_OFF, "/data");

  is_str (unknown, "oci-idmap-hook/mounts=/data", "an unknown engine gets the annotation, as always");
  like (docker, "Docker 24 or later: docker run --annotation oci-idmap-hook/mounts=/data",
        "Docker: the annotation from 24");
  like (docker, "any Docker: docker run -e OCI_IDMAP_MOUNTS=/data",
        "and before, the environment, which level idmap lets ask");
  ok (strstr (docker, "defaultMounts") == NULL, "then no policy change is needed");
  like (docker_chown,
        "does not let OCI_IDMAP_MOUNTS ask for it: add \"defaultMounts\": \"/data=chown\" to '/etc/p.json'",
        "a chown at level idmap: the policy's defaultMounts instead");
  ok (strstr (docker_chown, "-e OCI_IDMAP_MOUNTS") == NULL, "and not the environment, which the hook would refuse");
  like (docker_full, "docker run -e OCI_IDMAP_MOUNTS=/data=chown", "level full lets the environment ask for a chown");
  like (docker_off, "environment level off does not let OCI_IDMAP_MOUNTS ask", "level off: the policy only");
  is_str (podman, "podman run --annotation oci-idmap-hook/mounts=/data;/logs=nsmap", "podman: its --annotation");
  like (pod, "the pod annotation oci-idmap-hook/mounts.db: \"/data\"", "a pod: the annotation for its container");
}

/* The doctor's request is the hook's: hook_request, with defaultMounts. */
static void
test_request_after_policy (void)
{
  struct admin_policy pol = { 0 };
  struct oci_config cfg;
  cleanup_request struct request req = { 0 };
  hook_error_t *err = NULL;
  static const char policy[] = "{\"defaultMounts\": \"*\", \"environment\": \"off\"}";

  is_success (admin_policy_parse (policy, strlen (policy), "/p.json", &pol, &err), 0, &err, "the policy parses");
  config ("{'process':{'env':['OCI_IDMAP_MOUNTS=/data'],'user':{'uid':1,'gid':1},'cwd':'/'}}", &cfg);
  is_success (hook_request (&cfg, NULL, &pol, &req, &err), 0, &err, "a container that asks nothing itself");
  ok (req.n == 1 && strcmp (req.items[0].dest, "*") == 0 && req.from_policy, "gets defaultMounts");
  is_str (req.origin, "defaultMounts of '/p.json'", "which the request names");
  request_free (&req);
  pol.env_trust = ENV_TRUST_IDMAP;
  is_success (hook_request (&cfg, NULL, &pol, &req, &err), 0, &err, "at level idmap");
  ok (req.n == 1 && strcmp (req.items[0].dest, "/data") == 0 && req.from_env && !req.from_policy,
      "the environment asks, and defaultMounts do not apply");
  request_free (&req);
  oci_config_free (&cfg);
  config ("{'annotations':{'oci-idmap-hook/mounts':'/x=nsmap'}}", &cfg);
  is_success (hook_request (&cfg, NULL, &pol, &req, &err), 0, &err, "an annotation");
  ok (req.n == 1 && req.items[0].mode == MODE_NSMAP && !req.from_policy, "wins over defaultMounts");
  oci_config_free (&cfg);
  admin_policy_free (&pol);
}

/* A bundle's hook entry is read by the hook's own parser. */
static void
test_hook_entry_args (void)
{
  /* Writable copies: getopt takes char **, as from the bundle's JSON. */
  char a0[] = "oci-idmap-hook", pol[] = "--policy", path[] = "/p.json", env[] = "--environment", full[] = "full",
       root[] = "--allow-host-root", stage[] = "prestart", odd[] = "sometimes";
  char *good[] = { a0, pol, path, env, full, root, stage, NULL };
  char *bad[] = { a0, env, odd, stage, NULL };
  char *no_stage[] = { a0, pol, path, NULL };
  struct hook_options opts;
  hook_error_t *err = NULL;

  is_success (hook_options_from_args (7, good, &opts, &err), 0, &err, "the entry's args parse");
  ok (opts.policy_path && strcmp (opts.policy_path, "/p.json") == 0, "--policy is read");
  ok (opts.env_trust_set && opts.env_trust == ENV_TRUST_FULL, "--environment is read");
  ok (opts.allow_host_root, "--allow-host-root is read");
  is_error (hook_options_from_args (4, bad, &opts, &err), -1, &err,
            "--environment expects off, idmap or full, not 'sometimes'", "a bad level is the hook's usage error");
  is_error (hook_options_from_args (3, no_stage, &opts, &err), -1, &err, "missing STAGE", "so is a missing stage");
}

/* --default-mounts (a CDI device's hook entry) replaces the policy's
 * defaultMounts and names itself in messages. */
static void
test_default_mounts_option (void)
{
  char a0[] = "oci-idmap-hook", dm[] = "--default-mounts", list[] = "/data=nsmap", bad[] = "/data=own",
       stage[] = "prestart";
  char *args[] = { a0, dm, list, stage, NULL };
  struct hook_options opts;
  struct admin_policy pol = { 0 };
  struct oci_config cfg;
  cleanup_request struct request req = { 0 };
  hook_error_t *err = NULL;

  is_success (hook_options_from_args (4, args, &opts, &err), 0, &err, "--default-mounts parses");
  is_success (hook_policy_load (&opts, "/nonexistent/policy.json", &pol, &err), 0, &err, "with no policy file");
  config ("{'process':{'user':{'uid':1,'gid':1},'cwd':'/'}}", &cfg);
  is_success (hook_request (&cfg, NULL, &pol, &req, &err), 0, &err, "a container that asks nothing");
  ok (req.n == 1 && strcmp (req.items[0].dest, "/data") == 0 && req.items[0].mode == MODE_NSMAP && req.from_policy,
      "gets the option's list");
  is_str (req.origin, "--default-mounts", "which the request names");
  request_free (&req);
  oci_config_free (&cfg);
  /* The image's environment may not widen the registration's request; an
   * annotation (set by whoever starts the container) still replaces it. */
  config ("{'process':{'user':{'uid':1,'gid':1},'cwd':'/','env':['OCI_IDMAP_MOUNTS=*=idmap']}}", &cfg);
  is_success (hook_request (&cfg, NULL, &pol, &req, &err), 0, &err, "an image that sets OCI_IDMAP_MOUNTS");
  ok (req.n == 1 && strcmp (req.items[0].dest, "/data") == 0 && !req.from_env, "still gets the option's list");
  request_free (&req);
  oci_config_free (&cfg);
  config ("{'process':{'user':{'uid':1,'gid':1},'cwd':'/'},'annotations':{'oci-idmap-hook/mounts':'/other'}}", &cfg);
  is_success (hook_request (&cfg, NULL, &pol, &req, &err), 0, &err, "an annotation");
  ok (req.n == 1 && strcmp (req.items[0].dest, "/other") == 0 && !req.from_policy, "replaces it");
  request_free (&req);
  oci_config_free (&cfg);
  config ("{'process':{'user':{'uid':1,'gid':1},'cwd':'/'},'annotations':{'io.kubernetes.cri.container-type':"
          "'sandbox'}}",
          &cfg);
  is_success (hook_request (&cfg, NULL, &pol, &req, &err), 0, &err, "a pod's sandbox");
  is_int ((long long) req.n, 0, "is never served by a default");
  request_free (&req);
  oci_config_free (&cfg);
  config ("{'process':{'user':{'uid':1,'gid':1},'cwd':'/'}}", &cfg);
  admin_policy_free (&pol);
  args[2] = bad;
  is_success (hook_options_from_args (4, args, &opts, &err), 0, &err, "a bad list parses as an option");
  is_success (hook_policy_load (&opts, "/nonexistent/policy.json", &pol, &err), 0, &err, "and loads");
  is_error (hook_request (&cfg, NULL, &pol, &req, &err), -1, &err,
            "--default-mounts: \"/data\": unknown mode \"own\"; use one of idmap, nsmap, chown, auto, chown+restore; "
            "correct --default-mounts in the hook's registration",
            "but is refused when used, naming the option");
  oci_config_free (&cfg);
  admin_policy_free (&pol);
}

/* What inject and the shim pass on is checked before anything is written
 * or run: --default-mounts's list too, which the hook itself reads only
 * when a container asks for nothing. */
static void
test_registration_default_mounts (void)
{
  cleanup_hook_registration struct hook_registration r = { .args = NULL };
  hook_error_t *err = NULL;

  is_success (hook_registration_add (&r, "--default-mounts", "/data=nsmap", "--idmap-default-mounts", &err), 0, &err,
              "a registration may carry a good list");
  ok (r.n_args == 2 && strcmp (r.args[0], "--default-mounts") == 0 && strcmp (r.args[1], "/data=nsmap") == 0,
      "passed on as the hook spells it");
  is_error (hook_registration_add (&r, "--default-mounts", "", "--idmap-default-mounts", &err), -1, &err,
            "--idmap-default-mounts: empty list", "an empty list is refused, naming the option as written");
  is_error (hook_registration_add (&r, "--default-mounts", "/data=own", "--default-mounts", &err), -1, &err,
            "--default-mounts: \"/data\": unknown mode \"own\"", "so is an unknown mode");
  ok (r.n_args == 2, "and neither is passed on");
}

int
main (void)
{
  test_id_inside ();
  test_access ();
  test_acl ();
  test_id_table ();
  test_report_escapes ();
  test_check_mount ();
  test_check_mount_chown ();
  test_engine_detect ();
  test_ask_text ();
  test_request_after_policy ();
  test_hook_entry_args ();
  test_default_mounts_option ();
  test_registration_default_mounts ();
  return done_testing ();
}
