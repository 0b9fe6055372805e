'use strict'
// SharedCache.fetch under random interleavings on one thread: fetches, settlements of their
// loads in any order (a value, nothing, an error), sets, deletes, clears, reads and clock
// moves, checked against the invariant model (helpers.js) plus the rule for loads: a load's
// value is stored if and only if its key was not set, deleted or cleared since the load was
// claimed; a fetch that comes after such a write starts a load of its own rather than wait.

const test = require('node:test')
const assert = require('node:assert/strict')
const { SharedCache } = require('..')
const { rng, InvariantModel } = require('./helpers.js')

const tick = () => new Promise((r) => setImmediate(r))
let seq = 0
const configs = [{ max: 6 }, { max: 6, ttl: 10 }, { maxSize: 200 }, { max: 6, policy: 'lru' }]

async function run(cfg, seed, steps) {
  const r = rng(seed)
  let now = 0
  const trace = []
  const where = () => `config ${JSON.stringify(cfg)} seed ${seed}: ${JSON.stringify(trace.slice(-10))}`
  const model = new InvariantModel(() => now, where)
  const version = new Map() // key -> writes so far
  const bump = (k) => version.set(k, (version.get(k) ?? 0) + 1)
  const pending = [] // loads in flight: { k, claimed, resolve, reject }
  const c = new SharedCache(`shared-fetch-model-${process.pid}-${seq++}`, {
    ...cfg,
    manualClock: true,
    dispose: model.dispose,
    fetchMethod: (k) =>
      new Promise((resolve, reject) => pending.push({ k, claimed: version.get(k) ?? 0, resolve, reject })),
  })
  const outcomes = []
  let next = 0
  try {
    for (let step = 0; step < steps; step++) {
      const x = r()
      const k = `k${Math.floor(r() * 8)}`
      if (x < 0.3) {
        trace.push(['fetch', k])
        // A fetch of a key with a load in flight joins it, unless a write came since.
        const inFlight = pending.some((p) => p.k === k && p.claimed === (version.get(k) ?? 0))
        const absent = c.peek(k) === undefined
        const loads = pending.length
        const at = outcomes.length
        outcomes.push('pending')
        c.fetch(k).then(
          (v) => {
            model.returned(k, v === undefined ? undefined : c.peek(k) === v ? v : undefined)
            outcomes[at] = 'settled'
          },
          () => (outcomes[at] = 'settled'),
        )
        if (inFlight) assert.equal(pending.length, loads, `a fetch did not join the load in flight, ${where()}`)
        else if (absent) assert.equal(pending.length, loads + 1, `a fetch of a missing key did not load, ${where()}`)
      } else if (x < 0.45) {
        trace.push(['settle'])
        if (pending.length) {
          const p = pending.splice(Math.floor(r() * pending.length), 1)[0]
          const y = r()
          if (y < 0.7) {
            const v = `L${next++}:${'y'.repeat(Math.floor(r() * 40))}`
            // Stored if nothing wrote the key since the load was claimed.
            if ((version.get(p.k) ?? 0) === p.claimed) model.wrote(p.k, v, cfg.ttl ?? 0)
            p.resolve(v)
          } else if (y < 0.85) {
            p.resolve(undefined)
          } else {
            p.reject(new Error('boom'))
          }
        }
      } else if (x < 0.6) {
        const v = `S${next++}:${'x'.repeat(Math.floor(r() * 40))}`
        trace.push(['set', k])
        bump(k)
        model.wrote(k, v, cfg.ttl ?? 0)
        c.set(k, v)
        assert.equal(c.peek(k), v, `a value just set is not there, ${where()}`)
      } else if (x < 0.75) {
        trace.push(['get', k])
        model.returned(k, c.get(k))
      } else if (x < 0.82) {
        trace.push(['delete', k])
        bump(k)
        c.delete(k)
      } else if (x < 0.84) {
        trace.push(['clear'])
        for (let i = 0; i < 8; i++) bump(`k${i}`)
        c.clear()
      } else {
        const ms = 1 + Math.floor(r() * 4)
        trace.push(['advance', ms])
        c.advanceClock(ms)
        now += ms
      }
      await tick()
      if (cfg.max) assert.ok(c.size <= cfg.max, `size ${c.size} over max, ${where()}`)
      if (cfg.maxSize) assert.ok(c.calculatedSize <= cfg.maxSize, `calculatedSize over maxSize, ${where()}`)
      for (const key of c.keys()) model.returned(key, c.peek(key))
    }
    for (const p of pending.splice(0)) p.resolve(undefined)
    await tick()
    await tick()
    assert.deepEqual(
      outcomes.filter((o) => o === 'pending'),
      [],
      `fetches still pending once their loads ended, ${where()}`,
    )
    c.purgeStale()
    const present = new Map()
    for (const key of c.keys()) {
      const v = c.peek(key)
      if (v !== undefined) present.set(v, key)
    }
    model.settle(present)
  } finally {
    c.close()
  }
}

configs.forEach((cfg, ci) => {
  test(`SharedCache fetch stores a load unless a write overtook it: ${JSON.stringify(cfg)}`, async () => {
    for (let seed = 1; seed <= Number(process.env.SEEDS || 15); seed++) await run(cfg, 15_000 + ci * 100 + seed, 300)
  })
})
