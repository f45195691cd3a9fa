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
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
  execvp(argv[1], &argv[1]);
  // The shell's conventions: 127 not found, 126 found but not runnable.
  int err = errno;
  fprintf(stderr, "dpready-start: cannot run %s: %s\n", argv[1], strerror(err));
  return err == ENOENT ? 127 : 126;
}
