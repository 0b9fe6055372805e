/*
 * Per-entry expiry through C callbacks (cortado_builder_set_expiry) on a manual clock:
 * negative caching (an empty value lives 1 s, others 1 h), deadlines extended on read and
 * on update, a deadline set on read reclaimed on time, NULL callbacks, unknown decisions,
 * and the userdata finalizer called exactly once.
 */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"

static const uint64_t MS = 1000000;
static const uint64_t SEC = 1000000000;

struct expiry_state {
    int creates, reads, updates;
    uint64_t last_remaining; /* the current_remaining_ns of the last call */
    int frees;
};

static void free_state(void *userdata) {
    struct expiry_state *st = userdata;
    st->frees++;
}

/* Negative caching: "not found" (an empty value) lives 1 s, a real value 1 h. */
static uint32_t negative(void *userdata, const uint8_t *key, size_t key_len, const cortado_value *value,
                         uint64_t current_remaining_ns, uint64_t *out_ns) {
    struct expiry_state *st = userdata;
    (void)key;
    (void)key_len;
    st->last_remaining = current_remaining_ns;
    *out_ns = cortado_value_len(value) == 0 ? 1 * SEC : 3600 * SEC;
    return CORTADO_EXPIRY_DECISION_SET;
}

static uint32_t on_create(void *userdata, const uint8_t *key, size_t key_len, const cortado_value *value,
                          uint64_t current_remaining_ns, uint64_t *out_ns) {
    ((struct expiry_state *)userdata)->creates++;
    return negative(userdata, key, key_len, value, current_remaining_ns, out_ns);
}

static uint32_t on_update(void *userdata, const uint8_t *key, size_t key_len, const cortado_value *value,
                          uint64_t current_remaining_ns, uint64_t *out_ns) {
    ((struct expiry_state *)userdata)->updates++;
    return negative(userdata, key, key_len, value, current_remaining_ns, out_ns);
}

/* Sliding: every read gives the entry 10 s from now. */
static uint32_t extend_on_read(void *userdata, const uint8_t *key, size_t key_len,
                               const cortado_value *value, uint64_t current_remaining_ns, uint64_t *out_ns) {
    struct expiry_state *st = userdata;
    (void)key;
    (void)key_len;
    (void)value;
    st->reads++;
    st->last_remaining = current_remaining_ns;
    *out_ns = 10 * SEC;
    return CORTADO_EXPIRY_DECISION_SET;
}

static uint32_t keep(void *userdata, const uint8_t *key, size_t key_len, const cortado_value *value,
                     uint64_t current_remaining_ns, uint64_t *out_ns) {
    struct expiry_state *st = userdata;
    (void)key;
    (void)key_len;
    (void)value;
    (void)out_ns;
    st->reads++;
    st->last_remaining = current_remaining_ns;
    return CORTADO_EXPIRY_DECISION_KEEP;
}

/* A number that is no decision: counts as KEEP. */
static uint32_t bogus(void *userdata, const uint8_t *key, size_t key_len, const cortado_value *value,
                      uint64_t current_remaining_ns, uint64_t *out_ns) {
    (void)userdata;
    (void)key;
    (void)key_len;
    (void)value;
    (void)current_remaining_ns;
    *out_ns = 1;
    return 77;
}

static cortado_cache *build(cortado_builder *b) {
    cortado_cache *c = NULL;
    CHECK_OK(cortado_builder_build(b, &c));
    CHECK(c != NULL);
    return c;
}

static int present(cortado_cache *c, const char *key) {
    bool yes = false;
    CHECK_OK(cortado_cache_contains(c, S(key), &yes));
    return yes;
}

static uint64_t remaining(cortado_cache *c, const char *key) {
    uint64_t left = 0;
    CHECK_OK(cortado_cache_remaining_ttl_ns(c, S(key), &left));
    return left;
}

