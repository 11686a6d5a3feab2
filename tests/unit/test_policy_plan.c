/* hook/run/policy.c and hook/run/plan.c: which mapping a mount gets, and which mounts to act on. */
#define _GNU_SOURCE
#include "helpers.h"
#include "hook/run/plan.h"
#include "hook/run/policy.h"

static const char *
desc (const struct idmap *map)
{
  static char buf[2][256];
  static int k;
  k ^= 1;
  idmap_describe (map, buf[k], sizeof buf[k]);
  return buf[k];
}

static void
set_ids (struct container_ids *ids, const char *uids, const char *gids)
{
  hook_error_t *err = NULL;
  if (idmap_parse_proc (&ids->uids, uids, "uids", &err) < 0 || idmap_parse_proc (&ids->gids, gids, "gids", &err) < 0)
    {
      diag ("bad test map: %s", error_shown (err));
      error_free (&err);
    }
}

static void
test_idmap_mode (void)
{
  struct container_ids ids;
  struct target_user user = { 999, 999, "test user" };
  struct mount_policy pol = { .mode = MODE_IDMAP };
  struct idmap uids, gids;
  const char *why;
  hook_error_t *err = NULL;
  uint32_t hu, hg;

  set_ids (&ids, "0 100000 65536", "0 100000 65536");
  is_success (policy_decide (&pol, 1000, 1000, &ids, &user, &uids, &gids, &why, &err), POLICY_MAP, &err,
              "a user-owned mount is idmapped");
  is_str (desc (&uids), "1000:100999:1", "the owner's uid shows as the target user's host uid");
  is_str (desc (&gids), "1000:100999:1", "the owner's gid shows as the target user's host gid");
  ok (why == NULL, "a mapped mount has no skip reason");

  is_success (policy_decide (&pol, 100999, 100999, &ids, &user, &uids, &gids, &why, &err), POLICY_SKIP, &err,
              "a mount already owned by the target user is skipped");
  like (why, "already owned", "the skip says it is already owned");

  is_error (policy_decide (&pol, 0, 0, &ids, &user, &uids, &gids, &why, &err), POLICY_ERROR, &err, "host root",
            "a host-root-owned mount is an error");
  is_error (policy_decide (&pol, 1000, 0, &ids, &user, &uids, &gids, &why, &err), POLICY_ERROR, &err, "host root",
            "a mount with host root's group is an error");
  is_error (policy_decide (&pol, 0, 0, &ids, &user, &uids, &gids, &why, &err), POLICY_ERROR, &err, "--allow-host-root",
            "the host-root error hints at --allow-host-root");
  pol.wildcard = true;
  is_success (policy_decide (&pol, 0, 0, &ids, &user, &uids, &gids, &why, &err), POLICY_SKIP, &err,
              "a host-root-owned mount is skipped under '*'");
  like (why, "owned by host root", "the skip says it is owned by host root");
  pol.wildcard = false;
  pol.allow_host_root = true;
  is_success (policy_decide (&pol, 0, 0, &ids, &user, &uids, &gids, &why, &err), POLICY_MAP, &err,
              "a host-root-owned mount is idmapped with --allow-host-root");
  is_str (desc (&uids), "0:100999:1", "host root's files show as the target user");
  pol.allow_host_root = false;

  user = (struct target_user){ 70000, 999, "oci-idmap-hook/user" };
  is_error (policy_decide (&pol, 1000, 1000, &ids, &user, &uids, &gids, &why, &err), POLICY_ERROR, &err,
            "the target uid 70000 (from oci-idmap-hook/user) is not mapped in the container's user namespace "
            "(0:100000:65536)",
            "an unmapped target uid is an error naming the id, its origin and the map");
  user = (struct target_user){ 999, 70000, "oci-idmap-hook/user" };
  is_error (policy_target_host_ids (&ids, &user, &hu, &hg, &err), -1, &err, "the target gid 70000",
            "an unmapped target gid is an error naming the gid");
  user = (struct target_user){ 1, 2, "test user" };
  is_success (policy_target_host_ids (&ids, &user, &hu, &hg, &err), 0, &err, "a mapped user has host ids");
  ok (hu == 100001 && hg == 100002, "the target user's host ids are looked up in the container's maps");
}

