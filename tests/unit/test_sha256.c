/* base/sha256.c against the FIPS 180-4 / NIST test vectors, whole and fed
 * in pieces that straddle the 64-byte blocks, and through an fd. */
#define _GNU_SOURCE
#include "base/sha256.h"
#include "helpers.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

static void
hex (const unsigned char *d, char *out)
{
  for (int i = 0; i < SHA256_BYTES; i++)
    sprintf (out + 2 * i, "%02x", d[i]);
}

static void
check (const char *msg, size_t len, size_t step, const char *want, const char *name)
{
  struct sha256 s;
  unsigned char d[SHA256_BYTES];
  char got[2 * SHA256_BYTES + 1];

  sha256_init (&s);
  for (size_t off = 0; off < len; off += step)
    sha256_update (&s, msg + off, len - off < step ? len - off : step);
  sha256_final (&s, d);
  hex (d, got);
  is_str (got, want, "%s (in pieces of %zu)", name, step);
}

int
main (void)
{
  static const char two_blocks[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  static const char four_blocks[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                                    "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
  cleanup_free char *million = malloc (1000000);

  memset (million, 'a', 1000000);
  check ("", 0, 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "the empty string");
  check ("abc", 3, 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "abc");
  for (size_t step = 1; step <= 64; step *= 4)
    check (two_blocks, sizeof two_blocks - 1, step, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
           "448 bits");
  check (four_blocks, sizeof four_blocks - 1, 7, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
         "896 bits");
  check (million, 1000000, 4093, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "a million a's");
  {
    int fd = memfd_create ("sha", 0);
    unsigned char d[SHA256_BYTES];
    char got[2 * SHA256_BYTES + 1];
    uint64_t size = 0;
    ok (fd >= 0 && write (fd, million, 1000000) == 1000000 && sha256_fd_max (fd, UINT64_MAX, d, &size) == 0,
        "an fd is read");
    hex (d, got);
    is_str (got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
            "from offset 0, whatever its offset");
    is_int ((long long) size, 1000000, "its size is what was read");
    close (fd);
  }
  return done_testing ();
}