static void test_negative_caching(void) {
    struct expiry_state st = {0};
    cortado_clock *clock = cortado_clock_new_manual();
    cortado_builder *b = cortado_builder_new();
    CHECK_OK(cortado_builder_clock(b, clock));
    CHECK_OK(cortado_builder_set_expiry(b, on_create, NULL, on_update, &st, free_state));
    cortado_cache *c = build(b);
    cortado_builder_free(b);
    CHECK(st.frees == 0); /* the cache still uses it */

    CHECK_OK(cortado_cache_insert(c, S("missing"), NULL, 0));
    CHECK(st.creates == 1);
    CHECK(st.last_remaining == CORTADO_NO_DEADLINE); /* create: no current deadline */
    CHECK_OK(cortado_cache_insert(c, S("found"), S("row")));
    CHECK(st.creates == 2);
    CHECK(remaining(c, "missing") == 1 * SEC);
    CHECK(remaining(c, "found") == 3600 * SEC);

    CHECK_OK(cortado_clock_advance_ns(clock, 999 * MS));
    CHECK(present(c, "missing"));
    CHECK_OK(cortado_clock_advance_ns(clock, 1 * MS));
    CHECK(!present(c, "missing")); /* the negative entry is gone after 1 s */
    CHECK(present(c, "found"));

    /* Written again after it expired: a create, not an update. */
    CHECK_OK(cortado_cache_insert(c, S("missing"), NULL, 0));
    CHECK(st.creates == 3);
    CHECK(st.updates == 0);
    /* The key now exists for real: the update gives it the long lifetime. */
    CHECK_OK(cortado_clock_advance_ns(clock, 500 * MS));
    CHECK_OK(cortado_cache_insert(c, S("missing"), S("late row")));
    CHECK(st.updates == 1);
    CHECK(st.last_remaining == 500 * MS); /* the update saw what was left */
    CHECK(remaining(c, "missing") == 3600 * SEC);
    CHECK_OK(cortado_clock_advance_ns(clock, 2 * SEC));
    CHECK(present(c, "missing"));

    CHECK_OK(cortado_clock_advance_ns(clock, 3600 * SEC));
    CHECK(!present(c, "found"));
    CHECK(!present(c, "missing"));
    CHECK_OK(cortado_cache_run_pending_tasks(c));
    uint64_t n = 1;
    CHECK_OK(cortado_cache_entry_count(c, &n));
    CHECK(n == 0);

    cortado_cache_free(c);
    CHECK(st.frees == 1);
    cortado_clock_free(clock);
}

static void test_deadline_extended_on_read(void) {
    struct expiry_state st = {0};
    cortado_clock *clock = cortado_clock_new_manual();
    cortado_builder *b = cortado_builder_new();
    CHECK_OK(cortado_builder_clock(b, clock));
    CHECK_OK(cortado_builder_time_to_live_ns(b, 1 * SEC));
    CHECK_OK(cortado_builder_set_expiry(b, NULL, extend_on_read, NULL, &st, free_state));
    cortado_cache *c = build(b);
    cortado_builder_free(b);

    /* A NULL on_create: the cache-wide time-to-live applies. */
    CHECK_OK(cortado_cache_insert(c, S("k"), S("v")));
    CHECK(remaining(c, "k") == 1 * SEC);
    CHECK_OK(cortado_clock_advance_ns(clock, 900 * MS));

    /* peek, contains and remaining_ttl are not reads. */
    const cortado_value *v = NULL;
    CHECK_OK(cortado_cache_peek(c, S("k"), &v));
    cortado_value_release(v);
    CHECK(st.reads == 0);

    CHECK_OK(cortado_cache_get(c, S("k"), &v));
    CHECK_VALUE(v, "v");
    cortado_value_release(v);
    CHECK(st.reads == 1);
    CHECK(st.last_remaining == 100 * MS);
    CHECK(remaining(c, "k") == 10 * SEC);

    CHECK_OK(cortado_clock_advance_ns(clock, 5 * SEC)); /* long past the 1 s time-to-live */
    uint8_t buf[4];
    size_t len = 0;
    CHECK_OK(cortado_cache_get_copy(c, S("k"), buf, sizeof buf, &len));
    CHECK(len == 1 && buf[0] == 'v');
    CHECK(st.reads == 2);
    CHECK(st.last_remaining == 5 * SEC);

    CHECK_OK(cortado_clock_advance_ns(clock, 10 * SEC));
    CHECK_STATUS(cortado_cache_get(c, S("k"), &v), CORTADO_STATUS_NOT_FOUND);
    CHECK(st.reads == 2); /* a miss is not a read */
    cortado_cache_free(c);
    CHECK(st.frees == 1);
    cortado_clock_free(clock);
}

