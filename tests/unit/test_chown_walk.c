/* hook/chown/chown_walk.c against an attacker who acts at the worst instant.
 *
 * This file defines its own statx and getdents64: the walk's calls bind to
 * them, and they swap names in the tree exactly between the walk's reading
 * of a directory, its look at a name, its open and its check.  A race that
 * a real attacker wins once in a million tries happens here every time.
 * It also defines fdatasync and fchown, to check that no owner changes
 * before its journal record was synced, and pthread_create, to fail one
 * thread's start.  Needs root (it changes owners). */
#define _GNU_SOURCE
#include "base/log.h"
#include "helpers.h"
#include "hook/chown/chown_walk.h"
#include "hook/chown/chown_walkers.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define TO_UID 4242
#define TO_GID 4243
#define OUTSIDE_UID 1234

enum race_moment
{
  RACE_NONE,
  RACE_AFTER_LOOK, /* the walk's statx of NAME by name has returned */
  RACE_AFTER_OPEN, /* the walk's statx of an fd of inode VICTIM starts */
  RACE_AFTER_READ, /* the walk has read the entries of directory VICTIM */
  /* A thread other than the one reading directory VICTIM has looked (by
   * name) at one of its "b" files: a name of a share (chown_names.c). */
  RACE_IN_SHARE_AFTER_LOOK,
};

/* What the attacker does, once, at MOMENT: run SWAP in the tree's dir. */
static struct
{
  enum race_moment moment;
  const char *name;
  ino_t victim;
  void (*swap) (void);
  int fired;
  pid_t reader; /* RACE_IN_SHARE_AFTER_LOOK: who reads VICTIM */
  char hit[32]; /* ... and the name it fired at */
} race;

static char top[64], outside[80];

static int
real_statx (int dfd, const char *path, int flags, unsigned int mask, struct statx *buf)
{
  return (int) syscall (SYS_statx, dfd, path, flags, mask, buf);
}

ssize_t
getdents64 (int fd, void *buf, size_t len)
{
  ssize_t n = (ssize_t) syscall (SYS_getdents64, fd, buf, len);
  struct stat st;

  if (race.moment == RACE_IN_SHARE_AFTER_LOOK && n > 0 && fstat (fd, &st) == 0 && st.st_ino == race.victim)
    __atomic_store_n (&race.reader, gettid (), __ATOMIC_RELAXED);
  if (race.moment == RACE_AFTER_READ && !race.fired && n > 0 && fstat (fd, &st) == 0 && st.st_ino == race.victim)
    {
      race.fired++;
      race.swap ();
    }
  return n;
}

int
statx (int dfd, const char *path, int flags, unsigned int mask, struct statx *buf)
{
  int ret;
  struct stat st;

  if (race.moment == RACE_AFTER_OPEN && !race.fired && path[0] == '\0' && (flags & AT_EMPTY_PATH)
      && fstat (dfd, &st) == 0 && st.st_ino == race.victim)
    {
      race.fired++;
      race.swap ();
    }
  ret = real_statx (dfd, path, flags, mask, buf);
  if (race.moment == RACE_IN_SHARE_AFTER_LOOK && path[0] == 'b' && __atomic_load_n (&race.reader, __ATOMIC_RELAXED)
      && gettid () != __atomic_load_n (&race.reader, __ATOMIC_RELAXED)
      && __atomic_fetch_add (&race.fired, 1, __ATOMIC_RELAXED) == 0)
    {
      snprintf (race.hit, sizeof race.hit, "%s", path);
      race.swap ();
    }
  if (race.moment == RACE_AFTER_LOOK && !race.fired && strcmp (path, race.name) == 0)
    {
      race.fired++;
      race.swap ();
    }
  return ret;
}

/* The journal under watch: how much of it was written before its last
 * sync began (all of that is durable), and the changes made without a
 * durable record. */
static struct
{
  pthread_mutex_t lock;
  int fd; /* -1: not watching */
  off_t synced;
  int changes, unrecorded, syncs;
  /* The threads that changed owners, when counting (see test_big_directory). */
  bool count_threads;
  pid_t tids[CHOWN_MAX_THREADS];
  int n_tids;
} watch = { PTHREAD_MUTEX_INITIALIZER, -1, 0, 0, 0, 0, false, { 0 }, 0 };

int
fdatasync (int fd)
{
  struct stat st;

  pthread_mutex_lock (&watch.lock);
  bool watched = fd == watch.fd && fstat (fd, &st) == 0;
  pthread_mutex_unlock (&watch.lock);
  if (syscall (SYS_fdatasync, fd) < 0)
    return -1;
  if (watched)
    {
      pthread_mutex_lock (&watch.lock);
      if (st.st_size > watch.synced)
        watch.synced = st.st_size;
      watch.syncs++;
      pthread_mutex_unlock (&watch.lock);
    }
  return 0;
}

