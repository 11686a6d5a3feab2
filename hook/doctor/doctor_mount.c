/* Each bind mount: its source on the host, how it looks to the target user
 * before and after the hook, and what would fix it.  The hook's decision
 * comes from policy_decide(), the code the hook itself runs. */
#define _GNU_SOURCE
#include "base/cleanup.h"
#include "doctor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

/* The view of the source through MOUNT_UIDS/GIDS (NULL: a plain bind mount). */
static void
view_through (const struct doctor *d, const struct doctor_mount *m, const struct idmap *mount_uids,
              const struct idmap *mount_gids, struct doctor_view *v)
{
  struct doctor_subject who = { &d->user, d->groups, d->n_groups, d->privileged };
  cleanup_doctor_acl struct doctor_acl shown = { 0 };

  v->uid_unmapped = !doctor_id_inside (mount_uids, &d->ids.uids, m->owner_uid, &v->uid);
  v->gid_unmapped = !doctor_id_inside (mount_gids, &d->ids.gids, m->owner_gid, &v->gid);
  /* The ACL's named ids go through the same mappings as the owner. */
  if (m->acl.n > 0 && (shown.e = malloc (m->acl.n * sizeof *shown.e)) == NULL)
    abort ();
  for (size_t i = 0; i < m->acl.n; i++)
    {
      shown.e[i] = m->acl.e[i];
      if (shown.e[i].tag == ACL_TAG_USER)
        shown.e[i].unmapped = !doctor_id_inside (mount_uids, &d->ids.uids, m->acl.e[i].id, &shown.e[i].id);
      else if (shown.e[i].tag == ACL_TAG_GROUP)
        shown.e[i].unmapped = !doctor_id_inside (mount_gids, &d->ids.gids, m->acl.e[i].id, &shown.e[i].id);
    }
  shown.n = m->acl.n;
  v->access = doctor_access_for (v, m->mode, &shown, &who);
  if (m->readonly)
    v->access &= ~(unsigned) ACCESS_W;
}

/* What the target user needs: a directory to list, enter and (when mounted
 * read-write) write; a file to read.  Engines bind-mount files such as
 * /etc/hosts read-write that no service writes. */
static unsigned
needed_access (const struct doctor_mount *m)
{
  if (!S_ISDIR (m->mode))
    return ACCESS_R;
  return ACCESS_R | ACCESS_X | (m->readonly ? 0 : ACCESS_W);
}

/* The error's cause as WHAT and its fix as HINT. */
static void
split_error (hook_error_t **err, char **what, char **hint)
{
  const char *fix = error_hint_text (*err);

  *hint = fix ? strdup (fix) : NULL;
  *what = error_summary (*err);
  error_free (err);
  if (fix && *hint == NULL)
    abort ();
}

/* The administrator's rules, as the hook applies them: on the mode, and on
 * where the source really is (the runtime follows symlinks when it mounts). */
static enum policy_result
admin_allows (const struct doctor *d, const struct doctor_mount *m, const struct mount_policy *pol, const char **why,
              hook_error_t **err)
{
  cleanup_free char *real = realpath (m->source, NULL);

  /* As plan.c: a mode not allowed refuses the container, "*" or not; a
   * source not allowed is only skipped under "*". */
  if (admin_policy_check_mode (&d->admin, pol->mode, err) < 0)
    {
      error_prefix (err, "refused");
      return POLICY_ERROR;
    }
  if (admin_policy_check_source (&d->admin, real ? real : m->source, err) < 0)
    {
      if (!pol->wildcard)
        {
          error_prefix (err, "refused");
          return POLICY_ERROR;
        }
      error_free (err);
      *why = "refused by the administrator's policy";
      return POLICY_SKIP;
    }
  return POLICY_MAP;
}

/* Run the hook's policy for M in POL; the view it would give in *AFTER, and
 * for mode chown the on-disk ids the tree would get in CHOWNED (or NULL). */
static enum policy_result
simulate (const struct doctor *d, const struct doctor_mount *m, const struct mount_policy *pol,
          struct doctor_view *after, struct doctor_mount *chowned_out, const char **why, hook_error_t **err)
{
  struct mount_policy with_admin = *pol;
  struct idmap uids, gids;
  enum policy_result r;

