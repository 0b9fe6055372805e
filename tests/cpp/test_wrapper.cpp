// Tests of the header-only C++17 wrapper (include/cortado.hpp): RAII handles, byte views in,
// std::optional out, callables as callbacks, exceptions for statuses, and coalesced loads
// across std::threads. Prints `RESULT <passed> <failed>` for tests/c/run.sh.
//
// CORTADO_TEST_THREADS sets the thread count of the coalescing test (default 16).
#include "cortado.hpp"
#include "cortado.hpp"  // the wrapper can be included twice

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

std::atomic<bool> case_failed{false};
int passed = 0;
int failed = 0;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            case_failed = true;                                                       \
        }                                                                             \
    } while (0)

// Runs `expr` and checks that it throws cortado::Error with `want` as its status.
#define CHECK_THROWS_STATUS(expr, want)                                               \
    do {                                                                              \
        bool threw_ = false;                                                          \
        try {                                                                         \
            (void)(expr);                                                             \
        } catch (const cortado::Error &e) {                                           \
            threw_ = e.status() == (want);                                            \
        }                                                                             \
        if (!threw_) {                                                                \
            std::fprintf(stderr, "%s:%d: %s did not throw status %u\n", __FILE__,     \
                         __LINE__, #expr, unsigned(want));                            \
            case_failed = true;                                                       \
        }                                                                             \
    } while (0)

template <class F>
void run(const char *name, F test) {
    case_failed = false;
    try {
        test();
    } catch (const std::exception &e) {
        std::fprintf(stderr, "%s: unexpected exception: %s\n", name, e.what());
        case_failed = true;
    }
    if (case_failed) {
        failed++;
        std::printf("FAIL %s\n", name);
    } else {
        passed++;
        std::printf("ok   %s\n", name);
    }
    std::fflush(stdout);
}

int thread_count() {
    const char *s = std::getenv("CORTADO_TEST_THREADS");
    int n = s ? std::atoi(s) : 16;
    return n < 2 ? 2 : (n > 64 ? 64 : n);
}

using namespace std::chrono_literals;

void test_values() {
    cortado::Value v(std::string_view("hello"));
    CHECK(v == "hello");
    CHECK(v.size() == 5 && !v.empty());
    cortado::Value copy = v;  // retains
    CHECK(copy.handle() == v.handle());
    cortado::Value moved = std::move(copy);
    CHECK(moved.handle() == v.handle());
    CHECK(moved.str() == "hello");
    cortado::Value empty(cortado::Bytes{});
    CHECK(empty.empty() && empty.data() != nullptr);
}

void test_bytes_from_many_types() {
    auto cache = cortado::Builder().build();
    std::string key = "k1";
    std::vector<uint8_t> value{'v', '1'};
    cache.insert(key, value);
    cache.insert(std::string_view("k2"), "v2");
    std::array<char, 2> k3{'k', '3'};
    cache.insert(k3, cortado::Bytes("v3\0x", 4));  // embedded NUL kept
    CHECK(cache.get("k1").value() == "v1");
    CHECK(cache.get(std::string("k2")).value() == "v2");
    auto v3 = cache.get(k3);
    CHECK(v3 && v3->size() == 4 && v3->view() == std::string_view("v3\0x", 4));
}

void test_get_insert_remove() {
    auto cache = cortado::Builder().max_capacity(100).build();
    CHECK(!cache.get("a"));
    cache.insert("a", "1");
    CHECK(cache.contains("a"));
    CHECK(cache.peek("a").value() == "1");
    cortado::Value shared(std::string_view("shared"));
    cache.insert("b", shared);
    CHECK(cache.get("b")->handle() == shared.handle());
    auto old = cache.remove("a");
    CHECK(old && *old == "1");
    CHECK(!cache.remove("a"));
    CHECK(!cache.contains("a"));
    cache.run_pending_tasks();
    CHECK(cache.entry_count() == 1);
    CHECK(cache.weighted_size() == 1);
    CHECK(cache.max_capacity() == 100);
    CHECK(cache.stat(cortado::Stat::Hits) == 1);  // the get of "b"
    CHECK(cache.stat(cortado::Stat::Misses) == 1);
    cache.invalidate_all();
    CHECK(!cache.get("b"));

    auto quiet = cortado::Builder().max_capacity(100).record_stats(false).build();
    quiet.insert("a", "1");
    CHECK(quiet.get("a") && !quiet.get("z"));
    CHECK(quiet.stat(cortado::Stat::Hits) == 0);
    CHECK(quiet.stat(cortado::Stat::Misses) == 0);
}

void test_expiry_on_a_manual_clock() {
    cortado::ManualClock clock;
    auto cache = cortado::Builder().clock(clock).time_to_live(1s).build();
    cache.insert("a", "1");
    cache.insert("short", "s", 10ms);
    cache.insert("shared", cortado::Value(std::string_view("x")), 20ms);
    CHECK(cache.remaining_ttl("a") == std::chrono::nanoseconds(1s));
    CHECK(!cache.remaining_ttl("missing"));
    clock.advance(10ms);
    CHECK(!cache.get("short"));
    CHECK(cache.get("shared"));
    clock.advance(990ms);
    CHECK(!cache.get("a"));

    auto forever = cortado::Builder().build();
    forever.insert("k", "v");
    CHECK(forever.remaining_ttl("k") == std::chrono::nanoseconds::max());

    auto idle = cortado::Builder().clock(clock).time_to_idle(100ms).build();
    idle.insert("a", "1");
    clock.advance(90ms);
    CHECK(idle.get("a"));
    clock.advance(90ms);
    CHECK(idle.get("a"));
    clock.advance(100ms);
    CHECK(!idle.get("a"));
}

void test_errors_are_thrown() {
    CHECK_THROWS_STATUS(cortado::Builder().time_to_live(0s), CORTADO_STATUS_INVALID_ARGUMENT);
    CHECK_THROWS_STATUS(cortado::Builder().time_to_idle(-1s), CORTADO_STATUS_INVALID_ARGUMENT);
    CHECK_THROWS_STATUS(cortado::Builder().shards(0), CORTADO_STATUS_INVALID_ARGUMENT);
    CHECK_THROWS_STATUS(cortado::Builder().eviction_policy(static_cast<cortado::EvictionPolicy>(9)),
                        CORTADO_STATUS_INVALID_ARGUMENT);
    auto cache = cortado::Builder().build();
    CHECK_THROWS_STATUS(cache.insert("k", "v", 0ns), CORTADO_STATUS_INVALID_ARGUMENT);
    CHECK_THROWS_STATUS(cache.insert(cortado::Bytes(nullptr, 3), "v"), CORTADO_STATUS_NULL_ARGUMENT);
    CHECK_THROWS_STATUS(cache.stat(static_cast<cortado::Stat>(99)), CORTADO_STATUS_INVALID_ARGUMENT);
    cortado::ManualClock clock;
    clock.advance(std::chrono::nanoseconds(INT64_MAX));
    clock.advance(std::chrono::nanoseconds(INT64_MAX));
    CHECK_THROWS_STATUS(clock.advance(std::chrono::nanoseconds(2)), CORTADO_STATUS_INVALID_ARGUMENT);
    try {
        cortado::Builder().time_to_live(0s);
    } catch (const cortado::Error &e) {
        CHECK(std::string(e.what()) == "invalid argument");
    }
}

void test_listener_and_weigher() {
    std::vector<std::tuple<std::string, std::string, cortado::RemovalCause>> events;
    auto owned = std::make_shared<int>(0);  // released when the callbacks are
    std::weak_ptr<int> watch = owned;
    {
        auto cache = cortado::Builder()
                         .eviction_policy(cortado::EvictionPolicy::Lru)
                         .max_weight(10, [owned](std::string_view, std::string_view value) {
                             return static_cast<uint32_t>(value.size());
                         })
                         .eviction_listener([&events](std::string_view key, const cortado::Value &value,
                                                      cortado::RemovalCause cause) {
                             events.emplace_back(std::string(key), value.str(), cause);
                         })
                         .build();
        owned.reset();
        cache.insert("a", "aaaa");
        cache.insert("b", "bbbb");
        cache.insert("a", "AAAA");
        cache.insert("c", "cccc");
        cache.run_pending_tasks();
        cache.remove("c");
        CHECK(cache.weighted_size() == 4);
        CHECK(!watch.expired());
    }
    CHECK(watch.expired());  // the weigher was destroyed with the cache
    CHECK(events.size() == 3);
    using C = cortado::RemovalCause;
    std::map<std::string, std::pair<std::string, C>> by_key;
    for (auto &[k, v, c] : events) {
        by_key[k + "/" + v] = {v, c};
    }
    CHECK(by_key.count("a/aaaa") && by_key["a/aaaa"].second == C::Replaced);
    CHECK(by_key.count("b/bbbb") && by_key["b/bbbb"].second == C::Size);
    CHECK(by_key.count("c/cccc") && by_key["c/cccc"].second == C::Explicit);
    CHECK(cortado::to_string(C::Expired) == "expired");
}

void test_iteration_and_order() {
    auto cache = cortado::Builder().eviction_policy(cortado::EvictionPolicy::Lru).max_capacity(10).build();
    cache.insert("a", "1");
    cache.insert("b", "2");
    cache.insert("c", "3");
    cache.get("a");
    auto order = cache.keys_coldest_first();
    CHECK((order == std::vector<std::string>{"b", "c", "a"}));
    auto entries = cache.entries();
    CHECK(entries.size() == 3);
    std::map<std::string, std::string> m;
    for (auto &[k, v] : entries) {
        m[k] = v.str();
    }
    CHECK((m == std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}, {"c", "3"}}));
}

