// Instructions per operation, counted by valgrind's callgrind rather than timed: a benchmark
// (not a test) for telling apart differences of a few percent that the wall clock of a shared
// machine cannot resolve.
//
//   cd bindings-node/bench && npm install && node count.mjs [library ...]
//
// Needs valgrind. Each workload of worker.mjs runs alone in a fresh `node --single-threaded`
// process (no background compiler threads) at two lengths; the difference divided by the extra
// operations cancels start-up and compilation. Within a run the counts repeat closely; between
// runs the JIT's choices move some rows by up to ~10%, so read smaller differences as noise.
// The same difference for no cache at all (library `none`: the loop and the traces) is taken
// off, so each figure is what the library's own calls cost. Defaults: cortado (tinylfu) and
// lru-cache. Takes a few minutes.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const libs = process.argv.length > 2 ? process.argv.slice(2) : ['cortado (tinylfu)', 'lru-cache']
const workloads = ['get hit', 'get miss', 'set+evict', 'zipf']
const SHORT = 100_000
const LONG = 300_000
const worker = fileURLToPath(new URL('./worker.mjs', import.meta.url))

function collected(lib, workload, ops) {
  const r = spawnSync(
    'valgrind',
    [
      '--tool=callgrind',
      '--smc-check=all-non-file',
      '--callgrind-out-file=/dev/null',
      process.execPath,
      '--single-threaded',
      worker,
      lib,
      'count',
      workload,
      String(ops),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  )
  if (r.error) throw new Error(`count.mjs needs valgrind on the PATH (${r.error.message})`)
  const m = /Collected : (\d+)/.exec(r.stderr)
  if (r.status !== 0 || !m) throw new Error(`${lib} / ${workload} failed:\n${r.stderr.slice(-2000)}`)
  return Number(m[1])
}

// One warm-up and one repetition per run: two passes of `ops` operations each.
const perOp = (lib, workload) =>
  (collected(lib, workload, LONG) - collected(lib, workload, SHORT)) / (2 * (LONG - SHORT))

const rows = []
for (const workload of workloads) {
  const base = perOp('none', workload)
  rows.push([workload, ...libs.map((lib) => perOp(lib, workload) - base)])
  process.stderr.write(`${workload} done\n`)
}
const ratio = libs.length === 2 ? ' | ratio' : ''
console.log(`| workload | ${libs.join(' | ')}${ratio} |`)
console.log(`|---|${libs.map(() => '--:').join('|')}|${libs.length === 2 ? '--:|' : ''}`)
for (const [w, ...v] of rows) {
  const r = libs.length === 2 ? ` | ${(v[0] / v[1]).toFixed(2)}x` : ''
  console.log(`| ${w} | ${v.map((x) => x.toFixed(0)).join(' | ')}${r} |`)
}
console.log(`\nInstructions per operation (callgrind, node --single-threaded ${process.version}), ` +
  `the loop's and traces' own cost taken off.`)
