/*
 * The C API used as intended: values, builder, reads, writes, removals, sizes, statistics,
 * expiry on a manual clock, iteration and the eviction order.
 */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"

/* ---- helpers -------------------------------------------------------------------------- */

static cortado_cache *build_with(cortado_builder *b) {
    cortado_cache *c = NULL;
    CHECK_OK(cortado_builder_build(b, &c));
    CHECK(c != NULL);
    return c;
}

static cortado_cache *unbounded(void) {
    cortado_builder *b = cortado_builder_new();
    cortado_cache *c = build_with(b);
    cortado_builder_free(b);
    return c;
}

static uint64_t stat(cortado_cache *c, uint32_t which) {
    uint64_t n = UINT64_MAX;
    CHECK_OK(cortado_cache_stat(c, which, &n));
    return n;
}

static uint64_t count(cortado_cache *c) {
    uint64_t n = UINT64_MAX;
    CHECK_OK(cortado_cache_entry_count(c, &n));
    return n;
}

/* Reads key through cortado_cache_get and compares with want (NULL: expect a miss). */
static void expect_get(cortado_cache *c, const char *key, const char *want) {
    const cortado_value *v = NULL;
    if (want == NULL) {
        CHECK_STATUS(cortado_cache_get(c, S(key), &v), CORTADO_STATUS_NOT_FOUND);
        CHECK(v == NULL);
    } else {
        CHECK_OK(cortado_cache_get(c, S(key), &v));
        CHECK_VALUE(v, want);
    }
    cortado_value_release(v);
}

struct free_record {
    int calls;
    void *ctx;
    const uint8_t *data;
    size_t len;
};

static void record_free(void *ctx, const uint8_t *data, size_t len) {
    struct free_record *r = ctx;
    r->calls++;
    r->ctx = ctx;
    r->data = data;
    r->len = len;
}

/* ---- library -------------------------------------------------------------------------- */

static void test_version(void) {
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", CORTADO_VERSION_MAJOR, CORTADO_VERSION_MINOR,
             CORTADO_VERSION_PATCH);
    CHECK(strcmp(cortado_version(), want) == 0);
    CHECK(cortado_version_number() == CORTADO_VERSION_NUMBER);
    CHECK(CORTADO_VERSION_NUMBER ==
          CORTADO_VERSION_MAJOR * 10000 + CORTADO_VERSION_MINOR * 100 + CORTADO_VERSION_PATCH);
}

static void test_status_strings(void) {
    const uint32_t all[] = {
        CORTADO_STATUS_OK,           CORTADO_STATUS_NOT_FOUND,     CORTADO_STATUS_DONE,
        CORTADO_STATUS_NULL_ARGUMENT, CORTADO_STATUS_INVALID_ARGUMENT,
        CORTADO_STATUS_BUFFER_TOO_SMALL, CORTADO_STATUS_LOADER_FAILED,
        CORTADO_STATUS_LOADER_NO_VALUE, CORTADO_STATUS_RECURSIVE_LOAD, CORTADO_STATUS_PANIC,
    };
    size_t n = sizeof all / sizeof all[0];
    for (size_t i = 0; i < n; i++) {
        const char *s = cortado_status_str(all[i]);
        CHECK(s != NULL && strcmp(s, "unknown status") != 0);
        for (size_t j = 0; j < i; j++) {
            CHECK(strcmp(s, cortado_status_str(all[j])) != 0);
        }
    }
    CHECK(strcmp(cortado_status_str(CORTADO_STATUS_OK), "ok") == 0);
    CHECK(strcmp(cortado_status_str(CORTADO_STATUS_PANIC), "panic inside libcortado") == 0);
}

static void test_removal_cause_names(void) {
    CHECK(strcmp(cortado_removal_cause_str(CORTADO_REMOVAL_CAUSE_EXPLICIT), "explicit") == 0);
    CHECK(strcmp(cortado_removal_cause_str(CORTADO_REMOVAL_CAUSE_REPLACED), "replaced") == 0);
    CHECK(strcmp(cortado_removal_cause_str(CORTADO_REMOVAL_CAUSE_EXPIRED), "expired") == 0);
    CHECK(strcmp(cortado_removal_cause_str(CORTADO_REMOVAL_CAUSE_SIZE), "size") == 0);
}

