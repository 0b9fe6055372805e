'use strict'

const native = require('./native.js')

const isPosInt = (n) => !!n && n === Math.floor(n) && n > 0 && isFinite(n)

/**
 * A cache of string and Buffer keys and values that lives in native memory and is shared by
 * every worker thread of the process that opens the same `name`. Loads through `fetch` are
 * coalesced across threads: one thread's `fetchMethod` runs, the others wait without
 * blocking their event loop.
 */
class SharedCache {
  #h
  #name
  #fetchMethod
  #dispose

  constructor(name, options = {}) {
    if (typeof name !== 'string' || name.length === 0) {
      throw new TypeError('SharedCache name must be a non-empty string')
    }
    const { max = 0, maxSize = 0, ttl = 0, updateAgeOnGet = false, policy = 'tinylfu' } = options
    if (max !== 0 && !isPosInt(max)) {
      throw new TypeError('max option must be a nonnegative integer')
    }
    if (maxSize !== 0 && !isPosInt(maxSize)) {
      throw new TypeError('maxSize must be a positive integer if specified')
    }
    if (ttl !== 0 && !isPosInt(ttl)) {
      throw new TypeError('ttl must be a positive integer if specified')
    }
    if (max === 0 && maxSize === 0 && ttl === 0) {
      throw new TypeError('At least one of max, maxSize, or ttl is required')
    }
    if (max !== 0 && maxSize !== 0) {
      // The native cache bounds one measure; ignoring the other would let it be exceeded.
      throw new TypeError('SharedCache takes max or maxSize, not both')
    }
    if (policy !== 'tinylfu' && policy !== 'lru') {
      throw new TypeError("policy must be 'tinylfu' or 'lru'")
    }
    if (options.fetchMethod !== undefined && typeof options.fetchMethod !== 'function') {
      throw new TypeError('fetchMethod must be a function if specified')
    }
    if (options.dispose !== undefined && typeof options.dispose !== 'function') {
      throw new TypeError('dispose must be a function if specified')
    }
    this.#name = name
    this.#fetchMethod = options.fetchMethod
    this.#dispose = options.dispose
    this.#h = new native.SharedCacheHandle(name, {
      max,
      maxSize,
      ttl,
      updateAgeOnGet: !!updateAgeOnGet,
      policy,
      manualClock: !!options.manualClock,
      dispose: !!this.#dispose,
    })
  }

  get name() {
    return this.#name
  }

  #events() {
    if (this.#dispose === undefined) return
    for (const e of this.#h.takeEvents()) this.#dispose(e.value, e.key, e.reason)
  }

  static #check(k, what) {
    if (typeof k !== 'string' && !Buffer.isBuffer(k)) {
      if (k instanceof Uint8Array) return Buffer.from(k.buffer, k.byteOffset, k.byteLength)
      throw new TypeError(`SharedCache ${what} must be a string or a Buffer`)
    }
    return k
  }

  get(k) {
    const v = this.#h.get(SharedCache.#check(k, 'keys'))
    this.#events()
    return v === null ? undefined : v
  }

  peek(k) {
    const v = this.#h.peek(SharedCache.#check(k, 'keys'))
    return v === null ? undefined : v
  }

  has(k) {
    return this.#h.has(SharedCache.#check(k, 'keys'))
  }

  set(k, v, setOptions = {}) {
    if (v === undefined) {
      this.delete(k)
      return this
    }
    const { ttl } = setOptions
    if (ttl !== undefined && ttl !== 0 && !isPosInt(ttl)) {
      throw new TypeError('ttl must be a positive integer if specified')
    }
    this.#h.set(SharedCache.#check(k, 'keys'), SharedCache.#check(v, 'values'), ttl || undefined)
    this.#events()
    return this
  }

  delete(k) {
    const r = this.#h.delete(SharedCache.#check(k, 'keys'))
    this.#events()
    return r
  }

  clear() {
    this.#h.clear()
    this.#events()
  }

  get size() {
    return this.#h.size()
  }

  get calculatedSize() {
    return this.#h.weightedSize()
  }

  /** Applies buffered work now (evictions, expiry), as lru-cache's `purgeStale` does for expiry. */
  purgeStale() {
    const before = this.#h.size()
    this.#h.runPendingTasks()
    this.#events()
    return this.#h.size() < before
  }

  /** Keys, coldest (next to be evicted) first. */
  rkeys() {
    return this.#h.keysColdestFirst()
  }

  keys() {
    return this.#h.keysColdestFirst().reverse()
  }

  stats() {
    const s = this.#h.stats()
    const requests = s.hits + s.misses
    return { ...s, hitRate: requests === 0 ? 1 : s.hits / requests }
  }

  /** Test hook for caches opened with `manualClock: true`. */
  advanceClock(ms) {
    this.#h.advanceClock(ms)
  }

  /**
   * The value for `k`, loading it with `fetchMethod` if absent. Concurrent fetches of the same
   * key, from any thread, share one load.
   */
  async fetch(k, fetchOptions = {}) {
    k = SharedCache.#check(k, 'keys')
    const fetchMethod = this.#fetchMethod
    if (!fetchMethod) return this.get(k)
    const { context, signal } = fetchOptions
    for (;;) {
      const c = this.#h.claim(k)
      this.#events()
      if (c.kind === 0) return c.value
      if (c.kind === 1) {
        let v
        try {
          signal?.throwIfAborted()
          v = await fetchMethod(k, undefined, { signal, options: fetchOptions, context })
        } catch (er) {
          this.#h.fail(c.token, String(er?.message ?? er))
          throw er
        }
        if (v === undefined) {
          this.#h.completeAbsent(c.token)
          return undefined
        }
        try {
          v = SharedCache.#check(v, 'values')
        } catch (er) {
          this.#h.fail(c.token, er.message)
          throw er
        }
        this.#h.complete(c.token, v)
        this.#events()
        return v
      }
      const r = await new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason)
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true })
        this.#h.wait(c.token, resolve)
      })
      if (r.kind === 'loaded') return r.value
      if (r.kind === 'absent') return undefined
      if (r.kind === 'failed') throw new Error(r.error)
      // abandoned: the loading thread went away; claim again.
    }
  }

  /** Releases this handle: its pending loads are abandoned (waiters retry). */
  close() {
    this.#h.close()
  }

  [Symbol.toStringTag] = 'SharedCache'
}

module.exports = { SharedCache }
