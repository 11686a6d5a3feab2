/* Adding this hook to a bundle's config.json, for runtimes and engines that
 * do not read hooks.d (runc, Docker, containerd). */
#ifndef HOOK_INJECT_H
#define HOOK_INJECT_H

#include "base/error.h"

#include <stdbool.h>

struct inject_options
{
  const char *stage;       /* prestart (default) or createRuntime */
  const char *hook_path;   /* absolute path of the hook binary */
  const char *policy_path; /* passed on to the hook as --policy, or NULL */
  const char *environment; /* passed on to the hook as --environment, or NULL */
  bool remove;             /* take our entries out instead */
};

/* Edit BUNDLE/config.json atomically (temp file + rename, same mode and
 * owner), keeping every other field.  Writes nothing when nothing changes:
 * a second inject leaves the file byte-identical.  *CHANGED says whether it wrote. */
int inject_bundle (const char *bundle, const struct inject_options *opts, bool *changed, hook_error_t **err);

/* The path of the running binary, for the hook entry. */
int inject_self_path (char **out, hook_error_t **err);

#endif