/* Is FD's file handle in a record of the synced part of the journal? */
static bool
durably_recorded (int fd)
{
  struct journal_handle h;
  struct journal_header hdr;
  struct journal_record r;
  cleanup_free unsigned char *buf = NULL;
  hook_error_t *err = NULL;
  size_t body, pos;
  long n;
  bool found = false;

  if (journal_handle_of (fd, &h) < 0 || (buf = malloc ((size_t) watch.synced + 1)) == NULL
      || pread (watch.fd, buf, (size_t) watch.synced, 0) != watch.synced
      || journal_header_parse ((const char *) buf, (size_t) watch.synced, &hdr, &body, &err) < 0)
    {
      static int told;
      if (!told++)
        diag ("cannot read the journal's synced part: %s", err ? error_shown (err) : strerror (errno));
      error_free (&err);
      return false;
    }
  for (pos = body; !found && (n = journal_record_decode (buf + pos, (size_t) watch.synced - pos, &r)) > 0;
       pos += (size_t) n)
    found = r.handle_type == h.fh.handle_type && r.handle_bytes == h.fh.handle_bytes
            && memcmp (r.handle, h.fh.f_handle, r.handle_bytes) == 0;
  return found;
}

int
fchown (int fd, uid_t uid, gid_t gid)
{
  pthread_mutex_lock (&watch.lock);
  if (watch.count_threads)
    {
      pid_t tid = gettid ();
      int i = 0;
      while (i < watch.n_tids && watch.tids[i] != tid)
        i++;
      if (i == watch.n_tids && i < CHOWN_MAX_THREADS)
        watch.tids[watch.n_tids++] = tid;
    }
  if (watch.fd >= 0)
    {
      watch.changes++;
      if (!durably_recorded (fd))
        watch.unrecorded++;
    }
  pthread_mutex_unlock (&watch.lock);
  return (int) syscall (SYS_fchown, fd, uid, gid);
}

/* The CALL-th pthread_create from now on fails (0: none does). */
static int fail_create_call;

int
pthread_create (pthread_t *tid, const pthread_attr_t *attr, void *(*fn) (void *), void *arg)
{
  static int (*real) (pthread_t *, const pthread_attr_t *, void *(*) (void *), void *);

  if (real == NULL)
    *(void **) &real = dlsym (RTLD_NEXT, "pthread_create");
  if (fail_create_call > 0 && --fail_create_call == 0)
    return EAGAIN;
  return real (tid, attr, fn, arg);
}

static char *
in_top (const char *rel)
{
  static char buf[4][128];
  static int slot;
  char *p = buf[slot++ % 4];
  snprintf (p, sizeof buf[0], "%s/%s", top, rel);
  return p;
}

static void
make_file (const char *path, uid_t uid)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write (fd, "x", 1) != 1 || fchown (fd, uid, uid) < 0)
    abort ();
  close (fd);
}

/* A fresh tree of user 1000: top/ with dir d/ holding files f0..f19, and
 * outside/file (owned by OUTSIDE_UID) beside it. */
static void
fresh_tree (void)
{
  char cmd[200];
  snprintf (cmd, sizeof cmd, "rm -rf %s %s", top, outside);
  if (system (cmd) != 0 || mkdir (top, 0755) < 0 || mkdir (in_top ("d"), 0755) < 0 || mkdir (outside, 0755) < 0
      || chown (top, 1000, 1000) < 0 || chown (in_top ("d"), 1000, 1000) < 0)
    abort ();
  for (int i = 0; i < 20; i++)
    {
      char rel[16];
      snprintf (rel, sizeof rel, "d/f%d", i);
      make_file (in_top (rel), 1000);
    }
  make_file (strcat (strcpy ((char[96]){ 0 }, outside), "/file"), OUTSIDE_UID);
  memset (&race, 0, sizeof race);
}

static uid_t
owner_of (const char *path)
{
  struct stat st;
  return lstat (path, &st) == 0 ? st.st_uid : (uid_t) -1;
}

static const char *
outside_file (void)
{
  static char p[96];
  snprintf (p, sizeof p, "%s/file", outside);
  return p;
}

static int
walk (struct chown_report *rep)
{
  struct chown_spec spec = { .to_uid = TO_UID, .to_gid = TO_GID, .threads = 1 };
  hook_error_t *err = NULL;
  cleanup_close int fd = open (top, O_PATH | O_DIRECTORY);
  int ret = chown_walk (fd, &spec, NULL, rep, &err);
  if (err)
    diag ("walk: %s", error_shown (err));
  error_free (&err);
  return ret;
}

