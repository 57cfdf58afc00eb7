/*
 * Tests common/secure.c: memory for secrets lives in its own pages, which are
 * marked "dd" (MADV_DONTDUMP) in /proc/self/smaps, zeroed, aligned, and gone
 * from /proc/self/maps after sg_secure_free(); sg_process_harden() leaves the
 * process non-dumpable with RLIMIT_CORE 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "sasgw/common.h"

/*
 * Finds the mapping of /proc/self/smaps that contains p. Returns 1 and copies
 * its VmFlags line into flags, or 0 when no mapping contains p.
 */
static int mapping_flags(const void *p, char *flags, size_t cap)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    assert_non_null(f);
    char line[512];
    int inside = 0, found = 0;
    uintptr_t a = (uintptr_t)p;
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            inside = a >= lo && a < hi;
            continue;
        }
        if (inside && strncmp(line, "VmFlags:", 8) == 0) {
            snprintf(flags, cap, "%s", line + 8);
            found = 1;
            break;
        }
    }
    fclose(f);
    return found;
}

/* 1 when the flags line holds the two-letter flag (" dd", " lo", ...). */
static int has_flag(const char *flags, const char *flag)
{
    char want[8];
    snprintf(want, sizeof(want), " %s", flag);
    const char *s = strstr(flags, want);
    return s != NULL && (s[3] == ' ' || s[3] == '\n' || s[3] == '\0');
}

static void small_allocation_is_zeroed_aligned_and_not_dumped(void **state)
{
    char flags[512];
    unsigned char *p = sg_secure_alloc(100);
    assert_int_equal((uintptr_t)p % SG_SECURE_OFFSET, 0);
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(p[i], 0);
    memset(p, 0xa5, 100);
    assert_true(mapping_flags(p, flags, sizeof(flags)));
    assert_true(has_flag(flags, "dd"));
    sg_secure_free(p);
}

static void every_page_of_a_large_allocation_is_not_dumped(void **state)
{
    char flags[512];
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = 5 * page + 17;
    unsigned char *p = sg_secure_calloc(n, 1);
    for (size_t off = 0; off < n; off += page) {
        assert_true(mapping_flags(p + off, flags, sizeof(flags)));
        assert_true(has_flag(flags, "dd"));
    }
    assert_true(mapping_flags(p + n - 1, flags, sizeof(flags)));
    assert_true(has_flag(flags, "dd"));
    p[n - 1] = 1;
    sg_secure_free(p);
}

static void free_unmaps(void **state)
{
    char flags[512];
    void *p = sg_secure_alloc(32);
    assert_true(mapping_flags(p, flags, sizeof(flags)));
    sg_secure_free(p);
    assert_false(mapping_flags(p, flags, sizeof(flags)));
    sg_secure_free(NULL);
}

static void ordinary_heap_is_dumped(void **state)
{
    /* the check above can tell the difference: a malloc'd buffer's pages are not "dd" */
    char flags[512];
    void *p = sg_alloc(100);
    assert_true(mapping_flags(p, flags, sizeof(flags)));
    assert_false(has_flag(flags, "dd"));
    free(p);
}

static void harden_turns_core_dumps_off(void **state)
{
    /* in a child, so the test runner itself stays as it was */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[256];
        struct rlimit rl;
        if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 1)
            _exit(10); /* the starting point this test assumes */
        if (sg_process_harden(err, sizeof(err)) != 0)
            _exit(11);
        if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
            _exit(12);
        if (getrlimit(RLIMIT_CORE, &rl) != 0 || rl.rlim_cur != 0 || rl.rlim_max != 0)
            _exit(13);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(small_allocation_is_zeroed_aligned_and_not_dumped),
        cmocka_unit_test(every_page_of_a_large_allocation_is_not_dumped),
        cmocka_unit_test(free_unmaps),
        cmocka_unit_test(ordinary_heap_is_dumped),
        cmocka_unit_test(harden_turns_core_dumps_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
