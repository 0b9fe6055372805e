/*
 * cortado.hpp: a header-only C++17 wrapper over libcortado (cortado.h).
 *
 * RAII handles (Value, ManualClock, Builder, Cache), byte views in (anything contiguous with
 * one-byte elements: std::string_view, std::string, std::vector<uint8_t>, std::span under
 * C++20, or a pointer and a size), std::optional out, and callbacks as any callable.
 * Every status other than OK (or a miss, which becomes std::nullopt) is thrown as
 * cortado::Error.
 *
 *   auto cache = cortado::Builder().max_capacity(10'000).time_to_live(std::chrono::minutes(5)).build();
 *   cache.insert("key", "value");
 *   if (auto v = cache.get("key")) std::cout << v->view();
 *   auto v = cache.get_with("user:1", [](std::string_view key) { return load_user(key); });
 *
 * Thread-safety follows the C API: Cache and Value may be shared between threads; Builder
 * and ManualClock setup belong to one thread. Weigher and listener callables run on any
 * thread that uses the cache and must not throw (they are noexcept: a throw terminates);
 * so do expiry callables. A loader, predicate or compute callable may throw: the exception
 * is rethrown to its caller.
 */
#ifndef CORTADO_HPP
#define CORTADO_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "cortado.h"

namespace cortado {

/** A status other than OK, thrown. */
class Error : public std::runtime_error {
public:
    explicit Error(cortado_status status) : std::runtime_error(cortado_status_str(status)), status_(status) {}
    cortado_status status() const noexcept { return status_; }

private:
    cortado_status status_;
};

/** The code every caller of a failed load sees (`LOADER_FAILED`). Throw it from a loader to
 * fail with a code of your own; other exceptions reach other waiters as `kLoaderThrew`. */
class LoaderError : public Error {
public:
    explicit LoaderError(int32_t code) : Error(CORTADO_STATUS_LOADER_FAILED), code_(code) {}
    int32_t code() const noexcept { return code_; }

private:
    int32_t code_;
};

/** The loader code that waiters see when the loading thread's callable threw something other
 * than a LoaderError (the loading thread itself gets the original exception). */
inline constexpr int32_t kLoaderThrew = INT32_MIN;

enum class RemovalCause : uint32_t {
    Explicit = CORTADO_REMOVAL_CAUSE_EXPLICIT,
    Replaced = CORTADO_REMOVAL_CAUSE_REPLACED,
    Expired = CORTADO_REMOVAL_CAUSE_EXPIRED,
    Size = CORTADO_REMOVAL_CAUSE_SIZE,
};

enum class EvictionPolicy : uint32_t {
    TinyLfu = CORTADO_EVICTION_POLICY_TINY_LFU,
    Lru = CORTADO_EVICTION_POLICY_LRU,
};

enum class Stat : uint32_t {
    Hits = CORTADO_STAT_HITS,
    Misses = CORTADO_STAT_MISSES,
    LoadSuccesses = CORTADO_STAT_LOAD_SUCCESSES,
    LoadFailures = CORTADO_STAT_LOAD_FAILURES,
    TotalLoadTimeNs = CORTADO_STAT_TOTAL_LOAD_TIME_NS,
    Evictions = CORTADO_STAT_EVICTIONS,
    EvictionWeight = CORTADO_STAT_EVICTION_WEIGHT,
};

/** What Cache::compute() did. */
enum class ComputeResult : uint32_t {
    Inserted = CORTADO_COMPUTE_RESULT_INSERTED,
    Replaced = CORTADO_COMPUTE_RESULT_REPLACED,
    Removed = CORTADO_COMPUTE_RESULT_REMOVED,
    Unchanged = CORTADO_COMPUTE_RESULT_UNCHANGED,
    StillNone = CORTADO_COMPUTE_RESULT_STILL_NONE,
};

/** The stable name of a cause ("explicit", "replaced", "expired", "size"). */
inline std::string_view to_string(RemovalCause cause) {
    const char *s = cortado_removal_cause_str(static_cast<uint32_t>(cause));
    return s ? std::string_view(s) : std::string_view("unknown");
}

namespace detail {

inline void check(cortado_status status) {
    if (status != CORTADO_STATUS_OK) {
        throw Error(status);
    }
}

inline std::string_view view(const uint8_t *data, size_t len) noexcept {
    return std::string_view(reinterpret_cast<const char *>(data), len);
}

/* Contiguous ranges of one-byte elements (not arrays: a string literal is a C string). */
template <class T, class = void>
struct is_byte_range : std::false_type {};
template <class T>
struct is_byte_range<T, std::void_t<decltype(std::data(std::declval<const T &>())),
                                    decltype(std::size(std::declval<const T &>()))>>
    : std::bool_constant<!std::is_array_v<T> &&
                         sizeof(*std::data(std::declval<const T &>())) == 1> {};

/* Nanoseconds for the C API; negative durations are refused like zero ones. */
template <class Rep, class Period>
uint64_t nanos(std::chrono::duration<Rep, Period> d) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    if (ns < 0) {
        throw Error(CORTADO_STATUS_INVALID_ARGUMENT);
    }
    return static_cast<uint64_t>(ns);
}

template <class F>
void destroy(void *userdata) noexcept {
    delete static_cast<F *>(userdata);
}

}  // namespace detail