/* The attacks.  f5 is the name they play with. */
/* A symlink owned by 1000, as the container's would be (root's are left). */
static int
user_symlink (const char *target, const char *path)
{
  return symlink (target, path) < 0 ? -1 : lchown (path, 1000, 1000);
}

static void
link_outside_over_f5 (void)
{
  /* Keep f5 as .f5 and put a hard link to the outside file in its place. */
  if (rename (in_top ("d/f5"), in_top ("d/.f5")) < 0 || link (outside_file (), in_top ("d/f5")) < 0)
    abort ();
}

static void
put_f5_back (void)
{
  if (rename (in_top ("d/.f5"), in_top ("d/f5")) < 0)
    abort ();
}

static void
symlink_outside_over_f5 (void)
{
  if (rename (in_top ("d/f5"), in_top ("d/.f5")) < 0 || user_symlink (outside_file (), in_top ("d/f5")) < 0)
    abort ();
}

static void
symlink_outside_over_d (void)
{
  if (rename (in_top ("d"), in_top (".d")) < 0 || user_symlink (outside, in_top ("d")) < 0)
    abort ();
}

static void
test_plain (void)
{
  struct chown_report rep;

  fresh_tree ();
  if (link (outside_file (), in_top ("hard")) < 0 || user_symlink (outside_file (), in_top ("sym")) < 0)
    abort ();
  ok (walk (&rep) == 0, "a quiet tree is walked");
  ok (owner_of (top) == TO_UID && owner_of (in_top ("d/f19")) == TO_UID && owner_of (in_top ("sym")) == TO_UID,
      "the tree and a symlink (itself) are given away");
  is_int (owner_of (outside_file ()), OUTSIDE_UID, "the file outside, linked from the tree, is left alone");
  is_int ((long long) rep.hard_links, 1, "and reported as a hard link");
  chown_report_free (&rep);
}

/* The race CI once lost: the walk opens a hard link to a file outside,
 * then the link leaves the tree, so the fd's link count reads 1.  The walk
 * opens only what it looked at first, so the attack has two steps: f5 (one
 * link, in the tree) becomes the hard link right after the look, and goes
 * back right after the open.  Only the check that the fd is the inode
 * looked at (same_inode) stands in its way. */
static ino_t outside_ino;

static void
link_outside_then_wait_for_open (void)
{
  link_outside_over_f5 ();
  race.moment = RACE_AFTER_OPEN;
  race.victim = outside_ino;
  race.swap = put_f5_back;
  race.fired = 0;
}

static void
test_link_gone_after_open (void)
{
  struct chown_report rep;
  struct stat st;

  fresh_tree ();
  if (stat (outside_file (), &st) < 0)
    abort ();
  outside_ino = st.st_ino;
  race = (typeof (race)){ .moment = RACE_AFTER_LOOK, .name = "f5", .swap = link_outside_then_wait_for_open };
  ok (walk (&rep) == 0, "walk while a hard link to outside leaves the tree after the open");
  ok (race.moment == RACE_AFTER_OPEN && race.fired == 1, "both steps of the attack happened");
  is_int (owner_of (outside_file ()), OUTSIDE_UID, "the file outside keeps its owner");
  is_int (owner_of (in_top ("d/f5")), TO_UID, "f5, back in its place, is given away (looked at again)");
  chown_report_free (&rep);
}

/* The other order: the walk looks at f5 (one link, in the tree), then f5
 * becomes a hard link to outside before the open. */
static void
test_link_after_look (void)
{
  struct chown_report rep;

  fresh_tree ();
  race = (typeof (race)){ .moment = RACE_AFTER_LOOK, .name = "f5", .swap = link_outside_over_f5 };
  ok (walk (&rep) == 0, "walk while a file becomes a hard link to outside after the look");
  ok (race.fired == 1, "the attack happened");
  is_int (owner_of (outside_file ()), OUTSIDE_UID, "the file outside keeps its owner");
  is_int ((long long) rep.hard_links, 1, "the new hard link is seen and reported");
  is_int (owner_of (in_top ("d/f4")), TO_UID, "its neighbours are given away");
  chown_report_free (&rep);
}

static void
test_symlink_after_look (void)
{
  struct chown_report rep;

  fresh_tree ();
  race = (typeof (race)){ .moment = RACE_AFTER_LOOK, .name = "f5", .swap = symlink_outside_over_f5 };
  ok (walk (&rep) == 0, "walk while a file becomes a symlink to outside after the look");
  is_int (owner_of (outside_file ()), OUTSIDE_UID, "the symlink's target keeps its owner");
  is_int (owner_of (in_top ("d/f5")), TO_UID, "the symlink itself is given away");
  chown_report_free (&rep);
}

