'use strict'
// fetch() against lru-cache 11 itself, at random: the same seeded sequences of fetches (with
// every per-call option that changes what a fetch does), settlements of the loads in any order
// (a value, `undefined`, a rejection), aborts, writes, reads and clock moves run in lockstep on
// lru-cache and on cortado's Cache with `policy: 'lru'`. After every step both must have
// returned the same, called their loaders, `dispose` and `disposeAfter` alike, and hold the same
// entries; every fetch must settle the same way with the same status object. The hand-written
// scenarios of fetch.test.js pin the documented cases; this looks for the combinations between.

const test = require('node:test')
const assert = require('node:assert/strict')
const { LRUCache: Reference } = require('lru-cache')
const { Cache } = require('..')
const { ManualClock, rng, byKey, asMultiset } = require('./helpers.js')

const tick = () => new Promise((r) => setImmediate(r))

const keys = ['a', 'b', 'c', 'd', 'e', 1, 2]
const sizeOf = (v) => (typeof v === 'string' ? v.length : 1)
const configs = [
  { max: 3 },
  { max: 3, ttl: 10 },
  { max: 3, ttl: 10, allowStale: true },
  { max: 3, ttl: 10, noDeleteOnFetchRejection: true },
  { max: 3, ttl: 10, allowStaleOnFetchRejection: true, allowStaleOnFetchAbort: true },
  { max: 3, ttl: 10, ignoreFetchAbort: true, allowStale: true },
  { max: 3, ttl: 10, updateAgeOnGet: true, noDeleteOnStaleGet: true },
  { maxSize: 8, sizeCalculation: sizeOf, ttl: 10 },
]

/** One cache under test, with its own loader, clock and callback log. */
function side(Class, cfg, extra) {
  const log = []
  const pending = []
  const clock = new ManualClock(1000)
  const fetchMethod = (k, stale, { signal, options, context }) => {
    log.push(['load', k, stale, context, options.forceRefresh ?? false])
    return new Promise((resolve, reject) => {
      pending.push({ resolve, reject })
      signal.addEventListener('abort', () => log.push(['signal aborted', k, reason(signal.reason)]))
    })
  }
  const tag = (name) => (v, k, r) => log.push([name, k, v, r])
  const cache = new Class({
    ...cfg,
    ...extra,
    fetchMethod,
    perf: clock,
    ttlResolution: 0,
    dispose: tag('dispose'),
    disposeAfter: tag('disposeAfter'),
  })
  // Outcomes of the fetches, by the step that started them.
  const outcomes = new Map()
  return { cache, log, pending, clock, outcomes, controllers: [] }
}

const reason = (e) => String(e?.message ?? e)

function cleanStatus(s) {
  const out = { ...s }
  delete out.cache
  if (out.fetchError) out.fetchError = reason(out.fetchError)
  return out
}

function snapshotInOrder(c) {
  return {
    size: c.size,
    calculatedSize: c.calculatedSize,
    entries: [...c.entries()],
    stale: c.dump().map(([k, e]) => [k, e.value, e.ttl]),
  }
}

/** `snapshot` as a set, for TinyLFU, whose order is the policy's own. */
function unordered(c) {
  const s = snapshotInOrder(c)
  return { ...s, entries: s.entries.sort(byKey), stale: s.stale.sort(byKey) }
}