/* ---- values --------------------------------------------------------------------------- */

static void test_value_copy_and_refcount(void) {
    char buf[] = "hello";
    const cortado_value *v = NULL;
    CHECK_OK(cortado_value_new(S(buf), &v));
    buf[0] = 'j'; /* a copy: the caller's buffer is free to change */
    CHECK_VALUE(v, "hello");
    CHECK(cortado_value_retain(v) == v);
    cortado_value_release(v);
    CHECK_VALUE(v, "hello"); /* still one reference */
    cortado_value_release(v);

    const cortado_value *empty = NULL;
    CHECK_OK(cortado_value_new(NULL, 0, &empty));
    CHECK(cortado_value_len(empty) == 0);
    CHECK(cortado_value_data(empty) != NULL); /* usable pointer even when empty */
    cortado_value_release(empty);
}

static void test_value_adopt(void) {
    struct free_record r = {0};
    uint8_t *bytes = malloc(3);
    memcpy(bytes, "abc", 3);
    const cortado_value *v = NULL;
    CHECK_OK(cortado_value_adopt(bytes, 3, record_free, &r, &v));
    CHECK(cortado_value_data(v) == bytes); /* no copy */
    CHECK(cortado_value_len(v) == 3);
    cortado_value_retain(v);
    cortado_value_release(v);
    CHECK(r.calls == 0);
    cortado_value_release(v);
    CHECK(r.calls == 1 && r.ctx == &r && r.data == bytes && r.len == 3);
    free(bytes);

    /* No free function: static bytes. */
    static const uint8_t fixed[] = {1, 2};
    CHECK_OK(cortado_value_adopt(fixed, 2, NULL, NULL, &v));
    CHECK(cortado_value_data(v) == fixed);
    cortado_value_release(v);

    /* Empty adopted bytes still have a usable data pointer; free gets what it was given. */
    struct free_record r2 = {0};
    CHECK_OK(cortado_value_adopt(NULL, 0, record_free, &r2, &v));
    CHECK(cortado_value_data(v) != NULL && cortado_value_len(v) == 0);
    cortado_value_release(v);
    CHECK(r2.calls == 1 && r2.data == NULL && r2.len == 0);
}

/* ---- reads and writes ----------------------------------------------------------------- */

static void test_insert_get_peek_contains_remove(void) {
    cortado_cache *c = unbounded();
    expect_get(c, "a", NULL);
    CHECK_OK(cortado_cache_insert(c, S("a"), S("1")));
    expect_get(c, "a", "1");

    const cortado_value *v = NULL;
    CHECK_OK(cortado_cache_peek(c, S("a"), &v));
    CHECK_VALUE(v, "1");
    cortado_value_release(v);
    CHECK_STATUS(cortado_cache_peek(c, S("zz"), &v), CORTADO_STATUS_NOT_FOUND);

    bool present = false;
    CHECK_OK(cortado_cache_contains(c, S("a"), &present));
    CHECK(present);
    CHECK_OK(cortado_cache_contains(c, S("b"), &present));
    CHECK(!present);

    CHECK_OK(cortado_cache_insert(c, S("a"), S("2")));
    expect_get(c, "a", "2");

    const cortado_value *old = NULL;
    CHECK_OK(cortado_cache_remove(c, S("a"), &old));
    CHECK_VALUE(old, "2");
    cortado_value_release(old);
    CHECK_STATUS(cortado_cache_remove(c, S("a"), &old), CORTADO_STATUS_NOT_FOUND);
    CHECK(old == NULL);
    CHECK_OK(cortado_cache_insert(c, S("b"), S("x")));
    CHECK_OK(cortado_cache_remove(c, S("b"), NULL)); /* discard the value */
    expect_get(c, "b", NULL);

    /* Empty keys and values are ordinary bytes. */
    CHECK_OK(cortado_cache_insert(c, NULL, 0, NULL, 0));
    CHECK_OK(cortado_cache_get(c, NULL, 0, &v));
    CHECK(cortado_value_len(v) == 0);
    cortado_value_release(v);

    /* Binary keys: embedded NULs are part of the key. */
    const uint8_t k1[] = {0, 1}, k2[] = {0, 2};
    CHECK_OK(cortado_cache_insert(c, k1, 2, S("one")));
    CHECK_OK(cortado_cache_insert(c, k2, 2, S("two")));
    CHECK_OK(cortado_cache_get(c, k2, 2, &v));
    CHECK_VALUE(v, "two");
    cortado_value_release(v);
    cortado_cache_free(c);
}

