'use strict'
// SharedCache under random operations on one thread, checked against what must hold whatever
// the policy evicts: a value read is the key's latest and not expired, a value just set is
// there, the bounds hold, and every value ever set is still in the cache or was disposed
// exactly once, for a reason its history allows. Values are unique strings of varying length,
// so under `maxSize` many weigh more than the admission window's share.

const test = require('node:test')
const assert = require('node:assert/strict')
const { SharedCache } = require('..')
const { rng } = require('./helpers.js')

let seq = 0
const configs = [
  { max: 8 },
  { max: 8, ttl: 10 },
  { max: 8, ttl: 10, updateAgeOnGet: true },
  { maxSize: 300 },
  { maxSize: 300, ttl: 12, updateAgeOnGet: true },
  { max: 8, policy: 'lru' },
]

function run(cfg, seed, steps) {
  const r = rng(seed)
  let now = 0
  // value -> { key, start, ttl, disposed }
  const written = new Map()
  const latest = new Map()
  const stale = (w) => w.ttl > 0 && now - w.start >= w.ttl
  const c = new SharedCache(`shared-model-${process.pid}-${seq++}`, {
    ...cfg,
    manualClock: true,
    dispose: (v, k, reason) => {
      const w = written.get(v)
      assert.ok(w, `disposed a value never set: ${v}`)
      assert.equal(w.key, k)
      assert.equal(w.disposed, undefined, `value ${v} disposed twice (${w.disposed}, then ${reason})`)
      if (reason === 'expire') assert.ok(stale(w), `value ${v} expired before its time`)
      if (reason === 'set') assert.notEqual(latest.get(k), v)
      w.disposed = reason
    },
  })
  const trace = []
  const where = () => `config ${JSON.stringify(cfg)} seed ${seed}: ${JSON.stringify(trace.slice(-10))}`
  const returned = (k, v) => {
    if (v === undefined) return
    assert.equal(v, latest.get(k), `stale value for ${k}, ${where()}`)
    const w = written.get(v)
    assert.equal(w.disposed, undefined, `value ${v} returned after its dispose, ${where()}`)
    assert.ok(!stale(w), `value ${v} returned expired, ${where()}`)
  }
  try {
    for (let step = 0; step < steps; step++) {
      const x = r()
      const k = `k${Math.floor(r() * 20)}`
      if (x < 0.35) {
        const v = `v${step}:${'x'.repeat(Math.floor(r() * 60))}`
        const opts = {}
        if (cfg.ttl && r() < 0.3) opts.ttl = 1 + Math.floor(r() * 20)
        trace.push(['set', k, v.length, opts])
        written.set(v, { key: k, start: now, ttl: opts.ttl ?? cfg.ttl ?? 0, disposed: undefined })
        latest.set(k, v)
        c.set(k, v, opts)
        assert.equal(c.peek(k), v, `a value just set is not there, ${where()}`)
      } else if (x < 0.6) {
        trace.push(['get', k])
        const v = c.get(k)
        returned(k, v)
        if (v !== undefined && cfg.updateAgeOnGet) written.get(v).start = now
      } else if (x < 0.66) {
        trace.push(['has', k])
        if (c.has(k)) returned(k, c.peek(k))
      } else if (x < 0.72) {
        trace.push(['peek', k])
        returned(k, c.peek(k))
      } else if (x < 0.78) {
        trace.push(['delete', k])
        c.delete(k)
        assert.equal(c.peek(k), undefined)
      } else if (x < 0.9) {
        const ms = 1 + Math.floor(r() * 5)
        trace.push(['advance', ms])
        c.advanceClock(ms)
        now += ms
      } else if (x < 0.91) {
        trace.push(['clear'])
        c.clear()
        assert.equal(c.size, 0)
      } else {
        trace.push(['keys'])
        for (const key of c.keys()) returned(key, c.peek(key))
      }
      if (cfg.max) assert.ok(c.size <= cfg.max, `size ${c.size} over max, ${where()}`)
      if (cfg.maxSize) assert.ok(c.calculatedSize <= cfg.maxSize, `calculatedSize over maxSize, ${where()}`)
    }
    // Whatever is left is present, or was disposed once.
    const present = new Map()
    for (const key of c.keys()) {
      const v = c.peek(key)
      if (v !== undefined) present.set(v, key)
    }
    for (const [v, w] of written) {
      if (present.has(v)) {
        assert.equal(w.disposed, undefined, `value ${v} disposed and still present, ${where()}`)
        assert.equal(latest.get(w.key), v, `replaced value ${v} still present, ${where()}`)
      } else if (w.disposed === undefined) {
        // Expired and not reclaimed yet is allowed; anything else was lost.
        assert.ok(stale(w), `value ${v} of key ${w.key} lost without a dispose, ${where()}`)
      }
    }
  } finally {
    c.close()
  }
}

configs.forEach((cfg, ci) => {
  test(`SharedCache invariants under random operations: ${JSON.stringify(cfg)}`, () => {
    for (let seed = 1; seed <= 20; seed++) run(cfg, 7000 + ci * 100 + seed, 400)
  })
})
