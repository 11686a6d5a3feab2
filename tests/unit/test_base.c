/* base/: steal_pointer keeps its argument's type, the lexical path helpers,
 * the small read and whole write of base/io.c, and str_reserve's growth. */
#define _GNU_SOURCE
#include "base/cleanup.h"
#include "base/io.h"
#include "base/path.h"
#include "base/str.h"
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct thing
{
  int n;
};

static void
test_steal_pointer (void)
{
  cleanup_free char *s = strdup ("x");
  cleanup_free struct thing *t = calloc (1, sizeof *t);
  struct thing *kept = t;

  /* Checked by the compiler: steal_pointer (&p) has p's type, not void *. */
  _Static_assert(__builtin_types_compatible_p (__typeof__ (steal_pointer (&s)), char *), "keeps char *");
  _Static_assert(__builtin_types_compatible_p (__typeof__ (steal_pointer (&t)), struct thing *), "keeps the type");
  {
    cleanup_free struct thing *got = steal_pointer (&t);
    ok (got == kept && t == NULL, "steal_pointer returns the pointer and resets the variable");
  }
  {
    cleanup_free char *got = steal_pointer (&s);
    is_str (got, "x", "steal_pointer of a string hands the string on");
    ok (s == NULL, "and leaves NULL behind, so the scope frees nothing twice");
  }
}

static void
test_normalize_dest (void)
{
  static const struct
  {
    const char *in, *out;
  } good[] = {
    { "/", "/" },    { "//", "/" },        { "/data/", "/data" }, { "/a//b/./c/", "/a/b/c" },
    { "/./.", "/" }, { "/a/.b", "/a/.b" },
  };
  hook_error_t *err = NULL;
  char *norm = NULL;

  for (size_t i = 0; i < sizeof good / sizeof *good; i++)
    {
      is_success (normalize_dest (good[i].in, &norm, &err), 0, &err, "normalize_dest takes %s", good[i].in);
      is_str (norm, good[i].out, "%s becomes %s", good[i].in, good[i].out);
      free (norm);
      norm = NULL;
    }
  is_error (normalize_dest ("data", &norm, &err), -1, &err, "\"data\" is not an absolute container path",
            "a relative path is refused");
  is_error (normalize_dest ("/a/../b", &norm, &err), -1, &err, "\"/a/../b\" contains \"..\"", "\"..\" is refused");
  ok (norm == NULL, "nothing is returned for a refused path");
}

static void
test_path_is_under (void)
{
  ok (path_is_under ("/srv/data", "/srv"), "a path below a root is under it");
  ok (path_is_under ("/srv", "/srv"), "a path is under itself");
  ok (!path_is_under ("/srvx", "/srv"), "a sibling sharing a prefix is not under it");
  ok (!path_is_under ("/", "/srv"), "a parent is not under its child");
  ok (path_is_under ("/anything", "/"), "everything absolute is under /");
}

static void
test_io (void)
{
  char path[] = "/tmp/test_base.XXXXXX", buf[8];
  int fd = mkstemp (path);

  ok (fd >= 0, "a temporary file");
  is_int (write_all (fd, "0123456789", 10), 0, "write_all writes every byte");
  is_int ((long long) read_small (AT_FDCWD, path, buf, sizeof buf), 7, "read_small reads what fits, less the NUL");
  is_str (buf, "0123456", "and ends it with a NUL");
  is_int ((long long) read_small (AT_FDCWD, "/nonexistent/x", buf, sizeof buf), -1, "read_small of no file fails");
  is_int (errno, ENOENT, "with open's errno");
  close (fd);
  unlink (path);
  fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  ok (write_all (fd, "x", 1) < 0 && errno == EBADF, "write_all to a read-only fd fails with write's errno");
  close (fd);
}

static void
test_str_reserve (void)
{
  size_t cap = 0, len = 0;
  char *buf = NULL, *p;

  for (int i = 0; i < 1000; i++)
    {
      if ((p = str_reserve (buf, len, &cap, 7)) == NULL)
        break;
      buf = p;
      memcpy (buf + len, "abcdef", 7);
      len += 7;
    }
  ok (len == 7000 && cap >= len && memcmp (buf + 6993, "abcdef", 7) == 0 && memcmp (buf, "abcdef", 7) == 0,
      "str_reserve grows a buffer from nothing and keeps what it holds (cap %zu for %zu bytes)", cap, len);
  ok (str_reserve (buf, len, &cap, cap - len) == buf, "and leaves it where it is when the room is there");
  free (buf);
}

int
main (void)
{
  test_steal_pointer ();
  test_normalize_dest ();
  test_path_is_under ();
  test_io ();
  test_str_reserve ();
  return done_testing ();
}
