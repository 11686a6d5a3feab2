/* hook/system/mountinfo.c: parsing /proc/PID/mountinfo and finding the mount at a path. */
#define _GNU_SOURCE
#include "helpers.h"
#include "hook/system/mountinfo.h"

/* Parse a copy of TEXT into MI (owned by MI: free with mountinfo_free). */
static int
parse (const char *text, struct mountinfo *mi, hook_error_t **err)
{
  memset (mi, 0, sizeof *mi);
  mi->text = strdup (text);
  return mountinfo_parse (mi->text, mi, err);
}

static void
test_parse (void)
{
  struct mountinfo mi;
  hook_error_t *err = NULL;
  const struct mountinfo_entry *e;

  is_success (parse ("22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
                     "36 35 98:0 /mnt1 /mnt2 rw,noatime shared:1 master:2 - ext3 /dev/root rw,errors=continue\n"
                     "650 600 259:3 /srv/my\\040data /r/my\\040data rw,relatime - ext4 /dev/nvme0n1p3 rw\n"
                     "700 650 0:50 / /r/tab\\011x\\134y rw,idmapped - tmpfs my\\040src rw,uid=0\n",
                     &mi, &err),
              0, &err, "realistic mountinfo lines parse");
  is_int ((long long) mi.n, 4, "every line gives an entry");
  e = &mi.entries[0];
  ok (e->id == 22 && e->parent == 1 && e->major == 0 && e->minor == 21, "ids and device numbers are read");
  ok (strcmp (e->fstype, "sysfs") == 0 && strcmp (e->source, "sysfs") == 0, "fstype and source follow the '-'");
  e = &mi.entries[1];
  ok (e->id == 36 && e->parent == 35 && e->major == 98 && e->minor == 0, "a line with two optional fields is read");
  is_str (e->root, "/mnt1", "root is the fourth field");
  is_str (e->mountpoint, "/mnt2", "the mount point is the fifth field");
  is_str (e->options, "rw,noatime", "per-mount options are the sixth field");
  is_str (e->fstype, "ext3", "optional fields are skipped up to the '-'");
  is_str (e->source, "/dev/root", "the source follows the fstype");
  e = &mi.entries[2];
  ok (e->major == 259 && e->minor == 3, "a line without optional fields is read");
  is_str (e->mountpoint, "/r/my data", "\\040 in the mount point is a space");
  is_str (e->root, "/srv/my data", "\\040 in the root is a space");
  is_str (e->fstype, "ext4", "a line without optional fields finds its fstype");
  e = &mi.entries[3];
  is_str (e->mountpoint, "/r/tab\tx\\y", "\\011 and \\134 are a tab and a backslash");
  is_str (e->source, "my src", "escapes in the source are undone");
  mountinfo_free (&mi);

  is_success (parse ("1 0 8:1 / / rw - ext4 /dev/sda1 rw", &mi, &err), 0, &err, "a last line without newline parses");
  is_int ((long long) mi.n, 1, "a last line without newline is kept");
  mountinfo_free (&mi);
  is_success (parse ("1 0 8:1 / / rw - ext4 /dev/sda1\n", &mi, &err), 0, &err, "a line without super options parses");
  mountinfo_free (&mi);
  is_success (parse ("", &mi, &err), 0, &err, "empty text parses");
  is_int ((long long) mi.n, 0, "empty text has no entries");
  mountinfo_free (&mi);
}

static void
test_malformed (void)
{
  struct mountinfo mi;
  hook_error_t *err = NULL;
  static const struct
  {
    const char *text, *msg, *name;
  } bad[] = {
    { "garbage\n", "cannot parse line 1", "a line of garbage is rejected" },
    { "1 0 8:1 / /a rw shared:1\n", "cannot parse line 1", "a line without the '-' separator is rejected" },
    { "1 0 8:1 / /a rw -\n", "cannot parse line 1", "a line without fstype is rejected" },
    { "1 0 8:1 / /a rw - ext4\n", "cannot parse line 1", "a line without source is rejected" },
    { "x 0 8:1 / /a rw - ext4 /dev/sda1 rw\n", "cannot parse line 1", "a non-numeric mount id is rejected" },
    { "1 y 8:1 / /a rw - ext4 /dev/sda1 rw\n", "cannot parse line 1", "a non-numeric parent id is rejected" },
    { "1 0 801 / /a rw - ext4 /dev/sda1 rw\n", "cannot parse line 1", "a device without ':' is rejected" },
    { "12abc 0 8:1 / /a rw - ext4 /dev/sda1 rw\n", "cannot parse line 1", "a mount id with trailing junk is rejected" },
    { "1 -3 8:1 / /a rw - ext4 /dev/sda1 rw\n", "cannot parse line 1", "a signed parent id is rejected" },
    { "1 0 8:1xyz / /a rw - ext4 /dev/sda1 rw\n", "cannot parse line 1", "a device with trailing junk is rejected" },
    { "4294967296 0 8:1 / /a rw - ext4 /dev/sda1 rw\n", "cannot parse line 1", "a mount id past 32 bits is rejected" },
    { "1 0 8:1 /\n", "cannot parse line 1", "a truncated line is rejected" },
    { "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 8:1 / /a\n", "cannot parse line 2", "errors name the bad line" },
  };

  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      is_error (parse (bad[i].text, &mi, &err), -1, &err, bad[i].msg, "%s", bad[i].name);
      mountinfo_free (&mi);
    }
}

