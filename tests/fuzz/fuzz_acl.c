/* system.posix_acl_access bytes as the doctor reads them from a mount's
 * source, and the access it computes from what parses. */
#include "fuzz.h"
#include "hook/doctor/doctor.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct target_user user = { 999, 999, "fuzz" };
  uint32_t groups[] = { 0, 50, 2000 };
  struct doctor_subject who = { &user, groups, 3, false };
  struct doctor_view view = { .uid = 1, .gid = 50 };
  struct doctor_acl acl;

  if (doctor_acl_parse (data, size, &acl) == 0)
    {
      if (acl.n != (size - 4) / 8)
        abort (); /* every entry of a whole ACL is kept */
      if (doctor_access_for (&view, 040750, &acl, &who) & ~7u)
        abort (); /* access is rwx bits and nothing else */
      doctor_acl_free (&acl);
    }
  return 0;
}
