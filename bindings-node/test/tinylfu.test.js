'use strict'
// The default policy, W-TinyLFU: scan resistance, hit ratio, bounds, and that every entry
// that leaves is reported exactly once.

const test = require('node:test')
const assert = require('node:assert/strict')
const { Cache } = require('..')
const { ManualClock, rng } = require('./helpers.js')

function zipf(n, items, s, seed) {
  const cdf = new Float64Array(items)
  let sum = 0
  for (let i = 0; i < items; i++) cdf[i] = sum += 1 / Math.pow(i + 1, s)
  const r = rng(seed)
  return Array.from({ length: n }, () => {
    const u = r() * sum
    let lo = 0
    let hi = items - 1
    while (lo < hi) {
      const m = (lo + hi) >> 1
      if (cdf[m] < u) lo = m + 1
      else hi = m
    }
    return `key:${lo}`
  })
}

function hitRatio(c, trace) {
  let hits = 0
  for (const k of trace) {
    if (c.get(k) !== undefined) hits++
    else c.set(k, k)
  }
  return hits / trace.length
}

test('a scan does not flush the hot set (it does under lru)', () => {
  const survivors = {}
  for (const policy of ['tinylfu', 'lru']) {
    const c = new Cache({ max: 1000, policy })
    for (let i = 0; i < 1000; i++) c.set(`fill:${i}`, i)
    const hot = Array.from({ length: 500 }, (_, i) => `hot:${i}`)
    for (let round = 0; round < 10; round++) {
      for (const k of hot) if (c.get(k) === undefined) c.set(k, round)
    }
    // A scan five times the cache's size. (Much longer ones age the frequency sketch until
    // the hot keys look no better than the scan, as in Caffeine; the sketch is seeded at
    // random per cache, so the exact count varies from run to run.)
    for (let i = 0; i < 5000; i++) {
      const k = `scan:${i}`
      if (c.get(k) === undefined) c.set(k, i)
    }
    survivors[policy] = hot.filter((k) => c.has(k)).length
    assert.ok(c.size <= 1000)
  }
  // 30 seeded runs kept 488-495 (ghost lists of half the capacity); LRU keeps none.
  assert.ok(survivors.tinylfu >= 480, `tinylfu kept ${survivors.tinylfu} of 500 hot keys`)
  assert.equal(survivors.lru, 0)
})

test('higher hit ratio than LRU on a Zipf trace', () => {
  const trace = zipf(200_000, 20_000, 0.9, 3)
  const tiny = hitRatio(new Cache({ max: 1000 }), trace)
  const lru = hitRatio(new Cache({ max: 1000, policy: 'lru' }), trace)
  assert.ok(tiny > lru + 0.03, `tinylfu ${tiny} vs lru ${lru}`)
})

test('a just-written entry is readable at once, even in a full cache', () => {
  const c = new Cache({ max: 50 })
  for (let i = 0; i < 50; i++) for (let j = 0; j < 3; j++) c.get(`k${i}`) ?? c.set(`k${i}`, i)
  for (let i = 0; i < 200; i++) {
    c.set(`new${i}`, i)
    assert.equal(c.get(`new${i}`), i)
    assert.ok(c.size <= 50)
  }
})

test('a heavy entry just written is readable at once in a cache bounded by maxSize', () => {
  // Entries heavier than the admission window's share (1% of maxSize) once went straight to a
  // duel with the popular entries and lost it: set returned and get missed (57% of these sets).
  const c = new Cache({ maxSize: 1000, sizeCalculation: (v) => 1 + (v % 50) })
  for (let r = 0; r < 5; r++) {
    for (let i = 0; i < 300; i++) {
      c.set(i, i)
      c.get(i)
    }
  }
  for (let i = 1000; i < 20_000; i++) {
    c.set(i, i)
    assert.equal(c.get(i), i)
    assert.ok(c.calculatedSize <= 1000)
  }
})

test('every entry that leaves is reported exactly once, with reason evict', () => {
  const gone = new Map()
  let disposed = 0
  const c = new Cache({
    max: 100,
    dispose: (v, k, reason) => {
      disposed++
      assert.equal(reason, 'evict')
      assert.ok(!gone.has(k), `${k} disposed twice`)
      gone.set(k, v)
    },
  })
  const trace = zipf(20_000, 2000, 0.8, 9)
  const inserted = new Set()
  for (const k of trace) {
    if (c.get(k) === undefined) {
      if (inserted.has(k)) assert.ok(gone.delete(k), `${k} left without dispose`)
      c.set(k, k)
      inserted.add(k)
    }
    assert.ok(c.size <= 100)
  }
  const live = new Set(c.keys())
  assert.equal(live.size, c.size)
  for (const k of inserted) assert.ok(live.has(k) !== gone.has(k), `${k} is neither live nor disposed`)
  assert.equal(c.stats().evictions, disposed)
})

