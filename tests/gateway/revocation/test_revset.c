/* Tests gateway/revocation/revset.c: membership, expiry trimming, reload swap, and lookups racing a writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>
#include <cmocka.h>

#include "sasgw/revocation/revset.h"

static void make_id(uint8_t id[GW_REVSET_ID_LEN], uint64_t n)
{
    /* spread n over both words like a hash would, and keep it reproducible */
    uint64_t a = n * 0x9E3779B97F4A7C15ull ^ 0xDEADBEEF, b = ~n * 0xC2B2AE3D27D4EB4Full;
    memcpy(id, &a, 8);
    memcpy(id + 8, &b, 8);
}

static void add_and_find(void **state)
{
    gw_revset_t *set = gw_revset_create();
    int r = gw_revset_register_reader(set);
    uint8_t id[GW_REVSET_ID_LEN];
    assert_true(r >= 0);
    for (uint64_t i = 0; i < 100000; i++) {
        make_id(id, i);
        gw_revset_add(set, id, 1000 + (int64_t)i);
    }
    assert_int_equal(gw_revset_size(set), 100000);
    for (uint64_t i = 0; i < 100000; i++) {
        make_id(id, i);
        assert_true(gw_revset_contains(set, r, id));
        make_id(id, i + 10000000);
        assert_false(gw_revset_contains(set, r, id));
    }
    /* adding again does not count twice */
    make_id(id, 5);
    gw_revset_add(set, id, 5000);
    assert_int_equal(gw_revset_size(set), 100000);
    gw_revset_destroy(set);
}

static void zero_first_word(void **state)
{
    gw_revset_t *set = gw_revset_create();
    int r = gw_revset_register_reader(set);
    uint8_t zero[GW_REVSET_ID_LEN] = {0}, other[GW_REVSET_ID_LEN] = {0};
    other[15] = 1;
    assert_false(gw_revset_contains(set, r, zero));
    gw_revset_add(set, zero, 10);
    assert_true(gw_revset_contains(set, r, zero));
    assert_false(gw_revset_contains(set, r, other));
    gw_revset_destroy(set);
}

/* An unknown end (INT64_MAX) survives every trim; only a removal takes an id out, and only that id. */
static void forever_until_removed(void **state)
{
    gw_revset_t *set = gw_revset_create();
    int r = gw_revset_register_reader(set);
    uint8_t id[GW_REVSET_ID_LEN], other[GW_REVSET_ID_LEN], absent[GW_REVSET_ID_LEN];
    make_id(id, 1);
    make_id(other, 2);
    make_id(absent, 3);
    gw_revset_add(set, id, INT64_MAX);
    gw_revset_add(set, other, 100);
    assert_int_equal(gw_revset_trim(set, INT64_MAX - 1), 1);
    assert_true(gw_revset_contains(set, r, id));
    gw_revset_add(set, other, 100);
    assert_int_equal(gw_revset_remove(set, absent), 0);
    assert_int_equal(gw_revset_size(set), 2);
    assert_int_equal(gw_revset_remove(set, id), 1);
    assert_false(gw_revset_contains(set, r, id));
    assert_true(gw_revset_contains(set, r, other));
    assert_int_equal(gw_revset_size(set), 1);
    assert_int_equal(gw_revset_remove(set, id), 0);
    gw_revset_destroy(set);
}

static void trim_drops_expired_only(void **state)
{
    gw_revset_t *set = gw_revset_create();
    int r = gw_revset_register_reader(set);
    uint8_t id[GW_REVSET_ID_LEN];
    for (uint64_t i = 0; i < 5000; i++) {
        make_id(id, i);
        gw_revset_add(set, id, (int64_t)i);
    }
    /* re-adding with a later expiry keeps the id past the trim */
    make_id(id, 10);
    gw_revset_add(set, id, 999999);
    assert_int_equal(gw_revset_trim(set, 2500), 2499);
    assert_int_equal(gw_revset_size(set), 2501);
    for (uint64_t i = 0; i < 5000; i++) {
        make_id(id, i);
        assert_int_equal(gw_revset_contains(set, r, id), i >= 2500 || i == 10);
    }
    assert_int_equal(gw_revset_trim(set, 2500), 0);
    gw_revset_destroy(set);
}

