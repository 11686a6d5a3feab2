#define _GNU_SOURCE
#include "log.h"
#include "cleanup.h"
#include "escape.h"
#include "io.h"
#include "trusted.h"

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
  static const struct trust_rule rule = { .flags = O_PATH,
                                          .reopen_flags = O_WRONLY | O_APPEND | O_NONBLOCK,
                                          .type = S_IFREG,
                                          .owner = TRUST_OWNER_SELF,
                                          .one_link = true };
  struct stat st;
  enum trust_verdict verdict;
  int fd = trusted_open (AT_FDCWD, path, &rule, &st, &verdict);

  switch (verdict)
    {
    case TRUST_OK:
      return fd;
    case TRUST_OPEN_FAILED:
      return make_error (err, errno, "open the log file '%s'", path);
    case TRUST_STAT_FAILED:
      return make_error (err, errno, "stat the log file '%s'", path);
    case TRUST_WRONG_TYPE:
      if (S_ISFIFO (st.st_mode) || S_ISSOCK (st.st_mode))
        return make_error (err, 0, "the log file '%s' is a FIFO or socket, not a regular file", path);
      return make_error (err, 0, "the log file '%s' is not a regular file", path);
    case TRUST_NOT_OURS:
      make_error (err, 0, "the log file '%s' is owned by uid %u with %u links, not the hook's own file", path,
                  (unsigned int) st.st_uid, (unsigned int) st.st_nlink);
      return error_hint (err, "remove it, and keep the log in a directory only root can write");
    case TRUST_REPLACED:
    default:
      return make_error (err, 0, "the log file '%s' changed while it was opened", path);
    }
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
    return make_error (err, errno, "open the log file '%s'", path);
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

/* Every line the program prints is escaped here, once: messages carry
 * annotations, config.json paths and file names as raw bytes, and none of
 * them may end the line or reach a terminal as a control sequence.  One
 * write per line, so that concurrent hooks do not interleave.  Like the
 * error machinery, printing has nowhere to report running out of memory:
 * it aborts rather than lose the line. */
void
log_line (const char *raw)
{
  cleanup_free char *line = NULL, *msg = text_escape (raw);
  char stamp[32];
  struct tm tm;
  time_t now;
  int n;

  n = asprintf (&line, "%s: %s\n", program_name, msg);
  if (n < 0)
    abort ();
  (void) write_all (STDERR_FILENO, line, (size_t) n);
  if (log_fd < 0)
    return;
  free (line);
  line = NULL;
  now = time (NULL);
  gmtime_r (&now, &tm);
  strftime (stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  n = asprintf (&line, "%s %s[%d]%s%s: %s\n", stamp, program_name, (int) getpid (), log_container ? " container " : "",
                log_container ? log_container : "", msg);
  if (n < 0)
    abort ();
  (void) write_all (log_fd, line, (size_t) n);
}

void
error_report (hook_error_t **err)
{
  cleanup_free char *line = NULL;

  if (*err == NULL)
    return;
  /* log_line escapes it: a newline or a terminal escape from the input
   * stays inside the one line a runtime shows, as \xNN. */
  line = error_string (*err);
  log_line (line);
  error_free (err);
}

static void vlog_line (const char *fmt, va_list ap) __attribute__ ((format (printf, 1, 0)));

static void
vlog_line (const char *fmt, va_list ap)
{
  cleanup_free char *msg = NULL;

  if (vasprintf (&msg, fmt, ap) < 0)
    abort ();
  log_line (msg);
}

void
log_linef (const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  vlog_line (fmt, ap);
  va_end (ap);
}

void
log_verbose (const char *fmt, ...)
{
  va_list ap;

  if (!log_verbose_enabled)
    return;
  va_start (ap, fmt);
  vlog_line (fmt, ap);
  va_end (ap);
}