static void
test_other_modes (void)
{
  struct container_ids ids;
  struct target_user user = { 999, 999, "test user" };
  struct mount_policy pol = { .mode = MODE_NSMAP };
  struct idmap uids, gids;
  const char *why;
  hook_error_t *err = NULL;

  set_ids (&ids, "0 100000 65536", "0 200000 65536");
  is_success (policy_decide (&pol, 0, 0, &ids, &user, &uids, &gids, &why, &err), POLICY_MAP, &err,
              "nsmap maps a mount, even one owned by host root");
  is_str (desc (&uids), "1:100001:65535", "nsmap leaves on-disk uid 0 out of the map");
  is_str (desc (&gids), "1:200001:65535", "nsmap leaves on-disk gid 0 out of the map");
  pol.allow_host_root = true;
  is_success (policy_decide (&pol, 0, 0, &ids, &user, &uids, &gids, &why, &err), POLICY_MAP, &err,
              "nsmap with --allow-host-root maps a mount");
  is_str (desc (&uids), "0:100000:65536", "nsmap with --allow-host-root keeps uid 0");
  is_str (desc (&gids), "0:200000:65536", "nsmap with --allow-host-root keeps gid 0");
  idmap_identity (&ids.uids);
  idmap_identity (&ids.gids);
  is_success (policy_decide (&pol, 0, 0, &ids, &user, &uids, &gids, &why, &err), POLICY_SKIP, &err,
              "nsmap without a user namespace is skipped");
  like (why, "no user namespace", "the skip says there is no user namespace");
  pol.allow_host_root = false;
  set_ids (&ids, "0 100000 1", "0 100000 1");
  is_error (policy_decide (&pol, 0, 0, &ids, &user, &uids, &gids, &why, &err), POLICY_ERROR, &err, "no id other than 0",
            "nsmap of a map holding only id 0 is an error");
}

static void
test_chown_modes (void)
{
  struct container_ids ids;
  struct target_user user = { 999, 999, "test user" };
  struct mount_policy pol = { .mode = MODE_CHOWN };
  struct idmap uids, gids, mu, mg, mz;
  const char *why;
  hook_error_t *err = NULL;
  uint32_t u = 7, g = 7;

  set_ids (&ids, "0 100000 65536", "0 100000 65536");
  is_success (policy_decide (&pol, 1000, 1000, &ids, &user, &uids, &gids, &why, &err), POLICY_CHOWN, &err,
              "mode chown of a user-owned mount changes owners");
  pol.mode = MODE_CHOWN_RESTORE;
  is_success (policy_decide (&pol, 1000, 1000, &ids, &user, &uids, &gids, &why, &err), POLICY_CHOWN, &err,
              "mode chown+restore changes owners too");
  is_error (policy_decide (&pol, 0, 1000, &ids, &user, &uids, &gids, &why, &err), POLICY_ERROR, &err, "host root",
            "mode chown refuses a source owned by host root");
  pol.wildcard = true;
  is_success (policy_decide (&pol, 0, 0, &ids, &user, &uids, &gids, &why, &err), POLICY_SKIP, &err,
              "under '*' a host-root source is skipped by chown");
  pol.wildcard = false;
  pol.mode = MODE_AUTO;
  is_success (policy_decide (&pol, 1000, 1000, &ids, &user, &uids, &gids, &why, &err), POLICY_MAP, &err,
              "mode auto tries an idmapped mount first");
  is_str (desc (&uids), "1000:100999:1", "auto's idmap is the idmap mode's");

  pol.mode = MODE_CHOWN;
  is_success (policy_chown_target (&pol, &ids, &user, NULL, NULL, &u, &g, &err), 0, &err,
              "the chown target of a plain mount");
  ok (u == 100999 && g == 100999, "is the target user's host ids (%u:%u)", u, g);

  /* The runtime idmapped the mount: on-disk 0..65535 shows as host 100000.. */
  set_ids (&ids, "0 100000 65536", "0 100000 65536");
  if (idmap_parse_proc (&mu, "0 200000 1000\n1000 100000 65536", "mu", &err) < 0
      || idmap_parse_proc (&mg, "5 100994 10", "mg", &err) < 0 || idmap_parse_proc (&mz, "0 200000 10", "mz", &err) < 0)
    error_free (&err);
  is_success (policy_chown_target (&pol, &ids, &user, &mu, &mg, &u, &g, &err), 0, &err,
              "the chown target of an idmapped mount");
  ok (u == 1999 && g == 10, "is the on-disk ids that the mount shows as the user's host ids (%u:%u)", u, g);
  is_error (policy_chown_target (&pol, &ids, &user, &mz, &mg, &u, &g, &err), -1, &err,
            "shows no on-disk uid as host uid 100999",
            "an idmapped mount that shows no on-disk id as the user is an error");

  set_ids (&ids, "0 0 4294967295", "0 0 4294967295");
  user.uid = 0;
  is_error (policy_chown_target (&pol, &ids, &user, NULL, NULL, &u, &g, &err), -1, &err, "host root's",
            "chown to host root is refused");
  pol.allow_host_root = true;
  is_success (policy_chown_target (&pol, &ids, &user, NULL, NULL, &u, &g, &err), 0, &err,
              "chown to host root with --allow-host-root");
}