/** A borrowed view of bytes, for arguments. */
class Bytes {
public:
    constexpr Bytes() noexcept = default;
    Bytes(const void *data, size_t size) noexcept : data_(static_cast<const uint8_t *>(data)), size_(size) {}
    Bytes(std::string_view s) noexcept : Bytes(s.data(), s.size()) {}
    Bytes(const char *s) : Bytes(std::string_view(s)) {}
    template <class T, std::enable_if_t<detail::is_byte_range<T>::value, int> = 0>
    Bytes(const T &range) noexcept : Bytes(std::data(range), std::size(range)) {}

    const uint8_t *data() const noexcept { return data_; }
    size_t size() const noexcept { return size_; }

private:
    const uint8_t *data_ = nullptr;
    size_t size_ = 0;
};

/** A reference to immutable cached bytes (cortado_value): copying retains, destruction
 * releases. Reading never copies; the bytes stay valid while any Value refers to them. */
class Value {
public:
    /** A new value holding a copy of `bytes`. */
    explicit Value(Bytes bytes) { detail::check(cortado_value_new(bytes.data(), bytes.size(), &v_)); }

    /** Takes over a reference the caller owns (as returned by the C API). */
    static Value adopt(const cortado_value *v) noexcept { return Value(v); }
    /** Adds a reference to a handle the caller only borrows (e.g. in a listener). */
    static Value borrow(const cortado_value *v) noexcept { return Value(cortado_value_retain(v)); }

    Value(const Value &other) noexcept : v_(cortado_value_retain(other.v_)) {}
    Value(Value &&other) noexcept : v_(std::exchange(other.v_, nullptr)) {}
    Value &operator=(Value other) noexcept {
        std::swap(v_, other.v_);
        return *this;
    }
    ~Value() { cortado_value_release(v_); }

    const uint8_t *data() const noexcept { return cortado_value_data(v_); }
    size_t size() const noexcept { return cortado_value_len(v_); }
    bool empty() const noexcept { return size() == 0; }
    std::string_view view() const noexcept { return detail::view(data(), size()); }
    std::string str() const { return std::string(view()); }
    /** The C handle, still owned by this Value. */
    const cortado_value *handle() const noexcept { return v_; }

    friend bool operator==(const Value &a, std::string_view b) noexcept { return a.view() == b; }
    friend bool operator!=(const Value &a, std::string_view b) noexcept { return a.view() != b; }

private:
    explicit Value(const cortado_value *v) noexcept : v_(v) {}
    const cortado_value *v_ = nullptr;
};

