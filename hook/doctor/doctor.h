/* oci-idmap-hook doctor: what a container will see of its files, and
 * why it would fail, found without changing anything.
 *
 *   doctor_acl.c       POSIX ACLs, and who is in which group (pure)
 *   doctor_access.c    how an id and a mode look to the target user (pure)
 *   doctor_findings.c  the problems and ids found, and the verdict
 *   doctor_engine.c    which engine made the bundle, and how a container
 *                      asks the hook there
 *   doctor_mount.c     each bind mount: its source on the host, before and
 *                      after the hook, and the annotation that fixes it
 *   doctor_scan.c      the read-only walk of the root filesystem
 *   doctor_report.c    the text and JSON reports
 *   doctor.c           the facts it gathers, from a bundle or the options
 *   doctor_stack.c     containers an engine describes (compose, inspect),
 *                      judged one by one, and the fix in the engine's terms
 *   doctor_compose.c   `docker compose config --format json` into a stack
 *   doctor_inspect.c   `docker|podman container inspect` into a stack
 * Each file calls only files listed above it, so none call each other.  The
 * command line is hook/cli/doctor_command.c. */
#ifndef HOOK_DOCTOR_H
#define HOOK_DOCTOR_H

#include "base/error.h"
#include "hook/run/admin_policy.h"
#include "hook/run/policy.h"
#include "hook/run/request.h"
#include "hook/run/stage.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* What the kernel shows for an unmapped id (/proc/sys/kernel/overflowuid). */
#define DOCTOR_OVERFLOW_ID 65534

enum
{
  ACCESS_R = 4,
  ACCESS_W = 2,
  ACCESS_X = 1,
};

/* How a file's owner looks from inside the container. */
struct doctor_view
{
  uint32_t uid, gid;
  bool uid_unmapped, gid_unmapped; /* shown as DOCTOR_OVERFLOW_ID */
  unsigned access;                 /* ACCESS_* for the target user */
};

/* The container id an on-disk id shows as: through MOUNT_MAP (on-disk ->
 * host; NULL for a plain bind mount), then the container's NS_MAP
 * (container -> host) backwards.  False, with *SHOWN = overflow, if unmapped. */
bool doctor_id_inside (const struct idmap *mount_map, const struct idmap *ns_map, uint32_t disk_id, uint32_t *shown);

/* Who asks: the target user, its supplementary groups, and whether it is
 * root in the container with CAP_DAC_OVERRIDE (PRIVILEGED), which the
 * kernel honours only for files whose uid and gid are mapped. */
struct doctor_subject
{
  const struct target_user *user;
  const uint32_t *groups;
  size_t n_groups;
  bool privileged;
};

/* Is GID (as the container sees it) the user's group or a supplementary one? */
bool doctor_in_groups (const struct doctor_subject *who, uint32_t gid);

/* A POSIX access ACL (the system.posix_acl_access xattr): ids on disk, or
 * as the container sees them (UNMAPPED: shown as nobody, matches no one). */
enum
{
  ACL_TAG_USER_OBJ = 0x01,
  ACL_TAG_USER = 0x02,
  ACL_TAG_GROUP_OBJ = 0x04,
  ACL_TAG_GROUP = 0x08,
  ACL_TAG_MASK = 0x10,
  ACL_TAG_OTHER = 0x20,
};

struct doctor_acl_entry
{
  unsigned tag, perm; /* perm: ACCESS_* */
  uint32_t id;        /* for ACL_TAG_USER and ACL_TAG_GROUP */
  bool unmapped;
};

struct doctor_acl
{
  struct doctor_acl_entry *e;
  size_t n; /* 0: none, the mode bits decide */
};

/* Parse the xattr's bytes; -1 if they are not an ACL. */
int doctor_acl_parse (const void *buf, size_t len, struct doctor_acl *acl);
void doctor_acl_free (struct doctor_acl *acl);
#define cleanup_doctor_acl __attribute__ ((cleanup (doctor_acl_free))) /* on a zeroed struct */

/* ACCESS_* that WHO gets from ACL (ids as the container sees them) on a
 * file shown as owned by VIEW. */
unsigned doctor_acl_access (const struct doctor_acl *acl, const struct doctor_view *view,
                            const struct doctor_subject *who);

/* ACCESS_* that WHO gets on a file of MODE shown as owned by VIEW, with its
 * ACL (NULL or empty: the mode bits). */
unsigned doctor_access_for (const struct doctor_view *view, mode_t mode, const struct doctor_acl *acl,
                            const struct doctor_subject *who);

/* "rwx", "r-x", ... for ACCESS; BUF has room for 4 bytes. */
const char *doctor_access_text (unsigned access, char buf[4]);