static void test_get_copy(void) {
    cortado_cache *c = unbounded();
    CHECK_OK(cortado_cache_insert(c, S("k"), S("value")));
    size_t len = 0;
    /* Probe for the size with an empty buffer. */
    CHECK_STATUS(cortado_cache_get_copy(c, S("k"), NULL, 0, &len), CORTADO_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == 5);
    char small[3] = {'#', '#', '#'};
    len = 0;
    CHECK_STATUS(cortado_cache_get_copy(c, S("k"), (uint8_t *)small, sizeof small, &len),
                 CORTADO_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == 5);
    CHECK(small[0] == '#'); /* untouched */
    char exact[5];
    CHECK_OK(cortado_cache_get_copy(c, S("k"), (uint8_t *)exact, sizeof exact, &len));
    CHECK(len == 5 && memcmp(exact, "value", 5) == 0);
    char big[16];
    memset(big, 0, sizeof big);
    CHECK_OK(cortado_cache_get_copy(c, S("k"), (uint8_t *)big, sizeof big, &len));
    CHECK(len == 5 && strcmp(big, "value") == 0);
    len = 77;
    CHECK_STATUS(cortado_cache_get_copy(c, S("nope"), (uint8_t *)big, sizeof big, &len),
                 CORTADO_STATUS_NOT_FOUND);
    CHECK(len == 77); /* scalars are written only on success (or BUFFER_TOO_SMALL) */
    cortado_cache_free(c);
}

static void test_insert_value_shares_the_handle(void) {
    cortado_cache *c = unbounded();
    const cortado_value *mine = NULL;
    CHECK_OK(cortado_value_new(S("shared"), &mine));
    CHECK_OK(cortado_cache_insert_value(c, S("k"), mine));
    const cortado_value *got = NULL;
    CHECK_OK(cortado_cache_get(c, S("k"), &got));
    CHECK(got == mine); /* the same bytes, no copy */
    cortado_value_release(got);
    cortado_value_release(mine); /* the cache still holds its own reference */
    expect_get(c, "k", "shared");
    cortado_cache_free(c);
}

static void test_adopted_buffer_is_freed_after_the_cache(void) {
    struct free_record r = {0};
    uint8_t *bytes = malloc(4);
    memcpy(bytes, "data", 4);
    cortado_cache *c = unbounded();
    const cortado_value *v = NULL;
    CHECK_OK(cortado_value_adopt(bytes, 4, record_free, &r, &v));
    CHECK_OK(cortado_cache_insert_value(c, S("k"), v));
    cortado_value_release(v);
    expect_get(c, "k", "data");
    CHECK(r.calls == 0);
    cortado_cache_free(c);
    CHECK(r.calls == 1 && r.data == bytes);
    free(bytes);
}

