/* The administrator's policy: parsing, the deny list, allowedSources. */
#include "helpers.h"
#include "hook/run/admin_policy.h"
#include "tap.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int
parse (const char *json, struct admin_policy *pol, hook_error_t **err)
{
  cleanup_free char *text = json_q (json);
  return admin_policy_parse (text, strlen (text), "policy.json", pol, err);
}

static void
test_deny_list (void)
{
  struct admin_policy pol;
  hook_error_t *err = NULL;
  static const struct
  {
    const char *path, *msg;
  } denied[] = {
    { "/", "the host's root directory is never served" },
    { "/etc", "under /etc (built-in deny list)" },
    { "/etc/ssl/private", "under /etc (built-in deny list)" },
    { "/lib64/x", "under /lib64 (built-in deny list)" },
    { "/libexec", "under /libexec (built-in deny list)" },
    { "/var/run/docker", "under /var/run (built-in deny list)" },
    { "/root/.ssh", "under /root (built-in deny list)" },
    { "/run", "under /run (built-in deny list)" },
  };
  static const char *const allowed[] = { "/srv/data", "/etcetera", "/home/u/run", "/var/lib/x", "/rooted", "/tmp" };

  parse ("{}", &pol, &err);
  for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++)
    is_error (admin_policy_check_source (&pol, denied[i].path, &err), -1, &err, denied[i].msg, "%s is refused",
              denied[i].path);
  for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
    is_success (admin_policy_check_source (&pol, allowed[i], &err), 0, &err, "%s is served by default", allowed[i]);
  for (int m = 0; m < MODE_COUNT; m++)
    is_success (admin_policy_check_mode (&pol, (enum mount_mode) m, &err), 0, &err, "mode %s is allowed by default",
                mode_name ((enum mount_mode) m));
  admin_policy_free (&pol);
}

static void
test_allowed_sources (void)
{
  struct admin_policy pol;
  hook_error_t *err = NULL;

  is_success (parse ("{'allowedSources':['/srv/','/run/media'],'allowedModes':['idmap'],'allowHostRoot':true,"
                     "'defaultMounts':'*','journalDir':'/j'}",
                     &pol, &err),
              0, &err, "a full policy parses");
  is_success (admin_policy_check_source (&pol, "/srv/a", &err), 0, &err, "a source under an allowed root is served");
  is_success (admin_policy_check_source (&pol, "/run/media/usb", &err), 0, &err,
              "a path listed inside a denied tree is served");
  is_error (admin_policy_check_source (&pol, "/run/user/1000", &err), -1, &err, "not under any of allowedSources",
            "the rest of the denied tree is still refused");
  is_error (admin_policy_check_source (&pol, "/srvx", &err), -1, &err, "not under any of allowedSources",
            "a sibling with the same prefix is not under the allowed root");
  is_error (admin_policy_check_mode (&pol, MODE_NSMAP, &err), -1, &err, "mode nsmap is not in allowedModes",
            "a mode left out is refused");
  is_error (admin_policy_check_source (&pol, "/srvx", &err), -1, &err,
            "the source '/srvx' is not under any of allowedSources in 'policy.json'; add the directory to "
            "allowedSources in 'policy.json', or use a source under one it lists",
            "a source refusal says what to change");
  is_error (admin_policy_check_mode (&pol, MODE_NSMAP, &err), -1, &err,
            "; ask for a mode it lists (idmap), or add nsmap to allowedModes in 'policy.json'",
            "a mode refusal says which modes to ask for, or what to allow");
  is_error (admin_policy_check_source (&pol, "/", &err), -1, &err, "; use a directory below it as the source",
            "the host's root is refused with what to use instead");
  ok (pol.allow_host_root, "allowHostRoot is read");
  is_str (pol.default_mounts, "*", "defaultMounts is read");
  is_str (pol.journal_dir, "/j", "journalDir is read");
  admin_policy_free (&pol);

  parse ("{'allowedSources':['/']}", &pol, &err);
  is_error (admin_policy_check_source (&pol, "/etc/x", &err), -1, &err, "under /etc (built-in deny list)",
            "allowing / does not open the denied trees");
  admin_policy_free (&pol);
}

/* Every mode, chown+restore too, can be allowed alone and is then the only
 * one allowed; allowHostRoot is a field of its own, never read for a mode. */
