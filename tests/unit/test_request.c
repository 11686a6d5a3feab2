/* hook/run/request.c: the annotation mini-language and where the request comes from. */
#define _GNU_SOURCE
#include "helpers.h"
#include "hook/run/request.h"
#include "oci/config.h"

/* The parsed list as "DEST=MODE DEST=MODE ...", or the error message. */
static const char *
parsed (const char *text)
{
  static char buf[8200];
  struct request req;
  hook_error_t *err = NULL;
  size_t o = 0;

  if (request_parse_mounts (text, "test", &req, &err) < 0)
    {
      snprintf (buf, sizeof buf, "error: %s", error_shown (err));
      error_free (&err);
      return buf;
    }
  buf[0] = '\0';
  for (size_t i = 0; i < req.n && o < sizeof buf; i++)
    o += (size_t) snprintf (buf + o, sizeof buf - o, "%s%s=%s", i ? " " : "", req.items[i].dest,
                            mode_name (req.items[i].mode));
  request_free (&req);
  return buf;
}

static void
test_parse_mounts (void)
{
  static const struct
  {
    const char *text, *expect, *name;
  } cases[] = {
    { "/data", "/data=idmap", "one path gets mode idmap" },
    { "/a;/b=nsmap", "/a=idmap /b=nsmap", "items are separated by ';' and take a mode after '='" },
    { " /a \t/b\n/c\r\n;/d ", "/a=idmap /b=idmap /c=idmap /d=idmap", "white space and newlines separate items" },
    { "*", "*=idmap", "'*' asks for every bind mount" },
    { "*=nsmap", "*=nsmap", "'*' takes a mode" },
    { "/a=chown;/b=auto", "/a=chown /b=auto", "modes chown and auto are understood" },
    { "//a/./b/", "/a/b=idmap", "paths are normalised" },
    { "/a/b/.", "/a/b=idmap", "a trailing '/.' is dropped" },
  };
  static const struct
  {
    const char *text, *msg, *name;
  } bad[] = {
    { "/a,/b", "not ','", "commas are rejected with a hint about ','" },
    { "/a=bogus", "unknown mode \"bogus\"", "an unknown mode is rejected by name" },
    { "/a=", "unknown mode \"\"", "an empty mode is rejected" },
    { "/a=IDMAP", "unknown mode \"IDMAP\"", "modes are case-sensitive" },
    { "data", "\"data\" is not an absolute container path", "a relative path is rejected" },
    { "=nsmap", "is not an absolute container path", "an item without a path is rejected" },
    { "/a/../etc", "contains \"..\"", "a path with '..' is rejected" },
    { "/", "is the container's root", "'/' is rejected" },
    { "//./", "is the container's root", "a path that normalises to '/' is rejected" },
    { "/a;/a/", "'/a' is listed twice", "a path listed twice after normalising is rejected" },
    { "*;*=nsmap", "'*' is listed twice", "'*' listed twice is rejected" },
    { "", "empty list", "an empty list is rejected" },
    { ";; \n", "empty list", "a list of separators only is rejected" },
  };

  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    is_str (parsed (cases[i].text), cases[i].expect, "%s", cases[i].name);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    like (parsed (bad[i].text), bad[i].msg, "%s", bad[i].name);
  like (parsed ("relative"), "error: test: ", "errors start with where the list came from");
}

/* Return codes, the item limit, the text limit, and no leaks on failure. */
static void
test_parse_limits (void)
{
  struct request req;
  hook_error_t *err = NULL;
  cleanup_free char *text = malloc (REQUEST_MAX_TEXT + 2);
  size_t o = 0;

  for (int i = 0; i < REQUEST_MAX_ITEMS; i++)
    o += (size_t) sprintf (text + o, "/d%d;", i);
  is_success (request_parse_mounts (text, "test", &req, &err), 0, &err, "256 items are accepted");
  is_int ((long long) req.n, 256, "all 256 items are kept");
  is_str (req.origin, "test", "the request remembers its origin");
  request_free (&req);
  is_int ((long long) req.n, 0, "request_free empties the request");
  sprintf (text + o, "/d256");
  is_error (request_parse_mounts (text, "test", &req, &err), -1, &err, "more than 256 items", "257 items are rejected");
  is_int ((long long) req.n, 0, "a rejected list leaves no items");
  is_error (request_parse_mounts ("/a;/b;/b", "test", &req, &err), -1, &err, "'/b' is listed twice",
            "a failure after some items frees them");
  memset (text, ' ', REQUEST_MAX_TEXT + 1);
  text[0] = '/';
  text[REQUEST_MAX_TEXT + 1] = '\0';
  is_error (request_parse_mounts (text, "test", &req, &err), -1, &err, "longer than 65536 bytes",
            "a list longer than 64 KiB is rejected");
}

