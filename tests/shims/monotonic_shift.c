/* LD_PRELOAD shim: CLOCK_MONOTONIC runs SHIFT_MS milliseconds ahead.
 *
 * The MicroPython unix port's ticks_ms() is CLOCK_MONOTONIC in ms, masked
 * to 2**30 on a 32-bit build, as on a board. Shifting it lets a test start
 * the firmware a minute before the ticks wrap instead of 12.4 days after
 * boot. (libfaketime shifts the wall clock of a 32-bit process but not its
 * monotonic clock, which is what this needs.) The port is built with a
 * 64-bit time_t, so glibc sends it to __clock_gettime64; the 32-bit
 * clock_gettime is shifted too, for anything else. Built by the test:
 * `cc -m32 -shared -fPIC -o monotonic_shift.so monotonic_shift.c -ldl`.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

struct timespec64 {
    int64_t tv_sec;
    int32_t tv_nsec;
    int32_t padding;
};

static int (*real64)(clockid_t, struct timespec64 *);
static int (*real32)(clockid_t, struct timespec *);
static long long shift_ms;

__attribute__((constructor)) static void init(void) {
    const char *text = getenv("SHIFT_MS");
    shift_ms = text ? atoll(text) : 0;
    real64 = (int (*)(clockid_t, struct timespec64 *))dlsym(RTLD_NEXT, "__clock_gettime64");
    real32 = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
}

static int monotonic(clockid_t clock) {
    return clock == CLOCK_MONOTONIC || clock == CLOCK_MONOTONIC_RAW;
}

/* Adds the shift to seconds and nanoseconds; returns the new nanoseconds. */
static long long shift(long long *sec, long long nsec) {
    nsec += (shift_ms % 1000) * 1000000LL;
    *sec += shift_ms / 1000 + nsec / 1000000000LL;
    return nsec % 1000000000LL;
}

int __clock_gettime64(clockid_t clock, struct timespec64 *ts) {
    int result = real64(clock, ts);
    if (result == 0 && monotonic(clock)) {
        long long sec = ts->tv_sec;
        ts->tv_nsec = (int32_t)shift(&sec, ts->tv_nsec);
        ts->tv_sec = sec;
    }
    return result;
}

int clock_gettime(clockid_t clock, struct timespec *ts) {
    int result = real32(clock, ts);
    if (result == 0 && monotonic(clock)) {
        long long sec = ts->tv_sec;
        ts->tv_nsec = (long)shift(&sec, ts->tv_nsec);
        ts->tv_sec = (time_t)sec;
    }
    return result;
}
