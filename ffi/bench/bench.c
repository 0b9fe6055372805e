/*
 * ns/op of a get hit and an insert through the C API, to compare with the same loops in
 * Rust (rust_baseline.rs). Not a test: run it with ffi/bench/run.sh.
 *
 * One thread; `keys` keys (argv[1], default 1000) of 16 bytes with 64-byte values in an
 * unbounded cache, so every get is a hit and every insert replaces an entry (no eviction in
 * the measurement). A round makes `passes` passes over all keys (argv[2], default 100); each
 * figure is the best of ROUNDS rounds, in ns per operation.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cortado.h"

#define MAX_KEYS 1000000
#define KEY_LEN 16
#define VALUE_LEN 64
#define ROUNDS 7

static uint8_t keys[MAX_KEYS][KEY_LEN];
static size_t nkeys = 1000, passes = 100;
static uint8_t value[VALUE_LEN];

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void must(cortado_status s, const char *what) {
    if (s != CORTADO_STATUS_OK) {
        fprintf(stderr, "%s: %s\n", what, cortado_status_str(s));
        exit(1);
    }
}

static volatile size_t sink;

static int32_t loader(void *userdata, const uint8_t *key, size_t key_len, cortado_load_ctx *ctx) {
    (void)userdata;
    (void)key;
    (void)key_len;
    return cortado_load_ctx_set_bytes(ctx, value, VALUE_LEN) == CORTADO_STATUS_OK ? 0 : 1;
}

enum op { GET, GET_COPY, GET_WITH_HIT, CONTAINS, INSERT, INSERT_VALUE };

static double round_ns(cortado_cache *c, enum op op, const cortado_value *shared) {
    uint8_t buf[VALUE_LEN];
    double start = now_ns();
    for (size_t n = 0; n < nkeys * passes; n++) {
        size_t i = n % nkeys;
        const cortado_value *v = NULL;
        size_t len = 0;
        bool present = false;
        switch (op) {
            case GET:
                must(cortado_cache_get(c, keys[i], KEY_LEN, &v), "get");
                sink += cortado_value_len(v);
                cortado_value_release(v);
                break;
            case GET_COPY:
                must(cortado_cache_get_copy(c, keys[i], KEY_LEN, buf, sizeof buf, &len), "get_copy");
                sink += len;
                break;
            case GET_WITH_HIT:
                must(cortado_cache_get_with(c, keys[i], KEY_LEN, loader, NULL, &v, NULL), "get_with");
                sink += cortado_value_len(v);
                cortado_value_release(v);
                break;
            case CONTAINS:
                must(cortado_cache_contains(c, keys[i], KEY_LEN, &present), "contains");
                sink += present;
                break;
            case INSERT:
                must(cortado_cache_insert(c, keys[i], KEY_LEN, value, VALUE_LEN), "insert");
                break;
            case INSERT_VALUE:
                must(cortado_cache_insert_value(c, keys[i], KEY_LEN, shared), "insert_value");
                break;
        }
    }
    return (now_ns() - start) / (double)(nkeys * passes);
}

static double best(cortado_cache *c, enum op op, const cortado_value *shared) {
    double b = 1e18;
    for (int r = 0; r < ROUNDS; r++) {
        double ns = round_ns(c, op, shared);
        if (ns < b) {
            b = ns;
        }
    }
    return b;
}

int main(int argc, char **argv) {
    if (argc > 1) {
        nkeys = strtoul(argv[1], NULL, 10);
    }
    if (argc > 2) {
        passes = strtoul(argv[2], NULL, 10);
    }
    if (nkeys == 0 || nkeys > MAX_KEYS || passes == 0) {
        fprintf(stderr, "usage: %s [KEYS (1..%d)] [PASSES]\n", argv[0], MAX_KEYS);
        return 2;
    }
    for (size_t i = 0; i < nkeys; i++) {
        char k[32]; /* "key-" and 11 digits, then NUL: 16 bytes, as in rust_baseline.rs */
        snprintf(k, sizeof k, "key-%011u", (unsigned)i);
        memcpy(keys[i], k, KEY_LEN);
    }
    memset(value, 'v', sizeof value);
    cortado_builder *b = cortado_builder_new();
    cortado_cache *c = NULL;
    must(cortado_builder_build(b, &c), "build");
    cortado_builder_free(b);
    const cortado_value *shared = NULL;
    must(cortado_value_new(value, VALUE_LEN, &shared), "value");
    for (size_t i = 0; i < nkeys; i++) {
        must(cortado_cache_insert(c, keys[i], KEY_LEN, value, VALUE_LEN), "fill");
    }
    must(cortado_cache_run_pending_tasks(c), "run_pending_tasks");

    printf("C API (libcortado.a), %zu keys x %zu passes, best of %d rounds\n", nkeys, passes, ROUNDS);
    printf("%-34s %6.1f ns/op\n", "get hit (value handle)", best(c, GET, NULL));
    printf("%-34s %6.1f ns/op\n", "get_copy hit (64-byte memcpy)", best(c, GET_COPY, NULL));
    printf("%-34s %6.1f ns/op\n", "get_with hit", best(c, GET_WITH_HIT, NULL));
    printf("%-34s %6.1f ns/op\n", "contains", best(c, CONTAINS, NULL));
    printf("%-34s %6.1f ns/op\n", "insert (copy, replaces)", best(c, INSERT, NULL));
    printf("%-34s %6.1f ns/op\n", "insert_value (shared, replaces)", best(c, INSERT_VALUE, shared));
    cortado_value_release(shared);
    cortado_cache_free(c);
    return sink == 0;
}