/** What a Cache::compute() callable decides: nop(), put(value) or remove(). */
class ComputeOp {
public:
    /** Leave the entry as it is (an absent key stays absent). */
    static ComputeOp nop() { return ComputeOp(CORTADO_COMPUTE_OP_NOP, std::nullopt); }
    /** Remove the entry. */
    static ComputeOp remove() { return ComputeOp(CORTADO_COMPUTE_OP_REMOVE, std::nullopt); }
    /** Store `value` itself (no copy). */
    static ComputeOp put(Value value) { return ComputeOp(CORTADO_COMPUTE_OP_PUT, std::move(value)); }
    /** Store a copy of `bytes`. */
    static ComputeOp put(Bytes bytes) { return put(Value(bytes)); }

    /** The `cortado_compute_op`. */
    uint32_t op() const noexcept { return op_; }
    /** The value of a put(). */
    const std::optional<Value> &value() const noexcept { return value_; }

private:
    ComputeOp(uint32_t op, std::optional<Value> value) : op_(op), value_(std::move(value)) {}
    uint32_t op_;
    std::optional<Value> value_;
};

/** What Cache::compute() did, and the entry's value afterwards (the new value, the removed
 * one, the unchanged one; nullopt for StillNone). */
struct Computed {
    ComputeResult result;
    std::optional<Value> value;
};

/** A manual clock for tests: starts at 0, moves only by advance(). */
class ManualClock {
public:
    ManualClock() : c_(cortado_clock_new_manual()) {
        if (c_ == nullptr) {
            throw Error(CORTADO_STATUS_PANIC);
        }
    }
    ManualClock(const ManualClock &) = delete;
    ManualClock &operator=(const ManualClock &) = delete;
    ManualClock(ManualClock &&other) noexcept : c_(std::exchange(other.c_, nullptr)) {}
    ManualClock &operator=(ManualClock &&other) noexcept {
        std::swap(c_, other.c_);
        return *this;
    }
    ~ManualClock() { cortado_clock_free(c_); }

    template <class Rep, class Period>
    void advance(std::chrono::duration<Rep, Period> d) {
        detail::check(cortado_clock_advance_ns(c_, detail::nanos(d)));
    }
    cortado_clock *handle() const noexcept { return c_; }

private:
    cortado_clock *c_;
};

class Cache;

/** Cache settings; build() may be called more than once. */
class Builder {
public:
    Builder() : b_(cortado_builder_new()) {
        if (b_ == nullptr) {
            throw Error(CORTADO_STATUS_PANIC);
        }
    }
    Builder(const Builder &) = delete;
    Builder &operator=(const Builder &) = delete;
    Builder(Builder &&other) noexcept : b_(std::exchange(other.b_, nullptr)) {}
    Builder &operator=(Builder &&other) noexcept {
        std::swap(b_, other.b_);
        return *this;
    }
    ~Builder() { cortado_builder_free(b_); }

    Builder &max_capacity(uint64_t max_entries) {
        detail::check(cortado_builder_max_capacity(b_, max_entries));
        return *this;
    }

    /** Bounds the total weight; each entry weighs its key length plus its value length. */
    Builder &max_weight(uint64_t max_weight) {
        detail::check(cortado_builder_max_weight(b_, max_weight, nullptr, nullptr, nullptr));
        return *this;
    }

    /** Bounds the total weight; `weigher(std::string_view key, std::string_view value)`
     * returns an entry's weight (uint32_t, 0 pins). Must not throw. */
    template <class F>
    Builder &max_weight(uint64_t max_weight, F weigher) {
        using Fn = std::decay_t<F>;
        auto *heap = new Fn(std::move(weigher));
        detail::check(cortado_builder_max_weight(b_, max_weight, &weigh<Fn>, heap, &detail::destroy<Fn>));
        return *this;
    }

    template <class Rep, class Period>
    Builder &time_to_live(std::chrono::duration<Rep, Period> ttl) {
        detail::check(cortado_builder_time_to_live_ns(b_, detail::nanos(ttl)));
        return *this;
    }

    template <class Rep, class Period>
    Builder &time_to_idle(std::chrono::duration<Rep, Period> tti) {
        detail::check(cortado_builder_time_to_idle_ns(b_, detail::nanos(tti)));
        return *this;
    }

