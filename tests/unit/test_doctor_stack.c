/* hook/doctor/doctor_stack.c, doctor_compose.c and doctor_inspect.c: the
 * engine JSON the doctor reads, dockerd's --userns-remap ranges, and the
 * verdict and fix on a small stack. */
#define _GNU_SOURCE
#include "helpers.h"
#include "hook/doctor/doctor_stack.h"

#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/test_doctor_stack.XXXXXX";

static char *
write_file (const char *name, const char *text)
{
  char *path = NULL;
  FILE *f;

  if (asprintf (&path, "%s/%s", dir, name) < 0 || (f = fopen (path, "w")) == NULL)
    abort ();
  fputs (text, f);
  fclose (f);
  return path;
}

static void
test_remap (void)
{
  cleanup_free char *subuid = write_file ("subuid", "other:200000:65536\ndockremap:100000:65536\n"
                                                    "dockremap:300000:1000\n");
  cleanup_free char *subgid = write_file ("subgid", "0:400000:10\nstaff:500000:65536\n");
  struct idmap u = { 0 }, g = { 0 };
  hook_error_t *err = NULL;

  ok (doctor_remap_read ("default", subuid, subuid, &u, &g, &err) == 0, "default reads dockremap's ranges");
  is_int ((long long) u.n, 2, "both of dockremap's ranges, as dockerd maps them");
  ok (u.n == 2 && u.ext[0].inside == 0 && u.ext[0].outside == 100000 && u.ext[1].inside == 65536
          && u.ext[1].outside == 300000 && u.ext[1].count == 1000,
      "laid one after the other from container id 0");
  ok (doctor_remap_read ("dockremap:root", subuid, subgid, &u, &g, &err) == 0 && g.n == 1 && g.ext[0].outside == 400000,
      "USER:GROUP takes the group's ranges, matched by its id (root is 0)");
  is_error (doctor_remap_read ("nosuchuser", subuid, subgid, &u, &g, &err), -1, &err, "has no range of nosuchuser",
            "a user without ranges is an error naming it");
  is_error (doctor_remap_read ("default", "/nonexistent/subuid", subgid, &u, &g, &err), -1, &err,
            "open '/nonexistent/subuid'", "a missing file is an error naming it");
}

static int
compose (const char *text, struct doctor_stack *s, hook_error_t **err)
{
  return doctor_compose_parse (text, strlen (text), "c.json", s, err);
}

static int
inspect (const char *text, struct doctor_stack *s, hook_error_t **err)
{
  return doctor_inspect_parse (text, strlen (text), "i.json", s, err);
}

