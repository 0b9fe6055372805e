'use strict'
// The seed scenarios from Node: `node bindings-node/examples/demo.js` (after `npm install` in
// bindings-node). Each prints what it shows; nothing here is timed.

const { Cache, SharedCache } = require('..')

async function coalescing() {
  let loads = 0
  const users = new Cache({
    max: 1000,
    fetchMethod: async (id) => {
      loads++
      await new Promise((r) => setTimeout(r, 20)) // a slow database
      return { id, name: `user ${id}` }
    },
  })
  const results = await Promise.all(Array.from({ length: 50 }, () => users.fetch('42')))
  console.log(`1. 50 concurrent fetch('42') -> ${loads} load, ${new Set(results).size} distinct result object`)
}

function ttl() {
  let now = 0
  const perf = { now: () => now }
  const sessions = new Cache({ max: 100, ttl: 1000, perf, ttlResolution: 0 })
  sessions.set('s1', 'alice')
  now = 999
  const before = sessions.get('s1')
  now = 1000
  console.log(`2. ttl 1000 ms: at 999 ms -> ${before}, at 1000 ms -> ${sessions.get('s1')}`)
}

function negativeCaching() {
  let now = 0
  const perf = { now: () => now }
  const lookups = new Cache({ max: 100, ttl: 60_000, perf, ttlResolution: 0 })
  lookups.set('user:1', 'alice')
  lookups.set('user:404', 'NOT_FOUND', { ttl: 100 }) // remember the miss, briefly
  now = 150
  console.log(`3. negative caching: user:404 after 150 ms -> ${lookups.get('user:404')}, user:1 -> ${lookups.get('user:1')}`)
}

function sizeAware() {
  const evicted = []
  const blobs = new Cache({
    maxSize: 1000,
    sizeCalculation: (v) => v.length,
    dispose: (v, k, reason) => evicted.push(`${k}(${reason})`),
    policy: 'lru',
  })
  for (const [k, n] of [['a', 400], ['b', 400], ['c', 300], ['d', 900]]) blobs.set(k, 'x'.repeat(n))
  console.log(`4. maxSize 1000 bytes: kept ${[...blobs.keys()].join(',')} (${blobs.calculatedSize} bytes), evicted ${evicted.join(' ')}`)
}

function hitRatio() {
  // Zipf(0.99) over 100,000 keys, capacity 10,000: the benchmark's trace.
  const n = 500_000
  const items = 100_000
  const cdf = new Float64Array(items)
  let sum = 0
  for (let i = 0; i < items; i++) cdf[i] = sum += 1 / Math.pow(i + 1, 0.99)
  let seed = 7
  const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32)
  const trace = Array.from({ length: n }, () => {
    const u = rand() * sum
    let lo = 0
    let hi = items - 1
    while (lo < hi) {
      const m = (lo + hi) >> 1
      if (cdf[m] < u) lo = m + 1
      else hi = m
    }
    return `key:${lo}`
  })
  const ratio = (policy) => {
    const c = new Cache({ max: 10_000, policy })
    let hits = 0
    for (const k of trace) {
      if (c.get(k) !== undefined) hits++
      else c.set(k, 1)
    }
    return ((100 * hits) / n).toFixed(1)
  }
  console.log(`5. hit ratio, Zipf 0.99, 100k keys, capacity 10k: tinylfu ${ratio('tinylfu')}%, lru ${ratio('lru')}% (lru-cache's order)`)
}

async function shared() {
  const { Worker } = require('node:worker_threads')
  const cache = new SharedCache('demo', { max: 100 })
  cache.set('greeting', 'hello from the main thread')
  const src = `
    const { SharedCache } = require(${JSON.stringify(require.resolve('..'))})
    const c = new SharedCache('demo', { max: 100 })
    require('node:worker_threads').parentPort.postMessage(c.get('greeting'))`
  const msg = await new Promise((resolve) => new Worker(src, { eval: true }).once('message', resolve))
  console.log(`6. SharedCache read from a worker thread -> "${msg}"`)
  cache.close()
}

;(async () => {
  await coalescing()
  ttl()
  negativeCaching()
  sizeAware()
  hitRatio()
  await shared()
})()