static void
test_user_spec (void)
{
  struct target_user user = { 0 };
  hook_error_t *err = NULL;
  static const char *const bad[]
      = { "abc", "4294967295", "1:", ":1", "-1", " 1", "1 ", "1:2:3", "", "0x10", "99999999999" };

  is_success (parse_user_spec ("1000", "spec", &user, &err), 0, &err, "a lone uid is accepted");
  ok (user.uid == 1000 && user.gid == 1000, "a lone uid is also the gid");
  is_str (user.origin, "spec", "the user remembers its origin");
  is_success (parse_user_spec ("1000:100", "spec", &user, &err), 0, &err, "uid:gid is accepted");
  ok (user.uid == 1000 && user.gid == 100, "uid:gid sets both");
  is_success (parse_user_spec ("4294967294:0", "spec", &user, &err), 0, &err, "uid 4294967294 is accepted");
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    is_error (parse_user_spec (bad[i], "spec", &user, &err), -1, &err, "expected UID[:GID]",
              "user spec \"%s\" is rejected", bad[i]);
}

/* A config from JSON written with ' for " (see json_q). */
static struct oci_config
config (const char *json)
{
  struct oci_config cfg;
  hook_error_t *err = NULL;
  cleanup_free char *text = json_q (json);
  if (oci_config_parse (text, strlen (text), &cfg, &err) < 0)
    {
      diag ("bad test config: %s", error_shown (err));
      error_free (&err);
      oci_config_free (&cfg);
    }
  return cfg;
}

