'use strict'
// Cross-check against lru-cache 11 itself: the same random operation sequences run on
// lru-cache and on cortado's Cache with `policy: 'lru'`, comparing every result, the size,
// the calculated size, the iteration orders and every dispose/disposeAfter/onInsert call.
//
// Time is a manual `perf` clock moved in steps that are multiples of 1/sqrt(2) ms, so that an
// entry's age never equals its (integer) ttl: at exactly `ttl` cortado considers an entry
// stale, lru-cache one millisecond later (see index.d.ts).

const test = require('node:test')
const assert = require('node:assert/strict')
const { LRUCache: Reference } = require('lru-cache')
const { Cache } = require('..')
const { ManualClock, rng, byKey, asMultiset } = require('./helpers.js')

const sizeOf = (v) => (typeof v === 'string' ? v.length : 1 + (v % 4))
const configs = [
  { max: 5 },
  { max: 1 },
  { max: 8, ttl: 10 },
  { max: 8, ttl: 10, updateAgeOnGet: true },
  { max: 8, ttl: 10, updateAgeOnHas: true, allowStale: true },
  { max: 8, ttl: 10, noDeleteOnStaleGet: true, allowStale: true },
  { max: 8, ttl: 10, noUpdateTTL: true },
  { maxSize: 12, sizeCalculation: sizeOf },
  { max: 4, maxSize: 12, sizeCalculation: sizeOf },
  { max: 6, maxEntrySize: 3, sizeCalculation: sizeOf },
  { maxSize: 10, sizeCalculation: sizeOf, ttl: 15, noDisposeOnSet: true },
  { max: 6, ttl: 8, maxSize: 20, sizeCalculation: sizeOf, updateAgeOnGet: true },
]
const smallKeys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 1, 2, 3, 4, '1']
// Caches of 128 entries or more choose their victims a few inserts ahead (see index.js,
// `#chosen`): these runs fill them many times over.
const bigConfigs = [{ max: 300 }, { max: 300, ttl: 400 }, { max: 300, ttl: 400, updateAgeOnGet: true }]
const bigKeys = Array.from({ length: 700 }, (_, i) => (i % 2 ? `k${i}` : i))
const values = ['x', 'yy', 'zzz', 'wwww', 7, 8, 9]

function make(Class, cfg, clock, log, extra) {
  const tag = (name) => (v, k, r) => log.push([name, k, v, r])
  // What a dispose callback sees of the cache: lru-cache evicts before it adds a key (for a
  // count bound), and lists a victim until it is gone. Not the keys with TTLs: lru-cache
  // starts a new key's TTL after the evictions its size makes, so until then the key can look
  // stale (its slot's previous start) and iteration skips it.
  const seen = (v, k, r) => log.push(['dispose', k, v, r, c.size, cfg.ttl ? [] : [...c.keys()]])
  const c = new Class({
    ...cfg,
    ...extra,
    perf: clock,
    ttlResolution: 0,
    dispose: seen,
    disposeAfter: tag('disposeAfter'),
    onInsert: tag('onInsert'),
    memoMethod: (k, stale, { context }) => context ?? `memo:${k}`,
  })
  return c
}

/** A status object as filled in, less `cache` (the cache itself, which differs by design). */
function withoutTimes(status) {
  const s = { ...status }
  delete s.cache
  return s
}

function snapshot(c) {
  const noStart = (d) => d.map(([k, e]) => [k, { ...e, start: undefined }])
  return {
    size: c.size,
    calculatedSize: c.calculatedSize,
    keys: [...c.keys()],
    rkeys: [...c.rkeys()],
    values: [...c.values()],
    rvalues: [...c.rvalues()],
    entries: [...c.entries()],
    rentries: [...c.rentries()],
    dump: noStart(c.dump()),
  }
}

/** The state as a set: under TinyLFU only the order is the policy's own. */
function unordered(c) {
  return {
    size: c.size,
    calculatedSize: c.calculatedSize,
    entries: [...c.entries()].sort(byKey),
    dump: c.dump().map(([k, e]) => [k, { ...e, start: undefined }]).sort(byKey),
  }
}