test('weighted: calculatedSize stays within maxSize; max and maxSize together', () => {
  const r = rng(5)
  const c = new Cache({ maxSize: 500, sizeCalculation: (v) => v.length })
  const d = new Cache({ max: 20, maxSize: 500, sizeCalculation: (v) => v.length })
  for (let i = 0; i < 5000; i++) {
    const k = `k${Math.floor(r() * 300)}`
    const v = 'x'.repeat(1 + Math.floor(r() * 60))
    c.set(k, v)
    d.set(k, v)
    assert.ok(c.calculatedSize <= 500, `calculatedSize ${c.calculatedSize}`)
    assert.ok(d.calculatedSize <= 500 && d.size <= 20, `size ${d.size} calculatedSize ${d.calculatedSize}`)
    let sum = 0
    for (const [, val] of c.entries()) sum += val.length
    if (i % 500 === 0) assert.equal(sum, c.calculatedSize)
  }
  assert.deepEqual(c.policyStats(), { len: c.size, weightedSize: c.calculatedSize, chosen: 0 })
})

test('iteration lists every live entry once, keys() the reverse of rkeys()', () => {
  const c = new Cache({ max: 64 })
  for (const k of zipf(5000, 500, 1, 2)) c.get(k) ?? c.set(k, k.length)
  const keys = [...c.keys()]
  assert.equal(keys.length, c.size)
  assert.equal(new Set(keys).size, keys.length)
  assert.deepEqual([...c.rkeys()], [...keys].reverse())
  assert.deepEqual([...c.values()], keys.map((k) => c.peek(k)))
  assert.deepEqual(c.dump().map(([k]) => k), [...c.rkeys()])
})

test('pop evicts the next victim and returns its value', () => {
  const events = []
  const c = new Cache({ max: 10, dispose: (v, k, r) => events.push([k, r]) })
  for (let i = 0; i < 10; i++) c.set(i, `v${i}`)
  const seen = new Set()
  for (let i = 0; i < 10; i++) {
    const v = c.pop()
    assert.ok(typeof v === 'string' && !seen.has(v))
    seen.add(v)
    assert.equal(c.size, 9 - i)
  }
  assert.equal(c.pop(), undefined)
  assert.equal(events.length, 10)
  assert.ok(events.every(([, r]) => r === 'evict'))
})

test('an insert into a full cache reclaims expired entries before live ones', () => {
  const clock = new ManualClock(1000)
  const events = []
  const c = new Cache({ max: 10, ttl: 100, perf: clock, ttlResolution: 0, dispose: (v, k, r) => events.push([k, r]) })
  for (let i = 0; i < 5; i++) c.set(`short${i}`, i, { ttl: 10 })
  for (let i = 0; i < 5; i++) c.set(`long${i}`, i)
  clock.advance(20)
  c.set('new', 1)
  assert.equal(c.size, 6)
  assert.deepEqual(events.map(([, r]) => r), ['expire', 'expire', 'expire', 'expire', 'expire'])
  for (let i = 0; i < 5; i++) assert.equal(c.get(`long${i}`), i)
})

test('ttlAutopurge removes expired entries with one timer', async () => {
  const clock = new ManualClock(1000)
  const events = []
  for (const policy of ['tinylfu', 'lru']) {
    events.length = 0
    const c = new Cache({
      max: 100,
      ttl: 20,
      ttlAutopurge: true,
      perf: clock,
      policy,
      dispose: (v, k, r) => events.push([k, r]),
    })
    c.set('a', 1)
    c.set('b', 2, { ttl: 40 })
    c.set('c', 3, { ttl: 0 })
    clock.advance(25)
    await new Promise((r) => setTimeout(r, 60))
    assert.deepEqual(events, [['a', 'expire']], policy)
    assert.equal(c.size, 2)
    clock.advance(20)
    for (let i = 0; i < 100 && c.size > 1; i++) await new Promise((r) => setTimeout(r, 10))
    assert.deepEqual(events, [['a', 'expire'], ['b', 'expire']], policy)
    assert.deepEqual([...c.keys()], ['c'])
  }
})

test('updateAgeOnGet keeps entries alive under TinyLFU (time-to-idle)', () => {
  const clock = new ManualClock(1000)
  const c = new Cache({ max: 5, ttl: 10, updateAgeOnGet: true, perf: clock, ttlResolution: 0 })
  c.set('idle', 1)
  c.set('busy', 2)
  for (let i = 0; i < 5; i++) {
    clock.advance(6)
    assert.equal(c.get('busy'), 2)
  }
  assert.equal(c.get('idle'), undefined)
  for (let i = 0; i < 10; i++) c.set(`x${i}`, i)
  assert.ok(c.size <= 5)
})