static void test_sizes_and_capacity(void) {
    cortado_builder *b = cortado_builder_new();
    CHECK_OK(cortado_builder_max_capacity(b, 3));
    CHECK_OK(cortado_builder_eviction_policy(b, CORTADO_EVICTION_POLICY_LRU));
    CHECK_OK(cortado_builder_shards(b, 1));
    cortado_cache *c = build_with(b);
    cortado_builder_free(b);

    uint64_t max = 0;
    CHECK_OK(cortado_cache_max_capacity(c, &max));
    CHECK(max == 3);
    CHECK_OK(cortado_cache_insert(c, S("a"), S("1")));
    CHECK_OK(cortado_cache_insert(c, S("b"), S("2")));
    CHECK_OK(cortado_cache_insert(c, S("c"), S("3")));
    expect_get(c, "a", "1"); /* a is now the most recent */
    CHECK_OK(cortado_cache_insert(c, S("d"), S("4")));
    CHECK_OK(cortado_cache_run_pending_tasks(c));
    CHECK(count(c) == 3);
    uint64_t weight = 0;
    CHECK_OK(cortado_cache_weighted_size(c, &weight));
    CHECK(weight == 3);
    expect_get(c, "b", NULL); /* the coldest went */

    cortado_keys *keys = NULL;
    CHECK_OK(cortado_cache_keys_coldest_first(c, &keys));
    CHECK(cortado_keys_len(keys) == 3);
    const char *want[] = {"c", "a", "d"};
    for (size_t i = 0; i < 3; i++) {
        const uint8_t *k = NULL;
        size_t len = 0;
        CHECK_OK(cortado_keys_get(keys, i, &k, &len));
        CHECK(len == 1 && k != NULL && k[0] == (uint8_t)want[i][0]);
    }
    cortado_cache_free(c);
    /* The key list is a snapshot: it outlives the cache. */
    const uint8_t *k = NULL;
    size_t len = 0;
    CHECK_OK(cortado_keys_get(keys, 2, &k, &len));
    CHECK(len == 1 && k[0] == 'd');
    cortado_keys_free(keys);

    /* Unbounded by default. */
    c = unbounded();
    CHECK_OK(cortado_cache_max_capacity(c, &max));
    CHECK(max == UINT64_MAX);
    cortado_cache_free(c);
}

static void test_default_weigher(void) {
    cortado_builder *b = cortado_builder_new();
    CHECK_OK(cortado_builder_max_weight(b, 100, NULL, NULL, NULL));
    cortado_cache *c = build_with(b);
    cortado_builder_free(b);
    CHECK_OK(cortado_cache_insert(c, S("key"), S("value")));  /* 3 + 5 */
    CHECK_OK(cortado_cache_insert(c, S("k2"), S("v")));       /* 2 + 1 */
    CHECK_OK(cortado_cache_run_pending_tasks(c));
    uint64_t weight = 0;
    CHECK_OK(cortado_cache_weighted_size(c, &weight));
    CHECK(weight == 11);
    CHECK(count(c) == 2);
    cortado_cache_free(c);
}

/* A value heavier than the admission window's share (1% of the bound) is readable as soon as
 * its insert returns: such values once went straight to a duel with the popular entries and
 * lost it. */
static void test_heavy_value_is_readable_at_once(void) {
    cortado_builder *b = cortado_builder_new();
    CHECK_OK(cortado_builder_max_weight(b, 1000, NULL, NULL, NULL));
    cortado_cache *c = build_with(b);
    cortado_builder_free(b);
    char key[16];
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 100; i++) {
            snprintf(key, sizeof key, "hot%03d", i);
            CHECK_OK(cortado_cache_insert(c, S(key), S("x")));
            expect_get(c, key, "x");
        }
    }
    const char *heavy = "0123456789012345678901234567890123456789"; /* weighs 40 + key */
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "new%05d", i);
        CHECK_OK(cortado_cache_insert(c, S(key), S(heavy)));
        expect_get(c, key, heavy);
        uint64_t weight = 0;
        CHECK_OK(cortado_cache_weighted_size(c, &weight));
        CHECK(weight <= 1000);
    }
    cortado_cache_free(c);
}

