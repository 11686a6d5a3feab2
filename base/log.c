#define _GNU_SOURCE
#include "log.h"
#include "cleanup.h"
#include "escape.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

bool log_verbose_enabled = false;
static int log_fd = -1;
static char *log_container;

/* An existing log file, accepted only if it is a regular file of the
 * hook's own user with one link: someone else's file (whoever can write
 * the directory could plant one) could carry a lease that fails every open,
 * or hand them what the hook logs.  It is looked at through an O_PATH fd,
 * which neither blocks (a FIFO) nor breaks a lease, then reopened. */
static int
open_existing_log (const char *path, hook_error_t **err)
{
  cleanup_close int pfd = open (path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  struct stat st, st2;
  char self[64];
  int fd;

  if (pfd < 0)
    return make_error (err, errno, "open the log file %s", path);
  if (fstat (pfd, &st) < 0)
    return make_error (err, errno, "stat the log file %s", path);
  if (S_ISFIFO (st.st_mode) || S_ISSOCK (st.st_mode))
    return make_error (err, 0, "the log file %s is a FIFO or socket, not a regular file", path);
  if (!S_ISREG (st.st_mode))
    return make_error (err, 0, "the log file %s is not a regular file", path);
  if (st.st_uid != geteuid () || st.st_nlink != 1)
    {
      make_error (err, 0, "the log file %s is owned by uid %u with %u links, not the hook's own file", path,
                  (unsigned int) st.st_uid, (unsigned int) st.st_nlink);
      return error_hint (err, "remove it, and keep the log in a directory only root can write");
    }
  snprintf (self, sizeof self, "/proc/self/fd/%d", pfd);
  fd = open (self, O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return make_error (err, errno, "open the log file %s", path);
  if (fstat (fd, &st2) < 0 || st2.st_dev != st.st_dev || st2.st_ino != st.st_ino)
    {
      close (fd);
      return make_error (err, 0, "the log file %s changed while it was opened", path);
    }
  return fd;
}

/* A new file is the hook's own; anything already there (O_EXCL opens
 * nothing, not even a FIFO) is looked at first. */
int
log_open_file (const char *path, hook_error_t **err)
{
  int fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0640);

  if (fd < 0 && errno == EEXIST)
    fd = open_existing_log (path, err);
  else if (fd < 0)
    return make_error (err, errno, "open the log file %s", path);
  if (fd < 0)
    return -1;
  if (log_fd >= 0)
    close (log_fd);
  log_fd = fd;
  return 0;
}

void
log_set_container (const char *id)
{
  free (log_container);
  log_container = text_escape (id);
}

/* One write per line, so that concurrent hooks do not interleave. */
static void
write_all (int fd, const char *s, size_t len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, s, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;
      s += n;
      len -= (size_t) n;
    }
}

/* Every line the program prints is escaped here, once: messages carry
 * annotations, config.json paths and file names as raw bytes, and none of
 * them may end the line or reach a terminal as a control sequence. */
void
log_line (const char *raw)
{
  cleanup_free char *line = NULL, *msg = text_escape (raw);
  char stamp[32];
  struct tm tm;
  time_t now;
  int n;

  n = asprintf (&line, "%s: %s\n", program_name, msg);
  if (n > 0)
    write_all (STDERR_FILENO, line, (size_t) n);
  if (log_fd < 0)
    return;
  free (line);
  line = NULL;
  now = time (NULL);
  gmtime_r (&now, &tm);
  strftime (stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  n = asprintf (&line, "%s %s[%d]%s%s: %s\n", stamp, program_name, (int) getpid (),
                log_container ? " container " : "", log_container ? log_container : "", msg);
  if (n > 0)
    write_all (log_fd, line, (size_t) n);
}

void
log_verbose (const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  va_list ap;

  if (!log_verbose_enabled)
    return;
  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  if (msg)
    log_line (msg);
}