static void
test_dir_becomes_symlink (void)
{
  struct chown_report rep;
  struct stat st;

  fresh_tree ();
  if (stat (top, &st) < 0)
    abort ();
  /* The walk reads top/ and sees d as a directory; before it opens d, d
   * becomes a symlink to the outside directory. */
  race = (typeof (race)){ .moment = RACE_AFTER_READ, .victim = st.st_ino, .swap = symlink_outside_over_d };
  ok (walk (&rep) == 0, "walk while a directory becomes a symlink to outside after readdir");
  ok (race.fired == 1, "the attack happened");
  is_int (owner_of (outside), 0, "the outside directory keeps its owner");
  is_int (owner_of (outside_file ()), OUTSIDE_UID, "and so does the file in it");
  is_int (owner_of (in_top ("d")), TO_UID, "the symlink in its place is given away itself");
  chown_report_free (&rep);
}

/* Make a chain of DEPTH directories "d" below DIR_FD, all of user 1000. */
static void
make_chain (int dir_fd, int depth)
{
  int dfd = dup (dir_fd);
  for (int i = 0; i < depth && dfd >= 0; i++)
    {
      int next;
      if (mkdirat (dfd, "d", 0755) < 0)
        abort ();
      next = openat (dfd, "d", O_PATH | O_DIRECTORY | O_NOFOLLOW);
      if (next < 0 || fchownat (next, "", 1000, 1000, AT_EMPTY_PATH) < 0)
        abort ();
      close (dfd);
      dfd = next;
    }
  close (dfd);
}

/* The name readdir gives last in DIR. */
static void
last_entry (const char *dir, char *out, size_t len)
{
  DIR *d = opendir (dir);
  struct dirent *e;
  while (d && (e = readdir (d)))
    if (e->d_name[0] != '.')
      snprintf (out, len, "%s", e->d_name);
  if (d)
    closedir (d);
}

/* 300 directories beside each other fill the walk's shared queue (256), so
 * what readdir gives last is entered on the worker's own stack, and so is
 * everything below it: there, a chain DEPTH deep. */
static void
test_deep (int depth)
{
  struct chown_report rep;
  char last[256], rel[80];
  cleanup_close int fd = -1;
  int ret;

  fresh_tree ();
  for (int i = 0; i < 300; i++)
    {
      snprintf (rel, sizeof rel, "w%d", i);
      if (mkdir (in_top (rel), 0755) < 0 || chown (in_top (rel), 1000, 1000) < 0)
        abort ();
    }
  last_entry (top, last, sizeof last);
  fd = open (in_top (last), O_PATH | O_DIRECTORY);
  make_chain (fd, depth);
  ret = walk (&rep);
  ok (ret == 0, "a tree %d directories deep, below a full queue, is walked", depth);
  is_int ((long long) rep.changed, 300 + 20 + 2 + depth, "every entry at every level changes");
  chown_report_free (&rep);
}

/* Names that would break a one-line message: each is changed, and the
 * report shows them escaped. */
static void
test_names (void)
{
  static const char *names[] = { "new\nline", "bad\xff\xfeutf8", "esc\x1b[31mred", "tab\there", "ok-\xc3\xa9" };
  struct chown_report rep;

  fresh_tree ();
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    {
      char rel[64];
      snprintf (rel, sizeof rel, "d/%s", names[i]);
      make_file (in_top (rel), 1000);
      if (link (outside_file (), in_top (names[i])) < 0)
        abort ();
    }
  ok (walk (&rep) == 0, "names with newlines, escapes and invalid UTF-8 are walked");
  is_int (owner_of (in_top ("d/new\nline")), TO_UID, "and changed");
  is_int ((long long) rep.hard_links, 5, "the hard links named so are left");
  {
    /* The report keeps the raw names; the line log_line writes escapes them. */
    cleanup_free char *msg = chown_report_leftovers (&rep), *line = NULL;
    hook_error_t *err = NULL;
    char log[] = "/tmp/test-walk-log.XXXXXX";
    cleanup_close int fd = mkstemp (log);
    size_t len = 0;
    FILE *f;

    if (fd < 0 || log_open_file (log, &err) < 0)
      abort ();
    log_line (msg);
    f = fdopen (steal_fd (&fd), "r");
    if (f == NULL || getdelim (&line, &len, '\0', f) < 0)
      abort ();
    fclose (f);
    unlink (log);
    ok (strchr (line, '\n') == strrchr (line, '\n') && !strchr (line, '\x1b') && !strchr (line, '\xff'),
        "the line logged has no newline, escape or invalid byte: %s", line);
    like (line, "esc\\x1b[31mred", "and shows them as \\xNN");
  }
  chown_report_free (&rep);
}