/* A config with bind mounts by type and by option, a proc mount, a bind mount
 * not in mountinfo, two binds on one path and a bind covered by a tmpfs. */
static const char config_json[] = "{'mounts':["
                                  "{'destination':'/proc','type':'proc','source':'proc'},"
                                  "{'destination':'/data','type':'bind','source':'/srv/data','options':['rbind']},"
                                  "{'destination':'/opt/x','source':'/srv/x','options':['bind','ro']},"
                                  "{'destination':'/dup','type':'bind','source':'/srv/first'},"
                                  "{'destination':'//dup/','type':'bind','source':'/srv/second'},"
                                  "{'destination':'/shadow','type':'bind','source':'/srv/s'},"
                                  "{'destination':'/shadow','type':'tmpfs','source':'tmpfs'},"
                                  "{'destination':'/conf','type':'bind','source':'/srv/conf-link'}]}";

static const char mountinfo_text[] = "1 0 8:1 /r /r rw - ext4 /dev/sda1 rw\n"
                                     "2 1 8:1 /srv/data /r/data rw - ext4 /dev/sda1 rw\n"
                                     "3 1 0:5 / /r/proc rw - proc proc rw\n"
                                     "4 1 8:1 /srv/second /r/dup rw - ext4 /dev/sda1 rw\n"
                                     "5 1 0:6 / /r/shadow rw - tmpfs tmpfs rw\n"
                                     "6 1 8:1 /etc/app /r/conf rw - ext4 /dev/sda1 rw\n";

/* The host: where /dev/sda1 really is. */
static const char host_mountinfo_text[] = "20 1 8:1 / / rw - ext4 /dev/sda1 rw\n";

struct fixture
{
  struct oci_config cfg;
  struct mountinfo mi, host;
  struct admin_policy pol;
  struct request req;
  struct plan plan;
};

/* Build the plan for the request TEXT; the fixture holds everything to free. */
static int
build (struct fixture *f, const char *text, hook_error_t **err)
{
  f->plan = (struct plan){ 0 };
  f->req.n = 0;
  if (request_parse_mounts (text, "test request", &f->req, err) < 0)
    return -2;
  return plan_build (&f->req, &f->cfg, "/r", &f->mi, &f->host, &f->pol, &f->plan, err);
}

static void
unbuild (struct fixture *f)
{
  plan_free (&f->plan);
  request_free (&f->req);
}

/* The plan as "DEST=MODE[*]@MOUNT-ID:SOURCE" items, "skip" for skipped jobs. */
static const char *
jobs (const struct plan *plan)
{
  static char buf[512];
  size_t o = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < plan->n && o < sizeof buf; i++)
    {
      const struct mount_job *j = &plan->jobs[i];
      char at[16];
      if (j->skip || j->mi == NULL)
        snprintf (at, sizeof at, "%s", j->skip ? "skip" : "-");
      else
        snprintf (at, sizeof at, "%d", j->mi->id);
      o += (size_t) snprintf (buf + o, sizeof buf - o, "%s%s=%s%s@%s:%s", i ? " " : "", j->dest,
                              mode_name (j->policy.mode), j->policy.wildcard ? "*" : "", at, job_source (j));
    }
  return buf;
}

