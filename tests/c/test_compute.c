/*
 * cortado_cache_compute: every outcome, a counter incremented from 8 pthreads with no lost
 * update, bad callbacks, and callbacks (and loaders) that re-enter the same key and get
 * RECURSIVE_LOAD instead of a deadlock. Also the statistics of cortado_cache_get_with, which
 * looks a key up before claiming it.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"

static cortado_cache *new_cache(void) {
    cortado_builder *b = cortado_builder_new();
    cortado_cache *c = NULL;
    CHECK_OK(cortado_builder_build(b, &c));
    cortado_builder_free(b);
    return c;
}

static uint64_t stat(cortado_cache *c, uint32_t which) {
    uint64_t n = UINT64_MAX;
    CHECK_OK(cortado_cache_stat(c, which, &n));
    return n;
}

/* What a scripted callback does, and what it saw. */
struct script {
    uint32_t op;
    const char *put;      /* the value a PUT stores (NULL: PUT without a handle) */
    int calls;
    char seen[32];        /* the current value, or "(none)" */
};

static uint32_t scripted(void *userdata, const uint8_t *key, size_t key_len, const cortado_value *current,
                         const cortado_value **out_new) {
    struct script *s = userdata;
    (void)key;
    (void)key_len;
    s->calls++;
    if (current == NULL) {
        strcpy(s->seen, "(none)");
    } else {
        size_t n = cortado_value_len(current);
        n = n < sizeof s->seen - 1 ? n : sizeof s->seen - 1;
        memcpy(s->seen, cortado_value_data(current), n);
        s->seen[n] = '\0';
    }
    if (s->put != NULL) {
        CHECK_OK(cortado_value_new(S(s->put), out_new)); /* given up to the cache */
    }
    return s->op;
}

/* Runs one scripted compute; checks status and result, returns the out value (or NULL). */
static const cortado_value *compute(cortado_cache *c, const char *key, struct script *s, uint32_t want_result) {
    uint32_t result = 99;
    const cortado_value *v = (const cortado_value *)&result; /* must be overwritten */
    CHECK_OK(cortado_cache_compute(c, S(key), scripted, s, &result, &v));
    CHECK(result == want_result);
    return v;
}

static void test_every_outcome(void) {
    cortado_cache *c = new_cache();
    struct script s = {.op = CORTADO_COMPUTE_OP_NOP};
    const cortado_value *v = compute(c, "k", &s, CORTADO_COMPUTE_RESULT_STILL_NONE);
    CHECK(v == NULL);
    CHECK(strcmp(s.seen, "(none)") == 0);

    s = (struct script){.op = CORTADO_COMPUTE_OP_REMOVE};
    v = compute(c, "k", &s, CORTADO_COMPUTE_RESULT_STILL_NONE);
    CHECK(v == NULL);

    s = (struct script){.op = CORTADO_COMPUTE_OP_PUT, .put = "one"};
    v = compute(c, "k", &s, CORTADO_COMPUTE_RESULT_INSERTED);
    CHECK_VALUE(v, "one");
    const cortado_value *got = NULL;
    CHECK_OK(cortado_cache_get(c, S("k"), &got));
    CHECK(got == v); /* the callback's handle itself is stored */
    cortado_value_release(got);
    cortado_value_release(v);

    s = (struct script){.op = CORTADO_COMPUTE_OP_NOP};
    v = compute(c, "k", &s, CORTADO_COMPUTE_RESULT_UNCHANGED);
    CHECK_VALUE(v, "one");
    CHECK(strcmp(s.seen, "one") == 0);
    cortado_value_release(v);

    s = (struct script){.op = CORTADO_COMPUTE_OP_PUT, .put = "two"};
    v = compute(c, "k", &s, CORTADO_COMPUTE_RESULT_REPLACED);
    CHECK_VALUE(v, "two");
    CHECK(strcmp(s.seen, "one") == 0);
    cortado_value_release(v);

    s = (struct script){.op = CORTADO_COMPUTE_OP_REMOVE};
    v = compute(c, "k", &s, CORTADO_COMPUTE_RESULT_REMOVED);
    CHECK_VALUE(v, "two"); /* the removed value */
    cortado_value_release(v);
    bool there = true;
    CHECK_OK(cortado_cache_contains(c, S("k"), &there));
    CHECK(!there);

    /* Both out-parameters are optional. */
    s = (struct script){.op = CORTADO_COMPUTE_OP_PUT, .put = "three"};
    CHECK_OK(cortado_cache_compute(c, S("k"), scripted, &s, NULL, NULL));
    CHECK(s.calls == 1);
    CHECK_OK(cortado_cache_get(c, S("k"), &got));
    CHECK_VALUE(got, "three");
    cortado_value_release(got);
    /* The empty key works like any other. */
    s = (struct script){.op = CORTADO_COMPUTE_OP_PUT, .put = ""};
    v = compute(c, "", &s, CORTADO_COMPUTE_RESULT_INSERTED);
    CHECK_VALUE(v, "");
    cortado_value_release(v);
    /* Computations count in no statistic. */
    CHECK(stat(c, CORTADO_STAT_MISSES) == 0);
    CHECK(stat(c, CORTADO_STAT_LOAD_SUCCESSES) == 0);
    cortado_cache_free(c);
}

