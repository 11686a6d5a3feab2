/* POSIX access ACLs, as the doctor judges them: the system.posix_acl_access
 * xattr parsed, and the permission a user gets from it; and whether a group
 * is one of the user's, which the mode bits ask too.  Pure logic. */
#include "doctor.h"

#include <stdlib.h>
#include <string.h>

/* The xattr's layout: a 4-byte version (2), then 8-byte entries of tag,
 * permission (both 16-bit) and id (32-bit), little-endian. */
#define ACL_XATTR_VERSION 2
#define ACL_XATTR_HEAD 4
#define ACL_XATTR_ENTRY 8

static uint32_t
le32 (const unsigned char *p)
{
  return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

int
doctor_acl_parse (const void *buf, size_t len, struct doctor_acl *acl)
{
  const unsigned char *p = buf;
  size_t n;

  memset (acl, 0, sizeof *acl);
  if (len < ACL_XATTR_HEAD || (len - ACL_XATTR_HEAD) % ACL_XATTR_ENTRY != 0 || le32 (p) != ACL_XATTR_VERSION)
    return -1;
  n = (len - ACL_XATTR_HEAD) / ACL_XATTR_ENTRY;
  if (n == 0)
    return 0;
  acl->e = calloc (n, sizeof *acl->e);
  if (acl->e == NULL)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      const unsigned char *e = p + ACL_XATTR_HEAD + i * ACL_XATTR_ENTRY;
      unsigned tag = (unsigned) e[0] | (unsigned) e[1] << 8;
      if (tag != ACL_TAG_USER_OBJ && tag != ACL_TAG_USER && tag != ACL_TAG_GROUP_OBJ && tag != ACL_TAG_GROUP
          && tag != ACL_TAG_MASK && tag != ACL_TAG_OTHER)
        {
          doctor_acl_free (acl);
          return -1;
        }
      acl->e[i] = (struct doctor_acl_entry){ .tag = tag,
                                             .perm = ((unsigned) e[2] | (unsigned) e[3] << 8) & 7,
                                             .id = le32 (e + 4) };
    }
  acl->n = n;
  return 0;
}

void
doctor_acl_free (struct doctor_acl *acl)
{
  free (acl->e);
  acl->e = NULL;
  acl->n = 0;
}

bool
doctor_in_groups (const struct doctor_subject *who, uint32_t gid)
{
  if (gid == who->user->gid)
    return true;
  for (size_t i = 0; i < who->n_groups; i++)
    if (who->groups[i] == gid)
      return true;
  return false;
}

static const struct doctor_acl_entry *
find_tag (const struct doctor_acl *acl, unsigned tag)
{
  for (size_t i = 0; i < acl->n; i++)
    if (acl->e[i].tag == tag)
      return &acl->e[i];
  return NULL;
}

/* The kernel's order: the owner, a named user, then every group entry that
 * matches one of the user's groups, then others.  The mask limits all but
 * the owner and others.  Bits are answered one by one: where two matching
 * group entries split w and x, creating a file (which asks for both at
 * once of one entry) is refused though both bits show. */
unsigned
doctor_acl_access (const struct doctor_acl *acl, const struct doctor_view *view, const struct doctor_subject *who)
{
  const struct target_user *user = who->user;
  const struct doctor_acl_entry *mask = find_tag (acl, ACL_TAG_MASK), *e;
  unsigned limit = mask ? mask->perm : 7, bits = 0;
  bool group_matched = false;

  if (!view->uid_unmapped && view->uid == user->uid)
    return (e = find_tag (acl, ACL_TAG_USER_OBJ)) ? e->perm : 0;
  for (size_t i = 0; i < acl->n; i++)
    if (acl->e[i].tag == ACL_TAG_USER && !acl->e[i].unmapped && acl->e[i].id == user->uid)
      return acl->e[i].perm & limit;
  for (size_t i = 0; i < acl->n; i++)
    {
      e = &acl->e[i];
      bool match = (e->tag == ACL_TAG_GROUP_OBJ && !view->gid_unmapped && doctor_in_groups (who, view->gid))
                   || (e->tag == ACL_TAG_GROUP && !e->unmapped && doctor_in_groups (who, e->id));
      if (match)
        {
          group_matched = true;
          bits |= e->perm;
        }
    }
  if (group_matched)
    return bits & limit;
  return (e = find_tag (acl, ACL_TAG_OTHER)) ? e->perm : 0;
}
