/*
 * secure.c - memory for key material and secrets, and the process settings
 * that keep them out of core dumps (see common.h).
 *
 * Each allocation is its own anonymous mapping: a 64-byte header (a magic
 * word and the mapping's length) and the caller's bytes after it, rounded up
 * to whole pages. The pages are marked MADV_DONTDUMP, so even a core that is
 * written (a debugger's gcore, a kernel that ignores the process settings)
 * leaves them out, and locked with mlock when RLIMIT_MEMLOCK allows, so they
 * are not written to swap. A mapping per allocation costs a page at least:
 * meant for the few buffers that hold many keys or a whole decrypted vault,
 * not for many small strings.
 */
#include "sasgw/common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define SECURE_MAGIC 0x7367736563757265ull /* "sgsecure" */

struct secure_header {
    uint64_t magic;
    size_t maplen;
    unsigned char pad[SG_SECURE_OFFSET - sizeof(uint64_t) - sizeof(size_t)];
};

_Static_assert(sizeof(struct secure_header) == SG_SECURE_OFFSET, "the header fills the offset exactly");

void *sg_secure_alloc(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (n > SIZE_MAX - SG_SECURE_OFFSET - page) {
        fprintf(stderr, "sasgw: out of memory (allocating %zu bytes of secure memory)\n", n);
        abort();
    }
    size_t maplen = (SG_SECURE_OFFSET + n + page - 1) / page * page;
    void *base = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        fprintf(stderr, "sasgw: out of memory (mapping %zu bytes of secure memory: %s)\n", maplen, strerror(errno));
        abort();
    }
    /* best effort both: a kernel without MADV_DONTDUMP or a low RLIMIT_MEMLOCK must not stop the server */
    (void)madvise(base, maplen, MADV_DONTDUMP);
    (void)mlock(base, maplen);
    struct secure_header *h = base;
    h->magic = SECURE_MAGIC;
    h->maplen = maplen;
    return (unsigned char *)base + SG_SECURE_OFFSET; /* mmap zeroed it */
}

void *sg_secure_calloc(size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size) {
        fprintf(stderr, "sasgw: out of memory (%zu times %zu bytes of secure memory)\n", count, size);
        abort();
    }
    return sg_secure_alloc(count * size);
}

void sg_secure_free(void *p)
{
    if (p == NULL)
        return;
    struct secure_header *h = (struct secure_header *)(void *)((unsigned char *)p - SG_SECURE_OFFSET);
    if (h->magic != SECURE_MAGIC) {
        fprintf(stderr, "sasgw: sg_secure_free() of memory sg_secure_alloc() did not return\n");
        abort();
    }
    size_t maplen = h->maplen;
    OPENSSL_cleanse(h, maplen);
    (void)munlock(h, maplen);
    munmap(h, maplen);
}

int sg_process_harden(char *err, size_t errlen)
{
    struct rlimit none = {0, 0};
    if (setrlimit(RLIMIT_CORE, &none) != 0) {
        snprintf(err, errlen, "cannot turn core dumps off (setrlimit RLIMIT_CORE): %s", strerror(errno));
        return -1;
    }
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        snprintf(err, errlen, "cannot make the process non-dumpable (prctl PR_SET_DUMPABLE): %s", strerror(errno));
        return -1;
    }
    return 0;
}
