/*
 * Bad input gets a status, never a crash: NULL handles and out-pointers, NULL with a length,
 * impossible lengths, zero and overflowing durations, unknown enum values, indexes past the
 * end, and the out-parameter rules on failure.
 */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"

#define NULLARG CORTADO_STATUS_NULL_ARGUMENT
#define INVALID CORTADO_STATUS_INVALID_ARGUMENT

/* A pointer that is not NULL, to see whether a failing call clears an out-parameter. */
static const cortado_value *const STALE = (const cortado_value *)(uintptr_t)0x1;

static cortado_cache *new_cache(void) {
    cortado_builder *b = cortado_builder_new();
    cortado_cache *c = NULL;
    CHECK_OK(cortado_builder_build(b, &c));
    cortado_builder_free(b);
    return c;
}

static int32_t never_called(void *userdata, const uint8_t *key, size_t key_len,
                            cortado_load_ctx *ctx) {
    (void)key;
    (void)key_len;
    (void)ctx;
    (*(int *)userdata)++;
    return 0;
}

static bool predicate_true(void *userdata, const uint8_t *key, size_t key_len,
                           const cortado_value *value) {
    (void)userdata;
    (void)key;
    (void)key_len;
    (void)value;
    return true;
}

static void count_free(void *userdata) {
    (*(int *)userdata)++;
}

static void noop_listener(void *userdata, const uint8_t *key, size_t key_len,
                          const cortado_value *value, uint32_t cause) {
    (void)userdata;
    (void)key;
    (void)key_len;
    (void)value;
    (void)cause;
}

static void test_frees_and_accessors_accept_null(void) {
    cortado_builder_free(NULL);
    cortado_cache_free(NULL);
    cortado_clock_free(NULL);
    cortado_iter_free(NULL);
    cortado_keys_free(NULL);
    cortado_value_release(NULL);
    CHECK(cortado_value_retain(NULL) == NULL);
    CHECK(cortado_value_data(NULL) == NULL);
    CHECK(cortado_value_len(NULL) == 0);
    CHECK(cortado_keys_len(NULL) == 0);
}

static void test_null_cache_handle(void) {
    const cortado_value *v = STALE;
    bool b = false;
    uint64_t n = 0;
    size_t len = 0;
    uint8_t buf[4];
    int calls = 0;
    cortado_iter *it = (cortado_iter *)(uintptr_t)0x1;
    cortado_keys *keys = (cortado_keys *)(uintptr_t)0x1;
    const cortado_value *val = NULL;
    CHECK_OK(cortado_value_new(S("v"), &val));

    CHECK_STATUS(cortado_cache_get(NULL, S("k"), &v), NULLARG);
    CHECK(v == NULL);
    v = STALE;
    CHECK_STATUS(cortado_cache_peek(NULL, S("k"), &v), NULLARG);
    CHECK(v == NULL);
    CHECK_STATUS(cortado_cache_get_copy(NULL, S("k"), buf, sizeof buf, &len), NULLARG);
    CHECK_STATUS(cortado_cache_contains(NULL, S("k"), &b), NULLARG);
    CHECK_STATUS(cortado_cache_insert(NULL, S("k"), S("v")), NULLARG);
    CHECK_STATUS(cortado_cache_insert_with_ttl_ns(NULL, S("k"), S("v"), 1), NULLARG);
    CHECK_STATUS(cortado_cache_insert_value(NULL, S("k"), val), NULLARG);
    CHECK_STATUS(cortado_cache_insert_value_with_ttl_ns(NULL, S("k"), val, 1), NULLARG);
    CHECK_STATUS(cortado_cache_remove(NULL, S("k"), NULL), NULLARG);
    CHECK_STATUS(cortado_cache_invalidate_all(NULL), NULLARG);
    CHECK_STATUS(cortado_cache_invalidate_if(NULL, predicate_true, NULL, NULL), NULLARG);
    CHECK_STATUS(cortado_cache_run_pending_tasks(NULL), NULLARG);
    CHECK_STATUS(cortado_cache_entry_count(NULL, &n), NULLARG);
    CHECK_STATUS(cortado_cache_weighted_size(NULL, &n), NULLARG);
    CHECK_STATUS(cortado_cache_max_capacity(NULL, &n), NULLARG);
    CHECK_STATUS(cortado_cache_remaining_ttl_ns(NULL, S("k"), &n), NULLARG);
    CHECK_STATUS(cortado_cache_stat(NULL, CORTADO_STAT_HITS, &n), NULLARG);
    CHECK_STATUS(cortado_cache_iter(NULL, &it), NULLARG);
    CHECK(it == NULL);
    CHECK_STATUS(cortado_cache_keys_coldest_first(NULL, &keys), NULLARG);
    CHECK(keys == NULL);
    v = STALE;
    CHECK_STATUS(cortado_cache_get_with(NULL, S("k"), never_called, &calls, &v, NULL), NULLARG);
    CHECK(v == NULL && calls == 0);
    cortado_value_release(val);
}

