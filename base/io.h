/* Bounded reads and whole writes: the loops every reader and writer of a
 * file descriptor needs (EINTR, short reads and writes, a size cap). */
#ifndef HOOK_IO_H
#define HOOK_IO_H

#include "error.h"

#include <stddef.h>
#include <sys/types.h>

/* Read all of FD from its offset, refusing more than CAP bytes.  *OUT is
 * NUL-terminated (LEN does not count it).  WHAT names the input in errors. */
int read_all_capped (int fd, size_t cap, const char *what, char **out, size_t *len, hook_error_t **err);

/* A small file (a /proc entry) at PATH relative to DIR_FD, into BUF of SIZE
 * bytes, NUL-terminated; what does not fit is left unread.  The length
 * read, or -1 with errno set. */
ssize_t read_small (int dir_fd, const char *path, char *buf, size_t size);

/* Write all LEN bytes of BUF, through short writes and EINTR.  0, or -1 with
 * errno set (by the write that failed; EIO if one wrote nothing). */
int write_all (int fd, const void *buf, size_t len);

#endif