static void
test_from_container (void)
{
  struct request req;
  struct target_user user;
  struct oci_config cfg;
  hook_error_t *err = NULL;
  const char *state_ann[] = { ANNOTATION_MOUNTS, "/s", ANNOTATION_USER, "7:8", NULL };

  cfg = config ("{'annotations':{'oci-idmap-hook/mounts':'/a','oci-idmap-hook/user':'1:2'},"
                "'process':{'env':['OCI_IDMAP_MOUNTS=/b','OCI_IDMAP_USER=3:4'],'user':{'uid':5,'gid':6}}}");
  is_success (request_from_container (&cfg, state_ann, ENV_TRUST_FULL, &req, &err), 0, &err,
              "a request is read from the container");
  ok (req.n == 1 && strcmp (req.items[0].dest, "/a") == 0, "the config annotation beats state and env");
  is_str (req.origin, ANNOTATION_MOUNTS, "the request's origin is the annotation");
  request_free (&req);
  is_success (target_user_from_container (&cfg, state_ann, ENV_TRUST_FULL, &user, &err), 0, &err, "a user is read");
  ok (user.uid == 1 && user.gid == 2, "the config user annotation beats state and env");
  oci_config_free (&cfg);

  cfg = config ("{'process':{'env':['OCI_IDMAP_MOUNTS=/b;/c=nsmap','OCI_IDMAP_USER=3:4'],'user':{'uid':5}}}");
  is_success (request_from_container (&cfg, state_ann, ENV_TRUST_FULL, &req, &err), 0, &err,
              "a request is read with state annotations");
  ok (req.n == 1 && strcmp (req.items[0].dest, "/s") == 0, "state annotations are used when config has none");
  request_free (&req);
  is_success (target_user_from_container (&cfg, state_ann, ENV_TRUST_FULL, &user, &err), 0, &err,
              "a user is read from the state");
  ok (user.uid == 7 && user.gid == 8, "the state's user annotation beats env");
  is_success (request_from_container (&cfg, NULL, ENV_TRUST_FULL, &req, &err), 0, &err, "a request is read from env");
  ok (req.n == 2 && strcmp (req.items[1].dest, "/c") == 0 && req.items[1].mode == MODE_NSMAP,
      "OCI_IDMAP_MOUNTS is used when there is no annotation");
  is_str (req.origin, ENV_MOUNTS, "the request's origin is the env variable");
  request_free (&req);
  is_success (target_user_from_container (&cfg, NULL, ENV_TRUST_FULL, &user, &err), 0, &err, "a user is read from env");
  ok (user.uid == 3 && user.gid == 4, "OCI_IDMAP_USER is used when there is no annotation");
  oci_config_free (&cfg);

  cfg = config ("{'process':{'env':['OCI_IDMAP_MOUNTS=/a,/b','OCI_IDMAP_USER=x']}}");
  is_error (request_from_container (&cfg, NULL, ENV_TRUST_FULL, &req, &err), -1, &err, "OCI_IDMAP_MOUNTS: \"/a,/b\"",
            "a bad env list is rejected, naming the variable");
  is_error (target_user_from_container (&cfg, NULL, ENV_TRUST_FULL, &user, &err), -1, &err, "OCI_IDMAP_USER: \"x\"",
            "a bad env user is rejected, naming the variable");
  oci_config_free (&cfg);

  cfg = config ("{'process':{'user':{'uid':5,'gid':6}}}");
  is_success (request_from_container (&cfg, NULL, ENV_TRUST_FULL, &req, &err), 0, &err,
              "a container that asks nothing is fine");
  is_int ((long long) req.n, 0, "a container that asks nothing gets an empty request");
  is_success (target_user_from_container (&cfg, NULL, ENV_TRUST_FULL, &user, &err), 0, &err,
              "process.user is the default user");
  ok (user.uid == 5 && user.gid == 6, "process.user's ids are used");
  is_str (user.origin, "process.user", "the default user's origin is process.user");
  oci_config_free (&cfg);

  cfg = config ("{'process':{'env':['HOME=/']}}");
  is_error (target_user_from_container (&cfg, NULL, ENV_TRUST_FULL, &user, &err), -1, &err, "no process.user",
            "no user annotation and no process.user is an error");
  oci_config_free (&cfg);
}

static void
test_env_user (void)
{
  struct target_user user;
  hook_error_t *err = NULL;
  static const struct
  {
    const char *json, *msg, *name;
  } bad[] = {
    { "{'annotations':{'oci-idmap-hook/user':'env'},'process':{'env':['PGID=100']}}", "PUID is not set",
      "user env without PUID is an error" },
    { "{'annotations':{'oci-idmap-hook/user':'env'},'process':{'env':['PUID=abc']}}", "PUID=\"abc\"",
      "a non-numeric PUID is an error" },
    { "{'annotations':{'oci-idmap-hook/user':'env'},'process':{'env':['PUID=1','PGID=-5']}}", "PGID=\"-5\"",
      "a non-numeric PGID is an error" },
  };
  struct oci_config cfg;

  cfg = config ("{'annotations':{'oci-idmap-hook/user':'env'},'process':{'env':['PUID=1000','PGID=100']}}");
  is_success (target_user_from_container (&cfg, NULL, ENV_TRUST_FULL, &user, &err), 0, &err,
              "user env reads PUID and PGID");
  ok (user.uid == 1000 && user.gid == 100, "PUID and PGID give uid and gid");
  is_str (user.origin, "PUID/PGID", "the user's origin is PUID/PGID");
  oci_config_free (&cfg);

  cfg = config ("{'process':{'env':['OCI_IDMAP_USER=env','PUID=33']}}");
  is_success (target_user_from_container (&cfg, NULL, ENV_TRUST_FULL, &user, &err), 0, &err,
              "OCI_IDMAP_USER=env reads PUID");
  ok (user.uid == 33 && user.gid == 33, "without PGID the gid is PUID");
  oci_config_free (&cfg);

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      cfg = config (bad[i].json);
      is_error (target_user_from_container (&cfg, NULL, ENV_TRUST_FULL, &user, &err), -1, &err, bad[i].msg, "%s",
                bad[i].name);
      oci_config_free (&cfg);
    }
}

