'use strict'
// Random operation sequences on the default policy ('tinylfu'), whose choices of victims no
// reference reproduces, checked against what must hold whatever it chooses (InvariantModel in
// helpers.js): a value read is the key's latest and not stale, a value just set is there, the
// bounds hold after every call, and every value ever set is either still in the cache or was
// disposed exactly once, for a reason its history allows. (lru-compat.test.js compares
// `policy: 'lru'` with lru-cache.)
//
// Values are unique numbers. Time is a manual `perf` clock moved in multiples of 1/sqrt(2) ms,
// so an entry's age never equals its (integer) ttl.

const test = require('node:test')
const assert = require('node:assert/strict')
const { Cache } = require('..')
const { ManualClock, rng, InvariantModel } = require('./helpers.js')

// Sizes up to a quarter of maxSize: many weigh more than the admission window's share.
const sizeOf = (v) => 1 + (v % 25)
const configs = [
  { max: 8 },
  { max: 8, ttl: 10 },
  { max: 8, ttl: 10, updateAgeOnGet: true },
  { maxSize: 100, sizeCalculation: sizeOf },
  { max: 12, maxSize: 100, sizeCalculation: sizeOf, ttl: 12 },
  // 128 entries or more: victims are chosen a few inserts ahead (see index.js, `#chosen`).
  { max: 200 },
  { max: 200, ttl: 300 },
  { max: 200, ttl: 300, updateAgeOnGet: true },
  { max: 200, ttl: 100, ttlAutopurge: true },
  { max: 150, maxSize: 1500, sizeCalculation: sizeOf, ttl: 200 },
]

function run(cfg, seed, steps, keyCount) {
  const r = rng(seed)
  const clock = new ManualClock(1000)
  const trace = []
  const where = () => `config ${JSON.stringify(cfg)} seed ${seed}: ${JSON.stringify(trace.slice(-10))}`
  const model = new InvariantModel(() => clock.now(), where)
  let next = 0
  // memo() computes a missing or stale value through memoMethod and stores it: a write.
  let computed = false
  const memoMethod = (k) => {
    computed = true
    const v = next++
    model.wrote(k, v, cfg.ttl ?? 0)
    return v
  }
  const c = new Cache({ ...cfg, perf: clock, ttlResolution: 0, dispose: model.dispose, memoMethod })
  for (let step = 0; step < steps; step++) {
    const x = r()
    const k = Math.floor(r() * keyCount)
    if (x < 0.35) {
      const v = next++
      const opts = {}
      if (cfg.ttl && r() < 0.3) opts.ttl = 1 + Math.floor(r() * 20)
      trace.push(['set', k, v, opts])
      if (cfg.ttl && !opts.ttl && r() < 0.2) opts.noUpdateTTL = true
      const old = opts.noUpdateTTL ? c.peek(k, { allowStale: true }) : undefined
      model.wrote(k, v, opts.ttl ?? cfg.ttl ?? 0)
      if (old !== undefined) {
        // noUpdateTTL: a replacement keeps the entry's start and ttl, stale or not.
        const [was, now] = [model.written.get(old), model.written.get(v)]
        now.start = was.start
        now.ttl = was.ttl
      }
      c.set(k, v, opts)
      // (With noUpdateTTL over a stale entry, the new value is stale at once, as in lru-cache.)
      assert.equal(c.peek(k, { allowStale: !!opts.noUpdateTTL }), v, `a value just set is not there, ${where()}`)
    } else if (x < 0.6) {
      trace.push(['get', k])
      const v = c.get(k)
      model.returned(k, v)
      if (v !== undefined && cfg.updateAgeOnGet) model.restarted(v)
    } else if (x < 0.66) {
      trace.push(['has', k])
      if (c.has(k)) model.returned(k, c.peek(k))
    } else if (x < 0.72) {
      trace.push(['peek', k])
      model.returned(k, c.peek(k))
    } else if (x < 0.78) {
      trace.push(['delete', k])
      c.delete(k)
      assert.equal(c.peek(k), undefined)
    } else if (x < 0.8) {
      trace.push(['pop'])
      const v = c.pop()
      if (v !== undefined) assert.equal(model.written.get(v).disposed, 'evict', `pop of ${v} not disposed as evict`)
    } else if (x < 0.9) {
      const ms = Math.SQRT1_2 * (1 + Math.floor(r() * 6))
      trace.push(['advance', ms])
      clock.advance(ms)
    } else if (x < 0.93) {
      trace.push(['purgeStale'])
      c.purgeStale()
    } else if (x < 0.935) {
      const forceRefresh = r() < 0.3
      trace.push(['memo', k, forceRefresh])
      computed = false
      const v = c.memo(k, { forceRefresh })
      model.returned(k, v)
      // A hit is a get: with updateAgeOnGet its age starts again.
      if (!computed && cfg.updateAgeOnGet) model.restarted(v)
      assert.equal(c.peek(k), v, `a value memo returned is not there, ${where()}`)
    } else if (x < 0.94) {
      trace.push(['clear'])
      c.clear()
      assert.equal(c.size, 0)
    } else {
      trace.push(['entries'])
      for (const [key, v] of c.entries()) model.returned(key, v)
    }
    if (cfg.max) assert.ok(c.size <= cfg.max, `size ${c.size} over max, ${where()}`)
    if (cfg.maxSize) assert.ok(c.calculatedSize <= cfg.maxSize, `calculatedSize over maxSize, ${where()}`)
  }
  c.purgeStale()
  const present = new Map([...c.entries()].map(([key, v]) => [v, key]))
  assert.equal(present.size, c.size, `entries() and size disagree, ${where()}`)
  model.settle(present)
}

configs.forEach((cfg, ci) => {
  test(`tinylfu invariants under random operations: ${JSON.stringify(cfg, (k, v) => (typeof v === 'function' ? 'fn' : v))}`, () => {
    const big = (cfg.max ?? 0) >= 128
    for (let seed = 1; seed <= Number(process.env.SEEDS || (big ? 20 : 30)); seed++) {
      run(cfg, ci * 1000 + seed, big ? 4000 : 400, big ? 500 : 20)
    }
  })
})