/* Ids found on disk, grouped with a count and the first paths of each.
 * Fixed size: a tree with more distinct ids counts the rest in other_*. */
#define ID_TABLE_MAX 64
#define ID_TABLE_PATHS 3

struct id_group
{
  uint32_t id;
  uint64_t count;
  char *paths[ID_TABLE_PATHS];
};

struct id_table
{
  struct id_group groups[ID_TABLE_MAX];
  size_t n;
  uint64_t other_files; /* files whose id did not fit in the table */
};

/* Count one file owned by ID.  Returns the slot where the caller stores the
 * file's malloc'd path (the table then owns it), or NULL when the group
 * already has its first paths or the table is full. */
char **id_table_count (struct id_table *t, uint32_t id);
void id_table_free (struct id_table *t);

/* A bind mount of the container, and what the doctor finds for it. */
struct doctor_mount
{
  const char *source; /* as the engine wrote it */
  char *dest;         /* normalised */
  bool readonly;
  bool asked; /* the container asks the hook for it */
  struct mount_policy policy;
  bool runtime_idmapped;                           /* the runtime idmaps it itself ... */
  const struct idmap *runtime_uids, *runtime_gids; /* ... so (on disk -> host), or NULL: unknown */

  /* The source on the host, by lstat. */
  int stat_errno;
  uint32_t owner_uid, owner_gid;
  mode_t mode;
  struct doctor_acl acl; /* its access ACL, ids on disk */

  /* Findings. */
  struct doctor_view before, after;
  const char *action;            /* "not asked", a mode's name, "left as it is", "refuses" */
  bool chowns;                   /* the hook would give the tree on disk ... */
  uint32_t chown_uid, chown_gid; /* ... to these ids */
  char *hook_note;               /* why it is left or refused */
  char *problem;                 /* one line, or NULL when the mount works */
  char *fix;                     /* what to do about it */
  bool fix_is_annotation;        /* FIX is: ask the hook for DEST in mode idmap */
};

struct doctor_problem
{
  char *where;
  char *what;
  char *fix;    /* may be NULL */
  bool warning; /* reported, but the container still works */
};

struct doctor_scan
{
  bool done;
  char *error;   /* why the scan could not run */
  bool host_ids; /* ids on disk are already host ids (a shifted rootfs) */
  uint64_t files, other_mounts, too_deep, unreadable;
  struct id_table uids, gids; /* ids outside the mapping */
  uint64_t setid_count;       /* setuid/setgid files whose owner shows as nobody */
  char *setid_paths[ID_TABLE_PATHS];
};

/* The engines whose way of asking the doctor knows. */
enum doctor_engine_kind
{
  ENGINE_UNKNOWN,
  ENGINE_DOCKER,     /* annotations from Docker 24 on; before, only the environment */
  ENGINE_PODMAN,     /* --annotation */
  ENGINE_CONTAINERD, /* ctr: the spec's annotations */
  ENGINE_CRI,        /* a Kubernetes pod (CRI-O, containerd's CRI): pod annotations */
  ENGINE_COUNT,
};

struct doctor_engine
{
  enum doctor_engine_kind kind;
  const char *why;           /* how it was told, for the report */
  const char *pod_container; /* the container's name in its pod, or NULL */
};

struct doctor
{
  const char *container; /* "service NAME" or "container NAME" (doctor_stack.c), or NULL */
  const char *bundle;    /* NULL with --rootfs */
  const char *rootfs;
  struct container_ids ids;
  bool userns;
  char *ids_note; /* why the mapping is unknown, or NULL */

  struct target_user user;
  bool user_known;
  bool user_mapped;
  uint32_t host_uid, host_gid; /* the user's ids on the host, when mapped */
  bool process_user_known;     /* the runtime's process.user, which must be mapped too */
  struct target_user process_user;
  /* The user's supplementary groups (process.user.additionalGids, or
   * --group-add): they count when the target user is the process user. */
  uint32_t *groups;
  size_t n_groups;
  bool privileged;       /* root in the container keeps CAP_DAC_OVERRIDE */
  bool hook_registered;  /* the runtime will run the hook (always assumed with --rootfs) */
  bool hook_at_poststop; /* ... and at poststop, to restore chown+restore (the same) */

  struct doctor_mount *mounts;
  size_t n_mounts;
  bool wildcard;                 /* the container asks for "*" ... */
  enum mount_mode wildcard_mode; /* ... in this mode */

  struct admin_policy admin; /* the administrator's policy file, or its defaults */
  struct hook_options hook;  /* what the bundle's hook entry runs the hook with */
  const char *policy_from;   /* why that file: the hook entry's --policy, --policy, the default */
  const char *env_from;      /* where admin.env_trust came from */
  char *request_origin;      /* where what the container asks came from; NULL: nothing asked */
  bool request_from_policy;  /* ... the policy's defaultMounts */
  struct doctor_engine engine;