void test_invalidate_if() {
    auto cache = cortado::Builder().build();
    for (char c = '0'; c <= '9'; c++) {
        cache.insert(std::string(1, c), std::string(1, c));
    }
    auto removed = cache.invalidate_if([](std::string_view key, const cortado::Value &) { return key < "5"; });
    CHECK(removed == 5);
    CHECK(!cache.contains("4") && cache.contains("5"));
    bool threw = false;
    try {
        cache.invalidate_if([](std::string_view, const cortado::Value &) -> bool { throw std::runtime_error("judge"); });
    } catch (const std::runtime_error &e) {
        threw = std::string(e.what()) == "judge";
    }
    CHECK(threw);
    CHECK(cache.contains("9"));
}

void test_get_with() {
    auto cache = cortado::Builder().build();
    int calls = 0;
    auto v = cache.get_with("k", [&](std::string_view key) {
        calls++;
        return std::string(key) + "-loaded";
    });
    CHECK(v == "k-loaded");
    auto again = cache.get_with("k", [&](std::string_view) { calls++; return std::string("other"); });
    CHECK(again.handle() == v.handle());
    CHECK(calls == 1);

    // A loader returning a Value hands over that very handle.
    cortado::Value mine(std::string_view("mine"));
    auto got = cache.get_with("h", [&](std::string_view) { return mine; });
    CHECK(got.handle() == mine.handle());

    // No value: nullopt from optionally_get_with, an error from get_with; nothing cached.
    auto none = cache.optionally_get_with("n", [](std::string_view) { return std::optional<std::string>(); });
    CHECK(!none);
    CHECK_THROWS_STATUS(cache.get_with("n", [](std::string_view) { return std::optional<std::string>(); }),
                        CORTADO_STATUS_LOADER_NO_VALUE);
    auto some = cache.optionally_get_with("n", [](std::string_view) { return std::optional<std::string>("x"); });
    CHECK(some && *some == "x");

    // The loader's exception reaches its caller; nothing is cached.
    bool threw = false;
    try {
        cache.get_with("e", [](std::string_view) -> std::string { throw std::logic_error("boom"); });
    } catch (const std::logic_error &e) {
        threw = std::string(e.what()) == "boom";
    }
    CHECK(threw);
    int code = 0;
    try {
        cache.get_with("e", [](std::string_view) -> std::string { throw cortado::LoaderError(404); });
    } catch (const cortado::LoaderError &e) {
        code = e.code();
    }
    CHECK(code == 404);
    CHECK(!cache.contains("e"));
    CHECK(cache.stat(cortado::Stat::LoadFailures) == 4);  // two no-value runs, two throws

    // Re-entering the same key from its loader is an error, not a deadlock.
    cortado_status inner = CORTADO_STATUS_OK;
    auto outer = cache.get_with("r", [&](std::string_view key) {
        try {
            cache.get_with(key, [](std::string_view) { return std::string("never"); });
        } catch (const cortado::Error &e) {
            inner = e.status();
        }
        return std::string("outer");
    });
    CHECK(outer == "outer");
    CHECK(inner == CORTADO_STATUS_RECURSIVE_LOAD);
}

