/* hook/run/stage.c's run_stage on the paths that end early: every struct it
 * holds must be freed once and only once, initialised or not reached.
 *
 * run_stage enters the sandbox first; this file defines seccomp_load and
 * cap_set_proc (run_stage's calls bind to them) so that the test process
 * keeps what ASan's leak check at exit needs.  The stack is painted before
 * each call, so that a struct freed before it was set holds garbage, not
 * whatever zeros were there, and the free crashes under ASan every time.
 * LeakSanitizer at exit fails the test on anything left allocated.
 * Needs root (the sandbox drops capabilities from the bounding set). */
#define _GNU_SOURCE
#include "helpers.h"
#include "hook/run/stage.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int
seccomp_load (const scmp_filter_ctx ctx)
{
  (void) ctx;
  return 0;
}

int
cap_set_proc (cap_t caps)
{
  (void) caps;
  return 0;
}

static char tmp[] = "/tmp/test_stage.XXXXXX";

static void __attribute__ ((noinline)) paint_stack (void)
{
  volatile unsigned char junk[64 * 1024];
  for (size_t i = 0; i < sizeof junk; i++)
    junk[i] = 0xa5;
}

/* An fd holding STATE (a file, so that a large one does not block). */
static int
state_fd (const char *state)
{
  int fd = memfd_create ("state", MFD_CLOEXEC);
  size_t len = strlen (state);
  if (fd < 0 || write (fd, state, len) != (ssize_t) len || lseek (fd, 0, SEEK_SET) < 0)
    abort ();
  return fd;
}

static int
run (const char *state, const char *policy, hook_error_t **err)
{
  struct hook_options opts = { .policy_path = policy };
  cleanup_close int fd = state_fd (state);
  paint_stack ();
  return run_stage ("prestart", fd, &opts, err);
}

static void
write_file (const char *path, const char *text)
{
  FILE *f = fopen (path, "we");
  if (f == NULL || fputs (text, f) < 0 || fclose (f) != 0)
    abort ();
}

int
main (void)
{
  hook_error_t *err = NULL;
  cleanup_free char *bundle = NULL, *state = NULL, *policy = NULL, *bad_policy = NULL, *cfg = NULL, *big = NULL;
  int rc;

  if (geteuid () != 0)
    {
      printf ("1..0 # SKIP needs root\n");
      return 0;
    }
  if (mkdtemp (tmp) == NULL || asprintf (&bundle, "%s/bundle", tmp) < 0 || mkdir (bundle, 0700) < 0
      || asprintf (&cfg, "%s/config.json", bundle) < 0 || asprintf (&policy, "%s/policy.json", tmp) < 0
      || asprintf (&bad_policy, "%s/bad.json", tmp) < 0
      || asprintf (&state, "{\"ociVersion\":\"1.0.2\",\"id\":\"t\",\"status\":\"created\",\"pid\":1,\"bundle\":\"%s\"}",
                   bundle)
             < 0)
    abort ();
  /* A policy with allocations of its own (the sources), to be leaked if
   * some path forgets it. */
  write_file (policy, "{\"allowedSources\":[\"/srv\",\"/home\"],\"defaultMounts\":\"/x\"}");
  write_file (bad_policy, "{\"allowedModes\":[\"nope\"]}");

  rc = run (state, policy, &err);
  is_error (rc, -1, &err, "config.json': No such file or directory", "a bundle without config.json: one error");

  if (mkdir (cfg, 0700) < 0)
    abort ();
  rc = run (state, policy, &err);
  is_error (rc, -1, &err, "config.json' is not a regular file", "a config.json that cannot be read: one error");
  rmdir (cfg);

  write_file (cfg, "{\"ociVersion\":");
  rc = run (state, policy, &err);
  is_error (rc, -1, &err, "config.json", "a config.json that does not parse: one error");
  unlink (cfg);

  rc = run (state, bad_policy, &err);
  is_error (rc, -1, &err, "allowedModes[0] must be one of", "a policy that does not parse: one error");

  big = malloc (2 * 1024 * 1024);
  if (big == NULL)
    abort ();
  memset (big, ' ', 2 * 1024 * 1024 - 1);
  big[2 * 1024 * 1024 - 1] = '\0';
  rc = run (big, policy, &err);
  is_error (rc, -1, &err, "larger than", "an oversized state after the policy was loaded: one error");

  rc = run ("{\"id\":", policy, &err);
  is_error (rc, -1, &err, "container state", "a state that does not parse: one error");

  unlink (policy);
  unlink (bad_policy);
  rmdir (bundle);
  rmdir (tmp);
  return done_testing ();
}
