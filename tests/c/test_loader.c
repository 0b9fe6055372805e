/*
 * cortado_cache_get_with: loading on a miss, coalescing across pthreads (one loader run, the
 * same value handle for everyone), errors shared with the waiters and never cached, loaders
 * that produce nothing, a loader that re-enters its own key, and loads overtaken by a write.
 *
 * CORTADO_TEST_THREADS sets the thread count (default 16; run.sh lowers it under valgrind).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "harness.h"

static int thread_count(void) {
    const char *s = getenv("CORTADO_TEST_THREADS");
    int n = s ? atoi(s) : 16;
    return n < 2 ? 2 : (n > 64 ? 64 : n);
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

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

/* ---- loaders ------------------------------------------------------------------------ */

struct loader_state {
    atomic_int calls;
    const char *value; /* what to load; NULL: load nothing */
    int32_t error;     /* non-zero: fail with this code */
    long delay_ms;
    cortado_cache *cache;
    const cortado_value *made; /* set_value: the handle the loader handed over */
    cortado_status inner;      /* recursive: what the nested call returned */
};

static int32_t load(void *userdata, const uint8_t *key, size_t key_len, cortado_load_ctx *ctx) {
    struct loader_state *st = userdata;
    (void)key;
    (void)key_len;
    atomic_fetch_add(&st->calls, 1);
    if (st->delay_ms > 0) {
        sleep_ms(st->delay_ms);
    }
    if (st->error != 0) {
        return st->error;
    }
    if (st->value != NULL) {
        CHECK_OK(cortado_load_ctx_set_bytes(ctx, S(st->value)));
    }
    return 0;
}

static int32_t load_handle(void *userdata, const uint8_t *key, size_t key_len,
                           cortado_load_ctx *ctx) {
    struct loader_state *st = userdata;
    (void)key;
    (void)key_len;
    atomic_fetch_add(&st->calls, 1);
    CHECK_OK(cortado_load_ctx_set_bytes(ctx, S("first, replaced below")));
    CHECK_OK(cortado_value_new(S(st->value), &st->made));
    CHECK_OK(cortado_load_ctx_set_value(ctx, st->made));
    return 0;
}

/* Re-enters get_with for its own key (refused), then loads another key through the cache. */
static int32_t load_recursive(void *userdata, const uint8_t *key, size_t key_len,
                              cortado_load_ctx *ctx) {
    struct loader_state *st = userdata;
    atomic_fetch_add(&st->calls, 1);
    const cortado_value *v = (const cortado_value *)(uintptr_t)0x1;
    st->inner = cortado_cache_get_with(st->cache, key, key_len, load_recursive, st, &v, NULL);
    CHECK(v == NULL);
    /* Other keys and other operations on the cache are fine from inside a loader. */
    struct loader_state other = {.value = "other"};
    CHECK_OK(cortado_cache_get_with(st->cache, S("other-key"), load, &other, &v, NULL));
    CHECK_VALUE(v, "other");
    cortado_value_release(v);
    CHECK_OK(cortado_cache_insert(st->cache, S("side"), S("effect")));
    CHECK_OK(cortado_load_ctx_set_bytes(ctx, S("outer")));
    return 0;
}

/* Writes or invalidates its own key before it returns, as another thread could while it runs. */
struct overtaking {
    cortado_cache *cache;
    int invalidate; /* 1: invalidate the key; 0: insert "newer" */
};

static int32_t load_overtaken(void *userdata, const uint8_t *key, size_t key_len,
                              cortado_load_ctx *ctx) {
    struct overtaking *o = userdata;
    if (o->invalidate) {
        CHECK_STATUS(cortado_cache_remove(o->cache, key, key_len, NULL), CORTADO_STATUS_NOT_FOUND);
    } else {
        CHECK_OK(cortado_cache_insert(o->cache, key, key_len, S("newer")));
    }
    CHECK_OK(cortado_load_ctx_set_bytes(ctx, S("loaded")));
    return 0;
}

/* ---- single-threaded ------------------------------------------------------------------ */

/* A write or an invalidation of the key while it loads wins over the load: the caller gets
 * what it loaded, the cache keeps the write (or stays without the key). */