static void test_null_out_pointers(void) {
    cortado_cache *c = new_cache();
    int calls = 0;
    CHECK_OK(cortado_cache_insert(c, S("k"), S("v")));
    CHECK_STATUS(cortado_cache_get(c, S("k"), NULL), NULLARG);
    CHECK_STATUS(cortado_cache_peek(c, S("k"), NULL), NULLARG);
    CHECK_STATUS(cortado_cache_get_copy(c, S("k"), NULL, 0, NULL), NULLARG);
    CHECK_STATUS(cortado_cache_contains(c, S("k"), NULL), NULLARG);
    CHECK_STATUS(cortado_cache_entry_count(c, NULL), NULLARG);
    CHECK_STATUS(cortado_cache_weighted_size(c, NULL), NULLARG);
    CHECK_STATUS(cortado_cache_max_capacity(c, NULL), NULLARG);
    CHECK_STATUS(cortado_cache_remaining_ttl_ns(c, S("k"), NULL), NULLARG);
    CHECK_STATUS(cortado_cache_stat(c, CORTADO_STAT_HITS, NULL), NULLARG);
    CHECK_STATUS(cortado_cache_iter(c, NULL), NULLARG);
    CHECK_STATUS(cortado_cache_keys_coldest_first(c, NULL), NULLARG);
    CHECK_STATUS(cortado_cache_get_with(c, S("k"), never_called, &calls, NULL, NULL), NULLARG);
    CHECK_STATUS(cortado_value_new(S("v"), NULL), NULLARG);
    CHECK_STATUS(cortado_value_adopt(NULL, 0, NULL, NULL, NULL), NULLARG);
    cortado_builder *b = cortado_builder_new();
    CHECK_STATUS(cortado_builder_build(b, NULL), NULLARG);
    cortado_builder_free(b);

    cortado_iter *it = NULL;
    CHECK_OK(cortado_cache_iter(c, &it));
    const uint8_t *k = NULL;
    size_t len = 0;
    CHECK_STATUS(cortado_iter_next(it, NULL, &len, NULL), NULLARG);
    CHECK_STATUS(cortado_iter_next(it, &k, NULL, NULL), NULLARG);
    CHECK_STATUS(cortado_iter_next(NULL, &k, &len, NULL), NULLARG);
    cortado_iter_free(it);

    cortado_keys *keys = NULL;
    CHECK_OK(cortado_cache_keys_coldest_first(c, &keys));
    CHECK_STATUS(cortado_keys_get(keys, 0, NULL, &len), NULLARG);
    CHECK_STATUS(cortado_keys_get(keys, 0, &k, NULL), NULLARG);
    CHECK_STATUS(cortado_keys_get(NULL, 0, &k, &len), NULLARG);
    cortado_keys_free(keys);
    cortado_cache_free(c);
}

