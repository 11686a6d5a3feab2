/* SHA-256 (FIPS 180-4), for the journal's content digest of privileged
 * files: restore re-arms setuid/setgid bits and file capabilities only on
 * content that is byte for byte what the walk recorded. */
#ifndef HOOK_SHA256_H
#define HOOK_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_BYTES 32

struct sha256
{
  uint32_t h[8];
  uint64_t len; /* bytes so far */
  unsigned char block[64];
  size_t fill;
};

void sha256_init (struct sha256 *s);
void sha256_update (struct sha256 *s, const void *data, size_t n);
void sha256_final (struct sha256 *s, unsigned char out[SHA256_BYTES]);

/* The digest and size of the content of FD (read with pread, from offset
 * 0), reading no more than MAX bytes: 1 (and no digest) when FD holds more,
 * so that a sparse file of terabytes costs nothing; -1 with errno on a
 * read error. */
int sha256_fd_max (int fd, uint64_t max, unsigned char out[SHA256_BYTES], uint64_t *size);

#endif