async function run(cfg, seed, steps, policy = 'lru', keySet = keys) {
  const r = rng(seed)
  const pick = (a) => a[Math.floor(r() * a.length)]
  const snapshot = policy === 'lru' ? snapshotInOrder : unordered
  // purgeStale() calls back in iteration order.
  const calls = policy === 'lru' ? (log) => log : asMultiset
  const A = side(Cache, cfg, { policy })
  const B = side(Reference, cfg, {})
  const trace = []
  let n = 0
  for (let step = 0; step < steps; step++) {
    const x = r()
    const k = pick(keySet)
    let op
    if (x < 0.3) {
      const opts = {}
      if (r() < 0.2) opts.forceRefresh = true
      if (r() < 0.2) opts.allowStale = r() < 0.5
      if (r() < 0.1) opts.noDeleteOnFetchRejection = true
      if (r() < 0.1) opts.allowStaleOnFetchRejection = true
      if (r() < 0.1) opts.allowStaleOnFetchAbort = true
      if (r() < 0.1) opts.ignoreFetchAbort = true
      if (policy !== 'lru' && (opts.allowStaleOnFetchAbort || cfg.allowStaleOnFetchAbort)) {
        // With both, a late value lands if its entry's slot is still free, and TinyLFU frees
        // slots in its own order (purgeStale, clear): README, "Differences from lru-cache".
        opts.ignoreFetchAbort = false
      }
      if (r() < 0.1) opts.noDeleteOnStaleGet = true
      if (cfg.ttl && r() < 0.15) opts.ttl = 1 + Math.floor(r() * 20)
      if (r() < 0.3) opts.context = `ctx${step}`
      op = ['fetch', k, opts, r() < 0.3]
    } else if (x < 0.45) {
      op = ['settle', Math.floor(r() * 8), pick(['value', 'value', 'undefined', 'reject'])]
    } else if (x < 0.5) op = ['abort', Math.floor(r() * 8)]
    else if (x < 0.6) op = ['set', k, `v${n++}`]
    else if (x < 0.68) op = ['get', k, r() < 0.3 ? { allowStale: true } : {}]
    else if (x < 0.72) op = ['has', k]
    else if (x < 0.76) op = ['peek', k]
    else if (x < 0.82) op = ['delete', k]
    else if (x < 0.9) op = ['advance', Math.SQRT1_2 * (1 + Math.floor(r() * 8))]
    else if (x < 0.93) op = ['purgeStale']
    else if (x < 0.96) op = ['forceFetch', k]
    else op = ['tick']
    trace.push(op)
    const apply = (s) => {
      const c = s.cache
      try {
        switch (op[0]) {
          case 'fetch':
          case 'forceFetch': {
            const opts = { ...op[2] }
            const status = {}
            opts.status = status
            if (op[3]) {
              const ac = new AbortController()
              s.controllers.push(ac)
              opts.signal = ac.signal
            }
            const p = c[op[0]](op[1], opts)
            s.outcomes.set(step, 'pending')
            p.then(
              (v) => s.outcomes.set(step, ['resolved', v, cleanStatus(status)]),
              (e) => s.outcomes.set(step, ['rejected', reason(e), cleanStatus(status)]),
            )
            return 'promise'
          }
          case 'settle': {
            const live = s.pending
            if (live.length === 0) return 'nothing pending'
            const p = live[op[1] % live.length]
            if (op[2] === 'reject') p.reject(new Error(`boom${step}`))
            else p.resolve(op[2] === 'value' ? `loaded${step}` : undefined)
            return 'settled'
          }
          case 'abort': {
            if (s.controllers.length === 0) return 'no signal'
            s.controllers[op[1] % s.controllers.length].abort(new Error(`abort${step}`))
            return 'aborted'
          }
          case 'set':
            return c.set(op[1], op[2]) === c
          case 'get':
          case 'peek':
            return c[op[0]](op[1], { ...op[2] })
          case 'has':
          case 'delete':
            return c[op[0]](op[1])
          case 'purgeStale':
            return c.purgeStale()
          case 'advance':
            return s.clock.advance(op[1])
          case 'tick':
            return 'tick'
        }
      } catch (e) {
        return `throws ${e.constructor.name}: ${e.message}`
      }
    }
    const ra = apply(A)
    const rb = apply(B)
    // Settle what the step set off (promise callbacks, and through them disposals) before
    // comparing; each cache's microtasks run to the end within the tick.
    await tick()
    const where = () => `config ${JSON.stringify(cfg, (k, v) => (typeof v === 'function' ? 'fn' : v))} seed ${seed} step ${step}: ${JSON.stringify(trace.slice(-10))}`
    assert.deepEqual(ra, rb, `result differs, ${where()}`)
    assert.deepEqual(calls(A.log), calls(B.log), `loads or callbacks differ, ${where()}`)
    A.log.length = B.log.length = 0
    assert.deepEqual(snapshot(A.cache), snapshot(B.cache), `state differs, ${where()}`)
    assert.deepEqual([...A.outcomes], [...B.outcomes], `fetch outcomes differ, ${where()}`)
  }
  // Settle every load still out, then compare where each fetch ended.
  for (const s of [A, B]) for (const p of s.pending) p.resolve('late')
  await tick()
  await tick()
  assert.deepEqual([...A.outcomes], [...B.outcomes], `final fetch outcomes differ, seed ${seed}`)
  assert.deepEqual(calls(A.log), calls(B.log), `final callbacks differ, seed ${seed}`)
  assert.deepEqual(snapshot(A.cache), snapshot(B.cache), `final state differs, seed ${seed}`)
}

configs.forEach((cfg, ci) => {
  test(`fetch behaves as lru-cache's: ${JSON.stringify(cfg, (k, v) => (typeof v === 'function' ? 'fn' : v))}`, async () => {
    for (let seed = 1; seed <= Number(process.env.SEEDS || 15); seed++) await run(cfg, 7000 + ci * 100 + seed, 150)
  })
})

// TinyLFU where the bound never binds (7 keys): fetch must behave as lru-cache's all the same.
const roomyConfigs = [
  { max: 20, ttl: 10 },
  { max: 20, ttl: 10, allowStale: true, noDeleteOnFetchRejection: true },
  { maxSize: 100, sizeCalculation: sizeOf, ttl: 10, allowStaleOnFetchAbort: true },
]
roomyConfigs.forEach((cfg, ci) => {
  test(`fetch under TinyLFU without evictions behaves as lru-cache's: ${JSON.stringify(cfg, (k, v) => (typeof v === 'function' ? 'fn' : v))}`, async () => {
    for (let seed = 1; seed <= Number(process.env.SEEDS || 15); seed++) {
      await run(cfg, 9000 + ci * 100 + seed, 150, 'tinylfu')
    }
  })
})

// 'lru' caches of 128 entries or more choose their victims ahead (see index.js, `#chosen`):
// fetches into a cache filled many times over.
const bigKeys = Array.from({ length: 300 }, (_, i) => (i % 2 ? `k${i}` : i))
test('fetch behaves as lru-cache\'s with victims chosen ahead', async () => {
  for (const cfg of [{ max: 150 }, { max: 150, ttl: 60 }]) {
    for (let seed = 1; seed <= Number(process.env.SEEDS || 4); seed++) {
      await run(cfg, 9900 + seed, 1500, 'lru', bigKeys)
    }
  }
})