test('victims chosen ahead: counted, listed and popped first, readable until their turn', () => {
  // 1,000 entries: each native call chooses the victims of the next 7 inserts as well.
  const max = 1000
  const c = new Cache({ max })
  let inserted = 0
  let deleted = 0
  for (const k of zipf(30_000, 5000, 0.9, 3)) {
    if (c.get(k) === undefined) {
      c.set(k, k)
      inserted++
    }
    assert.ok(c.size <= max)
  }
  // Right after a native call 7 are waiting; each insert since took one. (Each value is its
  // key, here as above, so the checks below read back whichever keys were chosen: a key just
  // inserted may be among them, a new key losing its admission duel.)
  for (let i = 0; c.policyStats().chosen < 5; i++) {
    assert.ok(i < 10, 'a native call chooses 7 ahead')
    c.set(`fill${i}`, `fill${i}`)
    inserted++
  }
  const { len, chosen } = c.policyStats()
  assert.equal(len + chosen, c.size)
  assert.equal(c.stats().evictions, inserted - c.size)
  // The chosen ones are the coldest: first in rkeys() and dump(), and what pop() takes.
  const coldest = [...c.rkeys()].slice(0, chosen)
  assert.equal(c.dump()[0][0], coldest[0])
  for (const k of coldest) assert.equal(c.peek(k), k)
  assert.equal(c.policyStats().chosen, chosen, 'peek takes none back')
  // A read takes one back: the most recent entry now, no longer chosen.
  assert.equal(c.get(coldest[0]), coldest[0])
  assert.equal(c.policyStats().chosen, chosen - 1)
  assert.ok(!c.dump().slice(0, chosen).some(([k]) => k === coldest[0]), 'no longer among the coldest')
  assert.equal(c.pop(), coldest[1])
  assert.equal(c.policyStats().chosen, chosen - 2)
  // A deleted one is skipped. The pop and the delete left room for two inserts; the third
  // drops the next chosen victim, and only that one.
  assert.ok(c.delete(coldest[2]))
  deleted++
  assert.equal(c.size, max - 2)
  for (let i = 0; i < 3; i++) c.set(`new${i}`, i)
  assert.equal(c.size, max)
  assert.ok(!c.has(coldest[3]))
  assert.ok(c.has(coldest[4]))
  assert.ok(c.has(coldest[0]))
  assert.equal(c.policyStats().len + c.policyStats().chosen, c.size)
  // An insert that is no longer simple (a per-call TTL) still takes a chosen victim first.
  for (let i = 0; i < 50; i++) {
    c.set(`ttl${i}`, i, { ttl: 60_000 })
    assert.ok(c.size <= max, `size ${c.size}`)
  }
  assert.equal(c.policyStats().len + c.policyStats().chosen, c.size)
  // pop() counts as an eviction, as it does in lru-cache's reason.
  assert.equal(c.stats().evictions, inserted + 3 + 50 - deleted - c.size)
  c.clear()
  assert.deepEqual(c.policyStats(), { len: 0, weightedSize: 0, chosen: 0 })
  for (let i = 0; i < 2 * max; i++) c.set(i, i)
  assert.equal(c.size, max)
  assert.equal([...c.keys()].length, max)
})

test('victims chosen ahead keep the hit ratio (Zipf, 10,000 entries, 64 ahead)', () => {
  // 77.65% against LRU's 72.31%, as when every victim was chosen at its insert.
  const trace = zipf(1_000_000, 100_000, 0.99, 4)
  const tinylfu = hitRatio(new Cache({ max: 10_000 }), trace)
  const lru = hitRatio(new Cache({ max: 10_000, policy: 'lru' }), trace)
  assert.ok(tinylfu > lru + 0.045, `tinylfu ${tinylfu} lru ${lru}`)
})

