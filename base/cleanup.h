/* Scope-bound cleanup, so that every early return is leak-free.
 *
 * Declare a resource with one of the cleanup_* attributes; when the variable
 * goes out of scope its destructor runs.  Hand ownership on with
 * steal_pointer() / steal_fd(), which return the value and reset the variable. */
#ifndef HOOK_CLEANUP_H
#define HOOK_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void
cleanup_freep (void *p)
{
  void **pp = p;
  free (*pp);
}

static inline void
cleanup_closep (int *fd)
{
  if (*fd >= 0)
    {
      int saved = errno;
      close (*fd);
      errno = saved;
    }
}

static inline void
cleanup_fclosep (FILE **f)
{
  if (*f)
    fclose (*f);
}

#define cleanup_free __attribute__ ((cleanup (cleanup_freep)))
#define cleanup_close __attribute__ ((cleanup (cleanup_closep)))
#define cleanup_fclose __attribute__ ((cleanup (cleanup_fclosep)))

/* Hand on what *PP points to and reset *PP, keeping its type: PP must be
 * the address of a pointer, so that passing the pointer itself (or the
 * address of anything else) does not compile. */
#define steal_pointer(pp)                                                                                              \
  __extension__({                                                                                                      \
    __typeof__ (*(pp)) *steal_pp_ = (pp);                                                                              \
    __typeof__ (*(pp)) steal_v_ = *steal_pp_;                                                                          \
    _Static_assert(__builtin_classify_type (steal_v_) == 5 /* pointer_type_class */,                                   \
                   "steal_pointer takes the address of a pointer");                                                    \
    *steal_pp_ = NULL;                                                                                                 \
    steal_v_;                                                                                                          \
  })

static inline int
steal_fd (int *fd)
{
  int v = *fd;
  *fd = -1;
  return v;
}

#endif
