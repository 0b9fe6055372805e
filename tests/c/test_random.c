/*
 * Random operation sequences through the C API on a manual clock, checked against what must
 * hold whatever the policy evicts (the invariants of core/tests/model.rs and of the bindings'
 * random tests): a value read is its key's latest and not expired, a value just written is
 * there, the bound holds, and every value ever written is still cached or was reported to the
 * listener exactly once, with a cause its history allows; and a get_with whose loader writes or
 * removes its own key meanwhile returns what it loaded but leaves that write (or removal) in
 * place. Values are 8-byte ids, so each names one write; byte keys, weights from the default
 * weigher (key + value length).
 */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"

#define STEPS 3000
#define KEYS 40
#define NEVER UINT64_MAX

static const uint64_t MS = 1000000;

struct model {
    uint64_t now_ms;
    uint64_t latest[KEYS];     /* id + 1 of each key's latest value (0: never written) */
    uint64_t deadline[STEPS];  /* per id, ms (NEVER if none) */
    int key_of[STEPS];
    uint32_t cause[STEPS];     /* reported cause + 1 (0: not reported) */
    uint64_t replaced_by[STEPS]; /* id + 1 of the value written over it (0: none yet) */
};

static uint64_t next_random(uint64_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void key_bytes(int k, uint8_t out[3]) {
    out[0] = 'k';
    out[1] = (uint8_t)('0' + k / 10);
    out[2] = (uint8_t)('0' + k % 10);
}

static uint64_t id_of(const cortado_value *v) {
    CHECK(cortado_value_len(v) == 8);
    uint64_t id = 0;
    memcpy(&id, cortado_value_data(v), 8);
    return id;
}

static void listener(void *userdata, const uint8_t *key, size_t key_len, const cortado_value *value,
                     uint32_t cause) {
    struct model *m = userdata;
    uint64_t id = id_of(value);
    CHECK(id < STEPS);
    CHECK(key_len == 3 && key[0] == 'k' && (key[1] - '0') * 10 + (key[2] - '0') == m->key_of[id]);
    CHECK(m->cause[id] == 0); /* reported once */
    m->cause[id] = cause + 1;
    if (cause == CORTADO_REMOVAL_CAUSE_EXPIRED) {
        CHECK(m->deadline[id] <= m->now_ms);
    }
    if (cause == CORTADO_REMOVAL_CAUSE_REPLACED) {
        CHECK(m->replaced_by[id] != 0);
    }
}

/* Registers write `id` of key k, alive for ttl_ms. */
static void wrote(struct model *m, uint64_t id, int k, uint64_t ttl_ms) {
    m->deadline[id] = m->now_ms + ttl_ms;
    m->key_of[id] = k;
    if (m->latest[k] != 0) {
        m->replaced_by[m->latest[k] - 1] = id + 1;
    }
    m->latest[k] = id + 1;
}

/* A get_with load of step `id`: undisturbed it loads value `id`; or it first writes `id` to its
 * own key, or removes that key, as another thread could meanwhile, and loads a value no write
 * ever registers (STEPS + id), which must then never be stored. */
struct random_load {
    struct model *m;
    cortado_cache *c;
    uint64_t id;
    int k;
    int meddle; /* 0: none, 1: write, 2: remove */
    int called;
    uint64_t loaded;
};

static int32_t random_loader(void *userdata, const uint8_t *key, size_t key_len,
                             cortado_load_ctx *ctx) {
    struct random_load *l = userdata;
    l->called = 1;
    l->loaded = l->meddle == 0 ? l->id : STEPS + l->id;
    if (l->meddle == 1) {
        wrote(l->m, l->id, l->k, 1000);
        CHECK_OK(cortado_cache_insert(l->c, key, key_len, (const uint8_t *)&l->id, 8));
    } else if (l->meddle == 2) {
        (void)cortado_cache_remove(l->c, key, key_len, NULL); /* absent, or present but expired */
    } else {
        wrote(l->m, l->id, l->k, 1000);
    }
    CHECK_OK(cortado_load_ctx_set_bytes(ctx, (const uint8_t *)&l->loaded, 8));
    return 0;
}

/* A value the cache returned for key k: the latest written, not reported, not expired. */
static void check_read(struct model *m, int k, const cortado_value *v) {
    uint64_t id = id_of(v);
    CHECK(id < STEPS); /* never a load that a write overtook */
    CHECK(m->latest[k] == id + 1);
    CHECK(m->cause[id] == 0);
    CHECK(m->now_ms < m->deadline[id]);
}

static void run(uint64_t seed, int weighted) {
    struct model *m = calloc(1, sizeof *m);
    CHECK(m != NULL);
    cortado_clock *clock = cortado_clock_new_manual();
    cortado_builder *b = cortado_builder_new();
    CHECK_OK(cortado_builder_clock(b, clock));
    if (weighted) {
        CHECK_OK(cortado_builder_max_weight(b, 100, NULL, NULL, NULL)); /* 11 per entry */
    } else {
        CHECK_OK(cortado_builder_max_capacity(b, 8));
    }
    CHECK_OK(cortado_builder_time_to_live_ns(b, 1000 * MS));
    CHECK_OK(cortado_builder_eviction_listener(b, listener, m, NULL));
    cortado_cache *c = NULL;
    CHECK_OK(cortado_builder_build(b, &c));
    cortado_builder_free(b);
    uint64_t x = seed;
    for (uint64_t id = 0; id < STEPS; id++) {
        uint64_t r = next_random(&x);
        int k = (int)(next_random(&x) % KEYS);
        uint8_t key[3];
        key_bytes(k, key);
        const cortado_value *v = NULL;
        switch (r % 17) {
        case 0: case 1: case 2: case 3: case 4: { /* insert, one in five with a TTL of its own */
            uint64_t ttl_ms = r % 5 == 0 ? 1 + (r >> 8) % 1500 : 1000;
            wrote(m, id, k, ttl_ms);
            if (r % 5 == 0) {
                CHECK_OK(cortado_cache_insert_with_ttl_ns(c, key, 3, (const uint8_t *)&id, 8, ttl_ms * MS));
            } else {
                CHECK_OK(cortado_cache_insert(c, key, 3, (const uint8_t *)&id, 8));
            }
            CHECK_OK(cortado_cache_peek(c, key, 3, &v)); /* a value just written is there */
            CHECK(id_of(v) == id);
            cortado_value_release(v);
            break;
        }
        case 5: case 6: case 7: case 8:
            if (cortado_cache_get(c, key, 3, &v) == CORTADO_STATUS_OK) {
                check_read(m, k, v);
                cortado_value_release(v);
            }
            break;
        case 9:
            if (cortado_cache_remove(c, key, 3, &v) == CORTADO_STATUS_OK && v != NULL) {
                uint64_t old = id_of(v);
                CHECK(m->latest[k] == old + 1 && m->cause[old] == CORTADO_REMOVAL_CAUSE_EXPLICIT + 1);
                cortado_value_release(v);
            }
            break;
        case 10: case 11: case 12: {
            uint64_t ms = 1 + (r >> 8) % 400;
            m->now_ms += ms;
            CHECK_OK(cortado_clock_advance_ns(clock, ms * MS));
            break;
        }
        case 13: case 14:
            CHECK_OK(cortado_cache_run_pending_tasks(c));
            break;
        case 16: {
            struct random_load l = {.m = m, .c = c, .id = id, .k = k, .meddle = (int)((r >> 8) % 4)};
            if (l.meddle == 3) {
                l.meddle = 0;
            }
            CHECK_OK(cortado_cache_get_with(c, key, 3, random_loader, &l, &v, NULL));
            if (!l.called) {
                check_read(m, k, v); /* a hit */
                cortado_value_release(v);
                break;
            }
            CHECK(id_of(v) == l.loaded); /* the caller gets what it loaded */
            cortado_value_release(v);
            cortado_status st = cortado_cache_peek(c, key, 3, &v);
            if (l.meddle == 2) {
                CHECK_STATUS(st, CORTADO_STATUS_NOT_FOUND); /* the removal outlived the load */
            } else {
                CHECK_OK(st); /* the load, or the write made while it ran */
                CHECK(id_of(v) == id);
                cortado_value_release(v);
            }
            break;
        }
        default:
            if ((r >> 8) % 8 == 0) {
                CHECK_OK(cortado_cache_invalidate_all(c));
            }
        }
        uint64_t size = 0;
        CHECK_OK(weighted ? cortado_cache_weighted_size(c, &size) : cortado_cache_entry_count(c, &size));
        CHECK(size <= (weighted ? 100u : 8u));
    }
    /* Whatever is left is live and the latest of its key; everything else was reported. */
    CHECK_OK(cortado_cache_run_pending_tasks(c));
    uint8_t *present = calloc(STEPS, 1);
    CHECK(present != NULL);
    cortado_iter *it = NULL;
    CHECK_OK(cortado_cache_iter(c, &it));
    const uint8_t *key = NULL;
    size_t key_len = 0;
    const cortado_value *v = NULL;
    uint64_t count = 0;
    while (cortado_iter_next(it, &key, &key_len, &v) == CORTADO_STATUS_OK) {
        uint64_t id = id_of(v);
        CHECK(id < STEPS);
        check_read(m, m->key_of[id], v);
        present[id] = 1;
        count++;
        cortado_value_release(v);
    }
    cortado_iter_free(it);
    uint64_t entries = 0;
    CHECK_OK(cortado_cache_entry_count(c, &entries));
    CHECK(count == entries);
    for (uint64_t id = 0; id < STEPS; id++) {
        if (m->deadline[id] == 0) {
            continue; /* no write at this step */
        }
        CHECK(present[id] || m->cause[id] != 0);
    }
    free(present);
    cortado_cache_free(c);
    cortado_clock_free(clock);
    free(m);
}

static void test_random_operations_by_count(void) {
    for (uint64_t seed = 1; seed <= 10; seed++) {
        run(0x9E3779B97F4A7C15ull * seed, 0);
    }
}

static void test_random_operations_by_weight(void) {
    for (uint64_t seed = 1; seed <= 10; seed++) {
        run(0xD1B54A32D192ED03ull * seed, 1);
    }
}

int main(void) {
    RUN(test_random_operations_by_count);
    RUN(test_random_operations_by_weight);
    HARNESS_END();
}