/* FIFOs and sockets are given away; device nodes are not. */
static void
test_special_files (void)
{
  struct chown_report rep;

  fresh_tree ();
  if (mkfifo (in_top ("fifo"), 0644) < 0 || mknod (in_top ("null"), S_IFCHR | 0666, makedev (1, 3)) < 0
      || mknod (in_top ("disk"), S_IFBLK | 0600, makedev (7, 0)) < 0)
    abort ();
  {
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int sk = socket (AF_UNIX, SOCK_STREAM, 0);
    snprintf (sa.sun_path, sizeof sa.sun_path, "%s", in_top ("sock"));
    if (sk < 0 || bind (sk, (struct sockaddr *) &sa, sizeof sa) < 0)
      abort ();
    close (sk);
  }
  if (lchown (in_top ("fifo"), 1000, 1000) < 0 || lchown (in_top ("null"), 1000, 1000) < 0
      || lchown (in_top ("disk"), 1000, 1000) < 0 || lchown (in_top ("sock"), 1000, 1000) < 0)
    abort ();
  ok (walk (&rep) == 0, "a tree with a FIFO, a socket and device nodes is walked (nothing blocks)");
  ok (owner_of (in_top ("fifo")) == TO_UID && owner_of (in_top ("sock")) == TO_UID, "the FIFO and socket change");
  ok (owner_of (in_top ("null")) == 1000 && owner_of (in_top ("disk")) == 1000, "the device nodes do not");
  is_int ((long long) rep.devices, 2, "and are reported");
  chown_report_free (&rep);
}

static void
remove_f5 (void)
{
  if (unlink (in_top ("d/f5")) < 0)
    abort ();
}

/* A file removed between the walk's readdir and its look at it is no
 * error: it is counted, and the summary says so in one line. */
static void
test_vanished (void)
{
  struct chown_report rep;
  struct stat st;
  cleanup_free char *leftovers = NULL;

  fresh_tree ();
  if (stat (in_top ("d"), &st) < 0)
    abort ();
  race = (typeof (race)){ .moment = RACE_AFTER_READ, .victim = st.st_ino, .swap = remove_f5 };
  ok (walk (&rep) == 0, "walk while a file is removed after readdir");
  ok (race.fired == 1, "the removal happened");
  is_int ((long long) rep.vanished, 1, "it is counted as vanished");
  is_int ((long long) rep.changed, 21, "everything else changes");
  leftovers = chown_report_leftovers (&rep);
  like (leftovers, "1 entries removed during the walk", "the summary names it");
  ok (strchr (leftovers, '\n') == NULL, "in one line");
  chown_report_free (&rep);
}

/* THREADS walkers, a journal synced by its own thread while they fill
 * their next batches: still, every change has its record synced before
 * it.  With 64, the batches and directory buffers are the memory budget's
 * smallest (16 changes, 4 KiB): each directory takes several reads, with
 * descents into its subdirectories between them. */
