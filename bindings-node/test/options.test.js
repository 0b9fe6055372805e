'use strict'
// Bad options and bad sizes: the same error classes and messages as lru-cache, checked
// against lru-cache itself.

const test = require('node:test')
const assert = require('node:assert/strict')
const { LRUCache: Reference } = require('lru-cache')
const { Cache, LRUCache } = require('..')

function outcome(fn) {
  try {
    fn()
    return 'ok'
  } catch (e) {
    return `${e.constructor.name}: ${e.message}`
  }
}

const badOptions = [
  {},
  { max: -1 },
  { max: 1.5 },
  { max: 'x' },
  { max: Infinity },
  { max: 2 ** 60 },
  { ttl: -1 },
  { ttl: 1.5, max: 1 },
  { ttl: 'x', max: 1 },
  { maxSize: -1 },
  { maxSize: 1.5 },
  { maxSize: 10, maxEntrySize: -1 },
  { maxSize: 10, maxEntrySize: 2.5 },
  { max: 10, sizeCalculation: () => 1 },
  { maxSize: 10, sizeCalculation: 'nope' },
  { max: 10, fetchMethod: 'nope' },
  { max: 10, memoMethod: 42 },
  { max: 10, perf: {} },
  { max: 10, perf: { now: 1 } },
  { max: 10, ttlResolution: -5 },
  { max: 10, ttlResolution: 0 },
  { max: 0, maxSize: 0, ttl: 0 },
  { ttl: 10, ttlAutopurge: true },
]

for (const opts of badOptions) {
  test(`constructor ${JSON.stringify(opts, (k, v) => (typeof v === 'function' ? 'fn' : v === Infinity ? 'Infinity' : v))}`, () => {
    assert.equal(outcome(() => new Cache(opts)), outcome(() => new Reference(opts)))
  })
}

test('no options at all throws a TypeError like lru-cache', () => {
  assert.throws(() => new Cache(), TypeError)
  assert.throws(() => new Reference(), TypeError)
})

test('LRUCache is the same class as Cache', () => {
  assert.equal(LRUCache, Cache)
  assert.equal(Object.prototype.toString.call(new Cache({ max: 1 })), '[object LRUCache]')
})

test('policy must be tinylfu or lru', () => {
  assert.throws(() => new Cache({ max: 1, policy: 'fifo' }), {
    name: 'TypeError',
    message: "policy must be 'tinylfu' or 'lru'",
  })
  assert.equal(new Cache({ max: 1 }).policy, 'tinylfu')
  assert.equal(new Cache({ max: 1, policy: 'lru' }).policy, 'lru')
})

const badSets = [
  [{ max: 10 }, { size: 3 }],
  [{ max: 10 }, { sizeCalculation: () => 1 }],
  [{ maxSize: 10 }, {}],
  [{ maxSize: 10 }, { size: -1 }],
  [{ maxSize: 10 }, { size: 1.5 }],
  [{ maxSize: 10, sizeCalculation: () => 0 }, {}],
  [{ maxSize: 10, sizeCalculation: () => -3 }, {}],
  [{ maxSize: 10, sizeCalculation: () => 'big' }, {}],
  [{ maxSize: 10 }, { sizeCalculation: 'nope' }],
  [{ maxSize: 10 }, { size: 11 }],
  [{ maxSize: 10, maxEntrySize: 5 }, { size: 6 }],
  [{ maxEntrySize: 5, max: 3 }, { size: 6 }],
  [{ maxEntrySize: 5, max: 3 }, { size: 5 }],
]
for (const [opts, setOpts] of badSets) {
  test(`set sizes ${JSON.stringify(opts, (k, v) => (typeof v === 'function' ? String(v) : v))} ${JSON.stringify(setOpts, (k, v) => (typeof v === 'function' ? String(v) : v))}`, () => {
    const a = new Cache({ ...opts, policy: 'lru' })
    const b = new Reference(opts)
    assert.equal(outcome(() => a.set('k', 'v', { ...setOpts })), outcome(() => b.set('k', 'v', { ...setOpts })))
    assert.equal(a.size, b.size)
    assert.equal(a.calculatedSize, b.calculatedSize)
    const sa = {}
    const sb = {}
    outcome(() => a.set('j', 'w', { ...setOpts, status: sa }))
    outcome(() => b.set('j', 'w', { ...setOpts, status: sb }))
    assert.equal(sa.set, sb.set)
    assert.equal(sa.maxEntrySizeExceeded, sb.maxEntrySizeExceeded)
  })
}

test('an UnboundedCacheWarning is emitted once, as in lru-cache', async () => {
  const warnings = []
  const onWarning = (w) => warnings.push(w)
  process.on('warning', onWarning)
  try {
    new Cache({ ttl: 100 })
    new Cache({ ttl: 100 })
    await new Promise((r) => setImmediate(r))
  } finally {
    process.off('warning', onWarning)
  }
  const ours = warnings.filter((w) => w.code === 'LRU_CACHE_UNBOUNDED')
  assert.ok(ours.length <= 1)
})

test('memo without memoMethod throws like lru-cache', () => {
  assert.equal(outcome(() => new Cache({ max: 2 }).memo('k')), outcome(() => new Reference({ max: 2 }).memo('k')))
})

test('forceFetch rejects when the fetch resolves undefined, like lru-cache', async () => {
  const c = new Cache({ max: 2, fetchMethod: async () => undefined })
  await assert.rejects(c.forceFetch('k'), { message: 'fetch() returned undefined' })
})