static void test_statistics(void) {
    cortado_builder *b = cortado_builder_new();
    CHECK_OK(cortado_builder_max_capacity(b, 1));
    CHECK_OK(cortado_builder_eviction_policy(b, CORTADO_EVICTION_POLICY_LRU));
    cortado_cache *c = build_with(b);
    cortado_builder_free(b);
    CHECK_OK(cortado_cache_insert(c, S("a"), S("1")));
    expect_get(c, "a", "1");
    expect_get(c, "a", "1");
    expect_get(c, "b", NULL);
    const cortado_value *v = NULL;
    CHECK_OK(cortado_cache_peek(c, S("a"), &v)); /* not counted */
    cortado_value_release(v);
    CHECK_OK(cortado_cache_insert(c, S("b"), S("22")));
    CHECK_OK(cortado_cache_run_pending_tasks(c));
    CHECK(stat(c, CORTADO_STAT_HITS) == 2);
    CHECK(stat(c, CORTADO_STAT_MISSES) == 1);
    CHECK(stat(c, CORTADO_STAT_EVICTIONS) == 1);
    CHECK(stat(c, CORTADO_STAT_EVICTION_WEIGHT) == 1);
    CHECK(stat(c, CORTADO_STAT_LOAD_SUCCESSES) == 0);
    CHECK(stat(c, CORTADO_STAT_LOAD_FAILURES) == 0);
    CHECK(stat(c, CORTADO_STAT_TOTAL_LOAD_TIME_NS) == 0);
    cortado_cache_free(c);

    /* Counting hits and misses can be switched off; evictions are still counted. */
    b = cortado_builder_new();
    CHECK_OK(cortado_builder_max_capacity(b, 1));
    CHECK_OK(cortado_builder_record_stats(b, false));
    c = build_with(b);
    cortado_builder_free(b);
    CHECK_OK(cortado_cache_insert(c, S("a"), S("1")));
    expect_get(c, "a", "1");
    expect_get(c, "b", NULL);
    CHECK_OK(cortado_cache_insert(c, S("b"), S("2")));
    CHECK_OK(cortado_cache_insert(c, S("c"), S("3")));
    CHECK_OK(cortado_cache_run_pending_tasks(c));
    CHECK(count(c) == 1);
    CHECK(stat(c, CORTADO_STAT_HITS) == 0);
    CHECK(stat(c, CORTADO_STAT_MISSES) == 0);
    CHECK(stat(c, CORTADO_STAT_EVICTIONS) == 2);
    cortado_cache_free(c);
}

/* ---- expiry on a manual clock --------------------------------------------------------- */

static const uint64_t MS = 1000000;

static void test_time_to_live(void) {
    cortado_clock *clock = cortado_clock_new_manual();
    cortado_builder *b = cortado_builder_new();
    CHECK_OK(cortado_builder_clock(b, clock));
    CHECK_OK(cortado_builder_time_to_live_ns(b, 1000 * MS));
    cortado_cache *c = build_with(b);
    cortado_builder_free(b);

    CHECK_OK(cortado_cache_insert(c, S("a"), S("1")));
    uint64_t left = 0;
    CHECK_OK(cortado_cache_remaining_ttl_ns(c, S("a"), &left));
    CHECK(left == 1000 * MS);
    CHECK_OK(cortado_clock_advance_ns(clock, 999 * MS));
    expect_get(c, "a", "1");
    CHECK_OK(cortado_cache_remaining_ttl_ns(c, S("a"), &left));
    CHECK(left == 1 * MS);
    CHECK_OK(cortado_clock_advance_ns(clock, 1 * MS));
    expect_get(c, "a", NULL);
    CHECK_STATUS(cortado_cache_remaining_ttl_ns(c, S("a"), &left), CORTADO_STATUS_NOT_FOUND);
    CHECK_OK(cortado_cache_run_pending_tasks(c));
    CHECK(count(c) == 0);
    CHECK(stat(c, CORTADO_STAT_EVICTIONS) == 1);
    cortado_cache_free(c);
    cortado_clock_free(clock);
}