    /** `listener(std::string_view key, const Value &value, RemovalCause cause)` for every
     * entry that leaves the cache. Must not throw. */
    template <class F>
    Builder &eviction_listener(F listener) {
        using Fn = std::decay_t<F>;
        auto *heap = new Fn(std::move(listener));
        detail::check(cortado_builder_eviction_listener(b_, &listen<Fn>, heap, &detail::destroy<Fn>));
        return *this;
    }

    /** Per-entry expiry. `on_create`, `on_read` and `on_update` are each a callable
     * `std::optional<std::chrono::nanoseconds>(std::string_view key, std::string_view value,
     * std::optional<std::chrono::nanoseconds> remaining)` returning the entry's lifetime from
     * now, or nullopt to keep its deadline (on create: no deadline of its own), or nullptr
     * (always keep). `remaining` is nullopt on create and for entries without a deadline.
     * Must not throw. */
    template <class C, class R, class U>
    Builder &expiry(C on_create, R on_read, U on_update) {
        using Fns = std::tuple<std::decay_t<C>, std::decay_t<R>, std::decay_t<U>>;
        auto *heap = new Fns(std::move(on_create), std::move(on_read), std::move(on_update));
        detail::check(cortado_builder_set_expiry(b_, expire_fn<Fns, 0>(), expire_fn<Fns, 1>(), expire_fn<Fns, 2>(),
                                                 heap, &detail::destroy<Fns>));
        return *this;
    }

    Builder &eviction_policy(EvictionPolicy policy) {
        detail::check(cortado_builder_eviction_policy(b_, static_cast<uint32_t>(policy)));
        return *this;
    }

    Builder &shards(uint32_t shards) {
        detail::check(cortado_builder_shards(b_, shards));
        return *this;
    }

    /** Whether hits and misses are counted (default: yes; off saves an atomic add per read). */
    Builder &record_stats(bool record) {
        detail::check(cortado_builder_record_stats(b_, record));
        return *this;
    }

    /** Uses `clock` as the time source (the caches keep it alive). */
    Builder &clock(const ManualClock &clock) {
        detail::check(cortado_builder_clock(b_, clock.handle()));
        return *this;
    }

    Cache build() const;

    cortado_builder *handle() const noexcept { return b_; }

private:
    template <class Fn>
    static uint32_t weigh(void *userdata, const uint8_t *key, size_t key_len, const uint8_t *value,
                          size_t value_len) noexcept {
        return static_cast<uint32_t>(
            (*static_cast<Fn *>(userdata))(detail::view(key, key_len), detail::view(value, value_len)));
    }

    template <class Fns, size_t I>
    static cortado_expiry_fn expire_fn() noexcept {
        if constexpr (std::is_same_v<std::tuple_element_t<I, Fns>, std::nullptr_t>) {
            return nullptr;
        } else {
            return &expire<Fns, I>;
        }
    }

    template <class Fns, size_t I>
    static uint32_t expire(void *userdata, const uint8_t *key, size_t key_len, const cortado_value *value,
                           uint64_t remaining_ns, uint64_t *out_ns) noexcept {
        std::optional<std::chrono::nanoseconds> remaining;
        if (remaining_ns != CORTADO_NO_DEADLINE) {
            constexpr uint64_t max = static_cast<uint64_t>(std::chrono::nanoseconds::max().count());
            remaining = std::chrono::nanoseconds(static_cast<int64_t>(remaining_ns < max ? remaining_ns : max));
        }
        std::optional<std::chrono::nanoseconds> lifetime = std::get<I>(*static_cast<Fns *>(userdata))(
            detail::view(key, key_len), detail::view(cortado_value_data(value), cortado_value_len(value)),
            remaining);
        if (!lifetime) {
            return CORTADO_EXPIRY_DECISION_KEEP;
        }
        *out_ns = lifetime->count() < 0 ? 0 : static_cast<uint64_t>(lifetime->count());
        return CORTADO_EXPIRY_DECISION_SET;
    }

    template <class Fn>
    static void listen(void *userdata, const uint8_t *key, size_t key_len, const cortado_value *value,
                       uint32_t cause) noexcept {
        (*static_cast<Fn *>(userdata))(detail::view(key, key_len), Value::borrow(value),
                                       static_cast<RemovalCause>(cause));
    }