static void
test_plan (void)
{
  struct fixture f;
  hook_error_t *err = NULL;
  cleanup_free char *json = json_q (config_json);
  static const struct
  {
    const char *request, *expect, *name;
  } good[] = {
    { "/data", "/data=idmap@2:/srv/data", "an explicit destination is found in config and mountinfo" },
    { "/data/=nsmap", "/data=nsmap@2:/srv/data", "an explicit destination keeps its mode" },
    { "/dup", "/dup=idmap@4:/srv/second", "a later config mount on the same destination wins" },
    { "*=nsmap",
      "/data=nsmap*@2:/srv/data /opt/x=nsmap*@skip:/srv/x /dup=nsmap*@4:/srv/second /conf=nsmap*@skip:/srv/conf-link",
      "'*' picks bind mounts only, once per path, and skips those not mounted" },
    { "/data;*",
      "/data=idmap@2:/srv/data /opt/x=idmap*@skip:/srv/x /dup=idmap*@4:/srv/second /conf=idmap*@skip:/srv/conf-link",
      "an explicit item and '*' do not duplicate a mount" },
    { "*;/dup=nsmap",
      "/dup=nsmap@4:/srv/second /data=idmap*@2:/srv/data /opt/x=idmap*@skip:/srv/x /conf=idmap*@skip:/srv/conf-link",
      "explicit items come first whatever the order" },
  };
  static const struct
  {
    const char *request, *msg, *name;
  } bad[] = {
    { "/missing", "/missing: the container has no mount at this path (asked for by test request)",
      "a destination missing from config is an error naming it and the request's origin" },
    { "/proc", "/proc: is a proc mount, not a bind mount", "an explicit non-bind mount is an error" },
    { "/shadow", "/shadow: is a tmpfs mount", "a bind mount covered by a later tmpfs is not served" },
    { "/opt/x", "/opt/x: not mounted at '/r/opt/x' in the container",
      "an explicit mount missing from mountinfo is an error" },
    { "/data;/missing", "/missing: the container has no mount", "an error after a found mount frees the plan" },
  };

  memset (&f, 0, sizeof f);
  if (oci_config_parse (json, strlen (json), &f.cfg, &err) < 0)
    diag ("bad test config: %s", error_shown (err));
  f.mi.text = strdup (mountinfo_text);
  if (err == NULL && mountinfo_parse (f.mi.text, &f.mi, &err) < 0)
    diag ("bad test mountinfo: %s", error_shown (err));
  f.host.text = strdup (host_mountinfo_text);
  if (err == NULL && mountinfo_parse (f.host.text, &f.host, &err) < 0)
    diag ("bad test host mountinfo: %s", error_shown (err));
  if (err == NULL)
    admin_policy_load ("/nonexistent/policy.json", false, &f.pol, &err);
  error_free (&err);

  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    {
      is_success (build (&f, good[i].request, &err), 0, &err, "plan for \"%s\" is built", good[i].request);
      is_str (jobs (&f.plan), good[i].expect, "%s", good[i].name);
      unbuild (&f);
    }
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      is_error (build (&f, bad[i].request, &err), -1, &err, bad[i].msg, "%s", bad[i].name);
      unbuild (&f);
    }

  build (&f, "/data;*", &err);
  error_free (&err);
  ok (f.plan.n == 4, "a plan for '/data;*' has four jobs");
  if (f.plan.n == 3)
    {
      const struct mount_job *j = &f.plan.jobs[0];
      is_str (j->host_path, "/r/data", "a job's host path is the rootfs joined with the destination");
      ok (!j->policy.allow_host_root && j->target_fd == -1 && j->tree_fd == -1 && j->userns_fd == -1,
          "a new job has no fds and no --allow-host-root");
      is_str (f.plan.jobs[1].skip, "not found in the container's mount table", "a skipped job says why");
    }
  unbuild (&f);

  f.plan = (struct plan){ 0 };
  request_parse_mounts ("/data", "test request", &f.req, &err);
  f.pol.allow_host_root = true;
  is_success (plan_build (&f.req, &f.cfg, "/r", &f.mi, &f.host, &f.pol, &f.plan, &err), 0, &err,
              "a plan is built with --allow-host-root");
  ok (f.plan.n == 1 && f.plan.jobs[0].policy.allow_host_root, "--allow-host-root reaches each job's policy");
  f.pol.allow_host_root = false;
  unbuild (&f);

  /* The administrator's policy judges the source where the kernel says it is. */
  is_error (build (&f, "/conf", &err), -1, &err,
            "/conf: refused: the source '/etc/app' is under /etc (built-in deny list); list it in allowedSources",
            "a source that really is under /etc is refused whatever config.json calls it");
  unbuild (&f);
  is_success (build (&f, "*", &err), 0, &err, "under '*' a denied source is not an error");
  for (size_t i = 0; i < f.plan.n; i++)
    if (strcmp (f.plan.jobs[i].dest, "/conf") == 0)
      is_str (f.plan.jobs[i].skip, "refused by the administrator's policy", "under '*' a denied source is skipped");
  unbuild (&f);
  f.pol.mode_denied[MODE_NSMAP] = true;
  is_error (build (&f, "/data=nsmap", &err), -1, &err, "/data: refused: mode nsmap is not in allowedModes",
            "a mode the policy does not allow is refused");
  f.pol.mode_denied[MODE_NSMAP] = false;
  unbuild (&f);

  f.plan = (struct plan){ 0 };
  request_parse_mounts ("/data", "test request", &f.req, &err);
  is_error (plan_build (&f.req, &f.cfg, "/", &f.mi, &f.host, &f.pol, &f.plan, &err), -1, &err, "not mounted at '/data'",
            "with rootfs '/' the host path is the destination itself");
  unbuild (&f);

  oci_config_free (&f.cfg);
  mountinfo_free (&f.mi);
  mountinfo_free (&f.host);
  admin_policy_free (&f.pol);
}