static void
test_records_durable_first (unsigned int threads)
{
  char jdir[120], cmd[300];
  struct journal_header h = { .major = 1, .target_uid = TO_UID, .target_gid = TO_GID };
  struct journal j = { .fd = -1 };
  struct chown_spec spec = { .to_uid = TO_UID, .to_gid = TO_GID, .threads = threads };
  struct chown_report rep;
  hook_error_t *err = NULL;
  cleanup_close int fd = -1;
  int dfd, files = 0;

  fresh_tree ();
  for (int d = 0; d < 6; d++)
    {
      char rel[32];
      snprintf (rel, sizeof rel, "m%d", d);
      if (mkdir (in_top (rel), 0755) < 0 || chown (in_top (rel), 1000, 1000) < 0)
        abort ();
      for (int i = 0; i < 400; i++, files++)
        {
          snprintf (rel, sizeof rel, "m%d/f%d", d, i);
          make_file (in_top (rel), 1000);
          if (i % 100 != 50)
            continue;
          snprintf (rel, sizeof rel, "m%d/s%d", d, i);
          if (mkdir (in_top (rel), 0755) < 0 || chown (in_top (rel), 1000, 1000) < 0)
            abort ();
          for (int k = 0; k < 3; k++, files++)
            {
              snprintf (rel, sizeof rel, "m%d/s%d/g%d", d, i, k);
              make_file (in_top (rel), 1000);
            }
          files++;
        }
    }
  snprintf (jdir, sizeof jdir, "%s-journal", top);
  snprintf (h.container, sizeof h.container, "walk-test");
  snprintf (h.dest, sizeof h.dest, "/data");
  snprintf (h.source, sizeof h.source, "%s", top);
  {
    struct journal_handle th;
    cleanup_close int top_fd = open (top, O_PATH | O_DIRECTORY);
    if (journal_handle_of (top_fd, &th) < 0)
      abort ();
    h.root_handle_type = th.fh.handle_type;
    h.root_handle_bytes = th.fh.handle_bytes;
    memcpy (h.root_handle, th.fh.f_handle, th.fh.handle_bytes);
  }
  dfd = journal_dir_open (jdir, &err);
  if (dfd < 0 || journal_create (dfd, jdir, "w.journal", &h, &j, &err) < 0)
    {
      diag ("journal: %s", error_shown (err));
      abort ();
    }
  watch.fd = j.fd;
  watch.synced = 0;
  watch.changes = watch.unrecorded = watch.syncs = 0;
  fd = open (top, O_PATH | O_DIRECTORY);
  is_success (chown_walk (fd, &spec, &j, &rep, &err), 0, &err, "%u walkers: a walk of %d entries with a journal",
              threads, files + 28);
  watch.fd = -1;
  is_int ((long long) rep.changed, files + 28, "changes every entry");
  is_int (watch.changes, files + 28, "each with one chown");
  ok (watch.syncs >= 2, "the journal was synced in several steps (%d)", watch.syncs);
  is_int (watch.unrecorded, 0, "no owner changed before its record was synced");
  chown_report_free (&rep);
  journal_close (&j);
  close (dfd);
  snprintf (cmd, sizeof cmd, "rm -rf %s", jdir);
  if (system (cmd) != 0)
    diag ("could not remove %s", jdir);
}

/* One directory of 5000 files and four walkers: the reader gives shares
 * of its files to the walkers that wait, so more than two change owners
 * (one walker per directory: at most two, the top's and d's); every file
 * changes once. */
static void
test_big_directory (void)
{
  struct chown_spec spec = { .to_uid = TO_UID, .to_gid = TO_GID, .threads = 4 };
  struct chown_report rep;
  hook_error_t *err = NULL;
  cleanup_close int fd = -1;
  char rel[32];

  fresh_tree ();
  for (int i = 0; i < 5000; i++)
    {
      snprintf (rel, sizeof rel, "d/b%d", i);
      make_file (in_top (rel), 1000);
    }
  watch.count_threads = true;
  watch.n_tids = 0;
  fd = open (top, O_PATH | O_DIRECTORY);
  is_success (chown_walk (fd, &spec, NULL, &rep, &err), 0, &err, "4 walkers: one directory of 5000 files");
  watch.count_threads = false;
  is_int ((long long) rep.changed, 5000 + 20 + 2, "every entry changes");
  is_int (owner_of (in_top ("d/b4999")), TO_UID, "the last file too");
  ok (watch.n_tids > 2, "the directory's files were changed by %d walkers", watch.n_tids);
  chown_report_free (&rep);
}

/* The name a share's taker just looked at becomes a hard link to the file
 * outside (the original kept as .NAME), or a symlink to it. */
static void
outside_over_hit (bool as_symlink)
{
  char rel[48], moved[48];
  snprintf (rel, sizeof rel, "d/%s", race.hit);
  snprintf (moved, sizeof moved, "d/.%s", race.hit);
  if (rename (in_top (rel), in_top (moved)) < 0
      || (as_symlink ? user_symlink (outside_file (), in_top (rel)) : link (outside_file (), in_top (rel))) < 0)
    abort ();
}

static void
link_outside_over_hit (void)
{
  outside_over_hit (false);
}

static void
symlink_outside_over_hit (void)
{
  outside_over_hit (true);
}

/* The races of test_link_after_look and test_symlink_after_look, at a name
 * another walker took in a share of the big directory: whoever handles a
 * name checks it as the reader would. */