static void
test_find (void)
{
  struct mountinfo mi;
  hook_error_t *err = NULL;
  const struct mountinfo_entry *e;
  static const char *const stacks[] = {
    /* bottom first, as the kernel lists them */
    "1 0 8:1 / /r rw - ext4 /dev/sda1 rw\n"
    "10 1 8:1 /srv/a /r/data rw - ext4 /dev/sda1 rw\n"
    "20 10 0:50 /srv/b /r/data rw,idmapped - ext4 /dev/sda1 rw\n"
    "30 20 0:51 / /r/data/sub rw - tmpfs tmpfs rw\n",
    /* top first */
    "20 10 0:50 /srv/b /r/data rw,idmapped - ext4 /dev/sda1 rw\n"
    "30 20 0:51 / /r/data/sub rw - tmpfs tmpfs rw\n"
    "10 1 8:1 /srv/a /r/data rw - ext4 /dev/sda1 rw\n"
    "1 0 8:1 / /r rw - ext4 /dev/sda1 rw\n",
  };

  for (size_t i = 0; i < sizeof stacks / sizeof stacks[0]; i++)
    {
      parse (stacks[i], &mi, &err);
      error_free (&err);
      e = mountinfo_find (&mi, "/r/data");
      is_int (e ? e->id : -1, 20, "the top of a stack of two mounts is found (%s first)", i ? "top" : "bottom");
      mountinfo_free (&mi);
    }

  parse ("1 0 8:1 / /r rw - ext4 /dev/sda1 rw\n"
         "10 1 8:1 /srv/a /r/my\\040data rw - ext4 /dev/sda1 rw\n",
         &mi, &err);
  error_free (&err);
  e = mountinfo_find (&mi, "/r");
  is_int (e ? e->id : -1, 1, "a mount is found although another is mounted below it");
  e = mountinfo_find (&mi, "/r/my data");
  is_int (e ? e->id : -1, 10, "a mount point with a space is found by its real name");
  ok (mountinfo_find (&mi, "/r/my\\040data") == NULL, "a mount point is not found by its escaped name");
  ok (mountinfo_find (&mi, "/r/") == NULL, "paths are compared exactly");
  ok (mountinfo_find (&mi, "/nowhere") == NULL, "an unmounted path is not found");
  mountinfo_free (&mi);

  /* proc(5): the root of a mount tree may name itself as its parent. */
  parse ("21 21 8:1 / / rw - ext4 /dev/sda1 rw\n22 21 8:2 / /boot rw - ext4 /dev/sda2 rw\n", &mi, &err);
  error_free (&err);
  e = mountinfo_find (&mi, "/boot");
  is_int (e ? e->id : -1, 22, "a mount on a self-parented root is found");
  e = mountinfo_find (&mi, "/");
  is_int (e ? e->id : -1, 21, "a root mount that is its own parent is found");
  mountinfo_free (&mi);
}

