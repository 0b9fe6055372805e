/*
 * Replays the shared conformance vectors (every .txt in tests/conformance/vectors; the format is in
 * tests/conformance/README.md) through the C API, so the C library pins the same behaviour as
 * the Rust, Python and Node suites. Each vector file is one test case.
 *
 * Usage: test_conformance VECTORS_DIR
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"

#define MAX_WORDS 64

/* ---- listener events ------------------------------------------------------------------ */

struct event {
    char *key;
    char *value;
    uint32_t cause;
    bool checked;
};

struct events {
    struct event *list;
    size_t len, cap;
};

static char *dup_bytes(const uint8_t *data, size_t len) {
    char *s = malloc(len + 1);
    memcpy(s, data, len);
    s[len] = '\0';
    return s;
}

static void on_removal(void *userdata, const uint8_t *key, size_t key_len,
                       const cortado_value *value, uint32_t cause) {
    struct events *ev = userdata;
    if (ev->len == ev->cap) {
        ev->cap = ev->cap ? ev->cap * 2 : 16;
        ev->list = realloc(ev->list, ev->cap * sizeof *ev->list);
    }
    ev->list[ev->len++] = (struct event){
        .key = dup_bytes(key, key_len),
        .value = dup_bytes(cortado_value_data(value), cortado_value_len(value)),
        .cause = cause,
        .checked = false,
    };
}

static void free_events(struct events *ev) {
    for (size_t i = 0; i < ev->len; i++) {
        free(ev->list[i].key);
        free(ev->list[i].value);
    }
    free(ev->list);
    *ev = (struct events){0};
}

/* ---- callbacks for the configuration and get_with ------------------------------------ */

static uint32_t weigh_value_len(void *userdata, const uint8_t *key, size_t key_len,
                                const uint8_t *value, size_t value_len) {
    (void)userdata;
    (void)key;
    (void)key_len;
    (void)value;
    return (uint32_t)value_len;
}

static int32_t load_token(void *userdata, const uint8_t *key, size_t key_len,
                          cortado_load_ctx *ctx) {
    (void)key;
    (void)key_len;
    return cortado_load_ctx_set_bytes(ctx, S((const char *)userdata)) == CORTADO_STATUS_OK ? 0 : 1;
}

/* ---- the runner ----------------------------------------------------------------------- */

struct runner {
    cortado_cache *cache;
    cortado_clock *clock;
    struct events events;
    char err[512];
};

static bool fail(struct runner *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    return false;
}

/* "500ms" -> nanoseconds; false on a malformed duration. */
static bool parse_duration(const char *s, uint64_t *out) {
    char *end = NULL;
    unsigned long long n = strtoull(s, &end, 10);
    if (end == s) {
        return false;
    }
    uint64_t unit = strcmp(end, "ns") == 0   ? 1
                    : strcmp(end, "us") == 0 ? 1000
                    : strcmp(end, "ms") == 0 ? 1000000
                    : strcmp(end, "s") == 0  ? 1000000000
                                             : 0;
    *out = (uint64_t)n * unit;
    return unit != 0;
}

