/*
 * Callbacks registered on the builder: the eviction listener with every removal cause, the
 * weigher, and the userdata finalizers (exactly once, after the last user).
 */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"

#define MAX_EVENTS 64

struct event {
    char key[16];
    char value[16];
    uint32_t cause;
};

struct events {
    struct event list[MAX_EVENTS];
    int count;
    const cortado_value *kept; /* a value the listener chose to retain */
    cortado_cache *reenter;    /* if set, the listener calls back into this cache */
    int reentered;
};

static void copy_bytes(char *dst, size_t cap, const uint8_t *src, size_t len) {
    size_t n = len < cap - 1 ? len : cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void on_removal(void *userdata, const uint8_t *key, size_t key_len,
                       const cortado_value *value, uint32_t cause) {
    struct events *ev = userdata;
    if (ev->count < MAX_EVENTS) {
        struct event *e = &ev->list[ev->count++];
        copy_bytes(e->key, sizeof e->key, key, key_len);
        copy_bytes(e->value, sizeof e->value, cortado_value_data(value), cortado_value_len(value));
        e->cause = cause;
    }
    if (ev->kept == NULL) {
        ev->kept = cortado_value_retain(value);
    }
    if (ev->reenter != NULL) {
        /* No cache lock is held during a callback: using the cache does not deadlock. */
        bool present = true;
        CHECK_OK(cortado_cache_contains(ev->reenter, key, key_len, &present));
        CHECK(!present);
        CHECK_OK(cortado_cache_insert(ev->reenter, S("from-listener"), S("x")));
        ev->reentered++;
    }
}

/* Finds (and consumes) an event; order between events is not asserted. */
static int take_event(struct events *ev, const char *key, const char *value, uint32_t cause) {
    for (int i = 0; i < ev->count; i++) {
        struct event *e = &ev->list[i];
        if (strcmp(e->key, key) == 0 && strcmp(e->value, value) == 0 && e->cause == cause) {
            ev->list[i] = ev->list[--ev->count];
            return 1;
        }
    }
    return 0;
}

static int finalized;

static void finalize(void *userdata) {
    (void)userdata;
    finalized++;
}

static cortado_cache *listening_cache(struct events *ev, cortado_clock *clock, uint64_t max) {
    cortado_builder *b = cortado_builder_new();
    CHECK_OK(cortado_builder_eviction_listener(b, on_removal, ev, NULL));
    CHECK_OK(cortado_builder_eviction_policy(b, CORTADO_EVICTION_POLICY_LRU));
    CHECK_OK(cortado_builder_max_capacity(b, max));
    if (clock != NULL) {
        CHECK_OK(cortado_builder_clock(b, clock));
        CHECK_OK(cortado_builder_time_to_live_ns(b, 1000));
    }
    cortado_cache *c = NULL;
    CHECK_OK(cortado_builder_build(b, &c));
    cortado_builder_free(b);
    return c;
}

static void test_explicit_and_replaced(void) {
    struct events ev = {0};
    cortado_cache *c = listening_cache(&ev, NULL, 100);
    CHECK_OK(cortado_cache_insert(c, S("a"), S("1")));
    CHECK_OK(cortado_cache_insert(c, S("a"), S("2")));
    CHECK(take_event(&ev, "a", "1", CORTADO_REMOVAL_CAUSE_REPLACED));
    CHECK_OK(cortado_cache_remove(c, S("a"), NULL));
    CHECK(take_event(&ev, "a", "2", CORTADO_REMOVAL_CAUSE_EXPLICIT));
    CHECK_OK(cortado_cache_insert(c, S("b"), S("3")));
    CHECK_OK(cortado_cache_insert(c, S("c"), S("4")));
    CHECK_OK(cortado_cache_invalidate_all(c));
    CHECK(take_event(&ev, "b", "3", CORTADO_REMOVAL_CAUSE_EXPLICIT));
    CHECK(take_event(&ev, "c", "4", CORTADO_REMOVAL_CAUSE_EXPLICIT));
    CHECK(ev.count == 0);
    /* The value the listener retained outlives its entry. */
    CHECK_VALUE(ev.kept, "1");
    cortado_value_release(ev.kept);
    cortado_cache_free(c);
}

static bool key_is_x(void *userdata, const uint8_t *key, size_t key_len,
                     const cortado_value *value) {
    (void)userdata;
    (void)value;
    return key_len == 1 && key[0] == 'x';
}

static void test_invalidate_if_is_explicit(void) {
    struct events ev = {0};
    cortado_cache *c = listening_cache(&ev, NULL, 100);
    CHECK_OK(cortado_cache_insert(c, S("x"), S("1")));
    CHECK_OK(cortado_cache_insert(c, S("y"), S("2")));
    CHECK_OK(cortado_cache_invalidate_if(c, key_is_x, NULL, NULL));
    CHECK(take_event(&ev, "x", "1", CORTADO_REMOVAL_CAUSE_EXPLICIT));
    CHECK(ev.count == 0);
    cortado_value_release(ev.kept);
    cortado_cache_free(c);
}

static void test_expired(void) {
    struct events ev = {0};
    cortado_clock *clock = cortado_clock_new_manual();
    cortado_cache *c = listening_cache(&ev, clock, 100);
    CHECK_OK(cortado_cache_insert(c, S("old"), S("v")));
    CHECK_OK(cortado_cache_insert_with_ttl_ns(c, S("short"), S("s"), 10));
    CHECK_OK(cortado_clock_advance_ns(clock, 10));
    CHECK_OK(cortado_cache_run_pending_tasks(c));
    CHECK(take_event(&ev, "short", "s", CORTADO_REMOVAL_CAUSE_EXPIRED));
    CHECK(ev.count == 0);
    CHECK_OK(cortado_clock_advance_ns(clock, 990));
    CHECK_OK(cortado_cache_run_pending_tasks(c));
    CHECK(take_event(&ev, "old", "v", CORTADO_REMOVAL_CAUSE_EXPIRED));
    CHECK(ev.count == 0);
    cortado_value_release(ev.kept);
    cortado_cache_free(c);
    cortado_clock_free(clock);
}

static void test_size(void) {
    struct events ev = {0};
    cortado_cache *c = listening_cache(&ev, NULL, 2);
    CHECK_OK(cortado_cache_insert(c, S("a"), S("1")));
    CHECK_OK(cortado_cache_insert(c, S("b"), S("2")));
    CHECK_OK(cortado_cache_insert(c, S("c"), S("3")));
    CHECK_OK(cortado_cache_run_pending_tasks(c));
    CHECK(take_event(&ev, "a", "1", CORTADO_REMOVAL_CAUSE_SIZE));
    CHECK(ev.count == 0);
    cortado_value_release(ev.kept);
    cortado_cache_free(c);
}

static void test_listener_may_use_the_cache(void) {
    struct events ev = {0};
    cortado_cache *c = listening_cache(&ev, NULL, 100);
    ev.reenter = c;
    CHECK_OK(cortado_cache_insert(c, S("a"), S("1")));
    CHECK_OK(cortado_cache_remove(c, S("a"), NULL));
    CHECK(ev.reentered == 1);
    ev.reenter = NULL;
    const cortado_value *v = NULL;
    CHECK_OK(cortado_cache_get(c, S("from-listener"), &v));
    CHECK_VALUE(v, "x");
    cortado_value_release(v);
    cortado_value_release(ev.kept);
    cortado_cache_free(c);
}

/* Weight: the value's length, or 0 (pinned) for values starting with '!'. */
static uint32_t weigh(void *userdata, const uint8_t *key, size_t key_len, const uint8_t *value,
                      size_t value_len) {
    (void)key;
    (void)key_len;
    (*(int *)userdata)++;
    return value_len > 0 && value[0] == '!' ? 0 : (uint32_t)value_len;
}

static void test_weigher_callback(void) {
    int weighed = 0;
    struct events ev = {0};
    cortado_builder *b = cortado_builder_new();
    CHECK_OK(cortado_builder_max_weight(b, 10, weigh, &weighed, NULL));
    CHECK_OK(cortado_builder_eviction_policy(b, CORTADO_EVICTION_POLICY_LRU));
    CHECK_OK(cortado_builder_eviction_listener(b, on_removal, &ev, NULL));
    cortado_cache *c = NULL;
    CHECK_OK(cortado_builder_build(b, &c));
    cortado_builder_free(b);
    CHECK_OK(cortado_cache_insert(c, S("pinned"), S("!pinned forever")));
    CHECK_OK(cortado_cache_insert(c, S("a"), S("aaaa")));
    CHECK_OK(cortado_cache_insert(c, S("b"), S("bbbb")));
    CHECK_OK(cortado_cache_run_pending_tasks(c));
    uint64_t w = 0;
    CHECK_OK(cortado_cache_weighted_size(c, &w));
    CHECK(w == 8);
    CHECK(weighed == 3);
    CHECK_OK(cortado_cache_insert(c, S("c"), S("cccc")));
    CHECK_OK(cortado_cache_run_pending_tasks(c));
    CHECK(take_event(&ev, "a", "aaaa", CORTADO_REMOVAL_CAUSE_SIZE));
    CHECK(ev.count == 0);
    CHECK_OK(cortado_cache_weighted_size(c, &w));
    CHECK(w == 8);
    bool present = false;
    CHECK_OK(cortado_cache_contains(c, S("pinned"), &present));
    CHECK(present);
    uint64_t evicted_weight = 0;
    CHECK_OK(cortado_cache_stat(c, CORTADO_STAT_EVICTION_WEIGHT, &evicted_weight));
    CHECK(evicted_weight == 4);
    cortado_value_release(ev.kept);
    cortado_cache_free(c);
}

static void test_finalizers_run_once_after_the_last_user(void) {
    finalized = 0;
    struct events ev = {0};
    int weighed = 0;
    cortado_builder *b = cortado_builder_new();
    CHECK_OK(cortado_builder_eviction_listener(b, on_removal, &ev, finalize));
    CHECK_OK(cortado_builder_max_weight(b, 100, weigh, &weighed, finalize));
    /* Replacing a registration finalizes the old one at once. */
    CHECK_OK(cortado_builder_eviction_listener(b, on_removal, &ev, finalize));
    CHECK(finalized == 1);
    cortado_cache *one = NULL, *two = NULL;
    CHECK_OK(cortado_builder_build(b, &one));
    CHECK_OK(cortado_builder_build(b, &two));
    cortado_builder_free(b);
    CHECK(finalized == 1); /* both caches still use the callbacks */
    CHECK_OK(cortado_cache_insert(one, S("k"), S("v")));
    cortado_cache_free(one);
    CHECK(finalized == 1);
    CHECK_OK(cortado_cache_insert(two, S("k"), S("v")));
    CHECK_OK(cortado_cache_insert(two, S("k"), S("w")));
    CHECK(take_event(&ev, "k", "v", CORTADO_REMOVAL_CAUSE_REPLACED));
    cortado_cache_free(two);
    CHECK(finalized == 3); /* listener and weigher, once each */
    /* Freeing a cache does not report the entries it still held. */
    CHECK(ev.count == 0);
    cortado_value_release(ev.kept);

    /* A builder freed without building finalizes too. */
    finalized = 0;
    b = cortado_builder_new();
    CHECK_OK(cortado_builder_eviction_listener(b, on_removal, &ev, finalize));
    cortado_builder_free(b);
    CHECK(finalized == 1);
}

int main(void) {
    RUN(test_explicit_and_replaced);
    RUN(test_invalidate_if_is_explicit);
    RUN(test_expired);
    RUN(test_size);
    RUN(test_listener_may_use_the_cache);
    RUN(test_weigher_callback);
    RUN(test_finalizers_run_once_after_the_last_user);
    HARNESS_END();
}