void test_get_with_coalesces_across_threads() {
    auto cache = cortado::Builder().build();
    int n = thread_count();
    std::atomic<int> calls{0};
    std::atomic<int> ready{0};
    std::vector<const cortado_value *> handles(static_cast<size_t>(n));
    std::vector<std::optional<cortado::Value>> values(static_cast<size_t>(n));
    std::vector<std::thread> threads;
    for (int i = 0; i < n; i++) {
        threads.emplace_back([&, i] {
            ready++;
            while (ready.load() < n) {
                std::this_thread::yield();
            }
            values[static_cast<size_t>(i)] = cache.get_with("hot", [&](std::string_view) {
                calls++;
                std::this_thread::sleep_for(200ms);
                return std::string("coalesced");
            });
        });
    }
    for (auto &t : threads) {
        t.join();
    }
    CHECK(calls == 1);
    for (auto &v : values) {
        CHECK(v && v->handle() == values[0]->handle() && *v == "coalesced");
    }

    // A thrown exception: the loading thread gets it, the waiters a LoaderError.
    std::atomic<int> original{0}, loader_errors{0};
    ready = 0;
    threads.clear();
    for (int i = 0; i < n; i++) {
        threads.emplace_back([&] {
            ready++;
            while (ready.load() < n) {
                std::this_thread::yield();
            }
            try {
                cache.get_with("bad", [&](std::string_view) -> std::string {
                    std::this_thread::sleep_for(200ms);
                    throw std::runtime_error("original");
                });
            } catch (const cortado::LoaderError &e) {
                if (e.code() == cortado::kLoaderThrew) {
                    loader_errors++;
                }
            } catch (const std::runtime_error &) {
                original++;
            }
        });
    }
    for (auto &t : threads) {
        t.join();
    }
    CHECK(original >= 1);
    CHECK(original + loader_errors == n);
}

