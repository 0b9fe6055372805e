'use strict'
// ttlAutopurge at random, on mocked timers and a manual clock moved together: whatever the
// policy (TinyLFU, with victims chosen ahead in the larger caches, or LRU), once time has moved
// past an entry's deadline by more than the timer's millisecond of slack, the entry is gone,
// disposed with reason 'expire'; and every value ever set is still cached or was disposed once
// for a reason its history allows (InvariantModel in helpers.js).

const test = require('node:test')
const assert = require('node:assert/strict')
const { Cache } = require('..')
const { ManualClock, rng, InvariantModel } = require('./helpers.js')

// [options, share of steps that set]
const configs = [
  [{ max: 8, ttl: 10 }, 0.45],
  [{ max: 8, ttl: 10, policy: 'lru' }, 0.45],
  [{ max: 8, ttl: 10, updateAgeOnGet: true }, 0.45],
  [{ max: 200, ttl: 40 }, 0.45], // victims chosen ahead
  [{ max: 200, ttl: 40, policy: 'lru' }, 0.45],
  // Few writes after a full cache: victims chosen ahead wait long enough to expire.
  [{ max: 200, ttl: 40 }, 0.1],
]

function run(t, cfg, setShare, seed, steps, keyCount) {
  const r = rng(seed)
  const clock = new ManualClock(1000)
  const trace = []
  const where = () => `config ${JSON.stringify(cfg)} seed ${seed}: ${JSON.stringify(trace.slice(-10))}`
  const model = new InvariantModel(() => clock.now(), where)
  const c = new Cache({ ...cfg, ttlAutopurge: true, perf: clock, ttlResolution: 0, dispose: model.dispose })
  let next = 0
  for (let step = 0; step < steps; step++) {
    const x = r()
    const k = Math.floor(r() * keyCount)
    if (x < setShare || step < 2 * cfg.max) {
      const v = next++
      const opts = r() < 0.3 ? { ttl: 1 + Math.floor(r() * 30) } : {}
      trace.push(['set', k, v, opts])
      model.wrote(k, v, opts.ttl ?? cfg.ttl)
      c.set(k, v, opts)
    } else if (x < 0.7) {
      trace.push(['get', k])
      const v = c.get(k)
      model.returned(k, v)
      if (v !== undefined && cfg.updateAgeOnGet) model.restarted(v)
    } else if (x < 0.75) {
      trace.push(['delete', k])
      c.delete(k)
    } else {
      const ms = Math.SQRT1_2 * (1 + Math.floor(r() * 8))
      trace.push(['advance', ms])
      clock.advance(ms)
      t.mock.timers.tick(ms)
      // The purge timer fires a millisecond after the earliest deadline (setTimeout's grain):
      // nothing cached may be more than that past its deadline.
      for (const [key, e] of c.dump()) {
        const w = model.written.get(e.value)
        assert.ok(
          w.ttl === 0 || clock.now() - w.start < w.ttl + 1.5,
          `${key} = ${e.value} still cached ${clock.now() - w.start - w.ttl} ms past its ttl, ${where()}`,
        )
      }
    }
    assert.ok(c.size <= cfg.max, `size ${c.size} over max, ${where()}`)
  }
  c.purgeStale()
  const present = new Map([...c.entries()].map(([key, v]) => [v, key]))
  assert.equal(present.size, c.size, `entries() and size disagree, ${where()}`)
  model.settle(present)
}

configs.forEach(([cfg, setShare], ci) => {
  test(`ttlAutopurge purges on time: ${JSON.stringify(cfg)}, ${setShare} sets`, (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] })
    const big = cfg.max >= 128
    for (let seed = 1; seed <= Number(process.env.SEEDS || (big ? 6 : 30)); seed++) {
      run(t, cfg, setShare, 13_000 + ci * 100 + seed, big ? 3000 : 300, big ? 500 : 20)
    }
  })
})