static void
test_allowed_modes_cover_every_mode (void)
{
  for (int m = 0; m < MODE_COUNT; m++)
    {
      const char *name = mode_name ((enum mount_mode) m);
      enum mount_mode back = MODE_COUNT;
      ok (mode_parse (name, strlen (name), &back) == 0 && back == (enum mount_mode) m,
          "the mode name %s parses back to its mode", name);
    }
  for (int m = 0; m < MODE_COUNT; m++)
    {
      struct admin_policy pol;
      hook_error_t *err = NULL;
      char text[128];
      snprintf (text, sizeof text, "{'allowedModes':['%s'],'allowHostRoot':true}", mode_name ((enum mount_mode) m));
      is_success (parse (text, &pol, &err), 0, &err, "allowedModes [\"%s\"] parses", mode_name ((enum mount_mode) m));
      for (int other = 0; other < MODE_COUNT; other++)
        if (other == m)
          is_success (admin_policy_check_mode (&pol, (enum mount_mode) other, &err), 0, &err,
                      "with only %s allowed, %s is allowed", mode_name ((enum mount_mode) m),
                      mode_name ((enum mount_mode) other));
        else
          is_error (admin_policy_check_mode (&pol, (enum mount_mode) other, &err), -1, &err, "not in allowedModes",
                    "with only %s allowed, %s is refused", mode_name ((enum mount_mode) m),
                    mode_name ((enum mount_mode) other));
      admin_policy_free (&pol);
    }
}

/* A tree the host shows at several paths is judged at all of them. */
static void
test_source_aliases (void)
{
  struct admin_policy pol;
  hook_error_t *err = NULL;
  const char *bound_denied[] = { "/srv/etc", "/etc" };
  const char *rootfs_twice[] = { "/srv/x", "/host/srv/x" };
  const char *allowed_inside[] = { "/run/media/usb", "/srv/usb" };

  is_success (parse ("{'allowedSources':['/srv','/run/media']}", &pol, &err), 0, &err, "a policy parses");
  is_error (admin_policy_check_source_paths (&pol, bound_denied, 2, &err), -1, &err,
            "the source '/etc' is under /etc (built-in deny list)",
            "a denied tree bound below an allowed one is refused");
  is_success (admin_policy_check_source_paths (&pol, rootfs_twice, 2, &err), 0, &err,
              "one name under allowedSources is enough when no name is denied");
  is_success (admin_policy_check_source_paths (&pol, allowed_inside, 2, &err), 0, &err,
              "a path listed inside a denied tree is served under both its names");
  admin_policy_free (&pol);
  is_success (parse ("{}", &pol, &err), 0, &err, "the defaults parse");
  is_error (admin_policy_check_source_paths (&pol, bound_denied, 2, &err), -1, &err, "under /etc",
            "without allowedSources a denied name still refuses");
  admin_policy_free (&pol);
}

static void
test_bad_files (void)
{
  static const struct
  {
    const char *json, *msg, *name;
  } bad[] = {
    { "{'allowHostRooot':true}", "unknown key \"allowHostRooot\"", "a misspelt key is refused" },
    { "{'allowedSources':'/srv'}", "\"allowedSources\" must be an array", "allowedSources must be a list" },
    { "{'allowedSources':['srv']}", "is not an absolute container path", "a relative source root is refused" },
    { "{'allowedSources':['/a/../etc']}", "contains \"..\"", "'..' in a source root is refused" },
    { "{'allowedModes':['all']}", "allowedModes[0] must be one of", "an unknown mode is refused" },
    { "{'allowHostRoot':'yes'}", "must be true or false", "allowHostRoot must be a boolean" },
    { "{'journalDir':'j'}", "must be an absolute path", "a relative journal directory is refused" },
    { "{'defaultMounts':1}", "\"defaultMounts\" must be a string", "defaultMounts must be a string" },
    { "{'environment':'yes'}", "\"environment\" must be one of off, idmap, full, not \"yes\"",
      "an unknown environment level is refused" },
    { "{'environment':true}", "\"environment\" must be a string", "environment must be a string" },
    { "[]", "expected a JSON object", "a policy that is not an object is refused" },
  };
  struct admin_policy pol;
  hook_error_t *err = NULL;

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      is_error (parse (bad[i].json, &pol, &err), -1, &err, bad[i].msg, "%s", bad[i].name);
      admin_policy_free (&pol);
    }
  is_success (admin_policy_load ("/nonexistent/policy.json", false, &pol, &err), 0, &err,
              "a missing default policy file gives the defaults");
  ok (pol.path == NULL && pol.n_allowed == 0 && !pol.allow_host_root, "the defaults allow no host root");
  admin_policy_free (&pol);
  is_error (admin_policy_load ("/nonexistent/policy.json", true, &pol, &err), -1, &err,
            "open the policy file '/nonexistent/policy.json': No such file", "a missing named policy file is an error");
  admin_policy_free (&pol);
}