function run(cfg, seed, steps, { keys = smallKeys, snapshotEvery = 5, clears = true, policy = 'lru' } = {}) {
  // Under TinyLFU (run only where nothing is evicted) the operations whose results or effects
  // follow the order (pop, load's re-inserts, forEach, find's get of the first match) are left
  // out, and states compare as sets.
  const ordered = policy === 'lru'
  const r = rng(seed)
  const pick = (a) => a[Math.floor(r() * a.length)]
  const clockA = new ManualClock(1000)
  const clockB = new ManualClock(1000)
  const logA = []
  const logB = []
  const a = make(Cache, cfg, clockA, logA, { policy })
  const b = make(Reference, cfg, clockB, logB, {})
  const trace = []
  for (let step = 0; step < steps; step++) {
    const x = r()
    const k = pick(keys)
    let op
    if (x < 0.3) {
      const v = pick(values)
      const opts = {}
      if (cfg.ttl && r() < 0.3) opts.ttl = 1 + Math.floor(r() * 20)
      if ((cfg.maxSize || cfg.maxEntrySize) && r() < 0.2) opts.size = 1 + Math.floor(r() * 5)
      if (r() < 0.1) opts.noDisposeOnSet = true
      if (cfg.ttl && r() < 0.1) opts.noUpdateTTL = true
      op = ['set', k, v, opts]
    } else if (x < 0.5) {
      const opts = {}
      if (r() < 0.2) opts.allowStale = r() < 0.5
      if (r() < 0.1) opts.updateAgeOnGet = true
      if (r() < 0.1) opts.noDeleteOnStaleGet = true
      op = ['get', k, opts]
    } else if (x < 0.56) op = ['has', k, r() < 0.2 ? { updateAgeOnHas: true } : {}]
    else if (x < 0.62) op = ['peek', k, r() < 0.3 ? { allowStale: true } : {}]
    else if (x < 0.68) op = ['delete', k]
    else if (x < 0.71) op = ordered ? ['pop'] : ['get', k, {}]
    else if (x < 0.8) op = ['advance', Math.SQRT1_2 * (1 + Math.floor(r() * 6))]
    else if (x < 0.83) op = ['purgeStale']
    else if (x < 0.86) op = ['getRemainingTTL', k]
    else if (x < 0.88) op = ['info', k]
    else if (x < 0.9) op = ['set', k, undefined]
    else if (x < 0.92) op = ['memo', k, r() < 0.5 ? { forceRefresh: true, context: pick(values) } : {}]
    else if (x < 0.94) op = ordered ? ['find', pick(values)] : ['get', k, {}]
    else if (x < 0.95) op = clears ? ['clear'] : ['get', k, {}]
    else if (x < 0.96) op = ordered ? ['load'] : ['has', k, {}]
    else op = ordered ? ['forEach'] : ['peek', k, {}]
    trace.push(op)
    const apply = (c, clock) => {
      try {
        switch (op[0]) {
          case 'set': {
            const status = {}
            const same = c.set(op[1], op[2], { ...op[3], status }) === c
            return [same ? 'this' : 'other', withoutTimes(status)]
          }
          case 'get':
          case 'has':
          case 'peek':
          case 'memo': {
            const status = {}
            const result = c[op[0]](op[1], { ...op[2], status })
            return [result, withoutTimes(status)]
          }
          case 'delete':
          case 'getRemainingTTL':
            return c[op[0]](op[1])
          case 'info': {
            const i = c.info(op[1])
            return i && { ...i, start: undefined }
          }
          case 'pop':
          case 'purgeStale':
          case 'clear':
            return c[op[0]]()
          case 'advance':
            return clock.advance(op[1])
          case 'find':
            return c.find((v) => v === op[1])
          case 'load':
            return c.load(c.dump())
          case 'forEach': {
            const seen = []
            c.forEach((v, key) => seen.push([key, v]))
            c.rforEach((v, key) => seen.push([key, v]))
            return seen
          }
        }
      } catch (e) {
        return `throws ${e.constructor.name}: ${e.message}`
      }
    }
    const ra = apply(a, clockA)
    const rb = apply(b, clockB)
    const where = () => `config ${JSON.stringify(cfg)} seed ${seed} step ${step}: ${JSON.stringify(trace.slice(-8))}`
    assert.deepEqual(ra, rb, `result differs, ${where()}`)
    if (ordered) assert.deepEqual(logA, logB, `callbacks differ, ${where()}`)
    else {
      // clear() and purgeStale() call back in iteration order (so the size a dispose sees
      // there depends on it too).
      const set = (log) => asMultiset(log.map((e) => e.slice(0, 4)))
      assert.deepEqual(set(logA), set(logB), `callbacks differ, ${where()}`)
    }
    // Each step compares its own callbacks (comparing the whole history made long runs slow).
    logA.length = logB.length = 0
    if (step % snapshotEvery === 0 || step === steps - 1) {
      const view = ordered ? snapshot : unordered
      assert.deepEqual(view(a), view(b), `state differs, ${where()}`)
    }
  }
}

// dump() and load() convert start times through Date.now(): a fixed, fractional Date.now()
// keeps them deterministic and the ages they produce off integer values.
const realDateNow = Date.now
test.before(() => {
  Date.now = () => 1.7e12 + 0.5
})
test.after(() => {
  Date.now = realDateNow
})

configs.forEach((cfg, ci) => {
  test(`same behaviour as lru-cache: ${JSON.stringify(cfg, (k, v) => (typeof v === 'function' ? 'fn' : v))}`, () => {
    for (let seed = 1; seed <= Number(process.env.SEEDS || 20); seed++) run(cfg, ci * 1000 + seed, 300)
  })
})

bigConfigs.forEach((cfg, ci) => {
  test(`same behaviour as lru-cache with victims chosen ahead: ${JSON.stringify(cfg)}`, () => {
    for (let seed = 1; seed <= 4; seed++) {
      run(cfg, 50_000 + ci * 1000 + seed, 4000, { keys: bigKeys, snapshotEvery: 97, clears: false })
    }
  })
})

// TinyLFU where the bound never binds (12 keys): every semantics but the eviction order must
// be lru-cache's, stale entries, TTLs, sizes and callbacks included.
const roomyConfigs = [
  { max: 20 },
  { max: 20, ttl: 10 },
  { max: 20, ttl: 10, updateAgeOnGet: true, noUpdateTTL: true },
  { max: 20, ttl: 10, updateAgeOnHas: true, allowStale: true, noDeleteOnStaleGet: true },
  { maxSize: 100, sizeCalculation: sizeOf, ttl: 15, noDisposeOnSet: true },
  { max: 20, maxEntrySize: 3, sizeCalculation: sizeOf },
]
roomyConfigs.forEach((cfg, ci) => {
  test(`TinyLFU without evictions behaves as lru-cache: ${JSON.stringify(cfg, (k, v) => (typeof v === 'function' ? 'fn' : v))}`, () => {
    for (let seed = 1; seed <= Number(process.env.SEEDS || 20); seed++) {
      run(cfg, 70_000 + ci * 1000 + seed, 300, { policy: 'tinylfu' })
    }
  })
})
