'use strict'
// SharedCache under random operations on one thread, checked against what must hold whatever
// the policy evicts (InvariantModel in helpers.js): a value read is the key's latest and not
// expired, a value just set is there, the bounds hold, and every value ever set is still in
// the cache or was disposed exactly once, for a reason its history allows. Values are unique
// strings of varying length, so under `maxSize` many weigh more than the admission window's
// share.

const test = require('node:test')
const assert = require('node:assert/strict')
const { SharedCache } = require('..')
const { rng, InvariantModel } = require('./helpers.js')

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
  const trace = []
  const where = () => `config ${JSON.stringify(cfg)} seed ${seed}: ${JSON.stringify(trace.slice(-10))}`
  const model = new InvariantModel(() => now, where)
  const c = new SharedCache(`shared-model-${process.pid}-${seq++}`, { ...cfg, manualClock: true, dispose: model.dispose })
  try {
    for (let step = 0; step < steps; step++) {
      const x = r()
      const k = `k${Math.floor(r() * 20)}`
      if (x < 0.35) {
        const v = `v${step}:${'x'.repeat(Math.floor(r() * 60))}`
        const opts = {}
        if (cfg.ttl && r() < 0.3) opts.ttl = 1 + Math.floor(r() * 20)
        trace.push(['set', k, v.length, opts])
        model.wrote(k, v, opts.ttl ?? cfg.ttl ?? 0)
        c.set(k, v, opts)
        assert.equal(c.peek(k), v, `a value just set is not there, ${where()}`)
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
      } else if (x < 0.88) {
        const ms = 1 + Math.floor(r() * 5)
        trace.push(['advance', ms])
        c.advanceClock(ms)
        now += ms
      } else if (x < 0.9) {
        trace.push(['purgeStale'])
        c.purgeStale()
      } else if (x < 0.91) {
        trace.push(['clear'])
        c.clear()
        assert.equal(c.size, 0)
      } else {
        trace.push(['keys'])
        for (const key of c.keys()) model.returned(key, c.peek(key))
      }
      if (cfg.max) assert.ok(c.size <= cfg.max, `size ${c.size} over max, ${where()}`)
      if (cfg.maxSize) assert.ok(c.calculatedSize <= cfg.maxSize, `calculatedSize over maxSize, ${where()}`)
    }
    c.purgeStale()
    const present = new Map()
    for (const key of c.keys()) {
      const v = c.peek(key)
      if (v !== undefined) present.set(v, key)
    }
    assert.equal(present.size, c.size, `keys() and size disagree, ${where()}`)
    model.settle(present)
  } finally {
    c.close()
  }
}

configs.forEach((cfg, ci) => {
  test(`SharedCache invariants under random operations: ${JSON.stringify(cfg)}`, () => {
    for (let seed = 1; seed <= 20; seed++) run(cfg, 7000 + ci * 100 + seed, 400)
  })
})