static void test_a_load_overtaken_by_a_write_is_not_stored(void) {
    cortado_cache *c = new_cache();
    const cortado_value *v = NULL;
    struct overtaking write = {.cache = c, .invalidate = 0};
    CHECK_OK(cortado_cache_get_with(c, S("k"), load_overtaken, &write, &v, NULL));
    CHECK_VALUE(v, "loaded");
    cortado_value_release(v);
    CHECK_OK(cortado_cache_get(c, S("k"), &v));
    CHECK_VALUE(v, "newer");
    cortado_value_release(v);
    struct overtaking invalidation = {.cache = c, .invalidate = 1};
    CHECK_OK(cortado_cache_get_with(c, S("gone"), load_overtaken, &invalidation, &v, NULL));
    CHECK_VALUE(v, "loaded");
    cortado_value_release(v);
    CHECK_STATUS(cortado_cache_get(c, S("gone"), &v), CORTADO_STATUS_NOT_FOUND);
    cortado_cache_free(c);
}

static void test_loads_on_miss_then_hits(void) {
    cortado_cache *c = new_cache();
    struct loader_state st = {.value = "loaded"};
    const cortado_value *v1 = NULL, *v2 = NULL;
    int32_t code = 0;
    CHECK_OK(cortado_cache_get_with(c, S("k"), load, &st, &v1, &code));
    CHECK_VALUE(v1, "loaded");
    CHECK_OK(cortado_cache_get_with(c, S("k"), load, &st, &v2, NULL));
    CHECK(v2 == v1); /* the cached handle */
    CHECK(atomic_load(&st.calls) == 1);
    cortado_value_release(v1);
    cortado_value_release(v2);

    const cortado_value *v = NULL;
    CHECK_OK(cortado_cache_get(c, S("k"), &v));
    CHECK_VALUE(v, "loaded");
    cortado_value_release(v);
    CHECK(stat(c, CORTADO_STAT_LOAD_SUCCESSES) == 1);
    CHECK(stat(c, CORTADO_STAT_HITS) == 2);
    CHECK(stat(c, CORTADO_STAT_MISSES) == 1);

    /* A present key never runs the loader. */
    CHECK_OK(cortado_cache_insert(c, S("present"), S("p")));
    CHECK_OK(cortado_cache_get_with(c, S("present"), load, &st, &v, NULL));
    CHECK_VALUE(v, "p");
    cortado_value_release(v);
    CHECK(atomic_load(&st.calls) == 1);
    cortado_cache_free(c);
}

static void test_loader_hands_over_its_own_handle(void) {
    cortado_cache *c = new_cache();
    struct loader_state st = {.value = "mine"};
    const cortado_value *v = NULL;
    CHECK_OK(cortado_cache_get_with(c, S("k"), load_handle, &st, &v, NULL));
    CHECK(v == st.made); /* no copy: the loader's handle is what gets cached and returned */
    CHECK_VALUE(v, "mine");
    cortado_value_release(v);
    cortado_value_release(st.made);
    cortado_cache_free(c);
}

static void test_errors_are_returned_and_not_cached(void) {
    cortado_cache *c = new_cache();
    struct loader_state bad = {.error = -42, .value = "unused"};
    const cortado_value *v = (const cortado_value *)(uintptr_t)0x1;
    int32_t code = 0;
    CHECK_STATUS(cortado_cache_get_with(c, S("k"), load, &bad, &v, &code),
                 CORTADO_STATUS_LOADER_FAILED);
    CHECK(code == -42);
    CHECK(v == NULL);
    bool present = true;
    CHECK_OK(cortado_cache_contains(c, S("k"), &present));
    CHECK(!present);
    /* The error code out-parameter is optional. */
    CHECK_STATUS(cortado_cache_get_with(c, S("k"), load, &bad, &v, NULL),
                 CORTADO_STATUS_LOADER_FAILED);
    CHECK(atomic_load(&bad.calls) == 2); /* retried: nothing was cached */
    struct loader_state good = {.value = "ok"};
    CHECK_OK(cortado_cache_get_with(c, S("k"), load, &good, &v, &code));
    CHECK_VALUE(v, "ok");
    cortado_value_release(v);
    CHECK(stat(c, CORTADO_STAT_LOAD_FAILURES) == 2);
    CHECK(stat(c, CORTADO_STAT_LOAD_SUCCESSES) == 1);
    cortado_cache_free(c);
}