static void test_time_to_idle(void) {
    cortado_clock *clock = cortado_clock_new_manual();
    cortado_builder *b = cortado_builder_new();
    CHECK_OK(cortado_builder_clock(b, clock));
    cortado_clock_free(clock); /* the builder keeps its own reference */
    CHECK_OK(cortado_builder_time_to_idle_ns(b, 100 * MS));
    cortado_cache *c = build_with(b);
    cortado_builder_free(b); /* and so does the cache */

    /* Freeing the clock handle early is fine: the cache holds its own reference. */
    CHECK_OK(cortado_cache_insert(c, S("a"), S("1")));
    expect_get(c, "a", "1");
    cortado_cache_free(c);

    clock = cortado_clock_new_manual();
    b = cortado_builder_new();
    CHECK_OK(cortado_builder_clock(b, clock));
    CHECK_OK(cortado_builder_time_to_idle_ns(b, 100 * MS));
    c = build_with(b);
    cortado_builder_free(b);
    CHECK_OK(cortado_cache_insert(c, S("a"), S("1")));
    CHECK_OK(cortado_clock_advance_ns(clock, 90 * MS));
    expect_get(c, "a", "1"); /* a read resets the idle time */
    CHECK_OK(cortado_clock_advance_ns(clock, 90 * MS));
    expect_get(c, "a", "1");
    CHECK_OK(cortado_clock_advance_ns(clock, 100 * MS));
    expect_get(c, "a", NULL);
    cortado_cache_free(c);
    cortado_clock_free(clock);
}

static void test_per_entry_ttl(void) {
    cortado_clock *clock = cortado_clock_new_manual();
    cortado_builder *b = cortado_builder_new();
    CHECK_OK(cortado_builder_clock(b, clock));
    cortado_cache *c = build_with(b);
    cortado_builder_free(b);

    uint64_t left = 0;
    CHECK_OK(cortado_cache_insert(c, S("forever"), S("x")));
    CHECK_OK(cortado_cache_remaining_ttl_ns(c, S("forever"), &left));
    CHECK(left == UINT64_MAX);

    CHECK_OK(cortado_cache_insert_with_ttl_ns(c, S("short"), S("s"), 10 * MS));
    const cortado_value *v = NULL;
    CHECK_OK(cortado_value_new(S("shared"), &v));
    CHECK_OK(cortado_cache_insert_value_with_ttl_ns(c, S("medium"), v, 20 * MS));
    cortado_value_release(v);
    CHECK_OK(cortado_clock_advance_ns(clock, 10 * MS));
    expect_get(c, "short", NULL);
    expect_get(c, "medium", "shared");
    CHECK_OK(cortado_clock_advance_ns(clock, 10 * MS));
    expect_get(c, "medium", NULL);
    expect_get(c, "forever", "x");
    cortado_cache_free(c);
    cortado_clock_free(clock);
}

/* ---- bulk operations ------------------------------------------------------------------ */

static bool value_is_even(void *userdata, const uint8_t *key, size_t key_len,
                          const cortado_value *value) {
    int *calls = userdata;
    (*calls)++;
    (void)key;
    (void)key_len;
    const uint8_t *d = cortado_value_data(value);
    return cortado_value_len(value) == 1 && (d[0] - '0') % 2 == 0;
}

static void test_invalidate_if_and_all(void) {
    cortado_cache *c = unbounded();
    char key[2] = {0}, val[2] = {0};
    for (int i = 0; i < 10; i++) {
        key[0] = (char)('a' + i);
        val[0] = (char)('0' + i);
        CHECK_OK(cortado_cache_insert(c, S(key), S(val)));
    }
    int calls = 0;
    uint64_t removed = 0;
    CHECK_OK(cortado_cache_invalidate_if(c, value_is_even, &calls, &removed));
    CHECK(calls == 10);
    CHECK(removed == 5);
    CHECK_OK(cortado_cache_run_pending_tasks(c));
    CHECK(count(c) == 5);
    expect_get(c, "a", NULL);
    expect_get(c, "b", "1");
    calls = 0;
    CHECK_OK(cortado_cache_invalidate_if(c, value_is_even, &calls, NULL));
    CHECK(calls == 5);
    CHECK_OK(cortado_cache_invalidate_all(c));
    CHECK_OK(cortado_cache_run_pending_tasks(c));
    CHECK(count(c) == 0);
    cortado_cache_free(c);
}