    cortado_builder *b_;
};

/** A thread-safe cache of byte keys and Values. */
class Cache {
public:
    /** Takes over a cache handle from the C API. */
    explicit Cache(cortado_cache *c) noexcept : c_(c) {}
    Cache(const Cache &) = delete;
    Cache &operator=(const Cache &) = delete;
    Cache(Cache &&other) noexcept : c_(std::exchange(other.c_, nullptr)) {}
    Cache &operator=(Cache &&other) noexcept {
        std::swap(c_, other.c_);
        return *this;
    }
    ~Cache() { cortado_cache_free(c_); }

    /** The value of `key`, counting as a use; nullopt on a miss. */
    std::optional<Value> get(Bytes key) const {
        const cortado_value *v = nullptr;
        cortado_status s = cortado_cache_get(c_, key.data(), key.size(), &v);
        return found(s, v);
    }

    /** Like get() without affecting eviction order, expiry or statistics. */
    std::optional<Value> peek(Bytes key) const {
        const cortado_value *v = nullptr;
        cortado_status s = cortado_cache_peek(c_, key.data(), key.size(), &v);
        return found(s, v);
    }

    bool contains(Bytes key) const {
        bool present = false;
        detail::check(cortado_cache_contains(c_, key.data(), key.size(), &present));
        return present;
    }

    /** Inserts a copy of `value`. */
    void insert(Bytes key, Bytes value) {
        detail::check(cortado_cache_insert(c_, key.data(), key.size(), value.data(), value.size()));
    }

    /** Inserts `value` itself (no copy). */
    void insert(Bytes key, const Value &value) {
        detail::check(cortado_cache_insert_value(c_, key.data(), key.size(), value.handle()));
    }

    template <class Rep, class Period>
    void insert(Bytes key, Bytes value, std::chrono::duration<Rep, Period> ttl) {
        detail::check(cortado_cache_insert_with_ttl_ns(c_, key.data(), key.size(), value.data(), value.size(),
                                                       detail::nanos(ttl)));
    }

    template <class Rep, class Period>
    void insert(Bytes key, const Value &value, std::chrono::duration<Rep, Period> ttl) {
        detail::check(
            cortado_cache_insert_value_with_ttl_ns(c_, key.data(), key.size(), value.handle(), detail::nanos(ttl)));
    }

    /** Removes `key`, returning its value if it was present. */
    std::optional<Value> remove(Bytes key) {
        const cortado_value *v = nullptr;
        cortado_status s = cortado_cache_remove(c_, key.data(), key.size(), &v);
        return found(s, v);
    }

    void invalidate_all() { detail::check(cortado_cache_invalidate_all(c_)); }

    /** Removes the entries for which `predicate(std::string_view key, const Value &value)` is
     * true; returns how many. An exception from the predicate stops the judging (entries
     * already judged true are still removed) and is rethrown. */
    template <class F>
    uint64_t invalidate_if(F &&predicate) {
        Judge<std::remove_reference_t<F>> judge{&predicate, nullptr};
        uint64_t removed = 0;
        detail::check(cortado_cache_invalidate_if(c_, &Judge<std::remove_reference_t<F>>::run, &judge, &removed));
        if (judge.error) {
            std::rethrow_exception(judge.error);
        }
        return removed;
    }

    void run_pending_tasks() { detail::check(cortado_cache_run_pending_tasks(c_)); }

    uint64_t entry_count() const { return number(&cortado_cache_entry_count); }
    uint64_t weighted_size() const { return number(&cortado_cache_weighted_size); }
    uint64_t max_capacity() const { return number(&cortado_cache_max_capacity); }
    uint64_t stat(Stat which) const {
        uint64_t n = 0;
        detail::check(cortado_cache_stat(c_, static_cast<uint32_t>(which), &n));
        return n;
    }