void test_per_entry_expiry() {
    using ns = std::chrono::nanoseconds;
    cortado::ManualClock clock;
    int reads = 0;
    std::optional<ns> seen_on_create = 1ns;
    auto cache = cortado::Builder()
                     .clock(clock)
                     .expiry(
                         // Negative caching: "not found" (empty) lives 1 s, the rest 1 h.
                         [&](std::string_view, std::string_view value, std::optional<ns> remaining) -> std::optional<ns> {
                             seen_on_create = remaining;
                             return value.empty() ? ns(1s) : ns(1h);
                         },
                         // Each read gives 10 s from now.
                         [&](std::string_view, std::string_view, std::optional<ns>) -> std::optional<ns> {
                             reads++;
                             return ns(10s);
                         },
                         nullptr)
                     .build();
    cache.insert("missing", "");
    CHECK(!seen_on_create);
    cache.insert("found", "row");
    CHECK(cache.remaining_ttl("missing") == ns(1s));
    CHECK(cache.remaining_ttl("found") == ns(1h));
    clock.advance(1s);
    CHECK(!cache.contains("missing"));
    CHECK(cache.get("found").value() == "row");
    CHECK(reads == 1);
    CHECK(cache.remaining_ttl("found") == ns(10s));
    cache.insert("found", "row 2");  // on_update is nullptr: the deadline is kept
    CHECK(cache.remaining_ttl("found") == ns(10s));
    clock.advance(10s);
    CHECK(!cache.contains("found"));
}

