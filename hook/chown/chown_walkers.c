/* chown_walkers.h: the walker count, from the filesystem's statfs type. */
#define _GNU_SOURCE
#include "chown_walkers.h"

#include <stdint.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <unistd.h>

/* Filesystems whose every operation leaves the machine or the kernel:
 * statfs's f_type, as the kernel's magic.h and each filesystem define it. */
static const struct
{
  uint32_t magic;
  const char *why;
} round_trip_fs[] = {
  { 0x65735546, "FUSE (and virtiofs): each operation is a round trip to the daemon" },
  { 0x6969, "NFS: each operation is a round trip to the server" },
  { 0xFE534D42, "SMB: each operation is a round trip to the server" },
  { 0xFF534D42, "CIFS: each operation is a round trip to the server" },
  { 0x00C36400, "CephFS: each operation is a round trip to the cluster" },
  { 0x01021997, "9p: each operation is a round trip to the server" },
  { 0x5346414F, "AFS: each operation is a round trip to the server" },
  { 0x0BD00BD0, "Lustre: each operation is a round trip to the servers" },
  { 0x01161970, "GFS2: each operation takes cluster locks" },
  { 0x7461636F, "OCFS2: each operation takes cluster locks" },
};

/* Open files a walk needs: some for the whole walk (the queued directories
 * and shares of names, the journal), then per walker its directory at each
 * level, a few in passing and its pending changes (its batches flush early
 * when the table is full).  Fitted to measurements on latencyfs, a tree 2
 * levels deep: 8 walkers need about 270, 32 about 490, 64 about 780, i.e.
 * about 200 + 9 per walker; 256 + 12 per walker leaves room for deeper
 * trees. */
#define SHARED_FDS 256
#define WALKER_FDS 12

/* The default count N, or fewer where the open-file limit is too low for
 * N walkers (an explicit --chown-threads is taken as asked: too few files
 * then fail the walk with the limit's hint). */
static struct chown_walkers
within_fd_limit (struct chown_walkers w)
{
  struct rlimit rl;
  rlim_t room;

  if (getrlimit (RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max == RLIM_INFINITY)
    return w;
  room = rl.rlim_max > SHARED_FDS + WALKER_FDS ? (rl.rlim_max - SHARED_FDS) / WALKER_FDS : 1;
  if (room < w.n)
    w.n = (unsigned int) room, w.nofile = (unsigned long) rl.rlim_max;
  return w;
}

struct chown_walkers
chown_walkers_for (int fd, unsigned int asked)
{
  struct statfs sfs;
  long cpus;

  if (asked > 0)
    return (struct chown_walkers){ asked > CHOWN_MAX_THREADS ? CHOWN_MAX_THREADS : asked, "as --chown-threads asks",
                                   0 };
  if (fstatfs (fd, &sfs) == 0)
    for (size_t i = 0; i < sizeof round_trip_fs / sizeof round_trip_fs[0]; i++)
      if ((uint32_t) sfs.f_type == round_trip_fs[i].magic)
        return within_fd_limit ((struct chown_walkers){ CHOWN_REMOTE_WALKERS, round_trip_fs[i].why, 0 });
  cpus = sysconf (_SC_NPROCESSORS_ONLN);
  if (cpus < 1)
    cpus = 1;
  return within_fd_limit ((struct chown_walkers){ cpus > CHOWN_MAX_THREADS ? CHOWN_MAX_THREADS : (unsigned int) cpus,
                                                  "one per CPU on a local filesystem", 0 });
}