/* Pod annotations reach every container of a pod: KEY.NAME picks one. */
static void
test_scoped_keys (void)
{
  struct request req;
  struct target_user user;
  struct oci_config cfg;
  hook_error_t *err = NULL;
  const char *state_db[] = { ANNOTATION_CONTAINER_NAME, "db", "oci-idmap-hook/mounts.db", "/state", NULL };
  const char *state_web[] = { ANNOTATION_CONTAINER_NAME, "web", NULL };
#define POD(NAME)                                                                                                      \
  "{'annotations':{'oci-idmap-hook/mounts':'/all','oci-idmap-hook/user':'1:1',"                                        \
  "'oci-idmap-hook/mounts.db':'/pg=nsmap','oci-idmap-hook/user.db':'999:99',"                                          \
  "'oci-idmap-hook/mounts.dbx':'/x','io.kubernetes.container.name':'" NAME "'},"                                       \
  "'process':{'user':{'uid':5,'gid':6}}}"

  cfg = config (POD ("db"));
  is_success (request_from_container (&cfg, NULL, ENV_TRUST_FULL, &req, &err), 0, &err, "a scoped request is read");
  ok (req.n == 1 && strcmp (req.items[0].dest, "/pg") == 0 && req.items[0].mode == MODE_NSMAP,
      "mounts.NAME beats the pod-wide key for the container named NAME");
  is_str (req.origin, "oci-idmap-hook/mounts.db", "the origin names the scoped key");
  request_free (&req);
  is_success (target_user_from_container (&cfg, NULL, ENV_TRUST_FULL, &user, &err), 0, &err, "a scoped user is read");
  ok (user.uid == 999 && user.gid == 99, "user.NAME beats the pod-wide user");
  is_str (user.origin, "oci-idmap-hook/user.db", "the user's origin names the scoped key");
  oci_config_free (&cfg);

  cfg = config (POD ("web"));
#undef POD
  is_success (request_from_container (&cfg, NULL, ENV_TRUST_FULL, &req, &err), 0, &err,
              "another container's request is read");
  ok (req.n == 1 && strcmp (req.items[0].dest, "/all") == 0, "another container gets the pod-wide key");
  is_str (req.origin, ANNOTATION_MOUNTS, "its origin is the pod-wide key");
  request_free (&req);
  is_success (target_user_from_container (&cfg, NULL, ENV_TRUST_FULL, &user, &err), 0, &err,
              "another container's user is read");
  ok (user.uid == 1 && user.gid == 1, "another container gets the pod-wide user");
  oci_config_free (&cfg);

  cfg = config ("{'annotations':{'oci-idmap-hook/mounts.db':'/pg','oci-idmap-hook/mounts.':'/e',"
                "'oci-idmap-hook/mountsdb':'/n'},'process':{'user':{'uid':5}}}");
  is_success (request_from_container (&cfg, NULL, ENV_TRUST_FULL, &req, &err), 0, &err,
              "a container without a name is fine");
  is_int ((long long) req.n, 0, "a container without a name ignores scoped keys");
  is_success (request_from_container (&cfg, state_web, ENV_TRUST_FULL, &req, &err), 0, &err,
              "an unnamed scope is fine");
  is_int ((long long) req.n, 0, "a container named in the state but matching no key asks nothing");
  is_success (request_from_container (&cfg, state_db, ENV_TRUST_FULL, &req, &err), 0, &err,
              "a name from the state is used");
  ok (req.n == 1 && strcmp (req.items[0].dest, "/pg") == 0, "config.json's scoped key beats the state's");
  request_free (&req);
  oci_config_free (&cfg);

  cfg = config ("{'annotations':{'oci-idmap-hook/mounts':'/all'},'process':{'user':{'uid':5}}}");
  is_success (request_from_container (&cfg, state_db, ENV_TRUST_FULL, &req, &err), 0, &err,
              "a state scoped key is read");
  ok (req.n == 1 && strcmp (req.items[0].dest, "/state") == 0, "the state's scoped key beats a pod-wide key");
  is_str (req.origin, "oci-idmap-hook/mounts.db", "the state's scoped key is the origin");
  request_free (&req);
  oci_config_free (&cfg);

  cfg = config ("{'annotations':{'io.kubernetes.cri.container-name':'db','oci-idmap-hook/mounts.db':'/pg',"
                "'oci-idmap-hook/mounts':'/all'}}");
  is_success (request_from_container (&cfg, NULL, ENV_TRUST_FULL, &req, &err), 0, &err,
              "containerd's container name is read");
  ok (req.n == 1 && strcmp (req.items[0].dest, "/pg") == 0, "containerd's container name selects mounts.NAME");
  request_free (&req);
  oci_config_free (&cfg);

  cfg = config ("{'annotations':{'io.kubernetes.container.name':'db','oci-idmap-hook/mounts.db':'/a,/b'}}");
  is_error (request_from_container (&cfg, NULL, ENV_TRUST_FULL, &req, &err), -1, &err,
            "oci-idmap-hook/mounts.db: \"/a,/b\"", "a bad scoped list is rejected, naming the scoped key");
  oci_config_free (&cfg);
}