static void test_bad_input_changes_nothing(void) {
    cortado_cache *c = new_cache();
    CHECK_OK(cortado_cache_insert(c, S("k"), S("old")));
    uint32_t result = 42;
    const cortado_value *v = NULL;
    struct script s = {.op = CORTADO_COMPUTE_OP_PUT};
    CHECK_STATUS(cortado_cache_compute(NULL, S("k"), scripted, &s, &result, &v), CORTADO_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(cortado_cache_compute(c, NULL, 1, scripted, &s, &result, &v), CORTADO_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(cortado_cache_compute(c, S("k"), NULL, &s, &result, &v), CORTADO_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(cortado_cache_compute(c, (const uint8_t *)"k", SIZE_MAX, scripted, &s, &result, &v),
                 CORTADO_STATUS_INVALID_ARGUMENT);
    CHECK(s.calls == 0);
    /* PUT without a handle: refused, nothing changed. */
    CHECK_STATUS(cortado_cache_compute(c, S("k"), scripted, &s, &result, &v), CORTADO_STATUS_NULL_ARGUMENT);
    CHECK(s.calls == 1);
    /* An unknown op: refused; the handle it left is released (no leak under the sanitizers). */
    s = (struct script){.op = 7, .put = "new"};
    CHECK_STATUS(cortado_cache_compute(c, S("k"), scripted, &s, &result, &v), CORTADO_STATUS_INVALID_ARGUMENT);
    /* NOP and REMOVE release a handle left in *out_new too. */
    s = (struct script){.op = CORTADO_COMPUTE_OP_NOP, .put = "ignored"};
    CHECK_OK(cortado_cache_compute(c, S("k"), scripted, &s, &result, NULL));
    CHECK(result == CORTADO_COMPUTE_RESULT_UNCHANGED);
    CHECK(result == 3 && v == NULL); /* out_value was never written */
    CHECK_OK(cortado_cache_get(c, S("k"), &v));
    CHECK_VALUE(v, "old");
    cortado_value_release(v);
    s = (struct script){.op = CORTADO_COMPUTE_OP_REMOVE, .put = "ignored"};
    CHECK_OK(cortado_cache_compute(c, S("k"), scripted, &s, &result, NULL));
    CHECK(result == CORTADO_COMPUTE_RESULT_REMOVED);
    cortado_cache_free(c);
}

/* ---- a counter from many threads ------------------------------------------------------- */

enum { THREADS = 8, ROUNDS = 200 };

static uint32_t increment(void *userdata, const uint8_t *key, size_t key_len, const cortado_value *current,
                          const cortado_value **out_new) {
    (void)key;
    (void)key_len;
    atomic_int *calls = userdata;
    atomic_fetch_add(calls, 1);
    uint64_t n = 0;
    if (current != NULL) {
        memcpy(&n, cortado_value_data(current), sizeof n);
    }
    n++;
    CHECK_OK(cortado_value_new((const uint8_t *)&n, sizeof n, out_new));
    return CORTADO_COMPUTE_OP_PUT;
}

struct counter_worker {
    pthread_t thread;
    cortado_cache *cache;
    atomic_int *calls;
    pthread_barrier_t *start;
};

static void *count_up(void *arg) {
    struct counter_worker *w = arg;
    pthread_barrier_wait(w->start);
    for (int i = 0; i < ROUNDS; i++) {
        CHECK_OK(cortado_cache_compute(w->cache, S("counter"), increment, w->calls, NULL, NULL));
    }
    return NULL;
}

static void test_counter_loses_no_update(void) {
    cortado_cache *c = new_cache();
    atomic_int calls = 0;
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, THREADS);
    struct counter_worker ws[THREADS];
    for (int i = 0; i < THREADS; i++) {
        ws[i] = (struct counter_worker){.cache = c, .calls = &calls, .start = &start};
        CHECK(pthread_create(&ws[i].thread, NULL, count_up, &ws[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(ws[i].thread, NULL);
    }
    pthread_barrier_destroy(&start);
    const cortado_value *v = NULL;
    CHECK_OK(cortado_cache_get(c, S("counter"), &v));
    uint64_t n = 0;
    CHECK(cortado_value_len(v) == sizeof n);
    memcpy(&n, cortado_value_data(v), sizeof n);
    CHECK(n == THREADS * ROUNDS);
    CHECK(atomic_load(&calls) == THREADS * ROUNDS); /* each callback ran exactly once */
    cortado_value_release(v);
    cortado_cache_free(c);
}

/* ---- re-entrance ----------------------------------------------------------------------- */

struct reentry {
    cortado_cache *cache;
    const char *key; /* the key the nested call uses */
    cortado_status nested;
    int32_t loader_error;
};

static uint32_t compute_again(void *userdata, const uint8_t *key, size_t key_len, const cortado_value *current,
                              const cortado_value **out_new) {
    struct reentry *r = userdata;
    (void)key;
    (void)key_len;
    (void)current;
    struct script inner = {.op = CORTADO_COMPUTE_OP_PUT, .put = "inner"};
    uint32_t result = 0;
    r->nested = cortado_cache_compute(r->cache, S(r->key), scripted, &inner, &result, NULL);
    CHECK_OK(cortado_value_new(S("outer"), out_new));
    return CORTADO_COMPUTE_OP_PUT;
}

static int32_t load_inner(void *userdata, const uint8_t *key, size_t key_len, cortado_load_ctx *ctx) {
    (void)userdata;
    (void)key;
    (void)key_len;
    CHECK_OK(cortado_load_ctx_set_bytes(ctx, S("loaded")));
    return 0;
}

static uint32_t get_with_again(void *userdata, const uint8_t *key, size_t key_len, const cortado_value *current,
                               const cortado_value **out_new) {
    struct reentry *r = userdata;
    (void)key;
    (void)key_len;
    (void)current;
    (void)out_new;
    const cortado_value *v = NULL;
    r->nested = cortado_cache_get_with(r->cache, S(r->key), load_inner, NULL, &v, NULL);
    cortado_value_release(v);
    return CORTADO_COMPUTE_OP_NOP;
}

static int32_t loader_computing(void *userdata, const uint8_t *key, size_t key_len, cortado_load_ctx *ctx) {
    struct reentry *r = userdata;
    (void)key;
    (void)key_len;
    struct script inner = {.op = CORTADO_COMPUTE_OP_PUT, .put = "inner"};
    r->nested = cortado_cache_compute(r->cache, S(r->key), scripted, &inner, NULL, NULL);
    CHECK_OK(cortado_load_ctx_set_bytes(ctx, S("loaded")));
    return 0;
}

static void test_reentering_the_same_key_is_refused(void) {
    cortado_cache *c = new_cache();
    /* compute inside compute, same key: RECURSIVE_LOAD, and the outer one goes on. */
    struct reentry r = {.cache = c, .key = "k", .nested = CORTADO_STATUS_OK};
    uint32_t result = 0;
    CHECK_OK(cortado_cache_compute(c, S("k"), compute_again, &r, &result, NULL));
    CHECK_STATUS(r.nested, CORTADO_STATUS_RECURSIVE_LOAD);
    CHECK(result == CORTADO_COMPUTE_RESULT_INSERTED);
    const cortado_value *v = NULL;
    CHECK_OK(cortado_cache_get(c, S("k"), &v));
    CHECK_VALUE(v, "outer");
    cortado_value_release(v);

    /* Another key is fine. */
    r = (struct reentry){.cache = c, .key = "other", .nested = CORTADO_STATUS_PANIC};
    CHECK_OK(cortado_cache_compute(c, S("k"), compute_again, &r, &result, NULL));
    CHECK_OK(r.nested);
    CHECK(result == CORTADO_COMPUTE_RESULT_REPLACED);
    CHECK_OK(cortado_cache_get(c, S("other"), &v));
    CHECK_VALUE(v, "inner");
    cortado_value_release(v);

    /* get_with of an absent key inside a compute of it. */
    r = (struct reentry){.cache = c, .key = "absent", .nested = CORTADO_STATUS_OK};
    CHECK_OK(cortado_cache_compute(c, S("absent"), get_with_again, &r, &result, NULL));
    CHECK_STATUS(r.nested, CORTADO_STATUS_RECURSIVE_LOAD);
    CHECK(result == CORTADO_COMPUTE_RESULT_STILL_NONE);

    /* compute inside the loader of the same key. */
    r = (struct reentry){.cache = c, .key = "loading", .nested = CORTADO_STATUS_OK};
    CHECK_OK(cortado_cache_get_with(c, S("loading"), loader_computing, &r, &v, NULL));
    CHECK_VALUE(v, "loaded");
    cortado_value_release(v);
    CHECK_STATUS(r.nested, CORTADO_STATUS_RECURSIVE_LOAD);

    /* The same key on another cache is another key. */
    cortado_cache *c2 = new_cache();
    r = (struct reentry){.cache = c2, .key = "k", .nested = CORTADO_STATUS_PANIC};
    CHECK_OK(cortado_cache_compute(c, S("k"), compute_again, &r, &result, NULL));
    CHECK_OK(r.nested);
    cortado_cache_free(c2);

    /* Nothing is left held: the key computes normally afterwards. */
    struct script s = {.op = CORTADO_COMPUTE_OP_REMOVE};
    CHECK_OK(cortado_cache_compute(c, S("k"), scripted, &s, &result, NULL));
    CHECK(result == CORTADO_COMPUTE_RESULT_REMOVED);
    cortado_cache_free(c);
}

/* ---- get_with statistics ---------------------------------------------------------------- */

static int32_t failing(void *userdata, const uint8_t *key, size_t key_len, cortado_load_ctx *ctx) {
    (void)userdata;
    (void)key;
    (void)key_len;
    (void)ctx;
    return 5;
}

static void test_get_with_counts_each_lookup_once(void) {
    cortado_cache *c = new_cache();
    const cortado_value *v = NULL;
    int32_t code = 0;
    CHECK_STATUS(cortado_cache_get_with(c, S("k"), failing, NULL, &v, &code), CORTADO_STATUS_LOADER_FAILED);
    CHECK(code == 5);
    CHECK(stat(c, CORTADO_STAT_MISSES) == 1);
    CHECK(stat(c, CORTADO_STAT_LOAD_FAILURES) == 1);
    CHECK_OK(cortado_cache_get_with(c, S("k"), load_inner, NULL, &v, NULL));
    cortado_value_release(v);
    CHECK(stat(c, CORTADO_STAT_MISSES) == 2);
    CHECK(stat(c, CORTADO_STAT_HITS) == 0);
    CHECK(stat(c, CORTADO_STAT_LOAD_SUCCESSES) == 1);
    for (int i = 0; i < 3; i++) {
        CHECK_OK(cortado_cache_get_with(c, S("k"), failing, NULL, &v, NULL));
        CHECK_VALUE(v, "loaded");
        cortado_value_release(v);
    }
    CHECK(stat(c, CORTADO_STAT_HITS) == 3);
    CHECK(stat(c, CORTADO_STAT_MISSES) == 2);
    /* Plain misses still count as before. */
    CHECK_STATUS(cortado_cache_get(c, S("nope"), &v), CORTADO_STATUS_NOT_FOUND);
    CHECK(stat(c, CORTADO_STAT_MISSES) == 3);
    cortado_cache_free(c);
}

int main(void) {
    RUN(test_every_outcome);
    RUN(test_bad_input_changes_nothing);
    RUN(test_counter_loses_no_update);
    RUN(test_reentering_the_same_key_is_refused);
    RUN(test_get_with_counts_each_lookup_once);
    HARNESS_END();
}
