'use strict'
// fetch(), forceFetch() and memo(): each scenario runs on lru-cache and on cortado's Cache
// ('lru' policy) and must produce the same trace (results, loader calls, dispose calls,
// status objects, abort reasons); plus cortado-only checks under TinyLFU.

const test = require('node:test')
const assert = require('node:assert/strict')
const { LRUCache: Reference } = require('lru-cache')
const { Cache } = require('..')
const { ManualClock } = require('./helpers.js')

const tick = () => new Promise((r) => setImmediate(r))

/** A fetchMethod whose loads the scenario settles by hand. */
function loader() {
  const pending = []
  const calls = []
  const fetchMethod = (k, stale, { signal, options, context }) => {
    calls.push([k, stale, context, !!signal])
    return new Promise((resolve, reject) => {
      pending.push({ k, resolve, reject, signal })
      signal.addEventListener('abort', () => calls.push(['aborted', k, String(signal.reason?.message ?? signal.reason)]))
    })
  }
  return { pending, calls, fetchMethod }
}

function clean(status) {
  const s = { ...status }
  delete s.cache
  if (s.fetchError) s.fetchError = String(s.fetchError.message ?? s.fetchError)
  return s
}

async function both(scenario) {
  const out = []
  for (const [name, Class, extra] of [
    ['lru-cache', Reference, {}],
    ['cortado', Cache, { policy: 'lru' }],
  ]) {
    const trace = []
    const l = loader()
    const clock = new ManualClock(1000)
    const make = (opts) =>
      new Class({
        fetchMethod: l.fetchMethod,
        dispose: (v, k, r) => trace.push(['dispose', k, v, r]),
        perf: clock,
        ttlResolution: 0,
        ...opts,
        ...extra,
      })
    const settle = async (p) => {
      try {
        return ['resolved', await p]
      } catch (e) {
        return ['rejected', String(e?.message ?? e)]
      }
    }
    await scenario({ make, l, trace, clock, settle })
    trace.push(['calls', l.calls])
    out.push([name, trace])
  }
  assert.deepEqual(out[1][1], out[0][1])
}

test('concurrent fetches of one key share one load', () =>
  both(async ({ make, l, trace, settle }) => {
    const c = make({ max: 3 })
    const p1 = c.fetch('k', { context: 'first' })
    const p2 = c.fetch('k', { context: 'second' })
    trace.push(['size while loading', c.size, c.has('k'), c.get('k')])
    await tick()
    l.pending[0].resolve('v')
    trace.push(['results', await settle(p1), await settle(p2)])
    trace.push(['after', c.get('k'), c.size])
  }))

test('a fresh value is returned without loading; forceRefresh loads again', () =>
  both(async ({ make, l, trace, settle }) => {
    const c = make({ max: 3 })
    c.set('k', 'old')
    const s1 = {}
    trace.push(['hit', await c.fetch('k', { status: s1 }), clean(s1)])
    const s2 = {}
    const p = c.fetch('k', { forceRefresh: true, status: s2 })
    trace.push(['while refreshing', c.get('k'), c.peek('k')])
    await tick()
    l.pending[0].resolve('new')
    trace.push(['refreshed', await settle(p), clean(s2), c.get('k')])
  }))

test('stale-while-revalidate with allowStale', () =>
  both(async ({ make, l, trace, settle, clock }) => {
    const c = make({ max: 3, ttl: 10, allowStale: true })
    c.set('k', 'old')
    clock.advance(15.5)
    const s = {}
    trace.push(['stale returned', await c.fetch('k', { status: s }), clean(s)])
    trace.push(['get while refreshing', c.get('k'), c.has('k')])
    await tick()
    l.pending[0].resolve('new')
    await tick()
    trace.push(['after', c.get('k'), c.getRemainingTTL('k')])
  }))