  *why = NULL;
  with_admin.allow_host_root = pol->allow_host_root || d->admin.allow_host_root;
  if (pol->wildcard && !S_ISDIR (m->mode))
    {
      *why = "not a directory";
      r = POLICY_SKIP;
    }
  else if ((r = admin_allows (d, m, pol, why, err)) == POLICY_MAP)
    r = policy_decide (&with_admin, m->owner_uid, m->owner_gid, &d->ids, &d->user, &uids, &gids, why, err);
  if (r == POLICY_MAP)
    view_through (d, m, &uids, &gids, after);
  else if (r == POLICY_CHOWN)
    {
      /* Mode chown: the tree gets new owners on disk (those the runtime's
       * own mapping, if any, shows as the user); see it as it will be. */
      struct doctor_mount chowned = *m;
      if (policy_chown_target (&with_admin, &d->ids, &d->user, m->runtime_uids, m->runtime_gids, &chowned.owner_uid,
                               &chowned.owner_gid, err)
          < 0)
        r = POLICY_ERROR;
      view_through (d, r == POLICY_ERROR ? m : &chowned, m->runtime_uids, m->runtime_gids, after);
      if (r == POLICY_CHOWN && chowned_out)
        {
          chowned_out->chowns = true;
          chowned_out->chown_uid = chowned.owner_uid;
          chowned_out->chown_gid = chowned.owner_gid;
        }
    }
  else
    view_through (d, m, m->runtime_uids, m->runtime_gids, after);
  return r;
}

/* What mode chown would do to the tree on disk, and when it is undone. */
static char *
chown_note (const struct doctor *d, const struct doctor_mount *m)
{
  const char *after = "it stays so (undo: oci-idmap-hook restore)";

  if (m->policy.mode == MODE_CHOWN_RESTORE)
    after = d->hook_at_poststop ? "restored when the container stops"
                                : "NOT restored when the container stops: config.json does not run the hook at "
                                  "poststop (undo: oci-idmap-hook restore)";
  return doctor_printf ("the tree would be chowned: the source and everything below it given to %u:%u on disk, "
                        "journaled; %s",
                        m->chown_uid, m->chown_gid, after);
}

static const char *
missing_word (unsigned missing)
{
  if (missing & ACCESS_W)
    return "write";
  if (missing & ACCESS_R)
    return "read";
  return "enter";
}

/* What fixes a mount the user cannot use: the annotation, when the hook in
 * mode idmap would make it work; otherwise what the hook's refusal says. */
static void
find_fix (const struct doctor *d, struct doctor_mount *m)
{
  struct mount_policy pol = { .mode = MODE_IDMAP, .wildcard = false, .allow_host_root = false };
  struct doctor_view v;
  hook_error_t *err = NULL;
  const char *why;
  enum policy_result r = simulate (d, m, &pol, &v, NULL, &why, &err);

  if (r == POLICY_ERROR)
    {
      cleanup_free char *what = NULL;
      split_error (&err, &what, &m->fix);
      if (m->fix == NULL)
        m->fix = doctor_printf ("%s", what);
      return;
    }
  if ((v.access & needed_access (m)) == needed_access (m) && !(m->asked && m->policy.mode == MODE_IDMAP))
    {
      cleanup_free char *ask = doctor_ask_text (d, m->dest);
      m->fix_is_annotation = true;
      m->fix = doctor_printf ("ask the hook for it: %s%s%s", ask, d->hook_registered ? "" : ", and ",
                              d->hook_registered ? "" : doctor_register_text (d));
      return;
    }
  m->fix = doctor_printf ("the hook changes owners, not modes: give the owner access on the host (chmod u+rwx %s)",
                          m->source);
}

