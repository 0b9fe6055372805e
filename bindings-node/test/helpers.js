'use strict'
// Shared test helpers: a manual clock usable as the `perf` option of both cortado and
// lru-cache, a recorder of dispose calls, and a seeded random number generator.

class ManualClock {
  constructor(start = 1000) {
    this.t = start
  }
  now() {
    return this.t
  }
  advance(ms) {
    this.t += ms
  }
}

function recorder() {
  const events = []
  const dispose = (value, key, reason) => events.push([key, value, reason])
  return { events, dispose }
}

/** Deterministic numbers in [0, 1) from a seed (mulberry32), for reproducible random tests. */
function rng(seed) {
  return () => {
    seed |= 0
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

module.exports = { ManualClock, recorder, rng }