void test_compute() {
    auto cache = cortado::Builder().build();
    auto r = cache.compute("k", [](std::optional<cortado::Value> cur) {
        CHECK(!cur);
        return cortado::ComputeOp::nop();
    });
    CHECK(r.result == cortado::ComputeResult::StillNone && !r.value);
    r = cache.compute("k", [](std::optional<cortado::Value>) { return cortado::ComputeOp::put("1"); });
    CHECK(r.result == cortado::ComputeResult::Inserted && r.value && *r.value == "1");
    cortado::Value mine(std::string_view("2"));
    r = cache.compute("k", [&](std::optional<cortado::Value> cur) {
        CHECK(cur && *cur == "1");
        return cortado::ComputeOp::put(mine);
    });
    CHECK(r.result == cortado::ComputeResult::Replaced && r.value->handle() == mine.handle());
    CHECK(cache.get("k")->handle() == mine.handle());
    r = cache.compute("k", [](std::optional<cortado::Value>) { return cortado::ComputeOp::nop(); });
    CHECK(r.result == cortado::ComputeResult::Unchanged && *r.value == "2");
    r = cache.compute("k", [](std::optional<cortado::Value>) { return cortado::ComputeOp::remove(); });
    CHECK(r.result == cortado::ComputeResult::Removed && *r.value == "2");
    CHECK(!cache.contains("k"));

    // An exception leaves the entry alone and reaches the caller.
    cache.insert("k", "kept");
    bool threw = false;
    try {
        cache.compute("k", [](std::optional<cortado::Value>) -> cortado::ComputeOp { throw std::runtime_error("no"); });
    } catch (const std::runtime_error &) {
        threw = true;
    }
    CHECK(threw);
    CHECK(cache.get("k").value() == "kept");

    // Re-entering the same key throws RECURSIVE_LOAD inside; the outer compute goes on.
    bool nested_refused = false;
    r = cache.compute("k", [&](std::optional<cortado::Value>) {
        try {
            cache.compute("k", [](std::optional<cortado::Value>) { return cortado::ComputeOp::remove(); });
        } catch (const cortado::Error &e) {
            nested_refused = e.status() == CORTADO_STATUS_RECURSIVE_LOAD;
        }
        return cortado::ComputeOp::put("outer");
    });
    CHECK(nested_refused);
    CHECK(r.result == cortado::ComputeResult::Replaced && *r.value == "outer");

    // A counter from several threads loses no update.
    const int n = thread_count() < 8 ? thread_count() : 8;
    std::vector<std::thread> threads;
    for (int t = 0; t < n; t++) {
        threads.emplace_back([&] {
            for (int i = 0; i < 100; i++) {
                cache.compute("counter", [](std::optional<cortado::Value> cur) {
                    int v = cur ? std::stoi(cur->str()) : 0;
                    return cortado::ComputeOp::put(std::to_string(v + 1));
                });
            }
        });
    }
    for (auto &t : threads) {
        t.join();
    }
    CHECK(cache.get("counter").value() == std::to_string(n * 100));
}

}  // namespace

int main() {
    run("test_values", test_values);
    run("test_bytes_from_many_types", test_bytes_from_many_types);
    run("test_get_insert_remove", test_get_insert_remove);
    run("test_expiry_on_a_manual_clock", test_expiry_on_a_manual_clock);
    run("test_errors_are_thrown", test_errors_are_thrown);
    run("test_listener_and_weigher", test_listener_and_weigher);
    run("test_iteration_and_order", test_iteration_and_order);
    run("test_invalidate_if", test_invalidate_if);
    run("test_get_with", test_get_with);
    run("test_get_with_coalesces_across_threads", test_get_with_coalesces_across_threads);
    run("test_per_entry_expiry", test_per_entry_expiry);
    run("test_compute", test_compute);
    std::printf("RESULT %d %d\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
