/* Mode chown for one mount of a plan: the target ids, the journal, the
 * walk over the hook's private copy of the mount, and the undo if it fails. */
#ifndef HOOK_CHOWN_JOB_H
#define HOOK_CHOWN_JOB_H

#include "base/error.h"
#include "plan.h"
#include "policy.h"

#include <stdbool.h>

struct chown_options
{
  int journal_dir_fd; /* opened on the host side, before entering the container's namespace */
  const char *journal_dir;
  const char *container;
  bool hard_links;      /* --chown-hard-links */
  unsigned int threads; /* 0: one per CPU */
};

/* Give JOB's tree (its detached copy, job->tree_fd) to the container user. */
int chown_job_run (struct mount_job *job, const struct chown_options *co, const struct container_ids *ids,
                   const struct target_user *user, hook_error_t **err);

/* Undo a finished chown_job_run of this run (a later mount failed), and
 * remove its journal. */
int chown_job_undo (struct mount_job *job, const struct chown_options *co, hook_error_t **err);

#endif