static void test_null_with_length(void) {
    cortado_cache *c = new_cache();
    const cortado_value *v = STALE;
    bool b = false;
    size_t len = 0;
    uint64_t n = 0;
    int calls = 0;
    uint8_t buf[4];
    CHECK_STATUS(cortado_cache_get(c, NULL, 3, &v), NULLARG);
    CHECK(v == NULL);
    CHECK_STATUS(cortado_cache_peek(c, NULL, 3, &v), NULLARG);
    CHECK_STATUS(cortado_cache_contains(c, NULL, 1, &b), NULLARG);
    CHECK_STATUS(cortado_cache_insert(c, NULL, 1, S("v")), NULLARG);
    CHECK_STATUS(cortado_cache_insert(c, S("k"), NULL, 1), NULLARG);
    CHECK_STATUS(cortado_cache_insert_with_ttl_ns(c, S("k"), NULL, 1, 5), NULLARG);
    CHECK_STATUS(cortado_cache_insert_value(c, NULL, 2, NULL), NULLARG);
    CHECK_STATUS(cortado_cache_remove(c, NULL, 1, NULL), NULLARG);
    CHECK_STATUS(cortado_cache_remaining_ttl_ns(c, NULL, 1, &n), NULLARG);
    CHECK_STATUS(cortado_cache_get_copy(c, NULL, 1, buf, sizeof buf, &len), NULLARG);
    CHECK_OK(cortado_cache_insert(c, S("k"), S("v")));
    /* The caller's buffer follows the same rule as an input pair. */
    CHECK_STATUS(cortado_cache_get_copy(c, S("k"), NULL, 8, &len), NULLARG);
    CHECK_STATUS(cortado_cache_get_with(c, NULL, 1, never_called, &calls, &v, NULL), NULLARG);
    CHECK(calls == 0);
    CHECK_STATUS(cortado_value_new(NULL, 1, &v), NULLARG);
    CHECK(v == NULL);
    int freed = 0;
    CHECK_STATUS(cortado_value_adopt(NULL, 4, NULL, &freed, &v), NULLARG);
    CHECK(v == NULL);
    /* Nothing was inserted by the failed calls. */
    CHECK_OK(cortado_cache_run_pending_tasks(c));
    CHECK_OK(cortado_cache_entry_count(c, &n));
    CHECK(n == 1);
    cortado_cache_free(c);
}

static void test_impossible_lengths(void) {
    cortado_cache *c = new_cache();
    const uint8_t byte = 'x';
    const cortado_value *v = STALE;
    CHECK_STATUS(cortado_cache_get(c, &byte, SIZE_MAX, &v), INVALID);
    CHECK(v == NULL);
    CHECK_STATUS(cortado_cache_insert(c, &byte, 1, &byte, SIZE_MAX), INVALID);
    CHECK_STATUS(cortado_cache_insert(c, &byte, (size_t)PTRDIFF_MAX + 1, &byte, 1), INVALID);
    CHECK_STATUS(cortado_value_new(&byte, SIZE_MAX, &v), INVALID);
    CHECK_STATUS(cortado_value_adopt(&byte, SIZE_MAX, NULL, NULL, &v), INVALID);
    cortado_cache_free(c);
}

static void test_null_value_handles(void) {
    cortado_cache *c = new_cache();
    CHECK_STATUS(cortado_cache_insert_value(c, S("k"), NULL), NULLARG);
    CHECK_STATUS(cortado_cache_insert_value_with_ttl_ns(c, S("k"), NULL, 5), NULLARG);
    CHECK_STATUS(cortado_load_ctx_set_bytes(NULL, S("v")), NULLARG);
    CHECK_STATUS(cortado_load_ctx_set_value(NULL, NULL), NULLARG);
    cortado_cache_free(c);
}

static void test_zero_durations(void) {
    cortado_builder *b = cortado_builder_new();
    CHECK_STATUS(cortado_builder_time_to_live_ns(b, 0), INVALID);
    CHECK_STATUS(cortado_builder_time_to_idle_ns(b, 0), INVALID);
    /* The largest duration a uint64_t can hold (584 years) is within the core's limit. */
    CHECK_OK(cortado_builder_time_to_live_ns(b, UINT64_MAX));
    CHECK_OK(cortado_builder_time_to_idle_ns(b, UINT64_MAX));
    cortado_cache *c = NULL;
    CHECK_OK(cortado_builder_build(b, &c));
    cortado_builder_free(b);
    const cortado_value *v = NULL;
    CHECK_OK(cortado_value_new(S("v"), &v));
    CHECK_STATUS(cortado_cache_insert_with_ttl_ns(c, S("k"), S("v"), 0), INVALID);
    CHECK_STATUS(cortado_cache_insert_value_with_ttl_ns(c, S("k"), v, 0), INVALID);
    CHECK_OK(cortado_cache_insert_with_ttl_ns(c, S("k"), S("v"), UINT64_MAX));
    bool present = false;
    CHECK_OK(cortado_cache_contains(c, S("k"), &present));
    CHECK(present);
    cortado_value_release(v);
    cortado_cache_free(c);

    CHECK_STATUS(cortado_builder_time_to_live_ns(NULL, 1), NULLARG);
    CHECK_STATUS(cortado_builder_time_to_idle_ns(NULL, 1), NULLARG);
}