static void test_iteration(void) {
    cortado_cache *c = unbounded();
    CHECK_OK(cortado_cache_insert(c, S("a"), S("1")));
    CHECK_OK(cortado_cache_insert(c, S("bb"), S("22")));
    CHECK_OK(cortado_cache_insert(c, S("ccc"), S("333")));
    cortado_iter *it = NULL;
    CHECK_OK(cortado_cache_iter(c, &it));
    CHECK_OK(cortado_cache_insert(c, S("dddd"), S("late"))); /* after the snapshot */
    int seen = 0, mask = 0;
    const uint8_t *k = NULL;
    size_t klen = 0;
    const cortado_value *v = NULL;
    cortado_status s;
    while ((s = cortado_iter_next(it, &k, &klen, &v)) == CORTADO_STATUS_OK) {
        seen++;
        CHECK(klen >= 1 && klen <= 3);
        CHECK(cortado_value_len(v) == klen);
        CHECK(cortado_value_data(v)[0] == (uint8_t)('0' + klen));
        mask |= 1 << klen;
        cortado_value_release(v);
    }
    CHECK_STATUS(s, CORTADO_STATUS_DONE);
    CHECK(k == NULL && v == NULL);
    CHECK(seen == 3 && mask == 0xE);
    CHECK_STATUS(cortado_iter_next(it, &k, &klen, NULL), CORTADO_STATUS_DONE);
    cortado_iter_free(it);

    /* Keys only (no value reference), and an iterator outliving its cache. */
    CHECK_OK(cortado_cache_iter(c, &it));
    cortado_cache_free(c);
    seen = 0;
    while (cortado_iter_next(it, &k, &klen, NULL) == CORTADO_STATUS_OK) {
        seen++;
    }
    CHECK(seen == 4);
    cortado_iter_free(it);
}

/* ---- builder -------------------------------------------------------------------------- */

static void test_builder_builds_several_caches(void) {
    cortado_builder *b = cortado_builder_new();
    CHECK_OK(cortado_builder_max_capacity(b, 10));
    cortado_cache *one = build_with(b);
    CHECK_OK(cortado_builder_max_capacity(b, 20));
    cortado_cache *two = build_with(b);
    cortado_builder_free(b);
    uint64_t max = 0;
    CHECK_OK(cortado_cache_max_capacity(one, &max));
    CHECK(max == 10);
    CHECK_OK(cortado_cache_max_capacity(two, &max));
    CHECK(max == 20);
    CHECK_OK(cortado_cache_insert(one, S("k"), S("1")));
    expect_get(two, "k", NULL); /* separate caches */
    cortado_cache_free(one);
    cortado_cache_free(two);
}

static void test_max_capacity_replaces_max_weight(void) {
    cortado_builder *b = cortado_builder_new();
    CHECK_OK(cortado_builder_max_weight(b, 1000, NULL, NULL, NULL));
    CHECK_OK(cortado_builder_max_capacity(b, 5));
    cortado_cache *c = build_with(b);
    cortado_builder_free(b);
    CHECK_OK(cortado_cache_insert(c, S("key"), S("a long value")));
    CHECK_OK(cortado_cache_run_pending_tasks(c));
    uint64_t weight = 0;
    CHECK_OK(cortado_cache_weighted_size(c, &weight));
    CHECK(weight == 1); /* counted in entries again */
    cortado_cache_free(c);
}

int main(void) {
    RUN(test_version);
    RUN(test_status_strings);
    RUN(test_removal_cause_names);
    RUN(test_value_copy_and_refcount);
    RUN(test_value_adopt);
    RUN(test_insert_get_peek_contains_remove);
    RUN(test_get_copy);
    RUN(test_insert_value_shares_the_handle);
    RUN(test_adopted_buffer_is_freed_after_the_cache);
    RUN(test_sizes_and_capacity);
    RUN(test_default_weigher);
    RUN(test_heavy_value_is_readable_at_once);
    RUN(test_statistics);
    RUN(test_time_to_live);
    RUN(test_time_to_idle);
    RUN(test_per_entry_ttl);
    RUN(test_invalidate_if_and_all);
    RUN(test_iteration);
    RUN(test_builder_builds_several_caches);
    RUN(test_max_capacity_replaces_max_weight);
    HARNESS_END();
}
