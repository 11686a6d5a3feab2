#define _GNU_SOURCE
#include "io.h"
#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int
read_all_capped (int fd, size_t cap, const char *what, char **out, size_t *len, hook_error_t **err)
{
  size_t size = 0, alloc = 4096;
  cleanup_free char *buf = malloc (alloc + 1);

  if (buf == NULL)
    return make_error (err, ENOMEM, "read %s", what);
  for (;;)
    {
      ssize_t n;
      if (size == alloc)
        {
          char *bigger;
          alloc *= 2;
          bigger = realloc (buf, alloc + 1);
          if (bigger == NULL)
            return make_error (err, ENOMEM, "read %s", what);
          buf = bigger;
        }
      n = read (fd, buf + size, alloc - size);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return make_error (err, errno, "read %s", what);
      if (n == 0)
        break;
      size += (size_t) n;
      if (size > cap)
        return make_error (err, 0, "%s is larger than %zu bytes", what, cap);
    }
  buf[size] = '\0';
  *len = size;
  *out = steal_pointer (&buf);
  return 0;
}

ssize_t
read_small (int dir_fd, const char *path, char *buf, size_t size)
{
  cleanup_close int fd = openat (dir_fd, path, O_RDONLY | O_CLOEXEC);
  size_t got = 0;

  if (fd < 0)
    return -1;
  while (got + 1 < size)
    {
      ssize_t n = read (fd, buf + got, size - 1 - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      if (n == 0)
        break;
      got += (size_t) n;
    }
  buf[got] = '\0';
  return (ssize_t) got;
}

int
write_all (int fd, const void *buf, size_t len)
{
  const char *p = buf;

  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      if (n == 0)
        {
          errno = EIO;
          return -1;
        }
      p += n;
      len -= (size_t) n;
    }
  return 0;
}