static void test_overflowing_clock(void) {
    cortado_clock *clock = cortado_clock_new_manual();
    cortado_builder *b = cortado_builder_new();
    CHECK_OK(cortado_builder_clock(b, clock));
    CHECK_OK(cortado_builder_time_to_live_ns(b, 1000));
    cortado_cache *c = NULL;
    CHECK_OK(cortado_builder_build(b, &c));
    cortado_builder_free(b);
    CHECK_OK(cortado_cache_insert(c, S("k"), S("v")));
    CHECK_OK(cortado_clock_advance_ns(clock, 0)); /* no-op */
    CHECK_OK(cortado_clock_advance_ns(clock, 999));
    CHECK_STATUS(cortado_clock_advance_ns(clock, UINT64_MAX), INVALID);
    /* The clock is unchanged by the refused advance. */
    bool present = false;
    CHECK_OK(cortado_cache_contains(c, S("k"), &present));
    CHECK(present);
    CHECK_OK(cortado_clock_advance_ns(clock, 1));
    CHECK_OK(cortado_cache_contains(c, S("k"), &present));
    CHECK(!present);
    CHECK_STATUS(cortado_clock_advance_ns(clock, UINT64_MAX - 999), INVALID);
    CHECK_OK(cortado_clock_advance_ns(clock, UINT64_MAX - 1000));
    CHECK_STATUS(cortado_clock_advance_ns(clock, 1), INVALID);
    CHECK_STATUS(cortado_clock_advance_ns(NULL, 1), NULLARG);
    cortado_cache_free(c);
    cortado_clock_free(clock);
}

static void test_unknown_enum_values(void) {
    cortado_builder *b = cortado_builder_new();
    CHECK_STATUS(cortado_builder_eviction_policy(b, 2), INVALID);
    CHECK_STATUS(cortado_builder_eviction_policy(b, UINT32_MAX), INVALID);
    CHECK_OK(cortado_builder_eviction_policy(b, CORTADO_EVICTION_POLICY_TINY_LFU));
    CHECK_STATUS(cortado_builder_eviction_policy(NULL, CORTADO_EVICTION_POLICY_LRU), NULLARG);
    cortado_cache *c = NULL;
    CHECK_OK(cortado_builder_build(b, &c));
    cortado_builder_free(b);
    uint64_t n = 42;
    CHECK_STATUS(cortado_cache_stat(c, CORTADO_STAT_EVICTION_WEIGHT + 1, &n), INVALID);
    CHECK_STATUS(cortado_cache_stat(c, UINT32_MAX, &n), INVALID);
    CHECK(n == 42);
    cortado_cache_free(c);
    CHECK(cortado_removal_cause_str(CORTADO_REMOVAL_CAUSE_SIZE + 1) == NULL);
    CHECK(cortado_removal_cause_str(UINT32_MAX) == NULL);
    CHECK(strcmp(cortado_status_str(3), "unknown status") == 0);
    CHECK(strcmp(cortado_status_str(106), "unknown status") == 0);
    CHECK(strcmp(cortado_status_str(UINT32_MAX), "unknown status") == 0);
}

static void test_builder_bad_input(void) {
    cortado_cache *c = (cortado_cache *)(uintptr_t)0x1;
    CHECK_STATUS(cortado_builder_build(NULL, &c), NULLARG);
    CHECK(c == NULL);
    CHECK_STATUS(cortado_builder_max_capacity(NULL, 1), NULLARG);
    CHECK_STATUS(cortado_builder_shards(NULL, 1), NULLARG);
    CHECK_STATUS(cortado_builder_record_stats(NULL, false), NULLARG);
    cortado_builder *b = cortado_builder_new();
    CHECK_STATUS(cortado_builder_shards(b, 0), INVALID);
    CHECK_STATUS(cortado_builder_clock(b, NULL), NULLARG);
    CHECK_STATUS(cortado_builder_clock(NULL, NULL), NULLARG);

    /* A registration that fails still runs its finalizer, exactly once, at once. */
    int freed = 0;
    CHECK_STATUS(cortado_builder_eviction_listener(b, NULL, &freed, count_free), NULLARG);
    CHECK(freed == 1);
    CHECK_STATUS(cortado_builder_eviction_listener(NULL, noop_listener, &freed, count_free), NULLARG);
    CHECK(freed == 2);
    CHECK_STATUS(cortado_builder_max_weight(NULL, 10, NULL, &freed, count_free), NULLARG);
    CHECK(freed == 3);
    /* With no weigher the userdata is unused: released before the call returns. */
    CHECK_OK(cortado_builder_max_weight(b, 10, NULL, &freed, count_free));
    CHECK(freed == 4);
    cortado_builder_free(b);
    CHECK(freed == 4);
}