test('a resolved undefined deletes the entry (reason fetch)', () =>
  both(async ({ make, l, trace, settle, clock }) => {
    const c = make({ max: 3, ttl: 10 })
    c.set('k', 'old')
    clock.advance(12.5)
    const p = c.fetch('k')
    await tick()
    l.pending[0].resolve(undefined)
    trace.push(['result', await settle(p), c.size, c.peek('k', { allowStale: true })])
    const q = c.fetch('m')
    await tick()
    l.pending[1].resolve(undefined)
    trace.push(['miss undefined', await settle(q), c.size])
  }))

test('rejections: default deletes, noDeleteOnFetchRejection keeps, allowStaleOnFetchRejection returns stale', () =>
  both(async ({ make, l, trace, settle, clock }) => {
    for (const opts of [{}, { noDeleteOnFetchRejection: true }, { allowStaleOnFetchRejection: true }]) {
      const c = make({ max: 3, ttl: 10, ...opts })
      c.set('k', 'old')
      clock.advance(11.5)
      const s = {}
      const p = c.fetch('k', { status: s })
      await tick()
      l.pending[l.pending.length - 1].reject(new Error('boom'))
      trace.push([opts, await settle(p), clean(s), c.size, c.peek('k', { allowStale: true })])
    }
  }))

test('an AbortSignal aborts the fetch; allowStaleOnFetchAbort and ignoreFetchAbort', () =>
  both(async ({ make, l, trace, settle, clock }) => {
    for (const opts of [{}, { allowStaleOnFetchAbort: true }, { ignoreFetchAbort: true }]) {
      const c = make({ max: 3, ttl: 10, ...opts })
      c.set('k', 'old')
      clock.advance(11.5)
      const ac = new AbortController()
      const s = {}
      const p = settle(c.fetch('k', { signal: ac.signal, status: s }))
      await tick()
      ac.abort(new Error('user abort'))
      await tick()
      trace.push([opts, 'after abort', c.peek('k', { allowStale: true }), c.size])
      l.pending[l.pending.length - 1].resolve('late')
      trace.push([opts, 'aborted', await p, clean(s)])
      await tick()
      trace.push([opts, 'late value', c.peek('k', { allowStale: true }), c.size])
    }
  }))

test('delete, set and eviction abort an in-flight fetch', () =>
  both(async ({ make, l, trace, settle }) => {
    const c = make({ max: 2 })
    const p1 = c.fetch('a')
    c.delete('a')
    trace.push(['deleted', await settle(p1)])
    const p2 = c.fetch('b')
    c.set('b', 'direct')
    trace.push(['replaced', await settle(p2), c.get('b')])
    const p3 = c.fetch('c')
    c.set('x', 1)
    c.set('y', 2)
    trace.push(['evicted', await settle(p3), [...c.keys()]])
    for (const x of l.pending) x.resolve('late')
    await tick()
    trace.push(['end', [...c.entries()]])
  }))

test('fetch without fetchMethod is get', () =>
  both(async ({ trace, make }) => {
    const c = make({ max: 2, fetchMethod: undefined })
    c.set('a', 1)
    trace.push([await c.fetch('a'), await c.fetch('b')])
  }))

test('memo computes once and caches; forceRefresh recomputes', () =>
  both(async ({ make, trace }) => {
    let n = 0
    const c = make({ max: 2, memoMethod: (k, stale, { context }) => `${k}:${++n}:${stale}:${context}` })
    trace.push([c.memo('a', { context: 'x' }), c.memo('a'), c.memo('a', { forceRefresh: true, context: 'y' })])
    const s = {}
    c.memo('b', { status: s })
    trace.push(clean(s))
  }))

test('fetch coalesces and keeps the loaded value under TinyLFU', async () => {
  let loads = 0
  const c = new Cache({
    max: 100,
    fetchMethod: async (k) => {
      loads++
      await tick()
      return `v:${k}`
    },
  })
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => c.fetch(`k${i % 4}`)))
  assert.equal(loads, 4)
  assert.deepEqual(results.slice(0, 4), ['v:k0', 'v:k1', 'v:k2', 'v:k3'])
  assert.equal(c.get('k2'), 'v:k2')
  assert.equal(await c.forceFetch('k3'), 'v:k3')
  const s = c.stats()
  assert.ok(s.hits >= 2 && s.misses >= 4, JSON.stringify(s))
})
