/* LD_PRELOAD shim: I/O that fails on demand, for the fault tests.
 *
 * While the file named by FAIL_WRITES_WHILE exists, write() to any file
 * whose path contains FAIL_WRITES_MATCH fails with EIO (a worn or failing
 * flash). While the file named by FAIL_SOCKETS_WHILE exists, socket() fails
 * with EMFILE (no descriptors left). A test turns a fault on and off by
 * creating and removing the file, while the firmware runs. Built by the
 * test for the port's word size:
 * `cc [-m32] -shared -fPIC -o fail_io.so fail_io.c -ldl`.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_socket)(int, int, int);
static const char *writes_match;
static const char *writes_flag;
static const char *sockets_flag;

__attribute__((constructor)) static void init(void) {
    real_write = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    real_socket = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
    writes_match = getenv("FAIL_WRITES_MATCH");
    writes_flag = getenv("FAIL_WRITES_WHILE");
    sockets_flag = getenv("FAIL_SOCKETS_WHILE");
}

static int on(const char *flag) {
    return flag != NULL && access(flag, F_OK) == 0;
}

ssize_t write(int fd, const void *buf, size_t n) {
    if (writes_match != NULL && on(writes_flag)) {
        char link[64];
        char path[4096];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t len = readlink(link, path, sizeof path - 1);
        if (len > 0) {
            path[len] = '\0';
            if (strstr(path, writes_match) != NULL) {
                errno = EIO;
                return -1;
            }
        }
    }
    return real_write(fd, buf, n);
}

int socket(int domain, int type, int protocol) {
    if (on(sockets_flag)) {
        errno = EMFILE;
        return -1;
    }
    return real_socket(domain, type, protocol);
}
