'use strict'
// fetch() under the default policy ('tinylfu') with the bound binding, where no reference
// reproduces the victims: random fetches (with the options that change them), settlements in
// any order, aborts, writes, reads, clock moves and purges, checked against what must hold
// whatever the policy evicts. Every value a read returns was written or loaded for that key;
// `dispose` reports each value at most once, under its own key, and never one still cached;
// the bounds hold after every step (fetches in flight count, as in lru-cache); every fetch
// settles once its load does; and at the end every cached value is one never disposed.
// (fetch-random.test.js compares 'lru', and TinyLFU without evictions, with lru-cache.)

const test = require('node:test')
const assert = require('node:assert/strict')
const { Cache } = require('..')
const { ManualClock, rng } = require('./helpers.js')

const tick = () => new Promise((r) => setImmediate(r))

const sizeOf = (v) => 1 + (v % 7)
const configs = [
  { max: 6 },
  { max: 6, ttl: 10 },
  { max: 6, ttl: 10, allowStale: true, noDeleteOnFetchRejection: true },
  { maxSize: 20, sizeCalculation: sizeOf, ttl: 10 },
  { max: 5, maxSize: 20, sizeCalculation: sizeOf, ttl: 10, updateAgeOnGet: true, allowStale: true },
  { max: 200, ttl: 300 }, // victims chosen ahead (see index.js, `#chosen`)
]

async function run(cfg, seed, steps, keyCount) {
  const r = rng(seed)
  const clock = new ManualClock(1000)
  const trace = []
  const where = () => `config ${JSON.stringify(cfg, (k, v) => (typeof v === 'function' ? 'fn' : v))} seed ${seed}: ${JSON.stringify(trace.slice(-10))}`
  // value -> { key, disposed }
  const values = new Map()
  let next = 0
  const fresh = (key) => {
    const v = next++
    values.set(v, { key, disposed: undefined })
    return v
  }
  const pending = []
  const controllers = []
  const outcomes = []
  const c = new Cache({
    ...cfg,
    perf: clock,
    ttlResolution: 0,
    fetchMethod: (key) => new Promise((resolve, reject) => pending.push({ key, resolve, reject })),
    dispose: (v, k, reason) => {
      // lru-cache's own state after a fetch with ignoreFetchAbort and noDeleteOnFetchRejection
      // was aborted and then loaded nothing: the key stays, holding undefined, and the write
      // that replaces it disposes that (fetch-random.test.js checks it against lru-cache).
      if (v === undefined) return
      const w = values.get(v)
      assert.ok(w, `disposed a value never written: ${v}, ${where()}`)
      assert.equal(w.key, k, `value ${v} disposed under another key, ${where()}`)
      assert.equal(w.disposed, undefined, `value ${v} disposed twice (${w.disposed}, ${reason}), ${where()}`)
      w.disposed = reason
    },
  })
  const read = (k, v, what) => {
    if (v === undefined) return
    const w = values.get(v)
    assert.ok(w && w.key === k, `${what} of ${k} returned ${v}, not a value of that key, ${where()}`)
  }
  const bounded = () => {
    if (cfg.max) assert.ok(c.size <= cfg.max, `size ${c.size} over max, ${where()}`)
    if (cfg.maxSize) assert.ok(c.calculatedSize <= cfg.maxSize, `calculatedSize over maxSize, ${where()}`)
  }
  for (let step = 0; step < steps; step++) {
    const x = r()
    const k = Math.floor(r() * keyCount)
    if (x < 0.3) {
      const opts = {}
      if (r() < 0.2) opts.forceRefresh = true
      if (r() < 0.2) opts.allowStale = r() < 0.5
      if (r() < 0.1) opts.allowStaleOnFetchAbort = true
      if (r() < 0.1) opts.ignoreFetchAbort = true
      if (r() < 0.1) opts.noDeleteOnFetchRejection = true
      if (r() < 0.3) {
        const ac = new AbortController()
        controllers.push(ac)
        opts.signal = ac.signal
      }
      trace.push(['fetch', k, { ...opts, signal: !!opts.signal }])
      const at = outcomes.length
      outcomes.push('pending')
      c.fetch(k, opts).then(
        (v) => {
          read(k, v, 'fetch')
          outcomes[at] = 'resolved'
        },
        () => (outcomes[at] = 'rejected'),
      )
    } else if (x < 0.45) {
      trace.push(['settle'])
      if (pending.length) {
        const p = pending.splice(Math.floor(r() * pending.length), 1)[0]
        const y = r()
        if (y < 0.7) p.resolve(fresh(p.key))
        else if (y < 0.85) p.resolve(undefined)
        else p.reject(new Error('boom'))
      }
    } else if (x < 0.5) {
      trace.push(['abort'])
      if (controllers.length) controllers[Math.floor(r() * controllers.length)].abort(new Error('user'))
    } else if (x < 0.62) {
      const v = fresh(k)
      trace.push(['set', k, v])
      c.set(k, v)
    } else if (x < 0.72) {
      trace.push(['get', k])
      read(k, c.get(k), 'get')
    } else if (x < 0.76) {
      trace.push(['peek', k])
      read(k, c.peek(k, { allowStale: true }), 'peek')
    } else if (x < 0.82) {
      trace.push(['delete', k])
      c.delete(k)
    } else if (x < 0.92) {
      const ms = Math.SQRT1_2 * (1 + Math.floor(r() * 8))
      trace.push(['advance', ms])
      clock.advance(ms)
    } else if (x < 0.95) {
      trace.push(['purgeStale'])
      c.purgeStale()
    } else {
      trace.push(['entries'])
      for (const [key, v] of c.entries()) read(key, v, 'entries')
    }
    bounded()
    await tick()
    bounded()
  }
  // Settle every load, then every fetch must have settled.
  for (const p of pending.splice(0)) p.resolve(fresh(p.key))
  await tick()
  await tick()
  assert.deepEqual(
    outcomes.map((o, i) => [i, o]).filter(([, o]) => o === 'pending'),
    [],
    `fetches still pending once their loads ended, ${where()}`,
  )
  bounded()
  for (const [key, v] of c.dump()) {
    const w = values.get(v.value)
    assert.ok(w && w.key === key, `cached ${key} = ${v.value}, not a value of that key, ${where()}`)
    assert.equal(w.disposed, undefined, `cached value ${v.value} was disposed (${w.disposed}), ${where()}`)
  }
}

configs.forEach((cfg, ci) => {
  test(`fetch under tinylfu keeps the invariants: ${JSON.stringify(cfg, (k, v) => (typeof v === 'function' ? 'fn' : v))}`, async () => {
    const big = (cfg.max ?? 0) >= 128
    for (let seed = 1; seed <= Number(process.env.SEEDS || (big ? 3 : 20)); seed++) {
      await run(cfg, 11_000 + ci * 100 + seed, big ? 3000 : 300, big ? 400 : 10)
    }
  })
})
