'use strict'
// SharedCache: one native cache per name and process, seen by every worker thread, with
// fetch coalesced across threads.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { Worker } = require('node:worker_threads')
const { SharedCache } = require('..')

const pkg = path.join(__dirname, '..')
let seq = 0
const uniqueName = (what) => `${what}-${process.pid}-${seq++}`

/**
 * A worker thread running `body` (the source of an async function of (SharedCache, port,
 * workerData)); `call(msg)` posts a message and resolves with the worker's reply.
 */
function spawn(body, workerData) {
  const src = `
    const { parentPort, workerData } = require('node:worker_threads')
    const { SharedCache } = require(${JSON.stringify(pkg)})
    const handler = (${body})
    parentPort.on('message', async (msg) => {
      try {
        parentPort.postMessage({ ok: await handler(SharedCache, msg, workerData) })
      } catch (e) {
        parentPort.postMessage({ error: String(e && e.message || e) })
      }
    })
  `
  const w = new Worker(src, { eval: true, workerData })
  const replies = []
  const waiting = []
  w.on('message', (m) => (waiting.length ? waiting.shift()(m) : replies.push(m)))
  return {
    call(msg) {
      w.postMessage(msg)
      return new Promise((resolve) => (replies.length ? resolve(replies.shift()) : waiting.push(resolve)))
    },
    next() {
      return new Promise((resolve) => (replies.length ? resolve(replies.shift()) : waiting.push(resolve)))
    },
    post: (msg) => w.postMessage(msg),
    terminate: () => w.terminate(),
  }
}

test('get/set/has/peek/delete/clear with strings and Buffers', () => {
  const c = new SharedCache(uniqueName('basic'), { max: 10 })
  assert.equal(c.get('a'), undefined)
  assert.equal(c.set('a', 'alpha'), c)
  c.set(Buffer.from('a'), Buffer.from([1, 2, 3]))
  assert.equal(c.get('a'), 'alpha')
  assert.deepEqual(c.get(Buffer.from('a')), Buffer.from([1, 2, 3]))
  assert.equal(c.size, 2)
  assert.equal(c.has('a'), true)
  assert.equal(c.peek('b'), undefined)
  assert.equal(c.delete('a'), true)
  assert.equal(c.delete('a'), false)
  c.set('x', 'y')
  c.set('x', undefined)
  assert.equal(c.has('x'), false)
  c.clear()
  assert.equal(c.size, 0)
  const s = c.stats()
  assert.equal(s.hits, 2)
  assert.equal(s.misses, 1)
  c.close()
})

test('bad keys, values and options', () => {
  assert.throws(() => new SharedCache('', { max: 1 }), TypeError)
  assert.throws(() => new SharedCache(uniqueName('x'), {}), {
    name: 'TypeError',
    message: 'At least one of max, maxSize, or ttl is required',
  })
  assert.throws(() => new SharedCache(uniqueName('x'), { max: -1 }), {
    name: 'TypeError',
    message: 'max option must be a nonnegative integer',
  })
  assert.throws(() => new SharedCache(uniqueName('x'), { ttl: 1.5 }), {
    name: 'TypeError',
    message: 'ttl must be a positive integer if specified',
  })
  // One bound only: max was silently ignored next to maxSize.
  assert.throws(() => new SharedCache(uniqueName('x'), { max: 10, maxSize: 300 }), {
    name: 'TypeError',
    message: 'SharedCache takes max or maxSize, not both',
  })
  const c = new SharedCache(uniqueName('x'), { max: 2 })
  assert.throws(() => c.set(1, 'v'), { name: 'TypeError', message: 'SharedCache keys must be a string or a Buffer' })
  assert.throws(() => c.set('k', { a: 1 }), { name: 'TypeError', message: 'SharedCache values must be a string or a Buffer' })
  const name = uniqueName('mismatch')
  const d = new SharedCache(name, { max: 2 })
  assert.throws(() => new SharedCache(name, { max: 3 }), /already open with other options/)
  const again = new SharedCache(name, { max: 2 })
  again.set('k', 'v')
  assert.equal(d.get('k'), 'v')
  c.close()
  d.close()
  again.close()
})

test('bounded, with dispose reasons, ttl on a manual clock', () => {
  const events = []
  const c = new SharedCache(uniqueName('bounded'), {
    max: 3,
    ttl: 1000,
    policy: 'lru',
    manualClock: true,
    dispose: (v, k, reason) => events.push([k, v, reason]),
  })
  c.set('a', '1').set('b', '2').set('c', '3')
  c.get('a')
  c.set('d', '4')
  assert.deepEqual(events, [['b', '2', 'evict']])
  assert.deepEqual(c.rkeys(), ['c', 'a', 'd'])
  c.set('a', '9')
  c.delete('c')
  assert.deepEqual(events.slice(1), [
    ['a', '1', 'set'],
    ['c', '3', 'delete'],
  ])
  c.set('short', 's', { ttl: 10 })
  c.advanceClock(11)
  assert.equal(c.get('short'), undefined)
  c.advanceClock(1000)
  c.purgeStale()
  assert.equal(c.size, 0)
  assert.deepEqual(
    events.slice(3).map((e) => e[2]),
    ['expire', 'expire', 'expire'],
  )
  c.close()
})

