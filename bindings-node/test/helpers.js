'use strict'
// Shared test helpers: a manual clock usable as the `perf` option of both cortado and
// lru-cache, and a recorder of dispose calls.

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

module.exports = { ManualClock, recorder }
