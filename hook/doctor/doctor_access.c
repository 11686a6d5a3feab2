/* How ids and modes look to the container's user.  Pure logic. */
#include "doctor.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

bool
doctor_id_inside (const struct idmap *mount_map, const struct idmap *ns_map, uint32_t disk_id, uint32_t *shown)
{
  uint32_t host = disk_id;

  *shown = DOCTOR_OVERFLOW_ID;
  if (mount_map && !idmap_to_outside (mount_map, disk_id, &host))
    return false;
  return idmap_to_inside (ns_map, host, shown);
}

unsigned
doctor_access_for (const struct doctor_view *view, mode_t mode, const struct doctor_acl *acl,
                   const struct doctor_subject *who)
{
  const struct target_user *user = who->user;
  unsigned bits;

  /* capable_wrt_inode_uidgid(): the capability counts only when both the
   * file's uid and gid are mapped in the caller's namespace. */
  if (who->privileged && user->uid == 0 && !view->uid_unmapped && !view->gid_unmapped)
    return ACCESS_R | ACCESS_W | ((S_ISDIR (mode) || (mode & 0111)) ? ACCESS_X : 0);
  if (acl && acl->n > 0)
    return doctor_acl_access (acl, view, who);
  if (!view->uid_unmapped && view->uid == user->uid)
    bits = (mode >> 6) & 7;
  else if (!view->gid_unmapped && doctor_in_groups (who, view->gid))
    bits = (mode >> 3) & 7;
  else
    bits = mode & 7;
  return bits;
}

const char *
doctor_access_text (unsigned access, char buf[4])
{
  buf[0] = (access & ACCESS_R) ? 'r' : '-';
  buf[1] = (access & ACCESS_W) ? 'w' : '-';
  buf[2] = (access & ACCESS_X) ? 'x' : '-';
  buf[3] = '\0';
  return buf;
}