/* The mounts below a job's: /data/x from /etc (denied) with a tmpfs the
 * host does not show below it, /data/ok (allowed) and /data/run (denied)
 * that the host mounted below the source, /other beside them. */
static const char sub_config_json[] = "{'mounts':["
                                      "{'destination':'/data','type':'bind','source':'/srv/data'},"
                                      "{'destination':'/data/x','type':'bind','source':'/srv/x'},"
                                      "{'destination':'/other','type':'bind','source':'/srv/o'}]}";

static const char sub_mountinfo_text[] = "1 1 8:1 /r /r rw - ext4 /dev/sda1 rw\n"
                                         "2 1 8:1 /srv/data /r/data rw - ext4 /dev/sda1 rw\n"
                                         "3 2 8:1 /etc/app /r/data/x rw - ext4 /dev/sda1 rw\n"
                                         "4 3 0:7 / /r/data/x/t rw - tmpfs tmpfs rw\n"
                                         "5 2 8:1 /srv/ok /r/data/ok rw - ext4 /dev/sda1 rw\n"
                                         "6 2 8:1 /run/s /r/data/run rw - ext4 /dev/sda1 rw\n"
                                         "7 1 8:1 /srv/o /r/other rw - ext4 /dev/sda1 rw\n";

/* "DEST(REL)<SOURCE>:what" per submount of JOB: ok, skip or the refusal's start. */
static const char *
subs (const struct mount_job *job)
{
  static char buf[1024];
  size_t o = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < job->n_subs && o < sizeof buf; i++)
    {
      const struct submount *sub = &job->subs[i];
      const char *what = sub->refusal ? error_shown (sub->refusal) : sub->skip ? sub->skip : "ok";
      o += (size_t) snprintf (buf + o, sizeof buf - o, "%s%s(%s)<%s>:%.26s", i ? " " : "", sub->dest, sub->rel,
                              sub->source, what);
    }
  return buf;
}