/* The pause container gets the pod's annotations and never asks. */
static void
test_pod_sandbox (void)
{
  struct request req;
  struct oci_config cfg;
  hook_error_t *err = NULL;
  const char *crio[] = { ANNOTATION_CRIO_TYPE, "sandbox", NULL };
  const char *crio_ctr[] = { ANNOTATION_CRIO_TYPE, "container", NULL };

  cfg = config ("{'annotations':{'oci-idmap-hook/mounts':'/data','io.kubernetes.cri.container-type':'sandbox'}}");
  is_success (request_from_container (&cfg, NULL, ENV_TRUST_FULL, &req, &err), 0, &err, "a containerd sandbox is fine");
  is_int ((long long) req.n, 0, "a containerd pod sandbox asks for nothing");
  oci_config_free (&cfg);

  cfg = config ("{'annotations':{'oci-idmap-hook/mounts':'/data'}}");
  is_success (request_from_container (&cfg, crio, ENV_TRUST_FULL, &req, &err), 0, &err, "a CRI-O sandbox is fine");
  is_int ((long long) req.n, 0, "a CRI-O pod sandbox asks for nothing");
  is_success (request_from_container (&cfg, crio_ctr, ENV_TRUST_FULL, &req, &err), 0, &err,
              "a CRI-O container is read");
  is_int ((long long) req.n, 1, "a CRI-O container of the pod still asks");
  request_free (&req);
  oci_config_free (&cfg);
}

/* The environment is the image's as much as the operator's: below "full"
 * it cannot ask for a mode that may change owners, nor name another user. */
