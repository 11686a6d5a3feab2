/* The hook proper: what runs at prestart / createRuntime. */
#ifndef HOOK_STAGE_H
#define HOOK_STAGE_H

#include "admin_policy.h"
#include "base/error.h"
#include "hook/system/rootless.h"
#include "request.h"

#include <stdbool.h>

struct hook_options
{
  bool allow_host_root;
  const char *policy_path; /* --policy; NULL: the default path, if it exists */
  const char *journal_dir; /* NULL: JOURNAL_DEFAULT_DIR */
  bool chown_hard_links;   /* mode chown also changes files with several links */
  unsigned int threads;    /* mode chown's walkers; 0: one per CPU */
  bool env_trust_set;      /* --environment: replaces the policy's "environment" */
  enum env_trust env_trust;
  const char *default_mounts; /* --default-mounts: replaces the policy's defaultMounts */
};

/* The policy the hook runs with: OPTS->policy_path (which must then exist),
 * else DEFAULT_PATH if it exists; then the hook's own options over the
 * file's (--allow-host-root, --environment, --default-mounts).  The doctor reads a bundle's
 * hook entry through this too. */
int hook_policy_load (const struct hook_options *opts, const char *default_path, struct admin_policy *pol,
                      hook_error_t **err);

struct oci_config;

/* What the container asks of the hook, after the policy: its annotations,
 * else its environment as far as POL->env_trust lets it ask, else POL's
 * defaultMounts.  REQ->n == 0: nothing asked. */
int hook_request (const struct oci_config *cfg, const char **state_annotations, const struct admin_policy *pol,
                  struct request *req, hook_error_t **err);

/* The second half of that: POL's defaultMounts into REQ, if it has them. */
int hook_default_request (const struct admin_policy *pol, struct request *req, hook_error_t **err);

/* True for the stages this hook serves: prestart, createRuntime, and
 * poststop (which restores the mounts of mode chown+restore). */
bool stage_known (const char *stage);

/* Apply hook/system/privilege.c's sequence (all but closing fds, which main does
 * first) and, with --verbose, say what is in force. */
int enter_sandbox (hook_error_t **err);

/* The administrator's policy (the rootless user's own under a rootless
 * engine, below the home), with what the hook knows of where it runs: what
 * the hook reads, for the commands that must agree with it.  RL and
 * *ROOTLESS_JOURNAL, which POL may point to, belong to the caller. */
int stage_load_policy (const struct hook_options *opts, struct rootless *rl, char **rootless_journal,
                       struct admin_policy *pol, hook_error_t **err);

/* The journal directory: OPTS's, the policy's (for a rootless user, below
 * the home when the policy names none), then the default. */
const char *stage_journal_dir (const struct hook_options *opts, const struct admin_policy *pol);

/* Read the state from STATE_FD, the bundle's config.json, and fix the mounts
 * the container asked for.  Returns 0 when done or when nothing was asked.
 * A stopped container's state (poststop; hooks.d passes the same STAGE
 * argument to every stage) restores what mode chown+restore changed. */
int run_stage (const char *stage, int state_fd, const struct hook_options *opts, hook_error_t **err);

#endif