/* Every read gives the entry 300 ms from now, shortening or setting its deadline. */
static uint32_t short_on_read(void *userdata, const uint8_t *key, size_t key_len,
                              const cortado_value *value, uint64_t current_remaining_ns, uint64_t *out_ns) {
    (void)key;
    (void)key_len;
    (void)value;
    (void)current_remaining_ns;
    ((struct expiry_state *)userdata)->reads++;
    *out_ns = 300 * MS;
    return CORTADO_EXPIRY_DECISION_SET;
}

static void count_expired(void *userdata, const uint8_t *key, size_t key_len, const cortado_value *value,
                          uint32_t cause) {
    (void)key;
    (void)key_len;
    (void)value;
    if (cause == CORTADO_REMOVAL_CAUSE_EXPIRED) {
        (*(int *)userdata)++;
    }
}

/* A deadline a read sets (the entry had none) or shortens is one maintenance reclaims on time:
 * such entries once stayed counted, and unreported, until evicted for size. */
static void test_deadline_set_on_read_is_reclaimed(void) {
    struct expiry_state st = {0};
    int expired = 0;
    cortado_clock *clock = cortado_clock_new_manual();
    cortado_builder *b = cortado_builder_new();
    CHECK_OK(cortado_builder_clock(b, clock));
    CHECK_OK(cortado_builder_set_expiry(b, NULL, short_on_read, NULL, &st, NULL));
    CHECK_OK(cortado_builder_eviction_listener(b, count_expired, &expired, NULL));
    cortado_cache *c = build(b);
    cortado_builder_free(b);

    CHECK_OK(cortado_cache_insert(c, S("k"), S("v"))); /* no deadline */
    const cortado_value *v = NULL;
    CHECK_OK(cortado_cache_get(c, S("k"), &v)); /* 300 ms from now */
    cortado_value_release(v);
    CHECK(st.reads == 1);
    CHECK_OK(cortado_clock_advance_ns(clock, 300 * MS));
    CHECK_OK(cortado_cache_run_pending_tasks(c));
    uint64_t n = 1;
    CHECK_OK(cortado_cache_entry_count(c, &n));
    CHECK(n == 0);
    CHECK(expired == 1);
    cortado_cache_free(c);
    cortado_clock_free(clock);
}

/* KEEP leaves an entry without a deadline of its own under the cache-wide settings: replacing
 * its value restarts its time-to-live, as in a cache without callbacks. */
static void test_keep_on_update_follows_the_time_to_live(void) {
    struct expiry_state st = {0};
    cortado_clock *clock = cortado_clock_new_manual();
    cortado_builder *b = cortado_builder_new();
    CHECK_OK(cortado_builder_clock(b, clock));
    CHECK_OK(cortado_builder_time_to_live_ns(b, 10 * SEC));
    CHECK_OK(cortado_builder_set_expiry(b, NULL, NULL, keep, &st, NULL));
    cortado_cache *c = build(b);
    cortado_builder_free(b);
    CHECK_OK(cortado_cache_insert(c, S("k"), S("1")));
    CHECK_OK(cortado_clock_advance_ns(clock, 5 * SEC));
    CHECK_OK(cortado_cache_insert(c, S("k"), S("2"))); /* on_update: KEEP */
    CHECK(st.reads == 1);                               /* `keep` counts its calls as reads */
    CHECK(remaining(c, "k") == 10 * SEC);
    CHECK_OK(cortado_clock_advance_ns(clock, 6 * SEC)); /* 11 s after the first write */
    CHECK(present(c, "k"));
    cortado_cache_free(c);
    cortado_clock_free(clock);
}