static bool configure(struct runner *r, char **w, int n) {
    if (n < 1 || strcmp(w[0], "cache") != 0) {
        return fail(r, "the first line must configure the cache");
    }
    cortado_builder *b = cortado_builder_new();
    r->clock = cortado_clock_new_manual();
    bool ok = cortado_builder_clock(b, r->clock) == CORTADO_STATUS_OK &&
              cortado_builder_eviction_listener(b, on_removal, &r->events, NULL) ==
                  CORTADO_STATUS_OK;
    uint64_t max = UINT64_MAX;
    bool weighted = false;
    for (int i = 1; ok && i < n; i++) {
        char *eq = strchr(w[i], '=');
        if (eq == NULL) {
            ok = fail(r, "option %s is not name=value", w[i]);
            break;
        }
        *eq = '\0';
        const char *name = w[i], *value = eq + 1;
        uint64_t d = 0;
        if (strcmp(name, "max") == 0) {
            max = strtoull(value, NULL, 10);
        } else if (strcmp(name, "policy") == 0) {
            uint32_t p = strcmp(value, "lru") == 0       ? CORTADO_EVICTION_POLICY_LRU
                         : strcmp(value, "tinylfu") == 0 ? CORTADO_EVICTION_POLICY_TINY_LFU
                                                         : UINT32_MAX;
            ok = cortado_builder_eviction_policy(b, p) == CORTADO_STATUS_OK ||
                 fail(r, "unknown policy %s", value);
        } else if (strcmp(name, "weigher") == 0) {
            weighted = strcmp(value, "value_len") == 0 || fail(r, "unknown weigher %s", value);
            ok = weighted;
        } else if (strcmp(name, "ttl") == 0 && parse_duration(value, &d)) {
            ok = cortado_builder_time_to_live_ns(b, d) == CORTADO_STATUS_OK;
        } else if (strcmp(name, "tti") == 0 && parse_duration(value, &d)) {
            ok = cortado_builder_time_to_idle_ns(b, d) == CORTADO_STATUS_OK;
        } else {
            ok = fail(r, "unknown option %s=%s", name, value);
        }
    }
    if (ok) {
        ok = (weighted ? cortado_builder_max_weight(b, max, weigh_value_len, NULL, NULL)
                       : cortado_builder_max_capacity(b, max)) == CORTADO_STATUS_OK;
    }
    if (ok) {
        ok = cortado_builder_build(b, &r->cache) == CORTADO_STATUS_OK || fail(r, "build failed");
    }
    cortado_builder_free(b);
    return ok;
}

/* Writes a value (or "miss") into out, consuming the reference. */
static void show(const cortado_value *v, cortado_status s, char *out, size_t cap) {
    if (s == CORTADO_STATUS_OK) {
        size_t n = cortado_value_len(v) < cap - 1 ? cortado_value_len(v) : cap - 1;
        memcpy(out, cortado_value_data(v), n);
        out[n] = '\0';
        cortado_value_release(v);
    } else if (s == CORTADO_STATUS_NOT_FOUND) {
        snprintf(out, cap, "miss");
    } else {
        snprintf(out, cap, "status %u (%s)", (unsigned)s, cortado_status_str(s));
    }
}