static void
test_race_in_share (void (*swap) (void), const char *what)
{
  struct chown_spec spec = { .to_uid = TO_UID, .to_gid = TO_GID, .threads = 4 };
  struct chown_report rep;
  hook_error_t *err = NULL;
  cleanup_close int fd = -1;
  struct stat st;
  char rel[48];

  fresh_tree ();
  for (int i = 0; i < 2000; i++)
    {
      snprintf (rel, sizeof rel, "d/b%d", i);
      make_file (in_top (rel), 1000);
    }
  if (stat (in_top ("d"), &st) < 0)
    abort ();
  race = (typeof (race)){ .moment = RACE_IN_SHARE_AFTER_LOOK, .victim = st.st_ino, .swap = swap };
  fd = open (top, O_PATH | O_DIRECTORY);
  is_success (chown_walk (fd, &spec, NULL, &rep, &err), 0, &err, "4 walkers: a name in a share becomes %s", what);
  ok (race.fired >= 1, "the attack happened (at %s, in a walker that does not read the directory)", race.hit);
  is_int (owner_of (outside_file ()), OUTSIDE_UID, "the file outside keeps its owner");
  snprintf (rel, sizeof rel, "d/%s", race.hit);
  ok (lstat (in_top (rel), &st) == 0 && (swap != symlink_outside_over_hit || S_ISLNK (st.st_mode)),
      "the name is %s now", what);
  if (swap == link_outside_over_hit)
    is_int ((long long) rep.hard_links, 1, "the new hard link is seen and reported");
  is_int (owner_of (in_top ("d/b1999")), TO_UID, "the directory's other files are given away");
  memset (&race, 0, sizeof race);
  chown_report_free (&rep);
}

/* Giving files the container made back (only_new): a setuid/setgid file
 * with a capability becomes the source owner's without any of them. */
