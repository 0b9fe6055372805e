'use strict'
// Replays the shared conformance vectors (tests/conformance/vectors/*.txt, format in the README
// beside them) through the lru-cache-compatible `Cache`, and through `SharedCache` (which is
// the core's own cache, so it must agree with the Rust and C runners too).
//
// Mapping onto lru-cache's API: insert -> set (per-entry ttl -> set's `ttl`), get -> get,
// peek -> peek, contains -> has, remove -> peek + delete, invalidate -> delete,
// invalidate_all -> clear, get_with -> memo, run_pending_tasks -> purgeStale, len -> size,
// weighted_size -> calculatedSize, order -> rkeys() (coldest first), events -> dispose with
// lru-cache's reasons (evict = size, set = replaced, delete = explicit, expire = expired),
// tti=D -> ttl D with updateAgeOnGet, advance -> the manual `perf` clock.
// `maxEntrySize` is lifted above `maxSize` so that an entry heavier than the cache goes
// through the policy (which drops it at once, reason evict) as in the core; with lru-cache's
// default (maxEntrySize = maxSize) such an entry is refused before it is stored.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { Cache, SharedCache } = require('..')
const { ManualClock } = require('./helpers.js')

const dir = path.join(__dirname, '..', '..', 'tests', 'conformance', 'vectors')
const CAUSE = { evict: 'size', set: 'replaced', delete: 'explicit', expire: 'expired', fetch: 'explicit' }

function ms(token) {
  const m = /^(\d+)(ns|us|ms|s)$/.exec(token)
  assert.ok(m, `bad duration ${token}`)
  const n = Number(m[1])
  return { ns: n / 1e6, us: n / 1e3, ms: n, s: n * 1000 }[m[2]]
}

function parse(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n')
  const steps = []
  lines.forEach((raw, i) => {
    const line = raw.trim()
    if (!line || line.startsWith('#')) return
    const [lhs, rhs] = line.split('->').map((s) => s.trim())
    steps.push({ line: i + 1, words: lhs.split(/\s+/), expect: rhs })
  })
  return steps
}

function config(words) {
  assert.equal(words[0], 'cache')
  const c = { policy: 'tinylfu' }
  for (const w of words.slice(1)) {
    const [k, v] = w.split('=')
    c[k] = v
  }
  return c
}

/** The operations of the vectors on the lru-cache-compatible Cache. */
function jsRunner(cfg) {
  const clock = new ManualClock(0)
  const events = []
  const opts = {
    max: Number(cfg.max),
    policy: cfg.policy,
    perf: clock,
    ttlResolution: 0,
    dispose: (v, k, reason) => events.push([k, v, CAUSE[reason]]),
  }
  if (cfg.weigher) {
    assert.equal(cfg.weigher, 'value_len')
    delete opts.max
    opts.maxSize = Number(cfg.max)
    opts.maxEntrySize = Number.MAX_SAFE_INTEGER
    opts.sizeCalculation = (v) => Math.max(1, Buffer.byteLength(v))
  }
  if (cfg.ttl) opts.ttl = ms(cfg.ttl)
  if (cfg.tti) {
    opts.ttl = ms(cfg.tti)
    opts.updateAgeOnGet = true
  }
  opts.memoMethod = (k, stale, { context }) => context
  const c = new Cache(opts)
  const show = (v) => (v === undefined ? 'miss' : v)
  return {
    events,
    insert: (k, v, ttl) => void c.set(k, v, ttl === undefined ? undefined : { ttl }),
    get: (k) => show(c.get(k)),
    peek: (k) => show(c.peek(k)),
    contains: (k) => String(c.has(k)),
    remove: (k) => {
      const v = c.peek(k)
      c.delete(k)
      return show(v)
    },
    invalidate: (k) => void c.delete(k),
    invalidate_all: () => c.clear(),
    get_with: (k, v) => c.memo(k, { context: v }),
    advance: (d) => clock.advance(d),
    run_pending_tasks: () => void c.purgeStale(),
    len: () => String(c.size),
    weighted_size: () => String(cfg.weigher ? c.calculatedSize : c.size),
    order: () => [...c.rkeys()].join(' '),
    stats: () => {
      const s = c.stats()
      return `hits=${s.hits} misses=${s.misses}`
    },
  }
}