static void
test_env_trust (void)
{
  static const char *const chowning[] = { "/a=chown", "*=chown", "/a=auto", "/a=chown+restore" };
  struct request req;
  struct target_user user;
  struct oci_config cfg;
  hook_error_t *err = NULL;
  enum env_trust trust;

  for (int t = 0; t < ENV_TRUST_COUNT; t++)
    ok (env_trust_parse (env_trust_name ((enum env_trust) t), &trust) == 0 && (int) trust == t,
        "the level %s round-trips", env_trust_name ((enum env_trust) t));
  ok (env_trust_parse ("yes", &trust) < 0 && env_trust_parse ("", &trust) < 0, "an unknown level is refused");

  for (size_t i = 0; i < sizeof chowning / sizeof chowning[0]; i++)
    {
      char *json = NULL;
      if (asprintf (&json, "{'process':{'env':['OCI_IDMAP_MOUNTS=/b %s'],'user':{'uid':5,'gid':6}}}", chowning[i]) < 0)
        abort ();
      cfg = config (json);
      is_error (request_from_container (&cfg, NULL, ENV_TRUST_IDMAP, &req, &err), -1, &err,
                "cannot ask for a mode that may change owners on the host; ask with the annotation "
                "oci-idmap-hook/mounts, or let the environment ask: \"environment\": \"full\"",
                "by default, OCI_IDMAP_MOUNTS=%s is refused", chowning[i]);
      is_int ((long long) req.n, 0, "and nothing of it is kept");
      is_success (request_from_container (&cfg, NULL, ENV_TRUST_FULL, &req, &err), 0, &err,
                  "with \"full\", OCI_IDMAP_MOUNTS=%s is read", chowning[i]);
      request_free (&req);
      is_success (request_from_container (&cfg, NULL, ENV_TRUST_OFF, &req, &err), 0, &err,
                  "with \"off\", OCI_IDMAP_MOUNTS=%s is not read", chowning[i]);
      is_int ((long long) req.n, 0, "and asks for nothing");
      ok (!request_present (&cfg, NULL, ENV_TRUST_OFF) && request_present (&cfg, NULL, ENV_TRUST_IDMAP),
          "request_present agrees");
      oci_config_free (&cfg);
      free (json);
    }

  cfg = config ("{'process':{'env':['OCI_IDMAP_MOUNTS=/a /b=nsmap','OCI_IDMAP_USER=5:6'],'user':{'uid':5,'gid':6}}}");
  is_success (request_from_container (&cfg, NULL, ENV_TRUST_IDMAP, &req, &err), 0, &err,
              "by default, the environment may ask for idmap and nsmap");
  ok (req.n == 2 && req.from_env, "the request is marked as the environment's");
  request_free (&req);
  is_success (target_user_from_container (&cfg, NULL, ENV_TRUST_IDMAP, &user, &err), 0, &err,
              "OCI_IDMAP_USER equal to process.user is fine");
  ok (user.uid == 5 && user.gid == 6, "the user is process.user");
  is_str (user.origin, "process.user", "and says so");
  oci_config_free (&cfg);

  cfg = config ("{'annotations':{'oci-idmap-hook/mounts':'/a=chown'},"
                "'process':{'env':['OCI_IDMAP_USER=1234'],'user':{'uid':5,'gid':6}}}");
  is_success (request_from_container (&cfg, NULL, ENV_TRUST_IDMAP, &req, &err), 0, &err,
              "an annotation may ask for chown");
  ok (req.n == 1 && !req.from_env, "the request is the annotation's");
  request_free (&req);
  is_error (target_user_from_container (&cfg, NULL, ENV_TRUST_IDMAP, &user, &err), -1, &err,
            "OCI_IDMAP_USER=1234 names 1234:1234, not process.user 5:6: refused: the container's environment",
            "by default, OCI_IDMAP_USER naming another user is refused, whoever asked for the mounts");
  is_success (target_user_from_container (&cfg, NULL, ENV_TRUST_OFF, &user, &err), 0, &err,
              "with \"off\", OCI_IDMAP_USER is not read");
  ok (user.uid == 5 && user.gid == 6, "and the user is process.user");
  is_success (target_user_from_container (&cfg, NULL, ENV_TRUST_FULL, &user, &err), 0, &err,
              "with \"full\", OCI_IDMAP_USER is read");
  ok (user.uid == 1234 && user.gid == 1234, "and picks the user");
  oci_config_free (&cfg);

  cfg = config ("{'process':{'env':['OCI_IDMAP_USER=env','PUID=33']}}");
  is_error (target_user_from_container (&cfg, NULL, ENV_TRUST_IDMAP, &user, &err), -1, &err,
            "OCI_IDMAP_USER=env: refused: config.json has no process.user",
            "by default, OCI_IDMAP_USER=env (PUID) is refused without process.user");
  oci_config_free (&cfg);
  cfg = config ("{'annotations':{'oci-idmap-hook/user':'env'},'process':{'env':['PUID=33'],'user':{'uid':0}}}");
  is_success (target_user_from_container (&cfg, NULL, ENV_TRUST_IDMAP, &user, &err), 0, &err,
              "the annotation oci-idmap-hook/user=env still reads PUID");
  ok (user.uid == 33, "PUID is the user");
  oci_config_free (&cfg);
}

int
main (void)
{
  test_parse_mounts ();
  test_parse_limits ();
  test_user_spec ();
  test_from_container ();
  test_env_user ();
  test_scoped_keys ();
  test_pod_sandbox ();
  test_env_trust ();
  return done_testing ();
}
