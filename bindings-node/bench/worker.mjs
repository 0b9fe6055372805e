// One library, every workload, in a fresh process (no JIT feedback shared between libraries).
// Prints one JSON line: { lib, version, results: { workload: { ns: [...], hitRatio? } } }.
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)
const [lib, repsArg, only, opsArg] = process.argv.slice(2)
// `node worker.mjs LIB count WORKLOAD OPS` (used by count.mjs): that workload alone, over OPS
// operations, one warm-up and one repetition, for counting instructions instead of timing.
const COUNT = repsArg === 'count'
const REPS = COUNT ? 1 : Number(repsArg ?? 7)
const versionOf = (pkg) => {
  let dir = dirname(require.resolve(pkg))
  for (;;) {
    try {
      const j = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
      if (j.name === pkg) return j.version
    } catch {}
    const up = dirname(dir)
    if (up === dir) return '?'
    dir = up
  }
}
const CAP = 10_000
const OPS = COUNT ? Number(opsArg) : 1_000_000
const KEYS = 100_000

async function factory(name) {
  switch (name) {
    case 'cortado (tinylfu)':
    case 'cortado (lru)': {
      const { Cache } = require('../index.js')
      const policy = name.includes('lru)') ? 'lru' : 'tinylfu'
      return [JSON.parse(readFileSync(new URL('../package.json', import.meta.url))).version, (max) => new Cache({ max, policy })]
    }
    case 'lru-cache': {
      const { LRUCache } = require('lru-cache')
      return [versionOf('lru-cache'), (max) => new LRUCache({ max })]
    }
    case 'lru.min': {
      const { createLRU } = require('lru.min')
      return [versionOf('lru.min'), (max) => createLRU({ max })]
    }
    case 'mnemonist LRUMap': {
      const LRUMap = require('mnemonist/lru-map.js')
      return [versionOf('mnemonist'), (max) => new LRUMap(max)]
    }
    case 'mnemonist LRUCache': {
      const LRUCache = require('mnemonist/lru-cache.js')
      return [versionOf('mnemonist'), (max) => new LRUCache(max)]
    }
    case 'quick-lru': {
      const { default: QuickLRU } = await import('quick-lru')
      return [versionOf('quick-lru'), (maxSize) => new QuickLRU({ maxSize })]
    }
    case 'none': {
      // No cache at all: what the loops and traces cost by themselves (count.mjs subtracts it).
      return ['-', () => ({ get() {}, set() {} })]
    }
    default:
      throw new Error(`unknown library ${name}`)
  }
}

// Deterministic inputs (mulberry32), the same for every library.
function rng(seed) {
  return () => {
    seed |= 0
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function zipfTrace(n, items, s, seed) {
  const cdf = new Float64Array(items)
  let sum = 0
  for (let i = 0; i < items; i++) cdf[i] = sum += 1 / Math.pow(i + 1, s)
  for (let i = 0; i < items; i++) cdf[i] /= sum
  const r = rng(seed)
  const out = new Array(n)
  const keys = Array.from({ length: items }, (_, i) => `key:${i}`)
  for (let j = 0; j < n; j++) {
    const u = r()
    let lo = 0
    let hi = items - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cdf[mid] < u) lo = mid + 1
      else hi = mid
    }
    out[j] = keys[lo]
  }
  return out
}

// Timed loops: small top-level functions, so they get regular optimised code.
function getLoop(c, keys) {
  let found = 0
  for (let i = 0; i < keys.length; i++) if (c.get(keys[i]) !== undefined) found++
  return found
}
function setLoop(c, keys) {
  for (let i = 0; i < keys.length; i++) c.set(keys[i], i)
}
function zipfLoop(c, keys) {
  let hits = 0
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]
    if (c.get(k) !== undefined) hits++
    else c.set(k, i)
  }
  return hits
}

function time(fn) {
  const t0 = process.hrtime.bigint()
  const r = fn()
  return [Number(process.hrtime.bigint() - t0) / OPS, r]
}

const [version, make] = await factory(lib)
const r = rng(42)
const resident = Array.from({ length: CAP }, (_, i) => `key:${i}`)
const hitTrace = Array.from({ length: OPS }, () => resident[(r() * CAP) | 0])
const missKeys = Array.from({ length: KEYS }, (_, i) => `miss:${i}`)
const missTrace = Array.from({ length: OPS }, (_, i) => missKeys[i % KEYS])
const newKeys = Array.from({ length: OPS }, (_, i) => `new:${i}`)
const zipf = zipfTrace(OPS, KEYS, 0.99, 7)

const results = {}
function run(name, setup, loop) {
  if (COUNT && name !== only) return
  const ns = []
  let last
  for (let rep = 0; rep <= REPS; rep++) {
    const c = setup()
    const [t, out] = time(() => loop(c))
    if (rep > 0) ns.push(t)
    last = out
  }
  results[name] = { ns, result: last }
}
function filled() {
  const c = make(CAP)
  for (const k of resident) c.set(k, 1)
  for (const k of resident) c.get(k)
  return c
}
run('get hit', filled, (c) => getLoop(c, hitTrace))
run('get miss', filled, (c) => getLoop(c, missTrace))
run('set+evict', filled, (c) => setLoop(c, newKeys))
run('zipf', () => make(CAP), (c) => zipfLoop(c, zipf))
if (results.zipf) results.zipf.hitRatio = results.zipf.result / OPS
process.stdout.write(JSON.stringify({ lib, version, results }) + '\n')