static void
test_new_files_lose_privilege (void)
{
  struct chown_spec spec = { .to_uid = 1000,
                             .to_gid = 1000,
                             .allow_host_root = true,
                             .only_new = true,
                             .from_uid = TO_UID,
                             .from_gid = TO_GID,
                             .born_after = 0,
                             .threads = 1 };
  static const unsigned char cap[20] = { 0x01, 0, 0, 0x02, 0, 0x20 };
  struct chown_report rep;
  hook_error_t *err = NULL;
  cleanup_close int fd = -1;
  struct stat st;
  int f;

  fresh_tree ();
  f = open (in_top ("d/new"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (f < 0 || fchown (f, TO_UID, TO_GID) < 0 || fchmod (f, 06755) < 0
      || fsetxattr (f, "security.capability", cap, sizeof cap, 0) < 0)
    abort ();
  close (f);
  if (mkdir (in_top ("d/sgid-dir"), 02775) < 0 || chown (in_top ("d/sgid-dir"), TO_UID, TO_GID) < 0
      || chmod (in_top ("d/sgid-dir"), 02775) < 0)
    abort ();
  fd = open (top, O_PATH | O_DIRECTORY);
  is_success (chown_walk (fd, &spec, NULL, &rep, &err), 0, &err, "files the container made are given back");
  ok (stat (in_top ("d/new"), &st) == 0 && st.st_uid == 1000 && st.st_gid == 1000 && (st.st_mode & 07777) == 0755
          && getxattr (in_top ("d/new"), "security.capability", NULL, 0) < 0,
      "a setuid/setgid file with a capability: to the source owner, without them (%o)", st.st_mode & 07777);
  ok (stat (in_top ("d/sgid-dir"), &st) == 0 && st.st_uid == 1000 && (st.st_mode & 07777) == 02775,
      "a setgid directory keeps its bit (inheritance, not privilege)");
  is_int ((long long) rep.privilege_cleared, 1, "one file lost its privilege, counted");
  chown_report_free (&rep);
}

/* A file born in the very tick the chown started (its birth time equal to
 * the journal's start, as the kernel's coarse clock gives both) is one the
 * container made: it is given back. */
static void
test_new_file_born_at_start (void)
{
  struct chown_spec spec = { .to_uid = 1000,
                             .to_gid = 1000,
                             .allow_host_root = true,
                             .only_new = true,
                             .from_uid = TO_UID,
                             .from_gid = TO_GID,
                             .threads = 1 };
  struct chown_report rep;
  hook_error_t *err = NULL;
  cleanup_close int fd = -1;
  struct statx sx;
  struct stat st;
  int f;

  fresh_tree ();
  f = open (in_top ("d/same-tick"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (f < 0 || fchown (f, TO_UID, TO_GID) < 0 || statx (f, "", AT_EMPTY_PATH, STATX_BTIME, &sx) < 0)
    abort ();
  close (f);
  if (!(sx.stx_mask & STATX_BTIME))
    {
      ok (false, "the filesystem of the test tree records birth times");
      return;
    }
  spec.born_after = (int64_t) sx.stx_btime.tv_sec * 1000000000 + sx.stx_btime.tv_nsec;
  fd = open (top, O_PATH | O_DIRECTORY);
  is_success (chown_walk (fd, &spec, NULL, &rep, &err), 0, &err, "the walk of new files runs");
  if (stat (in_top ("d/same-tick"), &st) < 0)
    abort ();
  ok (st.st_uid == 1000 && st.st_gid == 1000, "a file born at the start time itself is given back (%u:%u)",
      (unsigned int) st.st_uid, (unsigned int) st.st_gid);
  chown_report_free (&rep);
}

/* The second of three worker threads fails to start: the walk goes on
 * with the ones that run and waits for exactly those. */
static void
test_thread_start_fails (void)
{
  struct chown_spec spec = { .to_uid = TO_UID, .to_gid = TO_GID, .threads = 4 };
  struct chown_report rep;
  hook_error_t *err = NULL;
  cleanup_close int fd = -1;

  fresh_tree ();
  fd = open (top, O_PATH | O_DIRECTORY);
  fail_create_call = 2;
  is_success (chown_walk (fd, &spec, NULL, &rep, &err), 0, &err, "a walk whose second thread fails to start");
  ok (fail_create_call == 0, "the start failed");
  fail_create_call = 0;
  is_int ((long long) rep.changed, 22, "every entry changes all the same");
  ok (owner_of (in_top ("d/f19")) == TO_UID, "the last file too");
  chown_report_free (&rep);
}

/* The walker count: asked, capped; else one per CPU on a local filesystem
 * (FUSE's 32 are tested on a real FUSE mount in tests/integration/chown.bats). */
static void
test_walkers (void)
{
  int fd = open ("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
  long cpus = sysconf (_SC_NPROCESSORS_ONLN);
  struct chown_walkers w = chown_walkers_for (fd, 0);

  is_int (w.n, cpus > CHOWN_MAX_THREADS ? CHOWN_MAX_THREADS : cpus, "a local filesystem: one walker per CPU");
  is_str (w.why, "one per CPU on a local filesystem", "and it says why");
  w = chown_walkers_for (fd, 3);
  is_int (w.n, 3, "--chown-threads 3: 3 walkers");
  is_str (w.why, "as --chown-threads asks", "and it says why");
  is_int (chown_walkers_for (fd, 1000).n, CHOWN_MAX_THREADS, "more than the cap: the cap");
  close (fd);
}

/* The default count under a low open-file limit (in a child: a hard limit
 * cannot be raised again): no more walkers than it holds, and the limit
 * said; an explicit count is taken as asked. */
static void
test_walkers_fd_limit (void)
{
  struct chown_walkers got[2];
  int p[2];
  pid_t pid;

  if (pipe (p) < 0 || (pid = fork ()) < 0)
    return (void) ok (false, "pipe and fork: %s", strerror (errno));
  if (pid == 0)
    {
      struct rlimit rl = { 270, 270 };
      int fd = open ("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
      struct chown_walkers w[2];
      if (setrlimit (RLIMIT_NOFILE, &rl) < 0)
        _exit (1);
      w[0] = chown_walkers_for (fd, 0);
      w[1] = chown_walkers_for (fd, 5);
      _exit (write (p[1], w, sizeof w) == (ssize_t) sizeof w ? 0 : 1);
    }
  close (p[1]);
  ok (read (p[0], got, sizeof got) == (ssize_t) sizeof got && waitpid (pid, NULL, 0) == pid, "the child ran");
  close (p[0]);
  is_int (got[0].n, 1, "an open-file limit of 270: 1 walker by default");
  /* One CPU: one walker is the default anyway, and nothing was lowered. */
  is_int ((int) got[0].nofile, sysconf (_SC_NPROCESSORS_ONLN) > 1 ? 270 : 0, "and the limit is said");
  is_int (got[1].n, 5, "--chown-threads 5 is taken as asked");
  is_int ((int) got[1].nofile, 0, "with no limit said");
}

int
main (void)
{
  if (geteuid () != 0)
    {
      printf ("1..0 # SKIP changing owners needs root\n");
      return 0;
    }
  snprintf (top, sizeof top, "/tmp/oih-walk-%d", (int) getpid ());
  snprintf (outside, sizeof outside, "%s-outside", top);
  test_plain ();
  test_link_gone_after_open ();
  test_link_after_look ();
  test_symlink_after_look ();
  test_dir_becomes_symlink ();
  test_deep (10000);
  test_names ();
  test_special_files ();
  test_vanished ();
  test_records_durable_first (2);
  test_records_durable_first (64);
  test_big_directory ();
  test_race_in_share (link_outside_over_hit, "a hard link to a file outside");
  test_race_in_share (symlink_outside_over_hit, "a symlink to a file outside");
  test_thread_start_fails ();
  test_new_files_lose_privilege ();
  test_new_file_born_at_start ();
  test_walkers ();
  test_walkers_fd_limit ();
  {
    char cmd[200];
    snprintf (cmd, sizeof cmd, "rm -rf %s %s", top, outside);
    if (system (cmd) != 0)
      diag ("could not remove %s", top);
  }
  return done_testing ();
}