static void test_keep_and_unknown_decisions(void) {
    struct expiry_state st = {0};
    cortado_clock *clock = cortado_clock_new_manual();
    cortado_builder *b = cortado_builder_new();
    CHECK_OK(cortado_builder_clock(b, clock));
    CHECK_OK(cortado_builder_set_expiry(b, bogus, keep, bogus, &st, NULL));
    cortado_cache *c = build(b);
    cortado_builder_free(b);

    CHECK_OK(cortado_cache_insert(c, S("k"), S("v")));
    CHECK(remaining(c, "k") == UINT64_MAX); /* unknown on create: no deadline of its own */
    const cortado_value *v = NULL;
    CHECK_OK(cortado_cache_get(c, S("k"), &v));
    cortado_value_release(v);
    CHECK(st.reads == 1);
    CHECK(st.last_remaining == CORTADO_NO_DEADLINE);
    CHECK_OK(cortado_cache_insert(c, S("k"), S("w"))); /* unknown on update: kept */
    CHECK(remaining(c, "k") == UINT64_MAX);

    /* A deadline that KEEP leaves alone. */
    CHECK_OK(cortado_cache_insert_with_ttl_ns(c, S("t"), S("v"), 2 * SEC));
    CHECK_OK(cortado_clock_advance_ns(clock, 1 * SEC));
    CHECK_OK(cortado_cache_get(c, S("t"), &v));
    cortado_value_release(v);
    CHECK(st.last_remaining == 1 * SEC);
    CHECK(remaining(c, "t") == 1 * SEC);
    cortado_cache_free(c);
    cortado_clock_free(clock);
}

static void test_null_callbacks(void) {
    struct expiry_state st = {0};
    cortado_clock *clock = cortado_clock_new_manual();
    cortado_builder *b = cortado_builder_new();
    CHECK_OK(cortado_builder_clock(b, clock));
    CHECK_OK(cortado_builder_set_expiry(b, on_create, NULL, NULL, &st, free_state));
    /* All three NULL: the setting is removed and the userdata freed at once. */
    struct expiry_state unused = {0};
    CHECK_OK(cortado_builder_set_expiry(b, NULL, NULL, NULL, &unused, free_state));
    CHECK(unused.frees == 1);
    CHECK(st.frees == 1); /* the replaced setting's userdata, freed once */
    cortado_cache *c = build(b);
    CHECK_OK(cortado_cache_insert(c, S("k"), NULL, 0));
    CHECK(st.creates == 0);
    CHECK(remaining(c, "k") == UINT64_MAX);
    CHECK_OK(cortado_clock_advance_ns(clock, 3600 * SEC));
    CHECK(present(c, "k"));
    cortado_cache_free(c);

    /* A NULL builder: NULL_ARGUMENT, and the userdata is freed (nothing keeps it). */
    struct expiry_state lost = {0};
    CHECK_STATUS(cortado_builder_set_expiry(NULL, on_create, NULL, NULL, &lost, free_state),
                 CORTADO_STATUS_NULL_ARGUMENT);
    CHECK(lost.frees == 1);
    /* No finalizer at all is fine too. */
    CHECK_OK(cortado_builder_set_expiry(b, NULL, NULL, NULL, NULL, NULL));
    cortado_builder_free(b);
    cortado_clock_free(clock);
    CHECK(st.frees == 1 && unused.frees == 1 && lost.frees == 1);
}

static void test_finalizer_runs_once_after_the_last_user(void) {
    struct expiry_state st = {0};
    cortado_builder *b = cortado_builder_new();
    CHECK_OK(cortado_builder_set_expiry(b, on_create, NULL, NULL, &st, free_state));
    cortado_cache *c1 = build(b);
    cortado_cache *c2 = build(b);
    cortado_builder_free(b);
    CHECK(st.frees == 0);
    CHECK_OK(cortado_cache_insert(c1, S("a"), S("1")));
    CHECK_OK(cortado_cache_insert(c2, S("a"), S("1")));
    CHECK(st.creates == 2); /* both caches share the callbacks */
    cortado_cache_free(c1);
    CHECK(st.frees == 0);
    cortado_cache_free(c2);
    CHECK(st.frees == 1);
}

int main(void) {
    RUN(test_negative_caching);
    RUN(test_deadline_extended_on_read);
    RUN(test_deadline_set_on_read_is_reclaimed);
    RUN(test_keep_on_update_follows_the_time_to_live);
    RUN(test_keep_and_unknown_decisions);
    RUN(test_null_callbacks);
    RUN(test_finalizer_runs_once_after_the_last_user);
    HARNESS_END();
}
