/*
 * A small program using libcortado: a bounded cache with a time-to-live, an eviction
 * listener, zero-copy reads, and a read-through loader. See README.md beside this file for
 * how to build, link and run it.
 */
#include <stdio.h>
#include <string.h>

#include "cortado.h"

/* Every call returns a status; a real program would handle each one. */
#define TRY(call)                                                                    \
    do {                                                                             \
        cortado_status s_ = (call);                                                  \
        if (s_ != CORTADO_STATUS_OK) {                                               \
            fprintf(stderr, "%s failed: %s\n", #call, cortado_status_str(s_));       \
            return 1;                                                                \
        }                                                                            \
    } while (0)

static void on_removal(void *userdata, const uint8_t *key, size_t key_len,
                       const cortado_value *value, uint32_t cause) {
    (void)userdata;
    printf("removed %.*s = %.*s (%s)\n", (int)key_len, (const char *)key,
           (int)cortado_value_len(value), (const char *)cortado_value_data(value),
           cortado_removal_cause_str(cause));
}

/* Runs on a miss; concurrent callers for the same key share one run. */
static int32_t load_user(void *userdata, const uint8_t *key, size_t key_len,
                         cortado_load_ctx *ctx) {
    int *loads = userdata;
    char value[64];
    int n = snprintf(value, sizeof value, "profile of %.*s", (int)key_len, (const char *)key);
    (*loads)++;
    return cortado_load_ctx_set_bytes(ctx, (const uint8_t *)value, (size_t)n) == CORTADO_STATUS_OK ? 0 : 1;
}

int main(void) {
    printf("libcortado %s\n", cortado_version());

    cortado_builder *builder = cortado_builder_new();
    TRY(cortado_builder_max_capacity(builder, 2));
    TRY(cortado_builder_time_to_live_ns(builder, 60ull * 1000 * 1000 * 1000)); /* 1 minute */
    TRY(cortado_builder_eviction_listener(builder, on_removal, NULL, NULL));
    cortado_cache *cache = NULL;
    TRY(cortado_builder_build(builder, &cache));
    cortado_builder_free(builder);

    const char *key = "greeting", *text = "hello, world";
    TRY(cortado_cache_insert(cache, (const uint8_t *)key, strlen(key), (const uint8_t *)text,
                             strlen(text)));

    /* A hit hands out a reference to the cached bytes: no copy. Release it when done. */
    const cortado_value *value = NULL;
    if (cortado_cache_get(cache, (const uint8_t *)key, strlen(key), &value) == CORTADO_STATUS_OK) {
        printf("%s = %.*s\n", key, (int)cortado_value_len(value),
               (const char *)cortado_value_data(value));
        cortado_value_release(value);
    }

    /* Read-through: the loader runs once; the second call is a hit. */
    int loads = 0;
    for (int i = 0; i < 2; i++) {
        TRY(cortado_cache_get_with(cache, (const uint8_t *)"alice", 5, load_user, &loads, &value,
                                   NULL));
        printf("alice = %.*s\n", (int)cortado_value_len(value),
               (const char *)cortado_value_data(value));
        cortado_value_release(value);
    }
    printf("loader ran %d time(s)\n", loads);

    /* A third entry exceeds max_capacity = 2: one entry is evicted (the listener says so). */
    TRY(cortado_cache_insert(cache, (const uint8_t *)"bob", 3, (const uint8_t *)"builder", 7));
    TRY(cortado_cache_run_pending_tasks(cache));
    uint64_t entries = 0;
    TRY(cortado_cache_entry_count(cache, &entries));
    printf("%llu entries\n", (unsigned long long)entries);

    cortado_cache_free(cache);
    return 0;
}
