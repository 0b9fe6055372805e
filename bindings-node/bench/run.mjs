// Benchmark of cortado's Cache against JavaScript LRU caches (not a test).
//
//   cd bindings-node/bench && npm install && node run.mjs [reps] [rounds]
//
// Needs the native addon built in release mode (`npm install` in bindings-node does that).
// Each library runs in its own process: 1 untimed warm-up and `reps` (default 5) timed
// repetitions of 1,000,000 operations per workload; the libraries take turns for `rounds`
// (default 3) rounds, so that load from other jobs hits all of them alike. The table shows
// the median ns/op over all repetitions, with the fastest and slowest.
//   get hit:   capacity 10,000, filled; random resident keys.
//   get miss:  100,000 absent keys.
//   set+evict: 1,000,000 new keys into the full cache (every set evicts).
//   Zipf:      Zipf(0.99) over 100,000 keys, capacity 10,000, get then set on a miss,
//              fresh cache per repetition; its hit ratio in the last column.
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import os from 'node:os'

const reps = process.argv[2] ?? '5'
const rounds = Number(process.argv[3] ?? 3)
const libs = [
  'cortado (tinylfu)',
  'cortado (lru)',
  'lru-cache',
  'lru.min',
  'mnemonist LRUMap',
  'mnemonist LRUCache',
  'quick-lru',
]
const worker = fileURLToPath(new URL('./worker.mjs', import.meta.url))
const median = (a) => {
  const s = [...a].sort((x, y) => x - y)
  return s[s.length >> 1]
}
const rows = libs.map((lib) => ({ lib, version: '', results: {} }))
for (let round = 0; round < rounds; round++) {
  for (const row of rows) {
    const out = execFileSync(process.execPath, [worker, row.lib, reps], {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    })
    const { version, results } = JSON.parse(out.trim().split('\n').pop())
    row.version = version
    for (const [name, r] of Object.entries(results)) {
      const acc = (row.results[name] ??= { ns: [] })
      acc.ns.push(...r.ns)
      if (r.hitRatio !== undefined) acc.hitRatio = r.hitRatio
    }
    process.stderr.write(`round ${round + 1}/${rounds}: ${row.lib}\n`)
  }
}
const fmt = (r) => median(r.ns).toFixed(1)
const range = (r) => `${Math.min(...r.ns).toFixed(0)}..${Math.max(...r.ns).toFixed(0)}`
console.log(
  `Node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}; ns/op, median of ${rounds} x ${reps} runs of 1M ops (min..max)\n`,
)
console.log('| library | version | get hit | get miss | set+evict | Zipf mixed | Zipf hit % |')
console.log('|---|---|---:|---:|---:|---:|---:|')
for (const { lib, version, results: r } of rows) {
  console.log(
    `| ${lib} | ${version} | ${fmt(r['get hit'])} (${range(r['get hit'])}) | ${fmt(r['get miss'])} (${range(r['get miss'])}) | ${fmt(r['set+evict'])} (${range(r['set+evict'])}) | ${fmt(r.zipf)} (${range(r.zipf)}) | ${(100 * r.zipf.hitRatio).toFixed(2)} |`,
  )
}