test('updateAgeOnGet restarts an entry\'s own ttl as well as the cache\'s', () => {
  const c = new SharedCache(uniqueName('age'), { max: 10, ttl: 100, updateAgeOnGet: true, manualClock: true })
  c.set('own', 'o', { ttl: 10 })
  c.set('shared', 's')
  for (let i = 0; i < 5; i++) {
    c.advanceClock(8)
    assert.equal(c.get('own'), 'o') // 8 ms idle each time: lives on (it expired at 10 before)
  }
  c.advanceClock(10)
  assert.equal(c.get('own'), undefined)
  assert.equal(c.get('shared'), 's') // 50 ms in, within its 100
  c.advanceClock(99)
  assert.equal(c.get('shared'), 's') // restarted by the read before
  c.set('shared', 't') // a set without ttl: the cache's again
  c.advanceClock(100)
  assert.equal(c.get('shared'), undefined)
  c.close()
})

test('two worker threads see one cache', async () => {
  const name = uniqueName('threads')
  const body = `async (SharedCache, msg, data) => {
    const c = (globalThis.c ??= new SharedCache(data.name, { max: 100 }))
    if (msg.op === 'set') { c.set(msg.k, msg.v); return true }
    if (msg.op === 'get') return c.get(msg.k) ?? null
    if (msg.op === 'size') return c.size
  }`
  const a = spawn(body, { name })
  const b = spawn(body, { name })
  try {
    const main = new SharedCache(name, { max: 100 })
    assert.deepEqual(await a.call({ op: 'set', k: 'from-a', v: 'hello' }), { ok: true })
    assert.deepEqual(await b.call({ op: 'get', k: 'from-a' }), { ok: 'hello' })
    main.set('from-main', 'hi')
    assert.deepEqual(await a.call({ op: 'get', k: 'from-main' }), { ok: 'hi' })
    assert.deepEqual(await b.call({ op: 'set', k: 'from-b', v: 'bye' }), { ok: true })
    assert.equal(main.get('from-b'), 'bye')
    assert.deepEqual(await a.call({ op: 'size' }), { ok: 3 })
    main.close()
  } finally {
    await a.terminate()
    await b.terminate()
  }
})

test('fetch is coalesced across threads: one loader runs, every thread gets its value', async () => {
  const name = uniqueName('fetch')
  const body = `async (SharedCache, msg, data) => {
    globalThis.loads ??= 0
    const c = (globalThis.c ??= new SharedCache(data.name, { max: 100, fetchMethod: async (k) => { globalThis.loads++; return 'worker:' + k } }))
    if (msg.op === 'fetch') {
      // fetch claims (or joins) the load synchronously, before its first await.
      const p = c.fetch(msg.k).catch((e) => 'error:' + e.message)
      require('node:worker_threads').parentPort.postMessage({ claimed: msg.k })
      return { value: await p, loads: globalThis.loads }
    }
  }`
  const w = spawn(body, { name })
  let release
  let mainLoads = 0
  const main = new SharedCache(name, {
    max: 100,
    fetchMethod: (k) => {
      mainLoads++
      return new Promise((resolve, reject) => (release = { resolve, reject }))
    },
  })
  try {
    const p = main.fetch('k1')
    assert.equal(mainLoads, 1)
    const q = w.call({ op: 'fetch', k: 'k1' })
    assert.deepEqual(await q, { claimed: 'k1' }) // the worker now waits on this thread's load
    const q1 = w.next()
    release.resolve('main:k1')
    assert.equal(await p, 'main:k1')
    assert.deepEqual(await q1, { ok: { value: 'main:k1', loads: 0 } })
    // A present key needs no load anywhere.
    assert.deepEqual(await w.call({ op: 'fetch', k: 'k1' }), { claimed: 'k1' })
    assert.deepEqual(await w.next(), { ok: { value: 'main:k1', loads: 0 } })
    // A failed load reaches the waiting thread too, and nothing is cached.
    const p2 = main.fetch('k2')
    assert.deepEqual(await w.call({ op: 'fetch', k: 'k2' }), { claimed: 'k2' })
    const q2 = w.next()
    release.reject(new Error('database down'))
    await assert.rejects(p2, { message: 'database down' })
    assert.deepEqual(await q2, { ok: { value: 'error:database down', loads: 0 } })
    assert.equal(main.has('k2'), false)
    // The worker loads what nobody else is loading.
    assert.deepEqual(await w.call({ op: 'fetch', k: 'k3' }), { claimed: 'k3' })
    assert.deepEqual(await w.next(), { ok: { value: 'worker:k3', loads: 1 } })
    assert.equal(main.get('k3'), 'worker:k3')
    assert.equal(mainLoads, 2)
  } finally {
    main.close()
    await w.terminate()
  }
})

test('a closed loader lets waiting fetches retry', async () => {
  const name = uniqueName('abandon')
  let n = 0
  const a = new SharedCache(name, { max: 10, fetchMethod: () => new Promise(() => {}) })
  const b = new SharedCache(name, { max: 10, fetchMethod: async () => `b${++n}` })
  a.fetch('k')
  const waiting = b.fetch('k')
  a.close()
  assert.equal(await waiting, 'b1')
  b.close()
})

test('a set or delete of the key while it is fetched wins over the fetch', async () => {
  let release
  const c = new SharedCache(uniqueName('overtaken'), {
    max: 10,
    fetchMethod: () => new Promise((resolve) => (release = resolve)),
  })
  try {
    // Another thread could do either while the load runs (the update-then-invalidate pattern
    // of a cache kept beside a database): the caller gets what it loaded, the cache keeps the
    // write, or stays without the key.
    const p = c.fetch('k')
    c.set('k', 'newer')
    release('loaded')
    assert.equal(await p, 'loaded')
    assert.equal(c.get('k'), 'newer')
    const q = c.fetch('gone')
    c.delete('gone')
    release('loaded')
    assert.equal(await q, 'loaded')
    assert.equal(c.has('gone'), false)
    const r = c.fetch('gone')
    release('again')
    assert.equal(await r, 'again')
    assert.equal(c.get('gone'), 'again')
  } finally {
    c.close()
  }
})