let sharedSeq = 0
/** The same operations on SharedCache (the core's Cache behind Node-API). */
function sharedRunner(cfg) {
  const events = []
  const opts = {
    policy: cfg.policy,
    manualClock: true,
    dispose: (v, k, reason) => events.push([k, v, CAUSE[reason]]),
    fetchMethod: undefined,
  }
  if (cfg.weigher) opts.maxSize = Number(cfg.max)
  else opts.max = Number(cfg.max)
  if (cfg.ttl) opts.ttl = ms(cfg.ttl)
  if (cfg.tti) {
    opts.ttl = ms(cfg.tti)
    opts.updateAgeOnGet = true
  }
  if (cfg.weigher) return null // SharedCache weighs keys and values, not values alone
  const c = new SharedCache(`conformance-${process.pid}-${sharedSeq++}`, opts)
  const show = (v) => (v === undefined ? 'miss' : v)
  return {
    events,
    insert: (k, v, ttl) => void c.set(k, v, ttl === undefined ? undefined : { ttl }),
    get: (k) => show(c.get(k)),
    peek: (k) => show(c.peek(k)),
    contains: (k) => String(c.has(k)),
    remove: (k) => {
      const v = c.peek(k)
      c.delete(k)
      return show(v)
    },
    invalidate: (k) => void c.delete(k),
    invalidate_all: () => c.clear(),
    get_with: null,
    advance: (d) => c.advanceClock(d),
    run_pending_tasks: () => void c.purgeStale(),
    len: () => String(c.size),
    weighted_size: () => String(c.calculatedSize),
    order: () => c.rkeys().join(' '),
    stats: () => {
      const s = c.stats()
      return `hits=${s.hits} misses=${s.misses}`
    },
    close: () => c.close(),
  }
}

async function replay(file, steps, r) {
  const checked = []
  for (const { line, words, expect } of steps) {
    const where = `${path.basename(file)}:${line}`
    const [op, ...args] = words
    let got
    switch (op) {
      case 'insert': {
        const ttl = args[2] ? ms(args[2].replace(/^ttl=/, '')) : undefined
        r.insert(args[0], args[1], ttl)
        break
      }
      case 'get_with':
        if (!r.get_with) return
        got = await r.get_with(args[0], args[1])
        break
      case 'advance':
        r.advance(ms(args[0]))
        break
      case 'event': {
        const [k, v, cause] = args
        const i = r.events.findIndex((e, j) => !checked[j] && e[0] === k && e[1] === v && e[2] === cause)
        assert.ok(i >= 0, `${where}: no unchecked event ${args.join(' ')} in ${JSON.stringify(r.events)}`)
        checked[i] = true
        continue
      }
      case 'no_events': {
        const left = r.events.filter((e, j) => !checked[j])
        assert.deepEqual(left, [], `${where}: unchecked events`)
        continue
      }
      case 'stats':
        assert.equal(r.stats(), args.join(' '), where)
        continue
      default:
        assert.ok(r[op], `${where}: unknown operation ${op}`)
        got = r[op](...args)
    }
    if (expect !== undefined) assert.equal(got ?? '', expect, `${where}: ${words.join(' ')}`)
  }
}

const files = fs.readdirSync(dir).filter((f) => f.endsWith('.txt')).sort()
test('there are conformance vectors', () => assert.ok(files.length > 0))
for (const f of files) {
  const file = path.join(dir, f)
  const steps = parse(file)
  const cfg = config(steps.shift().words)
  test(`conformance ${f} (Cache)`, async () => replay(file, steps, jsRunner(cfg)))
  test(`conformance ${f} (SharedCache)`, async (t) => {
    const r = sharedRunner(cfg)
    if (!r) return t.skip('weigher=value_len has no SharedCache equivalent')
    try {
      await replay(file, steps, r)
    } finally {
      r.close()
    }
  })
}