void
doctor_check_mount (struct doctor *d, struct doctor_mount *m)
{
  hook_error_t *err = NULL;
  const char *why = NULL;
  unsigned missing;
  char have[4];

  m->action = m->asked ? mode_name (m->policy.mode) : "not asked";
  if (m->stat_errno)
    {
      m->problem = doctor_printf ("source %s: %s", m->source, strerror (m->stat_errno));
      m->fix = doctor_printf ("create it, or correct the mount's source");
      return;
    }
  if (S_ISLNK (m->mode))
    {
      m->problem = doctor_printf ("source %s is a symbolic link: the runtime follows it wherever it points when the "
                                  "container starts",
                                  m->source);
      m->fix = doctor_printf ("name the real directory as the source");
      return;
    }
  /* A mount the runtime idmaps shows its ids through the runtime's mapping;
   * the hook's idmap replaces that mapping, its chown aims through it. */
  view_through (d, m, m->runtime_uids, m->runtime_gids, &m->before);
  m->after = m->before;
  if (!d->user_known)
    return;
  if (m->runtime_idmapped && m->runtime_uids == NULL)
    {
      m->hook_note = doctor_printf ("the runtime idmaps this mount itself, and config.json does not say how; the views "
                                    "shown ignore its mapping");
      return;
    }
  if (m->asked)
    switch (simulate (d, m, &m->policy, &m->after, m, &why, &err))
      {
      case POLICY_ERROR:
        m->action = "refuses";
        split_error (&err, &m->problem, &m->fix);
        m->hook_note = doctor_printf ("%s", m->problem);
        free (m->problem);
        m->problem = doctor_printf ("the hook will refuse it, and the container will not start: %s", m->hook_note);
        return;
      case POLICY_SKIP:
        m->action = "left as it is";
        m->hook_note = doctor_printf ("%s", why);
        break;
      case POLICY_CHOWN:
        m->hook_note = chown_note (d, m);
        break;
      case POLICY_MAP:
        if (m->policy.mode == MODE_AUTO)
          m->hook_note = doctor_printf ("idmap, as shown, where the filesystem supports idmapped mounts; where it does "
                                        "not, chown (the same owner inside, and the tree changes owners on disk)");
        break;
      default:
        break;
      }
  missing = needed_access (m) & ~m->after.access;
  if (missing == 0)
    return;
  m->problem = doctor_printf ("user %u cannot %s %s: it shows as owned by %u:%u%s, mode %04o%s (%s for the user)",
                              d->user.uid, missing_word (missing), m->source, m->after.uid, m->after.gid,
                              m->after.uid_unmapped || m->after.gid_unmapped ? " (an unmapped id)" : "",
                              (unsigned) (m->mode & 07777), m->acl.n ? " with an ACL" : "",
                              doctor_access_text (m->after.access, have));
  find_fix (d, m);
}

/* The source's access ACL, read as lstat saw it (never through a final
 * symlink).  None, unreadable or malformed: the mode bits decide. */
static void
read_acl (struct doctor_mount *m)
{
  unsigned char buf[8192];
  ssize_t n;

  if (S_ISLNK (m->mode))
    return;
  n = lgetxattr (m->source, "system.posix_acl_access", buf, sizeof buf);
  if (n > 0 && doctor_acl_parse (buf, (size_t) n, &m->acl) < 0)
    memset (&m->acl, 0, sizeof m->acl);
}

void
doctor_check_mounts (struct doctor *d)
{
  for (size_t i = 0; i < d->n_mounts; i++)
    {
      struct doctor_mount *m = &d->mounts[i];
      struct stat st;

      /* The source is the engine's path on the host: stat it as it is,
       * without following a final symlink. */
      if (m->source == NULL || fstatat (AT_FDCWD, m->source, &st, AT_SYMLINK_NOFOLLOW) < 0)
        m->stat_errno = m->source ? errno : ENOENT;
      else
        {
          m->owner_uid = st.st_uid;
          m->owner_gid = st.st_gid;
          m->mode = st.st_mode;
          read_acl (m);
        }
      doctor_check_mount (d, m);
      if (m->problem)
        doctor_problem (d, false, m->dest, m->fix, "%s", m->problem);
      else if (m->chowns && m->policy.mode == MODE_CHOWN_RESTORE && !d->hook_at_poststop)
        doctor_problem (d, true, m->dest, "add the hook to hooks.poststop too (oci-idmap-hook inject does)",
                        "mode chown+restore, but config.json does not run the hook at poststop: the owners "
                        "will not be put back when the container stops");
    }
}

static void
append_item (char **text, const char *dest, enum mount_mode mode)
{
  char *joined = doctor_printf ("%s%s%s%s%s", *text ? *text : "", *text ? ";" : "", dest, mode == MODE_IDMAP ? "" : "=",
                                mode == MODE_IDMAP ? "" : mode_name (mode));
  free (*text);
  *text = joined;
}

char *
doctor_fixed_annotation (const struct doctor *d)
{
  char *text = NULL;
  bool any_fix = false;

  for (size_t i = 0; i < d->n_mounts; i++)
    {
      const struct doctor_mount *m = &d->mounts[i];
      if (m->fix_is_annotation)
        {
          any_fix = true;
          append_item (&text, m->dest, MODE_IDMAP);
        }
      else if (m->asked && !m->policy.wildcard)
        append_item (&text, m->dest, m->policy.mode);
    }
  if (d->wildcard)
    append_item (&text, "*", d->wildcard_mode);
  if (!any_fix)
    {
      free (text);
      return NULL;
    }
  return text;
}
