/* LD_PRELOAD shim: I/O that fails on demand, for the fault tests.
 *
 * While the file named by FAIL_WRITES_WHILE exists, write() to any file
 * whose path contains FAIL_WRITES_MATCH fails with errno FAIL_WRITES_ERRNO
 * (default 5, EIO: a worn or failing flash; 28, ENOSPC: a full one). While
 * the file named by FAIL_READONLY_WHILE exists, paths containing
 * FAIL_WRITES_MATCH behave as on a read-only mount: opening one for writing,
 * writing to one already open, rename(), mkdir() and unlink() fail with
 * EROFS. While the file named by
 * FAIL_SOCKETS_WHILE exists, socket() fails with EMFILE (no descriptors
 * left). A test turns a fault on and off by
 * creating and removing the file, while the firmware runs. Built by the
 * test for the port's word size:
 * `cc [-m32] -shared -fPIC -o fail_io.so fail_io.c -ldl`.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_socket)(int, int, int);
static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_rename)(const char *, const char *);
static int (*real_mkdir)(const char *, mode_t);
static int (*real_unlink)(const char *);
static const char *writes_match;
static const char *writes_flag;
static const char *readonly_flag;
static const char *sockets_flag;
static int writes_errno = EIO;

__attribute__((constructor)) static void init(void) {
    real_write = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    real_socket = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
    real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
    real_open64 = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open64");
    real_rename = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
    real_mkdir = (int (*)(const char *, mode_t))dlsym(RTLD_NEXT, "mkdir");
    real_unlink = (int (*)(const char *))dlsym(RTLD_NEXT, "unlink");
    writes_match = getenv("FAIL_WRITES_MATCH");
    writes_flag = getenv("FAIL_WRITES_WHILE");
    readonly_flag = getenv("FAIL_READONLY_WHILE");
    sockets_flag = getenv("FAIL_SOCKETS_WHILE");
    if (getenv("FAIL_WRITES_ERRNO") != NULL) {
        writes_errno = atoi(getenv("FAIL_WRITES_ERRNO"));
    }
}

static int on(const char *flag) {
    return flag != NULL && access(flag, F_OK) == 0;
}

ssize_t write(int fd, const void *buf, size_t n) {
    int readonly = on(readonly_flag);
    if (writes_match != NULL && (on(writes_flag) || readonly)) {
        char link[64];
        char path[4096];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t len = readlink(link, path, sizeof path - 1);
        if (len > 0) {
            path[len] = '\0';
            if (strstr(path, writes_match) != NULL) {
                errno = readonly ? EROFS : writes_errno;  /* a file opened before the mount went read-only */
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

/* A path under FAIL_WRITES_MATCH while the read-only flag is up. */
static int read_only(const char *path) {
    if (writes_match == NULL || path == NULL || !on(readonly_flag)) {
        return 0;
    }
    char whole[4096] = "";
    if (path[0] != '/' && getcwd(whole, sizeof whole - 1) != NULL) {
        strncat(whole, "/", sizeof whole - strlen(whole) - 1);  /* the firmware's paths are relative */
    }
    strncat(whole, path, sizeof whole - strlen(whole) - 1);
    return strstr(whole, writes_match) != NULL;
}

static int opened(int (*real)(const char *, int, ...), const char *path, int flags, va_list args) {
    mode_t mode = (flags & O_CREAT) ? (mode_t)va_arg(args, int) : 0;
    if ((flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) && read_only(path)) {
        errno = EROFS;
        return -1;
    }
    return real(path, flags, mode);
}

int open(const char *path, int flags, ...) {
    va_list args;
    va_start(args, flags);
    int fd = opened(real_open, path, flags, args);
    va_end(args);
    return fd;
}

int open64(const char *path, int flags, ...) {
    va_list args;
    va_start(args, flags);
    int fd = opened(real_open64 != NULL ? real_open64 : real_open, path, flags, args);
    va_end(args);
    return fd;
}

int rename(const char *from, const char *to) {
    if (read_only(from) || read_only(to)) {
        errno = EROFS;
        return -1;
    }
    return real_rename(from, to);
}

int mkdir(const char *path, mode_t mode) {
    if (read_only(path)) {
        errno = EROFS;
        return -1;
    }
    return real_mkdir(path, mode);
}

int unlink(const char *path) {
    if (read_only(path)) {
        errno = EROFS;
        return -1;
    }
    return real_unlink(path);
}