static void
test_submounts (void)
{
  struct fixture f;
  hook_error_t *err = NULL;
  cleanup_free char *json = json_q (sub_config_json);

  memset (&f, 0, sizeof f);
  if (oci_config_parse (json, strlen (json), &f.cfg, &err) < 0)
    diag ("bad test config: %s", error_shown (err));
  f.mi.text = strdup (sub_mountinfo_text);
  if (err == NULL && mountinfo_parse (f.mi.text, &f.mi, &err) < 0)
    diag ("bad test mountinfo: %s", error_shown (err));
  f.host.text = strdup (host_mountinfo_text);
  if (err == NULL && mountinfo_parse (f.host.text, &f.host, &err) < 0)
    diag ("bad test host mountinfo: %s", error_shown (err));
  if (err == NULL)
    admin_policy_load ("/nonexistent/policy.json", false, &f.pol, &err);
  error_free (&err);

  is_success (build (&f, "/data", &err), 0, &err, "a plan with refused mounts below a job is built");
  is_int ((long long) f.plan.n, 1, "the mounts below a job are not jobs");
  if (f.plan.n == 1)
    {
      is_str (subs (&f.plan.jobs[0]),
              "/data/x(x)</etc/app>:the source '/etc/app' is u /data/x/t(x/t)</>:cannot tell where its sour "
              "/data/ok(ok)</srv/ok>:ok /data/run(run)</run/s>:the source '/run/s' is und",
              "every mount below a requested one is judged where its source really is, however deep");
      like (f.plan.jobs[0].subs[0].refusal ? error_shown (f.plan.jobs[0].subs[0].refusal) : "",
            "the source '/etc/app' is under /etc (built-in deny list)", "a refusal names the source and the rule");
      ok (f.plan.jobs[0].outer == NULL, "a job with no job above it has no outer job");
    }
  unbuild (&f);

  is_success (build (&f, "*", &err), 0, &err, "under '*' the plan is built");
  is_str (jobs (&f.plan), "/data=idmap*@2:/srv/data /data/x=idmap*@skip:/srv/x /other=idmap*@7:/srv/o",
          "under '*' a denied config mount below another is a skipped job of its own");
  if (f.plan.n == 3)
    {
      is_str (subs (&f.plan.jobs[0]), "/data/ok(ok)</srv/ok>:ok /data/run(run)</run/s>:refused by the administrat",
              "under '*' a denied mount below a job is skipped; those of a job below it are that job's");
      ok (f.plan.jobs[1].outer == &f.plan.jobs[0], "a job below another has it as its outer job");
      ok (f.plan.jobs[1].n_subs == 0, "a skipped job has no submounts to judge");
      ok (f.plan.jobs[2].outer == NULL && f.plan.jobs[2].n_subs == 0, "a mount beside a job is not below it");
    }
  unbuild (&f);

  is_error (build (&f, "/data;/data/x=nsmap", &err), -1, &err,
            "/data/x: refused: the source '/etc/app' is under /etc (built-in deny list)",
            "a mount below a job, asked for itself, is judged by its own request");
  unbuild (&f);

  f.pol.allowed_sources[0] = strdup ("/srv");
  f.pol.n_allowed = 1;
  is_success (build (&f, "/other;/data", &err), 0, &err, "a plan under allowedSources is built");
  if (f.plan.n == 2)
    is_str (subs (&f.plan.jobs[1]),
            "/data/x(x)</etc/app>:the source '/etc/app' is n /data/x/t(x/t)</>:cannot tell where its sour "
            "/data/ok(ok)</srv/ok>:ok /data/run(run)</run/s>:the source '/run/s' is not",
            "allowedSources judges the mounts below a job too");
  unbuild (&f);

  oci_config_free (&f.cfg);
  mountinfo_free (&f.mi);
  mountinfo_free (&f.host);
  admin_policy_free (&f.pol);
}