    /** Time left before `key` expires: nullopt if absent, nanoseconds::max() if never. */
    std::optional<std::chrono::nanoseconds> remaining_ttl(Bytes key) const {
        uint64_t ns = 0;
        cortado_status s = cortado_cache_remaining_ttl_ns(c_, key.data(), key.size(), &ns);
        if (s == CORTADO_STATUS_NOT_FOUND) {
            return std::nullopt;
        }
        detail::check(s);
        if (ns > static_cast<uint64_t>(std::chrono::nanoseconds::max().count())) {
            return std::chrono::nanoseconds::max();
        }
        return std::chrono::nanoseconds(static_cast<int64_t>(ns));
    }

    /** A snapshot of the live entries, in no particular order. */
    std::vector<std::pair<std::string, Value>> entries() const {
        cortado_iter *it = nullptr;
        detail::check(cortado_cache_iter(c_, &it));
        std::vector<std::pair<std::string, Value>> out;
        const uint8_t *key = nullptr;
        size_t len = 0;
        const cortado_value *v = nullptr;
        cortado_status s;
        try {
            while ((s = cortado_iter_next(it, &key, &len, &v)) == CORTADO_STATUS_OK) {
                Value value = Value::adopt(v);
                out.emplace_back(std::string(detail::view(key, len)), std::move(value));
            }
        } catch (...) {
            cortado_iter_free(it);
            throw;
        }
        cortado_iter_free(it);
        if (s != CORTADO_STATUS_DONE) {
            throw Error(s);
        }
        return out;
    }

    /** The keys in eviction order, coldest first. */
    std::vector<std::string> keys_coldest_first() const {
        cortado_keys *keys = nullptr;
        detail::check(cortado_cache_keys_coldest_first(c_, &keys));
        std::vector<std::string> out;
        try {
            size_t n = cortado_keys_len(keys);
            out.reserve(n);
            for (size_t i = 0; i < n; i++) {
                const uint8_t *key = nullptr;
                size_t len = 0;
                detail::check(cortado_keys_get(keys, i, &key, &len));
                out.emplace_back(detail::view(key, len));
            }
        } catch (...) {
            cortado_keys_free(keys);
            throw;
        }
        cortado_keys_free(keys);
        return out;
    }

    /** The value of `key`, loaded on a miss by `loader(std::string_view key)`, which returns
     * a Value, anything Bytes accepts (copied), or a std::optional of either (nullopt: no
     * value). Concurrent callers for one key share one load and get the same Value.
     * Throws the loader's own exception in the loading thread, LoaderError in the others
     * (kLoaderThrew, or the code of a thrown LoaderError), Error(LOADER_NO_VALUE) when the
     * loader produced nothing, and Error(RECURSIVE_LOAD) from a loader loading its own key. */
    template <class F>
    Value get_with(Bytes key, F &&loader) {
        std::optional<Value> v = load(key, loader);
        if (!v) {
            throw Error(CORTADO_STATUS_LOADER_NO_VALUE);
        }
        return std::move(*v);
    }

    /** Like get_with(), but a loader that produces nothing gives nullopt. */
    template <class F>
    std::optional<Value> optionally_get_with(Bytes key, F &&loader) {
        return load(key, loader);
    }

    /** Atomically reads `key` and applies what `f(std::optional<Value> current)` returns (a
     * ComputeOp). Computations of one key run one at a time. An exception from `f` leaves the
     * entry unchanged and is rethrown; a compute of the same key from inside `f` throws
     * Error(RECURSIVE_LOAD). */
    template <class F>
    Computed compute(Bytes key, F &&f) {
        using Call = ComputeCall<std::remove_reference_t<F>>;
        Call call{&f, nullptr};
        uint32_t result = CORTADO_COMPUTE_RESULT_STILL_NONE;
        const cortado_value *v = nullptr;
        cortado_status s = cortado_cache_compute(c_, key.data(), key.size(), &Call::run, &call, &result, &v);
        std::optional<Value> value;
        if (v != nullptr) {
            value = Value::adopt(v);
        }
        if (call.error) {
            std::rethrow_exception(call.error);
        }
        detail::check(s);
        return Computed{static_cast<ComputeResult>(result), std::move(value)};
    }