/* Runs one operation; `got` receives its result when it has one. */
static bool step(struct runner *r, char **op, int n, char *got, size_t cap, bool *has_result) {
    cortado_cache *c = r->cache;
    const cortado_value *v = NULL;
    uint64_t d = 0, count = 0;
    *has_result = true;
#define IS(name, args) (strcmp(op[0], name) == 0 && n == (args) + 1)
    if (IS("insert", 2)) {
        *has_result = false;
        return cortado_cache_insert(c, S(op[1]), S(op[2])) == CORTADO_STATUS_OK ||
               fail(r, "insert failed");
    }
    if (IS("insert", 3) && strncmp(op[3], "ttl=", 4) == 0 && parse_duration(op[3] + 4, &d)) {
        *has_result = false;
        return cortado_cache_insert_with_ttl_ns(c, S(op[1]), S(op[2]), d) == CORTADO_STATUS_OK ||
               fail(r, "insert with ttl failed");
    }
    if (IS("get", 1)) {
        show(v, cortado_cache_get(c, S(op[1]), &v), got, cap);
    } else if (IS("peek", 1)) {
        show(v, cortado_cache_peek(c, S(op[1]), &v), got, cap);
    } else if (IS("contains", 1)) {
        bool present = false;
        if (cortado_cache_contains(c, S(op[1]), &present) != CORTADO_STATUS_OK) {
            return fail(r, "contains failed");
        }
        snprintf(got, cap, "%s", present ? "true" : "false");
    } else if (IS("remove", 1)) {
        show(v, cortado_cache_remove(c, S(op[1]), &v), got, cap);
    } else if (IS("invalidate", 1)) {
        *has_result = false;
        cortado_status s = cortado_cache_remove(c, S(op[1]), NULL);
        return s == CORTADO_STATUS_OK || s == CORTADO_STATUS_NOT_FOUND || fail(r, "remove failed");
    } else if (IS("invalidate_all", 0)) {
        *has_result = false;
        return cortado_cache_invalidate_all(c) == CORTADO_STATUS_OK || fail(r, "failed");
    } else if (IS("get_with", 2)) {
        show(v, cortado_cache_get_with(c, S(op[1]), load_token, op[2], &v, NULL), got, cap);
    } else if (IS("advance", 1)) {
        *has_result = false;
        return (parse_duration(op[1], &d) &&
                cortado_clock_advance_ns(r->clock, d) == CORTADO_STATUS_OK) ||
               fail(r, "bad advance");
    } else if (IS("run_pending_tasks", 0)) {
        *has_result = false;
        return cortado_cache_run_pending_tasks(c) == CORTADO_STATUS_OK || fail(r, "failed");
    } else if (IS("len", 0)) {
        if (cortado_cache_entry_count(c, &count) != CORTADO_STATUS_OK) {
            return fail(r, "entry_count failed");
        }
        snprintf(got, cap, "%" PRIu64, count);
    } else if (IS("weighted_size", 0)) {
        if (cortado_cache_weighted_size(c, &count) != CORTADO_STATUS_OK) {
            return fail(r, "weighted_size failed");
        }
        snprintf(got, cap, "%" PRIu64, count);
    } else if (IS("order", 0)) {
        cortado_keys *keys = NULL;
        if (cortado_cache_keys_coldest_first(c, &keys) != CORTADO_STATUS_OK) {
            return fail(r, "keys_coldest_first failed");
        }
        got[0] = '\0';
        size_t used = 0;
        for (size_t i = 0; i < cortado_keys_len(keys); i++) {
            const uint8_t *k = NULL;
            size_t len = 0;
            cortado_keys_get(keys, i, &k, &len);
            used += (size_t)snprintf(got + used, cap - used, "%s%.*s", i ? " " : "", (int)len,
                                     (const char *)k);
            if (used >= cap) {
                break;
            }
        }
        cortado_keys_free(keys);
    } else if (IS("stats", 2)) {
        uint64_t hits = 0, misses = 0;
        cortado_cache_stat(c, CORTADO_STAT_HITS, &hits);
        cortado_cache_stat(c, CORTADO_STAT_MISSES, &misses);
        char want[128];
        snprintf(want, sizeof want, "%s %s", op[1], op[2]);
        snprintf(got, cap, "hits=%" PRIu64 " misses=%" PRIu64, hits, misses);
        *has_result = false;
        return strcmp(got, want) == 0 || fail(r, "expected %s, got %s", want, got);
    } else if (IS("event", 3)) {
        *has_result = false;
        for (size_t i = 0; i < r->events.len; i++) {
            struct event *e = &r->events.list[i];
            if (!e->checked && strcmp(e->key, op[1]) == 0 && strcmp(e->value, op[2]) == 0 &&
                strcmp(cortado_removal_cause_str(e->cause), op[3]) == 0) {
                e->checked = true;
                return true;
            }
        }
        return fail(r, "no unchecked event %s %s %s", op[1], op[2], op[3]);
    } else if (IS("no_events", 0)) {
        *has_result = false;
        for (size_t i = 0; i < r->events.len; i++) {
            struct event *e = &r->events.list[i];
            if (!e->checked) {
                return fail(r, "unchecked event %s %s %s", e->key, e->value,
                            cortado_removal_cause_str(e->cause));
            }
        }
    } else {
        return fail(r, "unknown operation %s with %d words", op[0], n);
    }
#undef IS
    return true;
}

/* Replays one vector held in `text` (modified in place). Returns true when it passes;
 * otherwise `where` holds "NAME:LINE: message". */