static void swap_replaces_whole_set(void **state)
{
    gw_revset_t *set = gw_revset_create();
    int r = gw_revset_register_reader(set);
    uint8_t id[GW_REVSET_ID_LEN];
    make_id(id, 1);
    gw_revset_add(set, id, 100);
    gw_revset_builder_t *b = gw_revset_builder_create(10);
    for (uint64_t i = 100; i < 3000; i++) {
        make_id(id, i);
        gw_revset_builder_add(b, id, 100);
    }
    /* the builder is invisible until swapped */
    make_id(id, 100);
    assert_false(gw_revset_contains(set, r, id));
    gw_revset_swap(set, b);
    assert_true(gw_revset_contains(set, r, id));
    make_id(id, 1);
    assert_false(gw_revset_contains(set, r, id));
    assert_int_equal(gw_revset_size(set), 2900);
    /* with no reader inside a lookup, the retired table was freed at once: only the current one is held */
    size_t held = gw_revset_memory(set);
    gw_revset_builder_t *again = gw_revset_builder_create(10);
    for (uint64_t i = 100; i < 3000; i++) {
        make_id(id, i);
        gw_revset_builder_add(again, id, 100);
    }
    gw_revset_swap(set, again);
    assert_int_equal(gw_revset_memory(set), held);
    gw_revset_builder_destroy(gw_revset_builder_create(0));
    gw_revset_destroy(set);
}

struct race {
    gw_revset_t *set;
    atomic_int stop;
    atomic_long misses;
    atomic_long lookups;
};

static void *reader_main(void *arg)
{
    struct race *race = arg;
    int r = gw_revset_register_reader(race->set);
    uint8_t id[GW_REVSET_ID_LEN];
    uint64_t n = 0;
    while (!atomic_load(&race->stop)) {
        /* ids 0..999 are present from the start and never expire */
        make_id(id, n++ % 1000);
        if (!gw_revset_contains(race->set, r, id))
            atomic_fetch_add(&race->misses, 1);
        atomic_fetch_add(&race->lookups, 1);
    }
    return NULL;
}

static void readers_race_writer(void **state)
{
    struct race race = {.set = gw_revset_create()};
    uint8_t id[GW_REVSET_ID_LEN];
    pthread_t th[3];
    for (uint64_t i = 0; i < 1000; i++) {
        make_id(id, i);
        gw_revset_add(race.set, id, INT64_MAX);
    }
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, reader_main, &race);
    /* grow, trim and reload while they read */
    for (uint64_t round = 0; round < 20; round++) {
        for (uint64_t i = 0; i < 20000; i++) {
            make_id(id, 1000000 + round * 20000 + i);
            gw_revset_add(race.set, id, (int64_t)round);
        }
        gw_revset_trim(race.set, (int64_t)round);
        if (round % 5 == 4) {
            gw_revset_builder_t *b = gw_revset_builder_create(1000);
            for (uint64_t i = 0; i < 1000; i++) {
                make_id(id, i);
                gw_revset_builder_add(b, id, INT64_MAX);
            }
            gw_revset_swap(race.set, b);
        }
    }
    atomic_store(&race.stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&race.misses), 0);
    assert_true(atomic_load(&race.lookups) > 0);
    gw_revset_destroy(race.set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(add_and_find),
        cmocka_unit_test(zero_first_word),
        cmocka_unit_test(trim_drops_expired_only),
        cmocka_unit_test(forever_until_removed),
        cmocka_unit_test(swap_replaces_whole_set),
        cmocka_unit_test(readers_race_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
