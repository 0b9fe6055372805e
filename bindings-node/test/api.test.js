'use strict'
// The rest of the API: key types, stats, clear, status objects (checked against lru-cache),
// info/dump/load, getRemainingTTL, the ES module entry point and growth past the first
// allocation.

const test = require('node:test')
const assert = require('node:assert/strict')
const { LRUCache: Reference } = require('lru-cache')
const { Cache } = require('..')
const { ManualClock, recorder } = require('./helpers.js')

test('keys are compared as a Map compares them', () => {
  for (const policy of ['tinylfu', 'lru']) {
    const c = new Cache({ max: 100, policy })
    const obj = { a: 1 }
    const sym = Symbol('s')
    const keys = [1, '1', 1.5, -0, NaN, true, false, obj, { a: 1 }, sym, 10n, () => 1]
    keys.forEach((k, i) => c.set(k, i))
    assert.equal(c.size, keys.length)
    c.set(0, 'zero') // +0 is the same key as -0, as in a Map
    c.set(NaN, 4) // NaN is one key
    assert.equal(c.size, keys.length)
    assert.equal(c.get(1), 0)
    assert.equal(c.get('1'), 1)
    assert.equal(c.get(-0), 'zero')
    assert.equal(c.get(NaN), 4)
    assert.equal(c.get(obj), 7)
    assert.equal(c.get({ a: 1 }), undefined)
    assert.equal(c.get(sym), 9)
    assert.equal(c.get(10n), 10)
    assert.equal(c.has(true) && c.has(false), true)
  }
})

test('a set after a missed get finds a key another path added in between', () => {
  // A simple cache's set skips its key lookup right after a get of the same key missed; any
  // addition since (a set with options, load, fetch) must cancel that, or the key would get
  // a second slot.
  for (const policy of ['tinylfu', 'lru']) {
    const c = new Cache({ max: 4, policy })
    assert.equal(c.get('a'), undefined)
    c.set('a', 1, {})
    c.set('a', 2)
    assert.equal(c.size, 1)
    assert.deepEqual([...c.entries()], [['a', 2]])
    assert.equal(c.get('b'), undefined)
    c.load([['b', { value: 1 }]]) // load replaces the contents, as in lru-cache
    c.set('b', 3)
    assert.equal(c.size, 1)
    assert.equal(c.get('b'), 3)
    assert.equal(c.get(NaN), undefined)
    c.set(NaN, 1)
    c.set(NaN, 2)
    assert.equal(c.size, 2)
    assert.equal(c.get(NaN), 2)
  }
})

test('a full simple cache stays at max with every eviction counted', () => {
  for (const policy of ['tinylfu', 'lru']) {
    const c = new Cache({ max: 50, policy })
    for (let i = 0; i < 1000; i++) {
      if (c.get(`k${i % 300}`) === undefined) c.set(`k${i % 300}`, i)
      assert.ok(c.size <= 50)
    }
    const keys = [...c.keys()]
    assert.equal(keys.length, c.size)
    assert.equal(new Set(keys).size, keys.length)
    for (const k of keys) assert.ok(c.has(k))
    const { misses, evictions } = c.stats()
    assert.equal(evictions, misses - c.size)
  }
})

test('stats count hits, misses and evictions', () => {
  const c = new Cache({ max: 2, policy: 'lru' })
  c.get('a')
  c.set('a', 1).set('b', 2).set('c', 3)
  c.get('b')
  c.get('c')
  c.peek('b')
  c.has('a')
  assert.deepEqual(c.stats(), { hits: 2, misses: 1, evictions: 1, hitRate: 2 / 3 })
})

test('clear disposes everything with reason delete, and the cache works afterwards', () => {
  for (const policy of ['tinylfu', 'lru']) {
    const { events, dispose } = recorder()
    const after = []
    const c = new Cache({ max: 5, policy, dispose, disposeAfter: (v, k, r) => after.push([k, v, r]) })
    for (let i = 0; i < 5; i++) c.set(i, i * 10)
    c.clear()
    assert.equal(c.size, 0)
    assert.equal(events.length, 5)
    assert.ok(events.every(([, , r]) => r === 'delete'))
    assert.deepEqual(after, events)
    for (let i = 0; i < 10; i++) c.set(i, i)
    assert.equal(c.size, 5)
    assert.deepEqual(c.policyStats(), { len: 5, weightedSize: 5, chosen: 0 })
  }
})