static void
test_below (void)
{
  struct mountinfo mi;
  hook_error_t *err = NULL;

  parse ("21 21 8:1 / / rw - ext4 /dev/sda1 rw\n"
         "30 21 8:1 /srv/data /r/data rw - ext4 /dev/sda1 rw\n"
         "31 30 8:1 /etc/app /r/data/x rw - ext4 /dev/sda1 rw\n"
         "32 31 0:7 / /r/data/x/t rw - tmpfs tmpfs rw\n"
         "40 21 8:1 /srv/o /r/other rw - ext4 /dev/sda1 rw\n"
         "50 51 8:1 / /loop/a rw - ext4 /dev/sda1 rw\n"
         "51 50 8:1 / /loop/b rw - ext4 /dev/sda1 rw\n",
         &mi, &err);
  error_free (&err);
  ok (mountinfo_by_id (&mi, 31) == &mi.entries[2], "a mount is found by its id");
  ok (mountinfo_by_id (&mi, 99) == NULL, "an unknown id is not found");
  ok (mountinfo_is_below (&mi, &mi.entries[2], &mi.entries[1]), "a child is below its parent");
  ok (mountinfo_is_below (&mi, &mi.entries[3], &mi.entries[1]), "a grandchild is below its grandparent");
  ok (mountinfo_is_below (&mi, &mi.entries[3], &mi.entries[0]), "every mount is below a self-parented root");
  ok (!mountinfo_is_below (&mi, &mi.entries[1], &mi.entries[1]), "a mount is not below itself");
  ok (!mountinfo_is_below (&mi, &mi.entries[1], &mi.entries[2]), "a parent is not below its child");
  ok (!mountinfo_is_below (&mi, &mi.entries[4], &mi.entries[1]), "a sibling's mount is not below");
  ok (!mountinfo_is_below (&mi, &mi.entries[0], &mi.entries[1]), "the root is below nothing");
  ok (!mountinfo_is_below (&mi, &mi.entries[5], &mi.entries[1]), "parents that form a loop end the search");
  mountinfo_free (&mi);
}

/* Where the host shows E; aborts on ENOMEM. */
static char *
host_path (const struct mountinfo *host, const struct mountinfo_entry *e)
{
  hook_error_t *err = NULL;
  char *p;

  if (mountinfo_host_path (host, e, &p, &err) < 0)
    abort ();
  return p;
}

static void
test_host_path (void)
{
  struct mountinfo host, mi;
  hook_error_t *err = NULL;
  char *p;

  parse ("20 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
         "21 20 0:7 / /srv/t rw - tmpfs tmpfs rw\n"
         "22 20 8:2 /vol /mnt/v rw - ext4 /dev/sdb rw\n",
         &host, &err);
  parse ("1 0 8:1 /etc/app /r/a rw - ext4 /dev/sda1 rw\n"
         "2 0 0:7 / /r/b rw - tmpfs tmpfs rw\n"
         "3 0 0:7 /sub /r/c rw - tmpfs tmpfs rw\n"
         "4 0 8:2 /vol/x /r/d rw - ext4 /dev/sdb rw\n"
         "5 0 0:9 / /r/e rw - tmpfs tmpfs rw\n",
         &mi, &err);
  error_free (&err);
  is_str (p = host_path (&host, &mi.entries[0]), "/etc/app", "a bind of the root filesystem is its root");
  free (p);
  is_str (p = host_path (&host, &mi.entries[1]), "/srv/t",
          "a filesystem's root mounted at M is M, with no trailing slash");
  free (p);
  is_str (p = host_path (&host, &mi.entries[2]), "/srv/t/sub", "a directory in it is below M");
  free (p);
  is_str (p = host_path (&host, &mi.entries[3]), "/mnt/v/x", "a bind of a host bind's directory");
  free (p);
  ok (host_path (&host, &mi.entries[4]) == NULL, "a filesystem the host does not show has no host path");
  mountinfo_free (&host);
  mountinfo_free (&mi);
}

static void
test_option_present (void)
{
  static const struct
  {
    const char *options, *opt;
    bool present;
  } cases[] = {
    { "rw,nosuid,idmapped", "idmapped", true },
    { "idmapped,rw", "idmapped", true },
    { "rw,idmapped,ro", "idmapped", true },
    { "idmapped", "idmapped", true },
    { "rw,nosuid", "idmapped", false },
    { "rw,idmapped2", "idmapped", false },
    { "rw,xidmapped", "idmapped", false },
    { "", "rw", false },
    { "rw,,ro", "ro", true },
    { NULL, "rw", false },
  };

  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    ok (mount_option_present (cases[i].options, cases[i].opt) == cases[i].present, "option %s is %s in \"%s\"",
        cases[i].opt, cases[i].present ? "present" : "absent", cases[i].options ? cases[i].options : "(null)");
}

int
main (void)
{
  test_parse ();
  test_malformed ();
  test_find ();
  test_below ();
  test_host_path ();
  test_option_present ();
  return done_testing ();
}
