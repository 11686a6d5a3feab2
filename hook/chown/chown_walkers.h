/* How many walkers a chown walk runs: what bounds the work decides.  On a
 * local filesystem a walk is bound by the CPU, so one walker per CPU; where
 * every lookup and chown is a round trip to a server or a daemon (NFS, SMB,
 * Ceph, 9p, FUSE and so virtiofs), it is bound by latency, and many
 * requests in flight are what make it fast. */
#ifndef HOOK_CHOWN_WALKERS_H
#define HOOK_CHOWN_WALKERS_H

/* At most this many, whatever was asked (--chown-threads takes up to it). */
#define CHOWN_MAX_THREADS 64
/* The default on a filesystem of round trips (make bench section 5, two
 * runs: at 1 ms per operation 64 walkers took 0.6 of the time of 32; at
 * 0.2 ms and on bindfs, where the daemon's CPU bounds the walk first, 4 to
 * 18% longer). */
#define CHOWN_REMOTE_WALKERS 64

struct chown_walkers
{
  unsigned int n;
  const char *why; /* for --verbose: "2 walkers (WHY)" */
  /* The default count was lowered to what this open-file limit (the hard
   * one: the walk raises the soft limit to it) can hold; 0 if not. */
  unsigned long nofile;
};

/* The walkers for the tree of FD: ASKED (capped) when not 0, else by the
 * filesystem statfs names for FD, and no more than the open-file limit
 * holds. */
struct chown_walkers chown_walkers_for (int fd, unsigned int asked);

#endif