test('status objects match lru-cache', () => {
  const clock = new ManualClock(5000)
  const mk = (Class, extra) => new Class({ max: 3, ttl: 100, perf: clock, ttlResolution: 0, maxSize: 50, sizeCalculation: (v) => String(v).length, ...extra })
  const a = mk(Cache, { policy: 'lru' })
  const b = mk(Reference, {})
  const ops = [
    (c, s) => c.set('a', 'one', { status: s }),
    (c, s) => c.set('a', 'two', { status: s }),
    (c, s) => c.set('a', 'two', { status: s }),
    (c, s) => c.get('a', { status: s }),
    (c, s) => c.get('zz', { status: s }),
    (c, s) => c.has('a', { status: s }),
    (c, s) => c.peek('a', { status: s }),
    (c, s) => c.set('big', 'x'.repeat(60), { status: s }),
    (c, s) => (clock.advance(150.5), c.get('a', { status: s, allowStale: true })),
    (c, s) => c.has('a', { status: s }),
    (c, s) => c.set('b', undefined, { status: s }),
  ]
  for (const op of ops) {
    const t = clock.t
    const sa = {}
    const sb = {}
    const ra = op(a, sa)
    clock.t = t
    const rb = op(b, sb)
    delete sa.cache
    delete sb.cache
    assert.deepEqual(ra === a ? 'this' : ra, rb === b ? 'this' : rb)
    assert.deepEqual(sa, sb)
  }
})

test('info, dump and load, with TTLs and sizes', (t) => {
  // dump/load carry start times as wall-clock timestamps (as lru-cache does): freeze the wall
  // clock too, so the remaining TTL after a load does not depend on how busy the machine is.
  const realDateNow = Date.now
  Date.now = () => 1_700_000_000_000
  t.after(() => {
    Date.now = realDateNow
  })
  const clock = new ManualClock(10_000)
  const c = new Cache({ max: 10, ttl: 1000, perf: clock, maxSize: 100, sizeCalculation: () => 2, policy: 'lru' })
  c.set('a', 'A')
  clock.advance(100)
  c.set('b', 'B', { ttl: 500, size: 7 })
  clock.advance(50)
  const info = c.info('a')
  assert.equal(info.value, 'A')
  assert.equal(info.ttl, 850)
  assert.equal(info.size, 2)
  assert.equal(c.info('zz'), undefined)
  const dump = c.dump()
  assert.deepEqual(dump.map(([k]) => k), ['a', 'b'])
  assert.equal(dump[1][1].ttl, 500)
  assert.equal(dump[1][1].size, 7)
  const d = new Cache({ max: 10, ttl: 1000, perf: clock, maxSize: 100, sizeCalculation: () => 2, policy: 'lru' })
  d.load(dump)
  assert.deepEqual([...d.rkeys()], ['a', 'b'])
  assert.equal(d.getRemainingTTL('b'), 450)
  assert.equal(d.calculatedSize, 9)
  assert.equal(d.getRemainingTTL('nope'), 0)
  const e = new Cache({ max: 2 })
  e.set('x', 1)
  assert.equal(e.getRemainingTTL('x'), Infinity)
})

test('getRemainingTTL goes negative once stale; stale at exactly ttl', () => {
  const clock = new ManualClock(1000)
  const c = new Cache({ max: 2, ttl: 10, perf: clock, ttlResolution: 0, allowStale: true, noDeleteOnStaleGet: true })
  c.set('k', 'v')
  clock.advance(9)
  assert.equal(c.getRemainingTTL('k'), 1)
  assert.equal(c.has('k'), true)
  clock.advance(1)
  assert.equal(c.getRemainingTTL('k'), 0)
  assert.equal(c.has('k'), false)
  clock.advance(2)
  assert.equal(c.getRemainingTTL('k'), -2)
  assert.equal(c.get('k'), 'v')
})

test('the cache grows past its first allocation', () => {
  for (const policy of ['tinylfu', 'lru']) {
    const c = new Cache({ max: 200_000, policy, ttl: 1e6, sizeCalculation: () => 1, maxSize: 1e9 })
    for (let i = 0; i < 150_000; i++) c.set(i, i)
    assert.equal(c.size, 150_000)
    assert.equal(c.get(149_999), 149_999)
    assert.equal(c.get(0), 0)
    for (let i = 150_000; i < 250_000; i++) c.set(i, i)
    assert.equal(c.size, 200_000)
  }
})

test('the ES module entry point exports the same classes', async () => {
  const esm = await import('../index.mjs')
  const cjs = require('..')
  assert.equal(esm.Cache, cjs.Cache)
  assert.equal(esm.LRUCache, cjs.LRUCache)
  assert.equal(esm.SharedCache, cjs.SharedCache)
  assert.equal(esm.default, cjs.Cache)
})

test('dispose runs before removal, disposeAfter after; noDisposeOnSet', () => {
  const seen = []
  const c = new Cache({
    max: 2,
    policy: 'lru',
    dispose: (v, k) => seen.push(['dispose', k, c.has(k)]),
    disposeAfter: (v, k) => seen.push(['after', k, c.has(k)]),
  })
  c.set('a', 1).set('b', 2)
  c.set('a', 3)
  c.set('b', 4, { noDisposeOnSet: true })
  c.delete('a')
  assert.deepEqual(seen, [
    ['dispose', 'a', true],
    ['after', 'a', true],
    ['dispose', 'a', true],
    ['after', 'a', false],
  ])
})