static void test_buffer_too_small_reports_the_size(void) {
    cortado_cache *c = new_cache();
    uint8_t big[1000];
    memset(big, 'z', sizeof big);
    CHECK_OK(cortado_cache_insert(c, S("k"), big, sizeof big));
    uint8_t buf[10];
    size_t len = 0;
    CHECK_STATUS(cortado_cache_get_copy(c, S("k"), buf, sizeof buf, &len),
                 CORTADO_STATUS_BUFFER_TOO_SMALL);
    CHECK(len == sizeof big);
    uint8_t *exact = malloc(len);
    CHECK_OK(cortado_cache_get_copy(c, S("k"), exact, len, &len));
    CHECK(len == sizeof big && memcmp(exact, big, len) == 0);
    free(exact);
    cortado_cache_free(c);
}

static void test_index_past_the_end(void) {
    cortado_cache *c = new_cache();
    CHECK_OK(cortado_cache_insert(c, S("k"), S("v")));
    cortado_keys *keys = NULL;
    CHECK_OK(cortado_cache_keys_coldest_first(c, &keys));
    CHECK(cortado_keys_len(keys) == 1);
    const uint8_t *k = (const uint8_t *)"stale";
    size_t len = 99;
    CHECK_STATUS(cortado_keys_get(keys, 1, &k, &len), INVALID);
    CHECK(k == NULL && len == 99);
    CHECK_STATUS(cortado_keys_get(keys, SIZE_MAX, &k, &len), INVALID);
    cortado_keys_free(keys);
    cortado_cache_free(c);
}

static void test_loader_arguments(void) {
    cortado_cache *c = new_cache();
    const cortado_value *v = STALE;
    int32_t code = 7;
    CHECK_STATUS(cortado_cache_get_with(c, S("k"), NULL, NULL, &v, &code), NULLARG);
    CHECK(v == NULL && code == 7);
    cortado_cache_free(c);
}

static void test_failed_lookups_clear_pointer_outputs(void) {
    cortado_cache *c = new_cache();
    const cortado_value *v = STALE;
    CHECK_STATUS(cortado_cache_get(c, S("missing"), &v), CORTADO_STATUS_NOT_FOUND);
    CHECK(v == NULL);
    v = STALE;
    CHECK_STATUS(cortado_cache_peek(c, S("missing"), &v), CORTADO_STATUS_NOT_FOUND);
    CHECK(v == NULL);
    v = STALE;
    CHECK_STATUS(cortado_cache_remove(c, S("missing"), &v), CORTADO_STATUS_NOT_FOUND);
    CHECK(v == NULL);
    uint64_t n = 5;
    CHECK_STATUS(cortado_cache_remaining_ttl_ns(c, S("missing"), &n), CORTADO_STATUS_NOT_FOUND);
    CHECK(n == 5);
    cortado_cache_free(c);
}

int main(void) {
    RUN(test_frees_and_accessors_accept_null);
    RUN(test_null_cache_handle);
    RUN(test_null_out_pointers);
    RUN(test_null_with_length);
    RUN(test_impossible_lengths);
    RUN(test_null_value_handles);
    RUN(test_zero_durations);
    RUN(test_overflowing_clock);
    RUN(test_unknown_enum_values);
    RUN(test_builder_bad_input);
    RUN(test_buffer_too_small_reports_the_size);
    RUN(test_index_past_the_end);
    RUN(test_loader_arguments);
    RUN(test_failed_lookups_clear_pointer_outputs);
    HARNESS_END();
}
