/* Adding this hook to a bundle's config.json, for runtimes and engines that
 * do not read hooks.d (runc, Docker, containerd). */
#ifndef HOOK_INJECT_H
#define HOOK_INJECT_H

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>

struct inject_options
{
  const char *stage;     /* prestart (default) or createRuntime */
  const char *hook_path; /* absolute path of the hook binary */
  /* The hook's own options for the entry, before its stage ("--log",
   * "FILE", ...), checked by the caller (hook/cli's hook_registration). */
  const char *const *args;
  size_t n_args;
  bool remove; /* take our entries out instead */
};

/* What inject_bundle did: the stages given an entry of ours (or, with
 * remove, whose entries it took out).  Neither: nothing was written. */
struct inject_result
{
  bool start, poststop;
};

/* Edit BUNDLE/config.json atomically (temp file + rename, same mode and
 * owner), keeping every other field.  Writes nothing when nothing changes:
 * a second inject leaves the file byte-identical.  A stage list that remove
 * leaves empty goes, and so does a "hooks" object left empty; a list that
 * keeps another tool's entry stays. */
int inject_bundle (const char *bundle, const struct inject_options *opts, struct inject_result *res,
                   hook_error_t **err);

/* The path of the running binary, for the hook entry. */
int inject_self_path (char **out, hook_error_t **err);

#endif