/* Rootless podman's namespace: no idmap, 0 is the user, nobody is others'. */
static void
test_rootless (void)
{
  struct container_ids ids;
  struct target_user user = { 999, 999, "test user" };
  struct mount_policy pol = { .mode = MODE_IDMAP,
                              .rootless = true,
                              .overflow_uid = 65534,
                              .overflow_gid = 65534,
                              .host_root_uid = (uint32_t) -1,
                              .host_root_gid = (uint32_t) -1 };
  struct idmap uids, gids;
  const char *why;
  hook_error_t *err = NULL;
  uint32_t u, g;

  set_ids (&ids, "0 0 4294967295", "0 0 4294967295");
  is_error (policy_decide (&pol, 0, 0, &ids, &user, &uids, &gids, &why, &err), POLICY_ERROR, &err,
            "idmapped mounts need real root in the initial user namespace", "rootless: idmap is refused, saying why");
  pol.mode = MODE_NSMAP;
  is_error (policy_decide (&pol, 0, 0, &ids, &user, &uids, &gids, &why, &err), POLICY_ERROR, &err, "use mode chown",
            "rootless: so is nsmap, saying what to use");
  pol.mode = MODE_AUTO;
  is_success (policy_decide (&pol, 0, 0, &ids, &user, &uids, &gids, &why, &err), POLICY_CHOWN, &err,
              "rootless: auto chowns, and the user's own files (0 here) are not host root's");
  pol.mode = MODE_CHOWN;
  is_error (policy_decide (&pol, 65534, 65534, &ids, &user, &uids, &gids, &why, &err), POLICY_ERROR, &err,
            "its top directory shows as 65534:65534: its owner is outside your user namespace",
            "rootless: a tree of ids outside the namespace is refused");
  is_error (policy_decide (&pol, 65534, 65534, &ids, &user, &uids, &gids, &why, &err), POLICY_ERROR, &err,
            "podman unshare chown -R 0:0 DIR", "rootless: the refusal says how to take back a tree that is yours");
  pol.wildcard = true;
  is_success (policy_decide (&pol, 65534, 0, &ids, &user, &uids, &gids, &why, &err), POLICY_SKIP, &err,
              "rootless: and skipped under '*'");
  pol.wildcard = false;
  user = (struct target_user){ 65534, 65534, "nobody" };
  is_success (policy_decide (&pol, 65534, 65534, &ids, &user, &uids, &gids, &why, &err), POLICY_CHOWN, &err,
              "rootless: a tree that shows as nobody is chowned for a container user who is nobody (a re-run)");
  user = (struct target_user){ 0, 0, "root" };
  is_success (policy_chown_target (&pol, &ids, &user, NULL, NULL, &u, &g, &err), 0, &err,
              "rootless: giving the tree to the container's root (the user) is allowed");

  /* An administrator gave the user a subordinate range holding host 0. */
  user = (struct target_user){ 999, 999, "test user" };
  pol.host_root_uid = 7;
  is_error (policy_decide (&pol, 0, 0, &ids, &user, &uids, &gids, &why, &err), POLICY_ERROR, &err,
            "your user namespace maps host root (host uid 0 is uid 7 there)",
            "rootless: a namespace that maps host root gets no chown");
  is_error (policy_decide (&pol, 0, 0, &ids, &user, &uids, &gids, &why, &err), POLICY_ERROR, &err, "--allow-host-root",
            "rootless: that refusal names --allow-host-root");
  user = (struct target_user){ 7, 8, "test user" };
  is_error (policy_chown_target (&pol, &ids, &user, NULL, NULL, &u, &g, &err), -1, &err, "host root's",
            "rootless: giving a tree to the id that is host root's is refused, judged on host ids");
  pol.allow_host_root = true;
  is_success (policy_decide (&pol, 0, 0, &ids, &user, &uids, &gids, &why, &err), POLICY_CHOWN, &err,
              "rootless: with --allow-host-root it chowns");
}

/* Host root is judged by host ids wherever the hook runs. */
static void
test_host_root_by_host_ids (void)
{
  struct container_ids ids;
  struct target_user user = { 999, 999, "test user" };
  struct mount_policy pol = { .mode = MODE_CHOWN };
  struct idmap uids, gids;
  const char *why;
  hook_error_t *err = NULL;

  set_ids (&ids, "0 100000 65536", "0 100000 65536");
  is_error (policy_decide (&pol, 0, 1000, &ids, &user, &uids, &gids, &why, &err), POLICY_ERROR, &err,
            "owned by host root", "the initial namespace (the zero default): on-disk 0 is host root");
  pol.host_root_uid = pol.host_root_gid = (uint32_t) -1;
  is_success (policy_decide (&pol, 0, 1000, &ids, &user, &uids, &gids, &why, &err), POLICY_CHOWN, &err,
              "where no id is host root's, on-disk 0 is someone else");
}

int
main (void)
{
  test_idmap_mode ();
  test_other_modes ();
  test_chown_modes ();
  test_plan ();
  test_submounts ();
  test_rootless ();
  test_host_root_by_host_ids ();
  return done_testing ();
}