test('victims chosen ahead go through dispose once each, also when dispose writes back', () => {
  const max = 1000
  const gone = new Set()
  let disposed = 0
  let reentered = 0
  const c = new Cache({
    max,
    dispose: (v, k, reason) => {
      assert.equal(reason, 'evict')
      assert.ok(!gone.has(k), `${k} disposed twice`)
      gone.add(k)
      disposed++
      // Now and then a dispose writes another key (a re-entrant set into the full cache).
      if (k.endsWith('7') && !k.startsWith('back') && !c.has(`back${k}`)) {
        gone.delete(`back${k}`)
        c.set(`back${k}`, v)
        reentered++
      }
    },
  })
  const inserted = new Set()
  let sawChosen = false
  for (const k of zipf(40_000, 8000, 0.9, 7)) {
    if (c.get(k) === undefined) {
      if (inserted.has(k)) assert.ok(gone.delete(k), `${k} came back without leaving`)
      c.set(k, k)
      inserted.add(k)
      if (inserted.size % 64 === 0) sawChosen ||= c.policyStats().chosen > 0
    }
    assert.ok(c.size <= max)
  }
  assert.ok(sawChosen, 'a cache with dispose chooses victims ahead too')
  assert.ok(reentered > 0)
  assert.equal(c.policyStats().len + c.policyStats().chosen, c.size)
  const live = new Set(c.keys())
  assert.equal(live.size, c.size)
  for (const k of inserted) assert.ok(live.has(k) !== gone.has(k), `${k} is neither live nor disposed`)
  for (const k of live) assert.ok(!gone.has(k), `${k} is live and disposed`)
  assert.equal(c.stats().evictions, disposed)
})

/** Sets fresh keys until a native call has just chosen victims ahead (at least `n` waiting). */
function untilChosen(c, n, prefix) {
  for (let i = 0; c.policyStats().chosen < n; i++) {
    assert.ok(i < 20, 'a native call chooses victims ahead')
    c.set(`${prefix}${i}`, i)
  }
}

test('with victims chosen ahead, expired entries still go before live ones', () => {
  const clock = new ManualClock(1000)
  const events = []
  const c = new Cache({
    max: 1000,
    ttl: 1000,
    perf: clock,
    ttlResolution: 0,
    dispose: (v, k, r) => events.push([k, r]),
  })
  for (let i = 0; i < 1200; i++) c.set(`k${i}`, i)
  untilChosen(c, 6, 'fill')
  for (let i = 0; i < 5; i++) c.set(`short${i}`, i, { ttl: 10 })
  assert.ok(c.policyStats().chosen > 0)
  const evicted = events.length
  clock.advance(20)
  c.set('new', 1)
  assert.deepEqual(
    events.slice(evicted).map(([k, r]) => [k, r]).sort(),
    [0, 1, 2, 3, 4].map((i) => [`short${i}`, 'expire']),
  )
  assert.equal(c.size, 996)
  assert.equal(c.get('new'), 1)
  assert.equal(c.policyStats().len + c.policyStats().chosen, c.size)
  // Writing a chosen victim (a new deadline) takes it back, like a read.
  untilChosen(c, 2, 'more')
  const { chosen } = c.policyStats()
  const victim = [...c.rkeys()][0]
  c.set(victim, 'again')
  assert.equal(c.policyStats().chosen, chosen - 1)
  assert.ok(!c.dump().slice(0, chosen).some(([k]) => k === victim), 'no longer among the coldest')
  // Chosen victims that went stale are purged with the rest.
  clock.advance(2000)
  assert.ok(c.policyStats().chosen > 0)
  assert.equal(c.purgeStale(), true)
  assert.equal(c.size, 0)
  assert.deepEqual(c.policyStats(), { len: 0, weightedSize: 0, chosen: 0 })
})

test('ttlAutopurge also removes chosen victims that expired', async () => {
  const clock = new ManualClock(1000)
  const c = new Cache({ max: 1000, ttl: 50, ttlAutopurge: true, perf: clock })
  for (let i = 0; i < 1100; i++) c.set(`k${i}`, i)
  untilChosen(c, 3, 'fill')
  clock.advance(60)
  for (let i = 0; i < 100 && c.size > 0; i++) await new Promise((r) => setTimeout(r, 10))
  assert.equal(c.size, 0)
  assert.equal(c.policyStats().chosen, 0)
})

test('hits still count after the slot arrays grow (a cache bounded by maxSize starts small)', () => {
  // 4,000 entries of size 1: bounded by size, its slot arrays start at 1,024 and grow twice.
  const trace = zipf(300_000, 40_000, 0.8, 5)
  const bySize = hitRatio(new Cache({ maxSize: 4000, sizeCalculation: () => 1 }), trace)
  const byCount = hitRatio(new Cache({ max: 4000 }), trace)
  const lru = hitRatio(new Cache({ max: 4000, policy: 'lru' }), trace)
  // 54.4% either way against LRU's 45.6% (48.5% when the grown counts went unseen).
  assert.ok(bySize > byCount - 0.01, `by size ${bySize}, by count ${byCount}`)
  assert.ok(bySize > lru + 0.06, `by size ${bySize}, lru ${lru}`)
})
