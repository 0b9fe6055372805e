'use strict'
// Shared test helpers: a manual clock usable as the `perf` option of both cortado and
// lru-cache, a recorder of dispose calls, a seeded random number generator, and the
// invariants the random-operation tests check.

const assert = require('node:assert/strict')

class ManualClock {
  constructor(start = 1000) {
    this.t = start
  }
  now() {
    return this.t
  }
  advance(ms) {
    this.t += ms
  }
}

function recorder() {
  const events = []
  const dispose = (value, key, reason) => events.push([key, value, reason])
  return { events, dispose }
}

/** Deterministic numbers in [0, 1) from a seed (mulberry32), for reproducible random tests. */
function rng(seed) {
  return () => {
    seed |= 0
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * What the random-operation tests (tinylfu-model, shared-model) check of a cache whatever its
 * policy evicts. Values are unique, so each names one write; `now()` is the test's clock and
 * `where()` describes the run for failure messages.
 */
class InvariantModel {
  constructor(now, where) {
    this.now = now
    this.where = where
    // value -> { key, start, ttl, disposed: reason | undefined }
    this.written = new Map()
    // key -> its latest value (deleted or not)
    this.latest = new Map()
    // The cache's dispose callback: once per value, for a reason its history allows.
    this.dispose = (v, k, reason) => {
      const w = this.written.get(v)
      assert.ok(w, `disposed a value never set: ${v}`)
      assert.equal(w.key, k, `value ${v} disposed under another key`)
      assert.equal(w.disposed, undefined, `value ${v} disposed twice (${w.disposed}, then ${reason})`)
      if (reason === 'set') assert.notEqual(this.latest.get(k), v, `value ${v} replaced by itself`)
      if (reason === 'expire') assert.ok(this.stale(w), `value ${v} expired before its time`)
      w.disposed = reason
    }
  }

  stale(w) {
    return w.ttl > 0 && this.now() - w.start >= w.ttl
  }

  /** A write of `v` for `k` with time-to-live `ttl` (0: none): call it before the cache's
   * `set`, which may dispose what it replaces or evicts. */
  wrote(k, v, ttl) {
    this.written.set(v, { key: k, start: this.now(), ttl, disposed: undefined })
    this.latest.set(k, v)
  }

  /** A value the cache returned for `k` (or undefined): the latest written, live, not stale. */
  returned(k, v) {
    if (v === undefined) return
    assert.equal(v, this.latest.get(k), `stale value for ${k}, ${this.where()}`)
    const w = this.written.get(v)
    assert.equal(w.disposed, undefined, `value ${v} returned after its dispose, ${this.where()}`)
    assert.ok(!this.stale(w), `value ${v} returned stale, ${this.where()}`)
  }

  /** `v` was read with `updateAgeOnGet`: its ttl starts again. */
  restarted(v) {
    this.written.get(v).start = this.now()
  }

  /** At the end, with stale entries purged: `present` maps each value still cached to its key;
   * every other value was disposed. */
  settle(present) {
    for (const [v, w] of this.written) {
      if (present.has(v)) {
        assert.equal(w.disposed, undefined, `value ${v} disposed and still present, ${this.where()}`)
        assert.equal(this.latest.get(w.key), v, `replaced value ${v} still present, ${this.where()}`)
      } else {
        assert.notEqual(w.disposed, undefined, `value ${v} of key ${w.key} lost without a dispose, ${this.where()}`)
      }
    }
  }
}

/**
 * Orders `[key, ...]` rows by key (type first, so `1` and `'1'` stay apart): for comparing
 * the contents of two caches whose iteration orders may differ.
 */
function byKey(a, b) {
  const [x, y] = [`${typeof a[0]}:${a[0]}`, `${typeof b[0]}:${b[0]}`]
  return x < y ? -1 : x > y ? 1 : 0
}

/** Callback records as a multiset, for caches that call back in their own iteration order. */
function asMultiset(log) {
  return log.map((e) => JSON.stringify(e)).sort()
}

module.exports = { ManualClock, recorder, rng, InvariantModel, byKey, asMultiset }
