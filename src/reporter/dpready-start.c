// dpready-start: the image's entrypoint. It takes the instant the container's command started,
// before anything else runs, and execs the rest of its command line (node) with that instant in
// DPREADY_START_NS (Unix time, ns). The reporter records it as its start.
//
// Why a program of its own: Node's own start-up, before any JavaScript runs, takes 13-17 ms
// after the exec on an idle node and hundreds of ms on a loaded one (a reporter with a 10m CPU
// request waits behind everything else), so a start taken by the reporter in Node is late by
// that much (2026-12-05-bbf062f.json: 14-134 ms after the kernel's exec). This program needs
// no loader and no runtime (static), so its first instruction comes right after the exec.
// It stays in the container no longer than an execve: node replaces it under the same PID.
//
// It also passes the wall clock's offset from the monotonic clock (DPREADY_WALL_MINUS_MONO_NS),
// read together here. Node's performance.now() counts on the monotonic clock, and the wall time
// Node pairs with it (performance.timeOrigin) was taken at another moment of its start: on busy
// cores the two can lie tens of ms apart (32 ms in one of 90 processes,
// bench/results/time-origin-2026-12-07-d9f144e.json), which would put that pod's
// datapath-ready instant as much late.
//
// And it asks the kernel for a short scheduler slice (sched_setattr's sched_runtime, EEVDF's
// custom slice, Linux 6.12 and later) for the whole process, which node inherits across the
// exec, its threads too. A reporter's work is a tick every 20 ms of well under a millisecond;
// what decides its error is how soon after its timer fires it gets a core on a busy node. With
// the default slice (0.75 ms × (1 + log2 CPUs)) a woken reporter waits for the running task's
// slice, or the next scheduler tick (4 ms at HZ=250); with a shorter one it preempts at wake-up.
// It is a hint, not a priority: the share of CPU stays the cgroup's, and no privilege is needed.
// Where the kernel refuses (a seccomp profile, an older kernel), the reporter runs as before and
// says so (DPREADY_SCHED_SLICE).
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

/** The slice asked for, ns: the kernel's lower clamp, near one tick's CPU (0.4-0.6 ms per attempt). */
#define SLICE_NS 100000ULL

/** The kernel's struct sched_attr, its first version (48 bytes): glibc wraps it only from 2.41. */
struct sched_attr_v0 {
  uint32_t size, sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime, sched_deadline, sched_period;
};

/**
 * Sets this process's slice to SLICE_NS, keeping its policy and nice value (lowering nice would
 * need a privilege the container does not have). Returns the slice the kernel reports after it,
 * or 0 with errno set.
 */
static unsigned long long short_slice(void) {
  struct sched_attr_v0 a;
  memset(&a, 0, sizeof a);
  if (syscall(SYS_sched_getattr, 0, &a, sizeof a, 0) != 0) return 0;
  // Only the fair policies have a slice (0 SCHED_OTHER, 3 SCHED_BATCH); leave any other alone.
  if (a.sched_policy != 0 && a.sched_policy != 3) { errno = EINVAL; return 0; }
  a.size = sizeof a;
  a.sched_flags = 0;
  a.sched_runtime = SLICE_NS;
  if (syscall(SYS_sched_setattr, 0, &a, 0) != 0) return 0;
  memset(&a, 0, sizeof a);
  if (syscall(SYS_sched_getattr, 0, &a, sizeof a, 0) != 0) return 0;
  // A kernel before 6.12 accepts the call and keeps no slice: it reads back 0.
  if (a.sched_runtime == 0) errno = ENOSYS;
  return a.sched_runtime;
}

static long long ns_of(const struct timespec *t) { return (long long)t->tv_sec * 1000000000LL + t->tv_nsec; }

/**
 * Wall − monotonic, ns, from a wall reading between two monotonic ones no more than 20 µs
 * apart (a preemption in between widens them; a few tries); 0 when no try was that tight.
 */
static long long wall_minus_mono(void) {
  for (int i = 0; i < 8; i++) {
    struct timespec m1, r, m2;
    if (clock_gettime(CLOCK_MONOTONIC, &m1) != 0 || clock_gettime(CLOCK_REALTIME, &r) != 0 || clock_gettime(CLOCK_MONOTONIC, &m2) != 0) return 0;
    long long a = ns_of(&m1), b = ns_of(&m2);
    if (b - a <= 20000) return ns_of(&r) - (a + (b - a) / 2);
  }
  return 0;
}

int main(int argc, char **argv) {
  struct timespec now;
  // First: every instruction before this one is error in the start instant.
  if (clock_gettime(CLOCK_REALTIME, &now) != 0) {
    fprintf(stderr, "dpready-start: clock_gettime: %s\n", strerror(errno));
    return 126;
  }
  if (argc < 2) {
    fputs("usage: dpready-start COMMAND [ARG...]\n"
          "runs COMMAND with DPREADY_START_NS set to the instant dpready-start started (Unix time, ns)\n", stderr);
    return 2;
  }
  char value[32];
  snprintf(value, sizeof value, "%lld%09ld", (long long)now.tv_sec, now.tv_nsec);
  if (setenv("DPREADY_START_NS", value, 1) != 0) {
    fprintf(stderr, "dpready-start: setenv: %s\n", strerror(errno));
    return 126;
  }
  // Without it the reporter measures the offset itself (1-2 ms of its CPU, up to 12 when busy).
  long long offset = wall_minus_mono();
  if (offset > 0) {
    snprintf(value, sizeof value, "%lld", offset);
    if (setenv("DPREADY_WALL_MINUS_MONO_NS", value, 1) != 0) {
      fprintf(stderr, "dpready-start: setenv: %s\n", strerror(errno));
      return 126;
    }
  }
  unsigned long long slice = short_slice();
  char outcome[96];
  if (slice) snprintf(outcome, sizeof outcome, "%lluns", slice);
  else snprintf(outcome, sizeof outcome, "kernel default (%s)", strerror(errno));
  if (setenv("DPREADY_SCHED_SLICE", outcome, 1) != 0) {
    fprintf(stderr, "dpready-start: setenv: %s\n", strerror(errno));
    return 126;
  }
  execvp(argv[1], &argv[1]);
  // The shell's conventions: 127 not found, 126 found but not runnable.
  int err = errno;
  fprintf(stderr, "dpready-start: cannot run %s: %s\n", argv[1], strerror(err));
  return err == ENOENT ? 127 : 126;
}