static bool replay(const char *name, char *text, char *where, size_t cap) {
    struct runner r = {0};
    bool configured = false, ok = true;
    int line_no = 0;
    char *line = text;
    while (ok && line != NULL && *line != '\0') {
        char *next = strchr(line, '\n');
        if (next != NULL) {
            *next++ = '\0';
        }
        line_no++;
        char *w[MAX_WORDS];
        int n = 0;
        for (char *tok = strtok(line, " \t\r"); tok != NULL && n < MAX_WORDS;
             tok = strtok(NULL, " \t\r")) {
            w[n++] = tok;
        }
        line = next;
        if (n == 0 || w[0][0] == '#') {
            continue;
        }
        if (!configured) {
            ok = configure(&r, w, n);
            configured = true;
            continue;
        }
        int op_words = n;
        for (int i = 0; i < n; i++) {
            if (strcmp(w[i], "->") == 0) {
                op_words = i;
                break;
            }
        }
        char got[1024] = "", want[1024] = "";
        size_t used = 0;
        for (int i = op_words + 1; i < n && used < sizeof want; i++) {
            used += (size_t)snprintf(want + used, sizeof want - used, "%s%s",
                                     i > op_words + 1 ? " " : "", w[i]);
        }
        bool has_result = false;
        ok = step(&r, w, op_words, got, sizeof got, &has_result);
        if (ok && op_words < n) {
            if (!has_result) {
                ok = fail(&r, "this operation has no result to check");
            } else if (strcmp(got, want) != 0) {
                ok = fail(&r, "expected \"%s\", got \"%s\"", want, got);
            }
        }
    }
    if (!ok) {
        snprintf(where, cap, "%s:%d: %s", name, line_no, r.err);
    }
    cortado_cache_free(r.cache);
    cortado_clock_free(r.clock);
    free_events(&r.events);
    return ok;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len - 1 == 0) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    buf[len] = '\0';
    fclose(f);
    return buf;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The runner itself must catch a wrong expectation, at the right line. */
static void test_a_wrong_expectation_is_caught(void) {
    char text[] = "# comment\ncache max=2\ninsert a 1\nget a -> 2\n";
    char where[600] = "";
    CHECK(!replay("wrong.txt", text, where, sizeof where));
    CHECK(strncmp(where, "wrong.txt:4:", 12) == 0);
    char good[] = "cache max=2 policy=lru\ninsert a 1\nget a -> 1\nstats hits=1 misses=0\n";
    CHECK(replay("good.txt", good, where, sizeof where));
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s VECTORS_DIR\n", argv[0]);
        return 2;
    }
    RUN(test_a_wrong_expectation_is_caught);
    DIR *dir = opendir(argv[1]);
    if (dir == NULL) {
        fprintf(stderr, "cannot open %s\n", argv[1]);
        return 2;
    }
    char *names[256];
    size_t count = 0;
    struct dirent *ent;
    while ((ent = readdir(dir)) != NULL && count < 256) {
        size_t len = strlen(ent->d_name);
        if (len > 4 && strcmp(ent->d_name + len - 4, ".txt") == 0) {
            names[count++] = strdup(ent->d_name);
        }
    }
    closedir(dir);
    qsort(names, count, sizeof names[0], by_name);
    if (count < 5) {
        fprintf(stderr, "expected the shared vectors in %s, found %zu\n", argv[1], count);
        harness_failed++;
    }
    for (size_t i = 0; i < count; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", argv[1], names[i]);
        char *text = read_file(path);
        char where[600] = "";
        if (text != NULL && replay(names[i], text, where, sizeof where)) {
            harness_passed++;
            printf("ok   conformance %s\n", names[i]);
        } else {
            harness_failed++;
            printf("FAIL conformance %s: %s\n", names[i], text ? where : "unreadable");
        }
        free(text);
        free(names[i]);
    }
    HARNESS_END();
}