  struct doctor_scan scan;
  struct doctor_problem *problems;
  size_t n_problems;
};

/* vasprintf, or abort. */
char *doctor_printf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/* Record a problem (WARNING: it does not stop the container). */
void doctor_problem (struct doctor *d, bool warning, const char *where, const char *fix, const char *fmt, ...)
    __attribute__ ((format (printf, 5, 6)));

/* Everything about one mount from its source's stat result. Pure. */
void doctor_check_mount (struct doctor *d, struct doctor_mount *m);

/* lstat each source, then doctor_check_mount; adds problems. */
void doctor_check_mounts (struct doctor *d);

/* Which engine wrote config.json CFG of BUNDLE (its real path, or NULL). */
void doctor_engine_detect (const char *bundle, const struct oci_config *cfg, struct doctor_engine *e);
const char *doctor_engine_name (enum doctor_engine_kind kind); /* NULL for ENGINE_UNKNOWN */

/* How the container asks the hook for VALUE (a mounts list) with D's engine,
 * as far as D's policy lets each channel ask.  Malloc'd. */
char *doctor_ask_text (const struct doctor *d, const char *value);

/* How the hook gets registered with D's engine. */
const char *doctor_register_text (const struct doctor *d);

/* The value of oci-idmap-hook/mounts that asks for everything it asks for
 * now plus every mount whose fix is the annotation; NULL if none.  Malloc'd. */
char *doctor_fixed_annotation (const struct doctor *d);

/* Walk the root filesystem below ROOT_FD; adds problems. */
void doctor_scan_rootfs (struct doctor *d, int root_fd);

/* One line of a report, printed as one escaped line (base/escape.h): the
 * strings from the input can neither end it nor forge another.  Aborts when
 * out of memory, as printing an error does. */
void doctor_say (FILE *out, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

int doctor_report_text (const struct doctor *d, FILE *out);
int doctor_report_json (const struct doctor *d, FILE *out, hook_error_t **err);

void doctor_free (struct doctor *d);
#define cleanup_doctor __attribute__ ((cleanup (doctor_free))) /* on a zeroed struct */

/* 1 if a problem (not a warning) will make the container fail, else 0. */
int doctor_exit_status (const struct doctor *d);

/* A bind mount given as --mount SRC:DEST[:OPTIONS]. */
struct doctor_mount_option
{
  const char *source, *dest;
  bool readonly;
  bool asked; /* OPTIONS name a mode: the container asks the hook for it */
  enum mount_mode mode;
};

/* What the doctor's command line asks (hook/cli/doctor_command.c). */
struct doctor_options
{
  const char *bundle; /* BUNDLE, or NULL: the facts come from the options below */
  bool untrusted;     /* read the bundle's root.path only below it */
  bool json;
  const char *policy; /* --policy, or NULL: ADMIN_POLICY_DEFAULT_PATH if it exists */

  const char *rootfs;
  struct idmap uids, gids; /* n == 0: not given (no gids: as uids) */
  bool user_set;
  struct target_user user; /* default 0:0 */
  const uint32_t *groups;  /* --group-add */
  size_t n_groups;
  const struct doctor_mount_option *mounts;
  size_t n_mounts;
  /* The hook's own parser of its arguments (hook/cli/), to read the
   * bundle's hook entry as the hook will; NULL: the entry's args are not read. */
  int (*parse_hook_args) (int argc, char **argv, struct hook_options *opts, hook_error_t **err);
};

/* The doctor's exit status when it could not read what it was to check. */
#define DOCTOR_EXIT_CANNOT_CHECK 2

/* Gather the facts O names, check them and print the report to OUT.
 * Returns the verdict (doctor_exit_status), or -1 with *ERR when the bundle,
 * the root filesystem or the policy cannot be read. */
int doctor_run (const struct doctor_options *o, FILE *out, hook_error_t **err);

struct oci_config;

/* Judge one container from CFG, the config.json its engine will write
 * (doctor_stack.c builds it), as doctor_run judges a bundle, but without a
 * root filesystem: the scan is not done, SCAN_NOTE says why.  D is zeroed;
 * the policy is the hook's, as for a bundle (POLICY: the doctor's --policy,
 * or NULL).  CONTAINER names it in the report.  -1 with *ERR when out of
 * memory or when POLICY cannot be read. */
int doctor_judge_config (struct doctor *d, const char *container, const struct oci_config *cfg, const char *policy,
                         const char *scan_note, hook_error_t **err);

#endif