static void test_loader_without_a_value(void) {
    cortado_cache *c = new_cache();
    struct loader_state none = {.value = NULL};
    const cortado_value *v = NULL;
    int32_t code = 99;
    CHECK_STATUS(cortado_cache_get_with(c, S("k"), load, &none, &v, &code),
                 CORTADO_STATUS_LOADER_NO_VALUE);
    CHECK(v == NULL && code == 99);
    CHECK_STATUS(cortado_cache_get_with(c, S("k"), load, &none, &v, &code),
                 CORTADO_STATUS_LOADER_NO_VALUE);
    CHECK(atomic_load(&none.calls) == 2);
    cortado_cache_free(c);
}

static void test_recursive_load_is_refused(void) {
    cortado_cache *c = new_cache();
    struct loader_state st = {.cache = c, .inner = CORTADO_STATUS_OK};
    const cortado_value *v = NULL;
    CHECK_OK(cortado_cache_get_with(c, S("k"), load_recursive, &st, &v, NULL));
    CHECK_VALUE(v, "outer");
    cortado_value_release(v);
    CHECK_STATUS(st.inner, CORTADO_STATUS_RECURSIVE_LOAD);
    CHECK(atomic_load(&st.calls) == 1);
    CHECK_OK(cortado_cache_get(c, S("side"), &v));
    CHECK_VALUE(v, "effect");
    cortado_value_release(v);
    cortado_cache_free(c);
}

/* ---- coalescing across threads -------------------------------------------------------- */

struct worker {
    pthread_t thread;
    pthread_barrier_t *start;
    cortado_cache *cache;
    struct loader_state *loader;
    cortado_status status;
    int32_t code;
    const cortado_value *value;
};

static void *worker_main(void *arg) {
    struct worker *w = arg;
    pthread_barrier_wait(w->start);
    w->status = cortado_cache_get_with(w->cache, S("hot"), load, w->loader, &w->value, &w->code);
    return NULL;
}

/* Starts n threads on one missing key at once and waits for them all. */
static struct worker *run_workers(cortado_cache *c, struct loader_state *st, int n) {
    struct worker *ws = calloc((size_t)n, sizeof *ws);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
        ws[i].start = &start;
        ws[i].cache = c;
        ws[i].loader = st;
        CHECK(pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) == 0);
    }
    for (int i = 0; i < n; i++) {
        pthread_join(ws[i].thread, NULL);
    }
    pthread_barrier_destroy(&start);
    return ws;
}

static void test_concurrent_callers_share_one_load(void) {
    int n = thread_count();
    cortado_cache *c = new_cache();
    struct loader_state st = {.value = "coalesced", .delay_ms = 200};
    struct worker *ws = run_workers(c, &st, n);
    CHECK(atomic_load(&st.calls) == 1);
    for (int i = 0; i < n; i++) {
        CHECK_OK(ws[i].status);
        CHECK(ws[i].value == ws[0].value); /* the very same handle */
    }
    CHECK_VALUE(ws[0].value, "coalesced");
    for (int i = 0; i < n; i++) {
        cortado_value_release(ws[i].value);
    }
    free(ws);
    cortado_cache_free(c);
}

static void test_concurrent_callers_share_one_error(void) {
    int n = thread_count();
    cortado_cache *c = new_cache();
    struct loader_state st = {.error = 503, .delay_ms = 200};
    struct worker *ws = run_workers(c, &st, n);
    /* Callers that arrived during the load waited for it; one arriving after it failed
     * would load again (errors are not cached), so only an upper bound is certain. */
    int calls = atomic_load(&st.calls);
    CHECK(calls >= 1 && calls <= n);
    for (int i = 0; i < n; i++) {
        CHECK_STATUS(ws[i].status, CORTADO_STATUS_LOADER_FAILED);
        CHECK(ws[i].code == 503);
        CHECK(ws[i].value == NULL);
    }
    free(ws);
    /* Not cached: a later call loads. */
    struct loader_state good = {.value = "fine"};
    const cortado_value *v = NULL;
    CHECK_OK(cortado_cache_get_with(c, S("hot"), load, &good, &v, NULL));
    CHECK_VALUE(v, "fine");
    cortado_value_release(v);
    cortado_cache_free(c);
}

int main(void) {
    RUN(test_loads_on_miss_then_hits);
    RUN(test_loader_hands_over_its_own_handle);
    RUN(test_errors_are_returned_and_not_cached);
    RUN(test_loader_without_a_value);
    RUN(test_recursive_load_is_refused);
    RUN(test_a_load_overtaken_by_a_write_is_not_stored);
    RUN(test_concurrent_callers_share_one_load);
    RUN(test_concurrent_callers_share_one_error);
    HARNESS_END();
}