    cortado_cache *handle() const noexcept { return c_; }

private:
    template <class F>
    struct ComputeCall {
        F *f;
        std::exception_ptr error;
        static uint32_t run(void *userdata, const uint8_t *key, size_t key_len, const cortado_value *current,
                            const cortado_value **out_new) noexcept {
            (void)key;
            (void)key_len;
            auto *self = static_cast<ComputeCall *>(userdata);
            try {
                std::optional<Value> cur;
                if (current != nullptr) {
                    cur = Value::borrow(current);
                }
                ComputeOp op = (*self->f)(std::move(cur));
                if (op.op() == CORTADO_COMPUTE_OP_PUT) {
                    *out_new = cortado_value_retain(op.value()->handle());
                }
                return op.op();
            } catch (...) {
                self->error = std::current_exception();
                return CORTADO_COMPUTE_OP_NOP;
            }
        }
    };

    template <class F>
    struct Judge {
        F *f;
        std::exception_ptr error;
        static bool run(void *userdata, const uint8_t *key, size_t key_len, const cortado_value *value) noexcept {
            auto *self = static_cast<Judge *>(userdata);
            if (self->error) {
                return false;
            }
            try {
                return static_cast<bool>((*self->f)(detail::view(key, key_len), Value::borrow(value)));
            } catch (...) {
                self->error = std::current_exception();
                return false;
            }
        }
    };

    template <class F>
    struct LoadCall {
        F *f;
        std::exception_ptr error;

        template <class R>
        static int32_t set(cortado_load_ctx *ctx, R &&r) {
            using T = std::decay_t<R>;
            if constexpr (std::is_same_v<T, Value>) {
                detail::check(cortado_load_ctx_set_value(ctx, r.handle()));
            } else if constexpr (std::is_convertible_v<R, Bytes>) {
                Bytes b = std::forward<R>(r);
                detail::check(cortado_load_ctx_set_bytes(ctx, b.data(), b.size()));
            } else {
                static_assert(std::is_constructible_v<bool, const T &>,
                              "a loader returns a Value, bytes, or a std::optional of either");
                if (r) {
                    return set(ctx, *std::forward<R>(r));
                }
            }
            return 0;
        }

        static int32_t run(void *userdata, const uint8_t *key, size_t key_len, cortado_load_ctx *ctx) noexcept {
            auto *self = static_cast<LoadCall *>(userdata);
            try {
                return set(ctx, (*self->f)(detail::view(key, key_len)));
            } catch (const LoaderError &e) {
                self->error = std::current_exception();
                return e.code() != 0 ? e.code() : kLoaderThrew;
            } catch (...) {
                self->error = std::current_exception();
                return kLoaderThrew;
            }
        }
    };

    template <class F>
    std::optional<Value> load(Bytes key, F &loader) {
        using Call = LoadCall<std::remove_reference_t<F>>;
        Call call{&loader, nullptr};
        const cortado_value *v = nullptr;
        int32_t code = 0;
        cortado_status s = cortado_cache_get_with(c_, key.data(), key.size(), &Call::run, &call, &v, &code);
        if (call.error) {
            std::rethrow_exception(call.error);
        }
        switch (s) {
            case CORTADO_STATUS_OK:
                return Value::adopt(v);
            case CORTADO_STATUS_LOADER_NO_VALUE:
                return std::nullopt;
            case CORTADO_STATUS_LOADER_FAILED:
                throw LoaderError(code);
            default:
                throw Error(s);
        }
    }

    static std::optional<Value> found(cortado_status s, const cortado_value *v) {
        if (s == CORTADO_STATUS_NOT_FOUND) {
            return std::nullopt;
        }
        detail::check(s);
        return Value::adopt(v);
    }

    uint64_t number(cortado_status (*getter)(cortado_cache *, uint64_t *)) const {
        uint64_t n = 0;
        detail::check(getter(c_, &n));
        return n;
    }

    cortado_cache *c_;
};

inline Cache Builder::build() const {
    cortado_cache *c = nullptr;
    detail::check(cortado_builder_build(b_, &c));
    return Cache(c);
}

}  // namespace cortado

#endif /* CORTADO_HPP */