static void
test_compose_parse (void)
{
  hook_error_t *err = NULL;

  {
    cleanup_doctor_stack struct doctor_stack s = { 0 };
    ok (compose ("{\"services\":{\"db\":{\"user\":\"999:0\",\"image\":\"pg\",\"userns_mode\":\"host\","
                 "\"environment\":{\"A\":null,\"OCI_IDMAP_MOUNTS\":\"/d\"},\"annotations\":{\"k\":\"v\"},"
                 "\"volumes\":[{\"type\":\"volume\",\"source\":\"v\",\"target\":\"/v\"},"
                 "{\"type\":\"bind\",\"source\":\"/srv\",\"target\":\"/d\",\"read_only\":true}]}}}",
                 &s, &err)
            == 0,
        "a compose service parses");
    ok (s.n == 1 && strcmp (s.c[0].name, "db") == 0 && strcmp (s.c[0].user, "999:0") == 0 && s.c[0].userns_host,
        "its name, user and userns_mode");
    ok (s.n == 1 && s.c[0].n_binds == 1 && strcmp (s.c[0].binds[0].source, "/srv") == 0 && s.c[0].binds[0].readonly,
        "only the bind volume, read-only");
  }
  struct
  {
    const char *text, *error;
  } bad[] = {
    { "[]", "c.json: expected the JSON object" },
    { "{}", "c.json: no \"services\"" },
    { "{\"services\":{\"db\":{\"user\":7}}}", "c.json: service db: \"user\" must be a string" },
    { "{\"services\":{\"db\":{\"volumes\":[{\"type\":\"bind\",\"source\":7}]}}}",
      "c.json: service db: volumes[0]: \"source\" must be a string" },
    { "{\"services\":{\"db\":{\"volumes\":[{\"type\":\"bind\",\"target\":\"/d\"}]}}}",
      "c.json: service db: volumes[0]: a bind volume needs \"source\" and \"target\"" },
    { "{\"services\":{\"db\":{\"volumes\":[{\"type\":\"bind\",\"source\":\"/s\",\"target\":\"/d\",\"read_only\":1}]}}}",
      "c.json: service db: volumes[0]: \"read_only\" must be true or false" },
    { "{\"services\":{\"db\":{\"environment\":{\"A\":[]}}}}",
      "c.json: service db: environment.A: expected a string or null" },
    { "{\"services\":{\"db\":{\"annotations\":{\"k\":1}}}}",
      "c.json: service db: annotations: value of \"k\" must be a string" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      cleanup_doctor_stack struct doctor_stack s = { 0 };
      is_error (compose (bad[i].text, &s, &err), -1, &err, bad[i].error, "refused: %s", bad[i].error);
    }
}

static void
test_inspect_parse (void)
{
  hook_error_t *err = NULL;

  {
    cleanup_doctor_stack struct doctor_stack s = { 0 };
    ok (inspect ("[{\"Name\":\"/web\",\"Config\":{\"User\":\"1000\",\"Env\":[\"A=b\"]},"
                 "\"HostConfig\":{\"UsernsMode\":\"\",\"Annotations\":{\"k\":\"v\"}},"
                 "\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/s\",\"Destination\":\"/d\",\"RW\":false},"
                 "{\"Type\":\"volume\",\"Source\":\"v\",\"Destination\":\"/v\"}]}]",
                 &s, &err)
            == 0,
        "a docker container parses");
    ok (s.engine == STACK_DOCKER && s.n == 1 && strcmp (s.c[0].name, "web") == 0 && s.c[0].annotations,
        "Docker's: its name without the '/', HostConfig.Annotations");
    ok (s.n == 1 && s.c[0].n_binds == 1 && s.c[0].binds[0].readonly, "RW false is read-only; volumes are skipped");
  }
  {
    cleanup_doctor_stack struct doctor_stack s = { 0 };
    ok (inspect ("[{\"Name\":\"p\",\"OCIRuntime\":\"crun\",\"Config\":{\"Annotations\":{\"k\":\"v\"},"
                 "\"CreateCommand\":[\"podman\",\"create\",\"--uidmap\",\"0:100000:65536\",\"--gidmap=0:200000:65536\","
                 "\"img\",\"--\",\"--uidmap\",\"1:1:1\"]},\"HostConfig\":{\"IDMappings\":null}}]",
                 &s, &err)
            == 0,
        "a podman container created with --uidmap parses");
    ok (s.engine == STACK_PODMAN && s.n == 1 && s.c[0].has_map && s.c[0].uids.n == 1
            && s.c[0].uids.ext[0].outside == 100000 && s.c[0].gids.n == 1 && s.c[0].gids.ext[0].outside == 200000,
        "podman's mapping from CreateCommand when IDMappings is null (both flag forms; nothing after --)");
  }
  {
    cleanup_doctor_stack struct doctor_stack s = { 0 };
    ok (inspect ("[{\"Name\":\"p\",\"OCIRuntime\":\"crun\",\"HostConfig\":{\"IDMappings\":"
                 "{\"UidMap\":[\"0:100000:65536\"],\"GidMap\":[]}}}]",
                 &s, &err)
                == 0
            && s.c[0].has_map && s.c[0].gids.n == 1,
        "IDMappings when present; no GidMap: as UidMap");
  }
  struct
  {
    const char *text, *error;
  } bad[] = {
    { "{}", "i.json: expected a JSON array" },
    { "[7]", "i.json: container 0: expected an object" },
    { "[{\"Name\":\"x\",\"Config\":{\"User\":1}}]", "i.json: container x: \"User\" must be a string" },
    { "[{\"Name\":\"x\",\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/s\",\"Destination\":\"/d\",\"RW\":\"yes\"}]}]",
      "i.json: container x: Mounts[0]: \"RW\" must be true or false" },
    { "[{\"Name\":\"x\",\"HostConfig\":{\"IDMappings\":{\"UidMap\":[\"0:1\"]}}}]",
      "i.json: container x: IDMappings.UidMap[0]: expected \"CONTAINER:HOST:SIZE\"" },
    { "[{\"Name\":\"x\",\"Config\":{\"Env\":[1]}}]", "i.json: container x: Config.Env[0]: expected a string" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      cleanup_doctor_stack struct doctor_stack s = { 0 };
      is_error (inspect (bad[i].text, &s, &err), -1, &err, bad[i].error, "refused: %s", bad[i].error);
    }
}

/* Run S into a string; returns the verdict. */
static int
run (struct doctor_stack *s, const struct doctor_stack_options *o, char **out)
{
  hook_error_t *err = NULL;
  size_t len;
  FILE *f = open_memstream (out, &len);
  int ret = doctor_stack_run (s, o, f, &err);

  fclose (f);
  if (ret < 0)
    diag ("doctor_stack_run: %s", error_shown (err));
  error_free (&err);
  return ret;
}

static void
test_stack_run (void)
{
  cleanup_free char *vol = NULL, *text = NULL, *images = NULL, *out = NULL, *out2 = NULL, *policy = NULL;
  struct doctor_stack_options o = { 0 };
  hook_error_t *err = NULL;

  if (geteuid () != 0)
    {
      ok (true, "# SKIP a volume owned by 1000 needs root");
      return;
    }
  if (asprintf (&vol, "%s/vol", dir) < 0 || mkdir (vol, 0755) < 0 || chown (vol, 1000, 1000) < 0)
    {
      ok (false, "a volume owned by 1000 (needs root)");
      return;
    }
  policy = write_file ("policy.json", "{}");
  o.policy = policy;
  idmap_add (&o.uids, 0, 100000, 65536, "test", &err);
  o.gids = o.uids;
  if (asprintf (&text,
                "{\"services\":{\"db\":{\"user\":\"999:999\",\"volumes\":[{\"type\":\"bind\",\"source\":\"%s\","
                "\"target\":\"/data\"}]},\"ts\":{\"image\":\"img\",\"volumes\":[{\"type\":\"bind\",\"source\":\"%s\","
                "\"target\":\"/state\",\"read_only\":true}]}}}",
                vol, vol)
      < 0)
    abort ();
  {
    cleanup_doctor_stack struct doctor_stack s = { 0 };
    ok (compose (text, &s, &err) == 0, "the stack parses");
    is_int (run (&s, &o, &out), 1, "a service as 999 on a volume of 1000 under remapping will fail");
    ok (out && strstr (out, "service: db\n") && strstr (out, "user 999 cannot write"), "its problem is reported");
    ok (out && strstr (out, "    db:\n      annotations:\n        oci-idmap-hook/mounts: \"/data\"\n"),
        "the fix is the annotations: block for db");
    ok (out && strstr (out, "      environment:\n        OCI_IDMAP_MOUNTS: \"/data\"\n"),
        "and its environment: form for Docker before 24");
    ok (out && strstr (out, "it sets no user: it runs as its image's user (img)"),
        "ts without user: and without --image-inspect: the image decides");
    ok (out && strstr (out, "    ts:\n") == NULL, "ts, read-only, needs no fix");
  }
  {
    cleanup_doctor_stack struct doctor_stack s = { 0 };
    static const char img[] = "[{\"Id\":\"sha256:1\",\"RepoTags\":[\"img:latest\"],\"Config\":{\"User\":\"5:5\"}}]";
    ok (compose (text, &s, &err) == 0 && doctor_images_parse (img, sizeof img - 1, "img.json", &s, &err) == 0,
        "with --image-inspect");
    run (&s, &o, &out2);
    ok (out2 && strstr (out2, "user:    5:5 (from process.user)") && !strstr (out2, "it sets no user"),
        "ts runs as the image's Config.User, matched by name as :latest");
  }
  {
    cleanup_doctor_stack struct doctor_stack s = { 0 };
    cleanup_free char *js = NULL, *out3 = NULL;
    if (asprintf (&js,
                  "[{\"Name\":\"/a\",\"Config\":{\"User\":\"999:999\",\"Env\":[\"OCI_IDMAP_MOUNTS=/data\"]},"
                  "\"HostConfig\":{\"Runtime\":\"runc\"},\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"%s\","
                  "\"Destination\":\"/data\",\"RW\":true}]}]",
                  vol)
        < 0)
      abort ();
    ok (inspect (js, &s, &err) == 0, "a docker container that asks by environment, on runc");
    is_int (run (&s, &o, &out3), 1, "it will fail: no hook runs without the shim");
    ok (out3 && strstr (out3, "runs on runc, not through the runtime shim: no hook will run"), "and says why");
  }
  {
    cleanup_doctor_stack struct doctor_stack s = { 0 };
    cleanup_free char *js = NULL, *out4 = NULL;
    if (asprintf (&js,
                  "[{\"Name\":\"p\",\"OCIRuntime\":\"crun\",\"Config\":{\"User\":\"999:999\"},"
                  "\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"%s\",\"Destination\":\"/a\",\"RW\":true},"
                  "{\"Type\":\"bind\",\"Source\":\"%s\",\"Destination\":\"/it's\",\"RW\":true}]}]",
                  vol, vol)
        < 0)
      abort ();
    ok (inspect (js, &s, &err) == 0, "a podman container with two mounts");
    is_int (run (&s, &o, &out4), 1, "both need the hook");
    ok (out4 && strstr (out4, "fix: p: podman run --annotation 'oci-idmap-hook/mounts=/a;/it'\"'\"'s' ...\n"),
        "the flag is one shell word, quoted as it must be: ';' and a quote");
  }
  rmdir (vol);
}

int
main (void)
{
  if (mkdtemp (dir) == NULL)
    abort ();
  test_remap ();
  test_compose_parse ();
  test_inspect_parse ();
  test_stack_run ();
  for (const char *const *n = (const char *const[]){ "subuid", "subgid", "policy.json", NULL }; *n; n++)
    {
      cleanup_free char *path = write_file (*n, "");
      unlink (path);
    }
  rmdir (dir);
  return done_testing ();
}