/* The environment is a request channel as far as "environment" says. */
static void
test_environment (void)
{
  struct admin_policy pol;
  hook_error_t *err = NULL;
  char text[64];

  is_success (parse ("{}", &pol, &err), 0, &err, "an empty policy parses");
  is_int (pol.env_trust, ENV_TRUST_IDMAP, "by default the environment may ask for idmap and nsmap only");
  admin_policy_free (&pol);
  for (int t = 0; t < ENV_TRUST_COUNT; t++)
    {
      snprintf (text, sizeof text, "{'environment':'%s'}", env_trust_name ((enum env_trust) t));
      is_success (parse (text, &pol, &err), 0, &err, "environment %s parses", env_trust_name ((enum env_trust) t));
      is_int (pol.env_trust, t, "and is read");
      admin_policy_free (&pol);
    }
}

/* A policy file only root can change, and never one that blocks. */
static void
test_load_checks (void)
{
  char dir[] = "/tmp/test_admin_policy.XXXXXX", path[64], sub[64], subpath[80];
  struct admin_policy pol;
  hook_error_t *err = NULL;
  int fd;

  if (mkdtemp (dir) == NULL)
    abort ();
  snprintf (path, sizeof path, "%s/policy.json", dir);
  if (mkfifo (path, 0600) < 0)
    abort ();
  is_error (admin_policy_load (path, true, &pol, &err), -1, &err, "is not a regular file",
            "a FIFO at the policy path is refused at once");
  admin_policy_free (&pol);
  unlink (path);
  fd = open (path, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0 || write (fd, "{}", 2) != 2)
    abort ();
  close (fd);
  is_success (admin_policy_load (path, true, &pol, &err), 0, &err, "a policy file of ours, mode 0644, is read");
  admin_policy_free (&pol);
  chmod (path, 0664);
  is_error (admin_policy_load (path, true, &pol, &err), -1, &err,
            "mode 0664: it must be owned by root and not writable by group or others",
            "a group-writable policy file is refused");
  admin_policy_free (&pol);
  chmod (path, 0644);
  if (geteuid () == 0 && chown (path, 65534, 65534) == 0)
    is_error (admin_policy_load (path, true, &pol, &err), -1, &err, "is owned by uid 65534",
              "a policy file owned by another user is refused");
  else
    ok (1, "# SKIP chown needs root");
  admin_policy_free (&pol);
  unlink (path);

  snprintf (sub, sizeof sub, "%s/open", dir);
  snprintf (subpath, sizeof subpath, "%s/policy.json", sub);
  if (mkdir (sub, 0700) < 0 || chmod (sub, 0777) < 0 || (fd = open (subpath, O_WRONLY | O_CREAT, 0644)) < 0
      || write (fd, "{}", 2) != 2)
    abort ();
  close (fd);
  is_error (admin_policy_load (subpath, false, &pol, &err), -1, &err, "the policy's directory",
            "a policy in a directory others may write is refused");
  admin_policy_free (&pol);
  chmod (sub, 01777);
  is_success (admin_policy_load (subpath, true, &pol, &err), 0, &err, "a sticky directory is fine");
  admin_policy_free (&pol);
  unlink (subpath);
  rmdir (sub);
  rmdir (dir);
}

/* The policy names its file in every refusal: it keeps its own copy of the
 * name, which the caller (the rootless policy path, say) may free first. */
static void
test_path_outlives_caller (void)
{
  cleanup_admin_policy struct admin_policy pol = { 0 };
  hook_error_t *err = NULL;
  char *where = strdup ("/home/u/.config/oci-idmap-hook/policy.json");

  ok (where && admin_policy_parse ("{\"allowedSources\": [\"/srv\"]}", 28, where, &pol, &err) == 0,
      "a policy parses from a name the caller owns");
  if (where)
    memset (where, 'X', strlen (where));
  free (where);
  ok (pol.path && strcmp (pol.path, "/home/u/.config/oci-idmap-hook/policy.json") == 0,
      "its name survives the caller's copy");
  is_error (admin_policy_check_source (&pol, "/opt/x", &err), -1, &err,
            "allowedSources in '/home/u/.config/oci-idmap-hook/policy.json'", "and a refusal names that file");
}

int
main (void)
{
  test_deny_list ();
  test_allowed_sources ();
  test_allowed_modes_cover_every_mode ();
  test_source_aliases ();
  test_bad_files ();
  test_environment ();
  test_load_checks ();
  test_path_outlives_caller ();
  return done_testing ();
}
