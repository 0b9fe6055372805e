'use strict'
/**
 * cortado for Node.js: `Cache`, a drop-in replacement for lru-cache whose eviction policy
 * (adaptive W-TinyLFU or exact LRU, frequency sketch, timer wheel, weights) runs in Rust,
 * and `SharedCache`, a native cache of strings and Buffers shared by all worker threads.
 *
 * How `Cache` stays as fast as lru-cache: keys, values and per-entry metadata live here, in
 * JavaScript, under dense slot numbers; the Rust policy (cortado's `SlotPolicy`) only sees
 * slot numbers. A read never calls into Rust: it appends the slot to a log in an ArrayBuffer
 * shared with the policy, and the next native call (an insert, or a full log) replays the
 * log first. Writes that may need an eviction decision make one native call through a raw
 * Node-API function that takes no arguments (they are in the shared buffer) and returns how
 * many victims it wrote there. See src/policy.rs for the other side.
 */

const native = require('./native.js')
const { SharedCache } = require('./shared-cache.js')

const L = native.policyLayout()
const [W_NLOG, W_OP, W_SLOT, W_WEIGHT, W_HASH, W_FLAGS, W_AHEAD] = L.headerU32
const [F_DEADLINE, F_NOW, , F_EXPIRY] = L.headerF64
const [
  OP_FLUSH,
  OP_INSERT,
  OP_UPDATE,
  OP_EXPIRE,
  OP_EVICT_ONE,
  OP_MORE,
  OP_ORDER,
  OP_CLEAR,
  OP_LEN,
  OP_WEIGHTED_SIZE,
  ,
  OP_SET_HITS,
] = L.ops
const LOG_CAP = L.logCap
/** Most victims chosen ahead per native call (see `#chosen`). */
const MAX_AHEAD = 64
/** The log is replayed when it has fewer than two free words (an insert takes two). */
const FLUSH_AT = LOG_CAP - 2
const MAX_SLOTS = L.maxSlots
const EV_ACCESS_DEADLINE = (1 << L.kindShift) >>> 0
const EV_REMOVE = (2 << L.kindShift) >>> 0
const EV_DEADLINE = (3 << L.kindShift) >>> 0
const EV_INSERT = (4 << L.kindShift) >>> 0
const EXPIRED_BIT = 0x80000000
const MAX_WEIGHT = 0xffffffff

const defaultPerf =
  typeof performance === 'object' && performance && typeof performance.now === 'function'
    ? performance
    : Date

const warned = new Set()
const emitWarning = (msg, type, code, fn) => {
  if (typeof process === 'object' && process && typeof process.emitWarning === 'function') {
    process.emitWarning(msg, type, code, fn)
  } else {
    console.error(`[${code}] ${type}: ${msg}`)
  }
}

/** Never a user's key (`#missKey` when no miss is remembered). */
const NO_KEY = Symbol('cortado.noKey')

const isPosInt = (n) => !!n && n === Math.floor(n) && n > 0 && isFinite(n)

// ---- key hashing (for the frequency sketch only: collisions cost accuracy, not correctness)

const hashF64 = new Float64Array(1)
const hashU32 = new Uint32Array(hashF64.buffer)
const objectIds = new WeakMap()
let nextObjectId = 1

function hashString(s) {
  const n = s.length
  let h = 0x811c9dc5 ^ n
  if (n <= 64) {
    for (let i = 0; i < n; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  } else {
    // Long keys: both ends in full and 32 characters spread over the middle.
    for (let i = 0; i < 16; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
    const step = Math.max(1, ((n - 32) / 32) | 0)
    for (let i = 16; i < n - 16; i += step) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
    for (let i = n - 16; i < n; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  }
  return h >>> 0
}

function hashKey(k) {
  switch (typeof k) {
    case 'string':
      return hashString(k)
    case 'number':
      if ((k | 0) === k) return (k ^ 0x27d4eb2d) >>> 0
      hashF64[0] = k
      return (hashU32[0] ^ Math.imul(hashU32[1], 0x9e3779b1)) >>> 0
    case 'object':
    case 'function': {
      if (k === null) return 0
      let id = objectIds.get(k)
      if (id === undefined) {
        id = nextObjectId++
        objectIds.set(k, id)
      }
      return Math.imul(id, 0x9e3779b1) >>> 0
    }
    case 'boolean':
      return k ? 0x3c6ef372 : 0xa54ff53a
    case 'bigint':
      return hashString('n' + k.toString())
    case 'symbol':
      return hashString('s' + String(k.description))
    default:
      return 0x510e527f
  }
}

/** Binary min-heap of numbers: when the next ttlAutopurge timer must fire. */
class MinHeap {
  constructor() {
    this.a = []
  }
  get length() {
    return this.a.length
  }
  peek() {
    return this.a[0]
  }
  push(x) {
    const a = this.a
    let i = a.length
    a.push(x)
    while (i > 0) {
      const p = (i - 1) >> 1
      if (a[p] <= x) break
      a[i] = a[p]
      i = p
    }
    a[i] = x
  }
  pop() {
    const a = this.a
    const top = a[0]
    const last = a.pop()
    if (a.length > 0) {
      let i = 0
      const n = a.length
      for (;;) {
        let c = 2 * i + 1
        if (c >= n) break
        if (c + 1 < n && a[c + 1] < a[c]) c++
        if (a[c] >= last) break
        a[i] = a[c]
        i = c
      }
      a[i] = last
    }
    return top
  }
  clear() {
    this.a.length = 0
  }
}

/**
 * A bounded cache with lru-cache's API and semantics; the eviction policy is W-TinyLFU by
 * default (`policy: 'lru'` for lru-cache's exact order).
 */
class Cache {
  // options that cannot change after construction
  #max
  #maxSize
  #dispose
  #onInsert
  #disposeAfter
  #fetchMethod
  #memoMethod
  #perf
  #policyName

  // public option fields, as in lru-cache: changing them changes later calls' defaults
  ttl
  ttlResolution
  ttlAutopurge
  updateAgeOnGet
  updateAgeOnHas
  allowStale
  noDisposeOnSet
  noUpdateTTL
  maxEntrySize
  sizeCalculation
  noDeleteOnFetchRejection
  noDeleteOnStaleGet
  allowStaleOnFetchAbort
  allowStaleOnFetchRejection
  ignoreFetchAbort
  backgroundFetchSize

  // entries
  #size = 0
  #calculatedSize = 0
  #keyMap = new Map()
  #keyList
  #valList
  #free = []
  #nextSlot = 0
  #cap
  #hashes
  /** Per slot, bumped at each reuse: tells a victim from a later entry in the same slot. */
  #gens
  #sizes
  #starts
  #ttls
  #disposed
  #hasDispose
  #hasFetchMethod
  #hasDisposeAfter
  #hasOnInsert

  // the native policy
  #op
  #u32
  #f64
  #log
  #logv
  #out
  #nlog = 0
  /** Native calls and logged changes so far, plus `#hits`: tells `pop` whether its snapshot is current. */
  #opSeq = 0
  #weighted
  #useWheel

  // time
  #cachedNow = 0
  #purgeHeap
  #purgeTimer
  #purgeAt = Infinity

  /** No callbacks, sizes, TTLs or fetches: `get` and `set` without options take a short path. */
  #simple = false
  /**
   * The key of the last `get` that missed, and `#adds` at that time: while no key has been
   * added since, a `set` of that key (the cache-aside pattern: get, miss, load, set) knows it
   * is new without a second Map lookup, a fifth of the cost of a miss.
   */
  #missKey = NO_KEY
  #missAt = 0
  /** Keys added to `#keyMap` so far. */
  #adds = 0

  // statistics
  #hits = 0
  #misses = 0
  #evictions = 0
  /**
   * Victims the policy chose ahead of the inserts that need their room (a cache bounded by its
   * count): still live and readable until then, no longer in the policy, dropped with reason
   * `evict` when their turn comes (under TinyLFU `expire` if stale by then). A use (what would
   * move an entry to lru-cache's tail) takes one back (`#rescue`); everything that lists or
   * drops entries takes them first, as the coldest.
   */
  #chosen = new Uint32Array(MAX_AHEAD + 1)
  #chosenGen = new Float64Array(MAX_AHEAD + 1)
  #nChosen = 0
  #chosenAt = 0
  /** Per slot, 1 + its place in `#chosen` while it is a chosen victim; 0 otherwise. */
  #chosenPos
  /**
   * TinyLFU only: per slot, the hits since the policy last visited the slot (at most 15), in a
   * buffer the policy reads and resets itself. TinyLFU only counts a hit (it moves nothing), so
   * a hit costs a byte here instead of a log entry replayed by the next native call.
   */
  #hitCounts
  /** How many inserts' victims a native call chooses beyond its own (0: none ahead). */
  #ahead = 0
  /** Whether an insert into a full cache evicts before it adds (see `#evictFirst`). */
  #evictsFirst = false
  /** Whether an update is a use before its `dispose` runs, as in lru-cache (`'lru'` only). */
  #usesFirst = false
  /**
   * Slots the policy has let go of and `#evict` has yet to remove, as (slot, generation) pairs,
   * coldest first: iteration from their callbacks still lists them, as lru-cache's does.
   */
  #leaving = []
  /**
   * Until when (ms, `perf.now()`) chosen victims may be dropped: from then on an entry may have
   * expired, and an insert into a full cache must reclaim expired entries before live ones.
   */
  #chosenUntil = Infinity

  get perf() {
    return this.#perf
  }
  get max() {
    return this.#max
  }
  get maxSize() {
    return this.#maxSize
  }
  get calculatedSize() {
    return this.#calculatedSize
  }
  get size() {
    return this.#size
  }
  get fetchMethod() {
    return this.#fetchMethod
  }
  get memoMethod() {
    return this.#memoMethod
  }
  get dispose() {
    return this.#dispose
  }
  get onInsert() {
    return this.#onInsert
  }
  get disposeAfter() {
    return this.#disposeAfter
  }
  /** The eviction policy: `'tinylfu'` (default) or `'lru'`. */
  get policy() {
    return this.#policyName
  }

  constructor(options) {
    const {
      max = 0,
      ttl,
      ttlResolution = 1,
      ttlAutopurge,
      updateAgeOnGet,
      updateAgeOnHas,
      allowStale,
      dispose,
      onInsert,
      disposeAfter,
      noDisposeOnSet,
      noUpdateTTL,
      maxSize = 0,
      maxEntrySize = 0,
      sizeCalculation,
      fetchMethod,
      memoMethod,
      noDeleteOnFetchRejection,
      noDeleteOnStaleGet,
      allowStaleOnFetchRejection,
      allowStaleOnFetchAbort,
      ignoreFetchAbort,
      backgroundFetchSize = 1,
      perf,
      policy = 'tinylfu',
    } = options
    this.backgroundFetchSize = backgroundFetchSize
    if (perf !== undefined) {
      if (typeof perf?.now !== 'function') {
        throw new TypeError('perf option must have a now() method if specified')
      }
    }
    this.#perf = perf ?? defaultPerf
    if (max !== 0 && !isPosInt(max)) {
      throw new TypeError('max option must be a nonnegative integer')
    }
    if (max > Number.MAX_SAFE_INTEGER) {
      throw new Error('invalid max value: ' + max)
    }
    if (policy !== 'tinylfu' && policy !== 'lru') {
      throw new TypeError("policy must be 'tinylfu' or 'lru'")
    }
    this.#policyName = policy
    this.#max = max
    this.#maxSize = maxSize
    this.maxEntrySize = maxEntrySize || this.#maxSize
    this.sizeCalculation = sizeCalculation
    if (this.sizeCalculation) {
      if (!this.#maxSize && !this.maxEntrySize) {
        throw new TypeError('cannot set sizeCalculation without setting maxSize or maxEntrySize')
      }
      if (typeof this.sizeCalculation !== 'function') {
        throw new TypeError('sizeCalculation set to non-function')
      }
    }
    if (memoMethod !== undefined && typeof memoMethod !== 'function') {
      throw new TypeError('memoMethod must be a function if defined')
    }
    this.#memoMethod = memoMethod
    if (fetchMethod !== undefined && typeof fetchMethod !== 'function') {
      throw new TypeError('fetchMethod must be a function if specified')
    }
    this.#fetchMethod = fetchMethod
    this.#hasFetchMethod = !!fetchMethod

    this.#cap = Math.max(16, Math.min(max ? max + 1 : 1024, 1 << 16))
    this.#keyList = new Array(this.#cap).fill(undefined)
    this.#valList = new Array(this.#cap).fill(undefined)
    this.#hashes = new Uint32Array(this.#cap)
    this.#gens = new Uint32Array(this.#cap)
    this.#chosenPos = new Uint8Array(this.#cap)

    if (typeof dispose === 'function') this.#dispose = dispose
    if (typeof onInsert === 'function') this.#onInsert = onInsert
    if (typeof disposeAfter === 'function') {
      this.#disposeAfter = disposeAfter
      this.#disposed = []
    } else {
      this.#disposeAfter = undefined
      this.#disposed = undefined
    }
    this.#hasDispose = !!this.#dispose
    this.#hasOnInsert = !!this.#onInsert
    this.#hasDisposeAfter = !!this.#disposeAfter
    this.noDisposeOnSet = !!noDisposeOnSet
    this.noUpdateTTL = !!noUpdateTTL
    this.noDeleteOnFetchRejection = !!noDeleteOnFetchRejection
    this.allowStaleOnFetchRejection = !!allowStaleOnFetchRejection
    this.allowStaleOnFetchAbort = !!allowStaleOnFetchAbort
    this.ignoreFetchAbort = !!ignoreFetchAbort
    if (this.maxEntrySize !== 0) {
      if (this.#maxSize !== 0) {
        if (!isPosInt(this.#maxSize)) {
          throw new TypeError('maxSize must be a positive integer if specified')
        }
      }
      if (!isPosInt(this.maxEntrySize)) {
        throw new TypeError('maxEntrySize must be a positive integer if specified')
      }
      this.#sizes = new Float64Array(this.#cap)
    }
    this.allowStale = !!allowStale
    this.noDeleteOnStaleGet = !!noDeleteOnStaleGet
    this.updateAgeOnGet = !!updateAgeOnGet
    this.updateAgeOnHas = !!updateAgeOnHas
    this.ttlResolution = isPosInt(ttlResolution) || ttlResolution === 0 ? ttlResolution : 1
    this.ttlAutopurge = !!ttlAutopurge
    this.ttl = ttl || 0
    if (this.ttl) {
      if (!isPosInt(this.ttl)) {
        throw new TypeError('ttl must be a positive integer if specified')
      }
      this.#initializeTTLTracking()
    }
    if (this.#max === 0 && this.ttl === 0 && this.#maxSize === 0) {
      throw new TypeError('At least one of max, maxSize, or ttl is required')
    }
    if (!this.ttlAutopurge && !this.#max && !this.#maxSize) {
      const code = 'LRU_CACHE_UNBOUNDED'
      if (!warned.has(code)) {
        warned.add(code)
        const msg =
          'TTL caching without ttlAutopurge, max, or maxSize can ' +
          'result in unbounded memory consumption.'
        emitWarning(msg, 'UnboundedCacheWarning', code, Cache)
      }
    }

    // The policy bounds the total size when maxSize is set (max is then enforced here, one
    // eviction at a time), else the count. Unbounded caches count weights too, so the
    // frequency sketch grows with the cache instead of being sized for "infinity".
    this.#weighted = this.#maxSize > 0 || this.#max === 0
    const capacity = this.#maxSize > 0 ? this.#maxSize : this.#max > 0 ? this.#max : Infinity
    const ctl = new ArrayBuffer(L.ctlBytes)
    this.#u32 = new Uint32Array(ctl, 0, 16)
    this.#f64 = new Float64Array(ctl, 0, 8)
    this.#log = new Uint32Array(ctl, L.logOffset, LOG_CAP)
    this.#logv = new Float64Array(ctl, L.logvOffset, LOG_CAP)
    this.#out = new Uint32Array(ctl, L.outOffset, L.outCap)
    this.#simple =
      !this.#hasDispose &&
      !this.#hasDisposeAfter &&
      !this.#hasOnInsert &&
      !this.#hasFetchMethod &&
      this.#sizes === undefined &&
      this.#ttls === undefined
    this.#op = native.createPolicy(ctl, policy === 'lru', capacity, this.#weighted, this.#now0())
    if (policy !== 'lru') this.#attachHits(new Uint8Array(new ArrayBuffer(this.#cap)))
    // Up to 1/128 of the capacity ahead (caches under 128 entries choose each victim when it
    // is needed). Under `'lru'` too: the chosen ones are the least recently used, dropped in
    // that order, and a use takes one back (`#rescue`), so the order stays lru-cache's.
    this.#ahead = this.#weighted ? 0 : Math.min(MAX_AHEAD, Math.floor(capacity / 128))
    this.#evictsFirst = policy === 'lru' && this.#max > 0
    this.#usesFirst = policy === 'lru'
  }

  // ---- the native policy -----------------------------------------------------------------

  /** The clock for the policy's timer wheel (never negative). */
  #now0() {
    const n = this.#perf.now()
    return n > 0 ? n : 0
  }

  #call(op) {
    this.#opSeq++
    const u = this.#u32
    u[W_NLOG] = this.#nlog
    this.#nlog = 0
    u[W_OP] = op
    return this.#op()
  }

  #flush() {
    this.#call(OP_FLUSH)
  }

  /** Records a use of slot `i` (lru-cache's "move to tail"). */
  #touch(i) {
    this.#opSeq++
    this.#use(i)
  }

  /** `#touch` for a `get` hit, which `#hits` already counts for `pop`'s snapshot. */
  #use(i) {
    const h = this.#hitCounts
    if (h !== undefined) {
      if (h[i] < 15) h[i]++
    } else {
      const n = this.#nlog
      this.#log[n] = i
      if ((this.#nlog = n + 1) >= FLUSH_AT) this.#flush()
    }
    if (this.#chosenPos[i] !== 0) this.#rescue(i)
  }

  /** Hands the policy a new hit-count buffer (see `#hitCounts`), after the log it applies to. */
  #attachHits(counts) {
    this.#hitCounts = counts
    const u = this.#u32
    u[W_NLOG] = this.#nlog
    this.#nlog = 0
    u[W_OP] = OP_SET_HITS
    this.#op(counts.buffer)
  }

  /**
   * A use of chosen victim `i` (lru-cache would move it to the tail): it is no longer chosen
   * and goes back to the policy as a new entry, the most recent one.
   */
  #rescue(i) {
    this.#chosenGen[this.#chosenPos[i] - 1] = -1
    this.#chosenPos[i] = 0
    this.#registerLater(i, this.#deadlineOf(i))
  }

  #logEvent(word, value) {
    this.#opSeq++
    const n = this.#nlog
    this.#log[n] = word
    this.#logv[n] = value
    if ((this.#nlog = n + 1) >= FLUSH_AT) this.#flush()
  }

  /** The policy weight of an entry of `size`. */
  #weightOf(size) {
    if (!this.#weighted || this.#maxSize === 0) return 1
    return size > MAX_WEIGHT ? MAX_WEIGHT : size
  }

  /** The deadline of slot `i` for the policy's timer wheel, or -1 for none. */
  #deadlineOf(i) {
    if (!this.#useWheel) return -1
    const t = this.#ttls[i]
    return t !== 0 ? this.#starts[i] + t : -1
  }

  /** Registers slot `i` with the policy without asking for an eviction decision. */
  #registerLater(i, deadline) {
    this.#opSeq++
    if (deadline >= 0 && deadline < this.#chosenUntil) this.#chosenUntil = deadline
    if (this.#nlog >= FLUSH_AT - 2) this.#flush()
    const n = this.#nlog
    this.#log[n] = (EV_INSERT | i) >>> 0
    this.#logv[n] = deadline
    this.#log[n + 1] = this.#hashes[i]
    this.#logv[n + 1] = this.#weightOf(this.#sizes ? this.#sizes[i] : 1)
    if ((this.#nlog = n + 2) >= FLUSH_AT) this.#flush()
  }

  /** Tells the policy about a new entry in slot `i`, and drops what it decides to drop. */
  #policyInsert(i, size) {
    const weight = this.#weightOf(size)
    const deadline = this.#deadlineOf(i)
    let over =
      this.#weighted
        ? this.#maxSize > 0 && (this.#calculatedSize > this.#maxSize || weight === MAX_WEIGHT)
        : this.#size > this.#max
    if (over && this.#chosenAt < this.#nChosen && this.#useWheel && this.#policyName === 'tinylfu') {
      // Expired entries go before chosen (live) victims: reclaim them once one may be due.
      const now = this.#cachedNow || this.#getNow()
      if (now >= this.#chosenUntil) {
        this.#expireDue(now)
        this.#chosenUntil = this.#f64[F_EXPIRY]
        over = this.#size > this.#max
      }
    }
    const ready = over && !this.#weighted ? this.#takeChosen() : -1
    if (!over || ready >= 0) {
      // The policy learns of the new entry before a callback of the victim's could remove it.
      this.#registerLater(i, deadline)
      if (ready >= 0) this.#dropChosen(ready)
      return false
    }
    const ahead = this.#weighted ? 0 : this.#ahead
    const now = this.#useWheel && this.#policyName === 'tinylfu' ? this.#cachedNow || this.#getNow() : -1
    const n = this.#callInsert(i, weight, this.#hashes[i], deadline, now, ahead)
    if (n === 0) return false
    if (ahead === 0 || !this.#canKeepChosen(n)) return this.#takeVictims(n, i)
    this.#chosenUntil = this.#f64[F_EXPIRY]
    if (this.#keepChosen(n, i)) return true
    const w = this.#takeChosen()
    if (w >= 0) this.#dropChosen(w)
    return false
  }

  /**
   * Drops chosen victim `w` now that its turn came: under TinyLFU with reason `expire` if it
   * went stale since (expired entries go first there), under `'lru'` with `evict` as lru-cache
   * evicts its least recently used entry whatever its age.
   */
  #dropChosen(w) {
    if (this.#policyName === 'tinylfu' && this.#isStale(w)) {
      this.#delete(this.#keyList[w], 'expire', true)
    } else {
      this.#evict(w, this.#gens[w])
    }
  }

  /**
   * For ttlAutopurge, whose timer finds expired entries through the policy's wheel, which
   * chosen victims have left (`purgeStale` lists them with every entry).
   */
  #purgeChosen() {
    for (const w of this.#liveChosen()) {
      if (this.#isStale(w)) this.#delete(this.#keyList[w], 'expire', true)
    }
  }

  /**
   * Under `'lru'`, an insert into a cache full by count evicts before it adds, as lru-cache
   * does: `dispose` sees `max` entries and not the new key, and the new key takes the victim's
   * slot (which decides whether a late value of an aborted fetch still lands, as in
   * lru-cache). The victim is the next one chosen ahead, or the policy's coldest, asked for
   * together with the next `#ahead` (kept as chosen, so most such inserts make no native call).
   * Caches without callbacks or fetches take `#insertFull`, where the order cannot be seen.
   */
  #evictFirst() {
    let w = this.#takeChosen()
    if (w < 0) {
      const u = this.#u32
      u[W_AHEAD] = this.#ahead
      const n = this.#call(OP_EVICT_ONE)
      u[W_AHEAD] = 0
      if (n === 0) return
      if (!this.#canKeepChosen(n)) {
        this.#takeVictims(n)
        return
      }
      this.#keepChosen(n, -1)
      w = this.#takeChosen()
      if (w < 0) return
    }
    this.#evict(w, this.#gens[w])
  }

  /**
   * `#policyInsert` for a simple cache over its count (no sizes, TTLs or callbacks, so no
   * victim can be expired and nothing can re-enter). Each native call makes room for the next
   * `#ahead` inserts too: their victims are chosen then, and dropped one per insert here, so
   * most inserts into a full cache make no native call (a call and the policy's cold lines
   * cost more than the rest of a set; see `#chosen`).
   */
  #insertFull(i, hash) {
    const ready = this.#takeChosen()
    if (ready >= 0) {
      this.#dropSimple(ready)
      this.#registerLater(i, -1)
      return
    }
    const n = this.#callInsert(i, 1, hash, -1, -1, this.#ahead)
    if (n === 0) return
    if (!this.#canKeepChosen(n)) {
      if (this.#takeVictims(n, i)) this.#evict(i, this.#gens[i])
      return
    }
    if (this.#keepChosen(n, i)) this.#evict(i, this.#gens[i])
    else {
      const w = this.#takeChosen()
      if (w >= 0) this.#dropSimple(w)
    }
  }

  /**
   * The native insert of new slot `i`: the policy records it and evicts for it, and for the
   * next `ahead` inserts too (see `#chosen`). `now` (ms) lets it reclaim expired entries first;
   * -1 does not. Returns how many victims it wrote to the output area.
   */
  #callInsert(i, weight, hash, deadline, now, ahead) {
    const u = this.#u32
    u[W_AHEAD] = ahead
    u[W_SLOT] = i
    u[W_WEIGHT] = weight
    u[W_HASH] = hash
    const f = this.#f64
    f[F_DEADLINE] = deadline
    f[F_NOW] = now
    const n = this.#call(OP_INSERT)
    u[W_AHEAD] = 0
    return n
  }

  /** Whether the `n` victims of the last call all fit the chosen list (none left for `OP_MORE`). */
  #canKeepChosen(n) {
    return (this.#u32[W_FLAGS] & 1) === 0 && n <= this.#chosen.length
  }

  /**
   * Keeps the `n` victims in the output area (coldest first) as the chosen ones, to be dropped
   * one per insert, the first of them by the caller now. Returns whether the new entry in slot
   * `newSlot` is among them (rejected by admission): then it goes now instead, and every other
   * victim waits. Expired entries the policy reclaimed in the same call (with TTLs) are not
   * chosen: they are handled now, as `#takeVictims` handles them.
   */
  #keepChosen(n, newSlot) {
    const out = this.#out
    const chosen = this.#chosen
    let rejected = false
    let m = 0
    let expired
    for (let j = 0; j < n; j++) {
      const w = out[j]
      if (w >= EXPIRED_BIT) (expired ??= []).push(w & 0x7fffffff)
      else if (w === newSlot) rejected = true
      else {
        chosen[m] = w
        this.#chosenGen[m++] = this.#gens[w]
        this.#chosenPos[w] = m
      }
    }
    this.#nChosen = m
    this.#chosenAt = 0
    if (expired !== undefined) {
      const gens = expired.map((i) => this.#gens[i])
      for (let j = 0; j < expired.length; j++) this.#expiredByPolicy(expired[j], false, gens[j])
    }
    return rejected
  }

  /** Evicts slot `w` of a simple cache, which has no callbacks or sizes to attend to. */
  #dropSimple(w) {
    this.#keyMap.delete(this.#keyList[w])
    this.#releaseSlot(w)
    this.#evictions++
  }

  /**
   * Takes the next victim chosen ahead that still holds the entry it was chosen as (deleted
   * and re-used slots are skipped); -1 if none is left.
   */
  #takeChosen() {
    while (this.#chosenAt < this.#nChosen) {
      const w = this.#chosenSlot(this.#chosenAt++)
      if (w >= 0) {
        this.#chosenPos[w] = 0
        return w
      }
    }
    return -1
  }

  /** The slot chosen at place `at` if it still holds the entry it was chosen as, else -1. */
  #chosenSlot(at) {
    const w = this.#chosen[at]
    return this.#gens[w] === this.#chosenGen[at] && this.#keyList[w] !== undefined ? w : -1
  }

  /** The victims chosen ahead that are still live, next to go first. */
  #liveChosen() {
    const live = []
    for (let at = this.#chosenAt; at < this.#nChosen; at++) {
      const w = this.#chosenSlot(at)
      if (w >= 0) live.push(w)
    }
    return live
  }

  /**
   * Handles `n` victims in the output area, except `newSlot` (the entry being inserted): returns
   * whether the policy rejected it, for the caller to evict it once the insert is complete.
   */
  #takeVictims(n, newSlot = -1) {
    const more = (this.#u32[W_FLAGS] & 1) !== 0
    let deferNew = false
    if (n === 1 && !more) {
      const w = this.#out[0]
      const i = w & 0x7fffffff
      if (i === newSlot && w < EXPIRED_BIT) return true
      this.#victim(w, this.#gens[i])
      return false
    }
    const words = Array.from(this.#out.subarray(0, n))
    if (more) {
      for (;;) {
        const m = this.#call(OP_MORE)
        for (let j = 0; j < m; j++) words.push(this.#out[j])
        if ((this.#u32[W_FLAGS] & 1) === 0) break
      }
    }
    // Callbacks (dispose, abort listeners) may change the cache while victims are handled:
    // each victim is identified by its slot's generation as of now.
    const gens = words.map((w) => this.#gens[w & 0x7fffffff])
    const mark = this.#leaving.length
    for (let j = 0; j < words.length; j++) this.#leaving.push(words[j] & 0x7fffffff, gens[j])
    try {
      for (let j = 0; j < words.length; j++) {
        const w = words[j]
        if ((w & 0x7fffffff) === newSlot && w < EXPIRED_BIT) deferNew = true
        else this.#victim(w, gens[j])
      }
    } finally {
      this.#leaving.length = mark
    }
    return deferNew
  }

  #victim(w, gen) {
    const i = w & 0x7fffffff
    if (w >= EXPIRED_BIT) this.#expiredByPolicy(i, false, gen)
    else this.#evict(i, gen)
  }

  /** The policy's timer wheel says slot `i` expired (it already forgot the slot). */
  #expiredByPolicy(i, purging, gen) {
    const k = this.#keyList[i]
    if (k === undefined || this.#gens[i] !== gen) return
    const v = this.#valList[i]
    if (!this.#isStale(i) || (!purging && this.#isBackgroundFetch(v))) {
      // Still fresh (its age was updated), or being refreshed by a fetch: keep it.
      this.#registerLater(i, this.#isStale(i) ? -1 : this.#deadlineOf(i))
      return
    }
    this.#delete(k, 'expire', true)
  }

  // ---- time --------------------------------------------------------------------------------

  #getNow() {
    const n = this.#perf.now()
    if (this.ttlResolution > 0) {
      this.#cachedNow = n
      const t = setTimeout(() => (this.#cachedNow = 0), this.ttlResolution)
      if (t.unref) t.unref()
    }
    return n
  }

  #initializeTTLTracking() {
    this.#simple = false
    this.#ttls = new Float64Array(this.#cap)
    this.#starts = new Float64Array(this.#cap)
    this.#useWheel = this.ttlAutopurge || this.#policyName === 'tinylfu'
    if (this.ttlAutopurge) this.#purgeHeap = new MinHeap()
  }

  #setItemTTL(index, ttl, start = this.#perf.now()) {
    this.#starts[index] = ttl !== 0 ? start : 0
    this.#ttls[index] = ttl
    // An entry due before the policy's next expiry also ends the use of chosen victims then.
    if (ttl !== 0 && start + ttl < this.#chosenUntil) this.#chosenUntil = start + ttl
    if (ttl !== 0 && this.#purgeHeap) this.#schedulePurge(start + ttl)
  }

  /** After an existing entry's TTL changed: tells the policy's wheel. */
  #syncDeadline(index) {
    if (this.#useWheel) this.#logEvent((EV_DEADLINE | index) >>> 0, this.#deadlineOf(index))
  }

  #updateItemAge(index) {
    if (this.#ttls === undefined) return
    const t = this.#ttls[index]
    this.#starts[index] = t !== 0 ? this.#perf.now() : 0
    if (t !== 0) {
      this.#syncDeadline(index)
      if (this.#purgeHeap) this.#schedulePurge(this.#starts[index] + t)
    }
  }

  #isStale(index) {
    if (this.#ttls === undefined) return false
    const t = this.#ttls[index]
    return t !== 0 && (this.#cachedNow || this.#getNow()) - this.#starts[index] >= t
  }

  #remainingTTL(index) {
    const t = this.#ttls[index]
    if (!t) return Infinity
    return t - ((this.#cachedNow || this.#getNow()) - this.#starts[index])
  }

  #statusTTL(status, index) {
    if (this.#ttls && this.#ttls[index]) {
      const ttl = this.#ttls[index]
      const start = this.#starts[index]
      status.ttl = ttl
      status.start = start
      status.now = this.#cachedNow || this.#getNow()
      status.remainingTTL = ttl - (status.now - start)
    }
  }

  // ttlAutopurge: one timer for the whole cache, at the earliest deadline; the policy's timer
  // wheel finds what expired.
  #schedulePurge(at) {
    const heap = this.#purgeHeap
    heap.push(at)
    if (heap.length > 2 * this.#size + 1024) this.#rebuildPurgeHeap()
    if (this.#purgeTimer === undefined || at < this.#purgeAt) this.#armPurge(at)
  }

  #rebuildPurgeHeap() {
    const heap = this.#purgeHeap
    heap.clear()
    for (const i of this.#keyMap.values()) {
      const t = this.#ttls[i]
      if (t !== 0) heap.push(this.#starts[i] + t)
    }
  }

  #armPurge(at) {
    if (this.#purgeTimer !== undefined) clearTimeout(this.#purgeTimer)
    this.#purgeAt = at
    const delay = Math.max(0, at - this.#perf.now())
    const t = setTimeout(() => this.#purgeFire(), delay + 1)
    if (t.unref) t.unref()
    this.#purgeTimer = t
  }

  #purgeFire() {
    this.#purgeTimer = undefined
    this.#purgeAt = Infinity
    const now = this.#perf.now()
    this.#cachedNow = 0
    this.#expireDue(now)
    this.#purgeChosen()
    const heap = this.#purgeHeap
    while (heap.length && heap.peek() <= now) heap.pop()
    if (heap.length) this.#armPurge(heap.peek())
    this.#flushDisposed()
  }

  /** Removes every entry the policy's wheel says is due at `now` (reason `expire`). */
  #expireDue(now) {
    if (!this.#useWheel) return
    for (;;) {
      this.#f64[F_NOW] = now > 0 ? now : 0
      this.#u32[W_SLOT] = 4096
      const n = this.#call(OP_EXPIRE)
      const flags = this.#u32[W_FLAGS]
      const words = Array.from(this.#out.subarray(0, n))
      if (flags & 1) {
        for (;;) {
          const m = this.#call(OP_MORE)
          for (let j = 0; j < m; j++) words.push(this.#out[j])
          if ((this.#u32[W_FLAGS] & 1) === 0) break
        }
      }
      const gens = words.map((w) => this.#gens[w & 0x7fffffff])
      for (let j = 0; j < words.length; j++) this.#expiredByPolicy(words[j] & 0x7fffffff, true, gens[j])
      if ((flags & 2) === 0) break
    }
  }

  // ---- slots -------------------------------------------------------------------------------

  #allocSlot() {
    let i
    if (this.#free.length !== 0) {
      i = this.#free.pop()
    } else {
      i = this.#nextSlot++
      if (i >= this.#cap) this.#grow()
      if (i >= MAX_SLOTS) throw new RangeError('cortado: too many entries')
    }
    this.#gens[i]++
    return i
  }

  #grow() {
    const cap = this.#cap * 2
    const grow = (a) => {
      if (a === undefined) return undefined
      const b = new a.constructor(cap)
      b.set(a)
      return b
    }
    for (let i = this.#cap; i < cap; i++) {
      this.#keyList.push(undefined)
      this.#valList.push(undefined)
    }
    this.#hashes = grow(this.#hashes)
    this.#gens = grow(this.#gens)
    this.#chosenPos = grow(this.#chosenPos)
    if (this.#hitCounts !== undefined) {
      const counts = new Uint8Array(new ArrayBuffer(cap))
      counts.set(this.#hitCounts)
      this.#attachHits(counts)
    }
    this.#sizes = grow(this.#sizes)
    this.#ttls = grow(this.#ttls)
    this.#starts = grow(this.#starts)
    this.#cap = cap
  }

  #requireSize(k, v, size, sizeCalculation) {
    if (this.#sizes === undefined) {
      if (size || sizeCalculation) {
        throw new TypeError('cannot set size without setting maxSize or maxEntrySize on cache')
      }
      return 0
    }
    if (!isPosInt(size)) {
      if (this.#isBackgroundFetch(v)) return this.backgroundFetchSize
      if (sizeCalculation) {
        if (typeof sizeCalculation !== 'function') {
          throw new TypeError('sizeCalculation must be a function')
        }
        size = sizeCalculation(v, k)
        if (!isPosInt(size)) {
          throw new TypeError('sizeCalculation return invalid (expect positive integer)')
        }
      } else {
        throw new TypeError(
          'invalid size value (must be positive integer). ' +
            'When maxSize or maxEntrySize is used, sizeCalculation ' +
            'or size must be set.',
        )
      }
    }
    return size
  }

  #removeItemSize(index) {
    if (this.#sizes !== undefined) {
      this.#calculatedSize -= this.#sizes[index]
      this.#sizes[index] = 0
    }
  }

  #addItemSize(index, size, status) {
    if (this.#sizes !== undefined) {
      this.#sizes[index] = size
      this.#calculatedSize += size
      if (status) status.entrySize = size
    }
  }

  /** The total a write's status reports: after the evictions it made, as lru-cache's does
   * (it evicts before it adds). */
  #statusSize(status) {
    if (this.#sizes !== undefined) status.totalCalculatedSize = this.#calculatedSize
  }

  /** Frees slot `i` (already out of the key map and the policy). */
  #releaseSlot(i) {
    this.#keyList[i] = undefined
    this.#valList[i] = undefined
    this.#chosenPos[i] = 0
    if (this.#hitCounts !== undefined) this.#hitCounts[i] = 0
    if (this.#ttls !== undefined) {
      this.#ttls[i] = 0
      this.#starts[i] = 0
    }
    this.#free.push(i)
    if (--this.#size === 0) {
      // Empty, every slot is free: start over from slot 0, as lru-cache does, so that a cache's
      // slots (which decide whether a late value of an aborted fetch lands, as in lru-cache)
      // stay lru-cache's under 'lru'.
      this.#free.length = 0
      this.#nextSlot = 0
    }
  }

  /** Evicts slot `i` if it still holds generation `gen` (lru-cache's `#evict`): reason `evict`. */
  #evict(i, gen) {
    const k = this.#keyList[i]
    if (k === undefined || this.#gens[i] !== gen) return
    const v = this.#valList[i]
    const isBF = this.#isBackgroundFetch(v)
    // The policy has let go of the victim already; until it is gone, iteration (from an abort
    // listener or `dispose`) still lists it, as the coldest entry, as lru-cache's does.
    const mark = this.#leaving.length
    this.#leaving.push(i, gen)
    try {
      if (isBF) v.__abortController.abort(new Error('evicted'))
      const oldValue = isBF ? v.__staleWhileFetching : v
      if ((this.#hasDispose || this.#hasDisposeAfter) && oldValue !== undefined) {
        if (this.#hasDispose) this.#dispose?.(oldValue, k, 'evict')
        if (this.#hasDisposeAfter) this.#disposed?.push([oldValue, k, 'evict'])
      }
    } finally {
      this.#leaving.length = mark
    }
    if (this.#gens[i] !== gen || this.#keyList[i] === undefined) return
    this.#removeItemSize(i)
    this.#keyMap.delete(k)
    this.#releaseSlot(i)
    this.#evictions++
  }

  #flushDisposed() {
    if (this.#hasDisposeAfter && this.#disposed?.length) {
      const dt = this.#disposed
      let task
      while ((task = dt.shift())) this.#disposeAfter?.(...task)
    }
  }

  // ---- iteration ---------------------------------------------------------------------------

  /** Live slots, coldest (next to be evicted) first: LRU first in `'lru'` mode. */
  #order() {
    const order = this.#call(OP_ORDER)
    if (this.#chosenAt === this.#nChosen && this.#leaving.length === 0) return order
    const chosen = this.#liveChosen()
    const lead = this.#stillLeaving(order, chosen)
    const all = new Uint32Array(lead.length + chosen.length + order.length)
    all.set(lead)
    all.set(chosen, lead.length)
    all.set(order, lead.length + chosen.length)
    return all
  }

  /** The slots of `#leaving` still holding their entries, once each, and in neither list. */
  #stillLeaving(order, chosen) {
    const out = []
    const l = this.#leaving
    if (l.length === 0) return out
    const listed = new Set(order)
    for (const w of chosen) listed.add(w)
    for (let j = 0; j < l.length; j += 2) {
      const w = l[j]
      if (this.#gens[w] === l[j + 1] && this.#keyList[w] !== undefined && !listed.has(w)) {
        listed.add(w)
        out.push(w)
      }
    }
    return out
  }

  #isValidIndex(index) {
    return index !== undefined && this.#keyMap.get(this.#keyList[index]) === index
  }

  *#indexes({ allowStale = this.allowStale } = {}) {
    if (this.#size) {
      const order = this.#order()
      for (let j = order.length - 1; j >= 0; j--) {
        const i = order[j]
        if (this.#isValidIndex(i) && (allowStale || !this.#isStale(i))) yield i
      }
    }
  }

  *#rindexes({ allowStale = this.allowStale } = {}) {
    if (this.#size) {
      const order = this.#order()
      for (let j = 0; j < order.length; j++) {
        const i = order[j]
        if (this.#isValidIndex(i) && (allowStale || !this.#isStale(i))) yield i
      }
    }
  }

  /** `[key, value]` pairs, most recently used (hottest) first. */
  *entries() {
    for (const i of this.#indexes()) {
      if (
        this.#valList[i] !== undefined &&
        this.#keyList[i] !== undefined &&
        !this.#isBackgroundFetch(this.#valList[i])
      ) {
        yield [this.#keyList[i], this.#valList[i]]
      }
    }
  }

  /** `[key, value]` pairs, least recently used (coldest) first. */
  *rentries() {
    for (const i of this.#rindexes()) {
      if (
        this.#valList[i] !== undefined &&
        this.#keyList[i] !== undefined &&
        !this.#isBackgroundFetch(this.#valList[i])
      ) {
        yield [this.#keyList[i], this.#valList[i]]
      }
    }
  }

  *keys() {
    for (const i of this.#indexes()) {
      const k = this.#keyList[i]
      if (k !== undefined && !this.#isBackgroundFetch(this.#valList[i])) yield k
    }
  }

  *rkeys() {
    for (const i of this.#rindexes()) {
      const k = this.#keyList[i]
      if (k !== undefined && !this.#isBackgroundFetch(this.#valList[i])) yield k
    }
  }

  *values() {
    for (const i of this.#indexes()) {
      const v = this.#valList[i]
      if (v !== undefined && !this.#isBackgroundFetch(v)) yield v
    }
  }

  *rvalues() {
    for (const i of this.#rindexes()) {
      const v = this.#valList[i]
      if (v !== undefined && !this.#isBackgroundFetch(v)) yield v
    }
  }

  [Symbol.iterator]() {
    return this.entries()
  }

  [Symbol.toStringTag] = 'LRUCache'

  find(fn, getOptions = {}) {
    for (const i of this.#indexes()) {
      const v = this.#valList[i]
      const value = this.#isBackgroundFetch(v) ? v.__staleWhileFetching : v
      if (value === undefined) continue
      if (fn(value, this.#keyList[i], this)) {
        return this.#get(this.#keyList[i], getOptions)
      }
    }
  }

  forEach(fn, thisp = this) {
    for (const i of this.#indexes()) {
      const v = this.#valList[i]
      const value = this.#isBackgroundFetch(v) ? v.__staleWhileFetching : v
      if (value === undefined) continue
      fn.call(thisp, value, this.#keyList[i], this)
    }
  }

  rforEach(fn, thisp = this) {
    for (const i of this.#rindexes()) {
      const v = this.#valList[i]
      const value = this.#isBackgroundFetch(v) ? v.__staleWhileFetching : v
      if (value === undefined) continue
      fn.call(thisp, value, this.#keyList[i], this)
    }
  }

  /** Deletes every stale entry (reason `expire`); whether any was deleted. */
  purgeStale() {
    let deleted = false
    for (const i of this.#rindexes({ allowStale: true })) {
      if (this.#isStale(i)) {
        this.#delete(this.#keyList[i], 'expire')
        deleted = true
      }
    }
    return deleted
  }

  info(key) {
    const i = this.#keyMap.get(key)
    if (i === undefined) return undefined
    const v = this.#valList[i]
    const value = this.#isBackgroundFetch(v) ? v.__staleWhileFetching : v
    if (value === undefined) return undefined
    const entry = { value }
    if (this.#ttls && this.#starts) {
      const ttl = this.#ttls[i]
      const start = this.#starts[i]
      if (ttl) {
        entry.ttl = ttl - (this.#perf.now() - start)
        entry.start = Date.now()
      }
    }
    if (this.#sizes) entry.size = this.#sizes[i]
    return entry
  }

  /** `[key, entry]` pairs, coldest first, so that `load` restores the order. */
  dump() {
    const arr = []
    for (const i of this.#indexes({ allowStale: true })) {
      const key = this.#keyList[i]
      const v = this.#valList[i]
      const value = this.#isBackgroundFetch(v) ? v.__staleWhileFetching : v
      if (value === undefined || key === undefined) continue
      const entry = { value }
      if (this.#ttls && this.#starts) {
        entry.ttl = this.#ttls[i]
        const age = this.#perf.now() - this.#starts[i]
        entry.start = Math.floor(Date.now() - age)
      }
      if (this.#sizes) entry.size = this.#sizes[i]
      arr.push([key, entry])
    }
    return arr.reverse()
  }

  load(arr) {
    this.clear()
    for (const [key, entry] of arr) {
      if (entry.start) {
        const age = Date.now() - entry.start
        entry.start = this.#perf.now() - age
      }
      this.#set(key, entry.value, entry)
    }
  }

  getRemainingTTL(key) {
    const index = this.#keyMap.get(key)
    if (index === undefined) return 0
    if (this.#ttls === undefined) return Infinity
    return this.#remainingTTL(index)
  }

  /** Hits, misses (of `get`, and the lookups of `fetch` and `memo`) and evictions. */
  stats() {
    const requests = this.#hits + this.#misses
    return {
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
      hitRate: requests === 0 ? 1 : this.#hits / requests,
    }
  }

  // ---- writes ------------------------------------------------------------------------------

  set(k, v, setOptions) {
    if (setOptions === undefined) {
      if (this.#simple && v !== undefined && this.ttl === 0 && !this.sizeCalculation) {
        // The common case, kept small: no options, no callbacks, no sizes, no TTL.
        const index =
          k === this.#missKey && this.#missAt === this.#adds ? undefined : this.#keyMap.get(k)
        if (index !== undefined) {
          this.#valList[index] = v
          this.#touch(index)
          return this
        }
        const i = this.#allocSlot()
        this.#keyList[i] = k
        this.#valList[i] = v
        this.#keyMap.set(k, i)
        this.#adds++
        const h = (this.#hashes[i] = hashKey(k))
        if (++this.#size > this.#max && !this.#weighted) this.#insertFull(i, h)
        else if (this.#policyInsert(i, 0)) this.#evict(i, this.#gens[i])
        return this
      }
      setOptions = {}
    }
    const { status } = setOptions
    if (status) {
      status.op = 'set'
      status.key = k
      if (v !== undefined) status.value = v
      status.cache = this
    }
    return this.#set(k, v, setOptions)
  }

  #set(k, v, setOptions, bf) {
    const {
      ttl = this.ttl,
      start,
      noDisposeOnSet = this.noDisposeOnSet,
      sizeCalculation = this.sizeCalculation,
      status,
    } = setOptions
    const isBF = this.#isBackgroundFetch(v)
    if (v === undefined) {
      if (status) status.set = 'deleted'
      this.delete(k)
      return this
    }
    let { noUpdateTTL = this.noUpdateTTL } = setOptions
    if (status && !isBF) status.value = v
    const size = this.#requireSize(k, v, setOptions.size || 0, sizeCalculation)
    if (this.maxEntrySize && size > this.maxEntrySize) {
      this.#delete(k, 'set')
      if (status) {
        status.set = 'miss'
        status.maxEntrySizeExceeded = true
      }
      return this
    }
    if (ttl !== 0 && !this.#ttls) this.#initializeTTLTracking()
    let index = this.#size === 0 ? undefined : this.#keyMap.get(k)
    if (index === undefined) {
      // addition
      if (this.#evictsFirst && this.#size >= this.#max && this.#free.length === 0) this.#evictFirst()
      index = this.#allocSlot()
      this.#keyList[index] = k
      this.#valList[index] = v
      this.#keyMap.set(k, index)
      this.#adds++
      this.#hashes[index] = hashKey(k)
      this.#size++
      this.#addItemSize(index, size, status)
      if (status) status.set = 'add'
      if (this.#ttls) this.#setItemTTL(index, ttl, start)
      const gen = this.#gens[index]
      const rejected = this.#withinBounds(index, this.#policyInsert(index, size))
      if (this.#hasOnInsert && !isBF) this.#onInsert?.(v, k, 'add')
      if (rejected) this.#evict(index, gen)
      if (status) this.#statusSize(status)
      if (status && this.#ttls) this.#statusTTL(status, index)
    } else {
      // update; under 'lru' the use comes first, as lru-cache moves the key before `dispose`
      if (this.#usesFirst) this.#touch(index)
      const oldVal = this.#valList[index]
      if (v !== oldVal) {
        if (!noDisposeOnSet) {
          if (this.#isBackgroundFetch(oldVal)) {
            if (oldVal !== bf) oldVal.__abortController.abort(new Error('replaced'))
            const { __staleWhileFetching: s } = oldVal
            if (s !== undefined && s !== v) {
              if (this.#hasDispose) this.#dispose?.(s, k, 'set')
              if (this.#hasDisposeAfter) this.#disposed?.push([s, k, 'set'])
            }
          } else {
            if (this.#hasDispose) this.#dispose?.(oldVal, k, 'set')
            if (this.#hasDisposeAfter) this.#disposed?.push([oldVal, k, 'set'])
          }
        }
        const oldSize = this.#sizes !== undefined ? this.#sizes[index] : 0
        this.#removeItemSize(index)
        this.#addItemSize(index, size, status)
        this.#valList[index] = v
        if (this.#ttls && !noUpdateTTL) this.#setItemTTL(index, ttl, start)
        this.#policyUpdate(index, oldSize, size, noUpdateTTL)
        if (status) this.#statusSize(status)
        if (!isBF) {
          const oldValue =
            oldVal && this.#isBackgroundFetch(oldVal) ? oldVal.__staleWhileFetching : oldVal
          const setType = oldValue === undefined ? 'add' : v !== oldValue ? 'replace' : 'update'
          if (status) {
            status.set = setType
            if (oldValue !== undefined) status.oldValue = oldValue
          }
          if (this.#hasOnInsert) this.onInsert?.(v, k, setType)
        }
      } else {
        if (!isBF) {
          if (status) status.set = 'update'
          if (this.#hasOnInsert) this.onInsert?.(v, k, 'update')
        }
        if (this.#ttls && !noUpdateTTL) this.#setItemTTL(index, ttl, start)
        this.#policyUpdate(index, size, size, noUpdateTTL)
      }
      if (status && this.#ttls) this.#statusTTL(status, index)
    }
    if (!noDisposeOnSet && this.#hasDisposeAfter && this.#disposed) this.#flushDisposed()
    return this
  }

  /**
   * Evicts until the bounds hold, after the policy's own victims, and returns whether the new
   * entry in slot `newSlot` (-1: none) was rejected. The policy's victims can leave the cache
   * over its bounds: with both `max` and `maxSize` the policy bounds only the size, and an
   * expired victim that a fetch is refreshing stays (see `#expiredByPolicy`).
   */
  #withinBounds(newSlot, rejected) {
    for (;;) {
      const leaving = rejected && newSlot >= 0
      const over =
        (this.#max !== 0 && this.#size - (leaving ? 1 : 0) > this.#max) ||
        (this.#maxSize > 0 &&
          this.#calculatedSize - (leaving && this.#sizes ? this.#sizes[newSlot] : 0) > this.#maxSize)
      if (!over) return rejected
      const w = this.#takeChosen()
      if (w >= 0) {
        this.#dropChosen(w)
        continue
      }
      const n = this.#call(OP_EVICT_ONE)
      if (n === 0) return rejected
      rejected = this.#takeVictims(n, newSlot) || rejected
    }
  }

  /** A write to the live entry in slot `i`: a use, maybe a new weight and deadline. */
  #policyUpdate(i, oldSize, size, noUpdateTTL) {
    const deadlineChanged = this.#useWheel && !noUpdateTTL
    const weight = this.#weightOf(size)
    if (weight !== this.#weightOf(oldSize)) {
      this.#u32[W_SLOT] = i
      this.#u32[W_WEIGHT] = weight
      this.#f64[F_DEADLINE] = this.#deadlineOf(i)
      this.#f64[F_NOW] = -1
      const n = this.#call(OP_UPDATE)
      if (n !== 0) this.#takeVictims(n)
      this.#withinBounds(-1, false)
    } else if (deadlineChanged) {
      this.#logEvent((EV_ACCESS_DEADLINE | i) >>> 0, this.#deadlineOf(i))
      if (this.#chosenPos[i] !== 0) this.#rescue(i)
    } else {
      this.#touch(i)
    }
  }

  /**
   * Evicts the coldest entry (the least recently used one under `'lru'`) and returns its value.
   * Consecutive pops share one snapshot of the policy's order.
   */
  pop() {
    try {
      while (this.#size) {
        let order = this.#popOrder
        if (order === undefined || this.#popSeq !== this.#opSeq + this.#hits || this.#popIdx >= order.length) {
          order = this.#popOrder = this.#order()
          this.#popIdx = 0
          if (order.length === 0) break
        }
        const i = order[this.#popIdx++]
        if (!this.#isValidIndex(i)) continue
        const val = this.#valList[i]
        this.#logEvent((EV_REMOVE | i) >>> 0, 0)
        this.#popSeq = this.#opSeq + this.#hits
        this.#evict(i, this.#gens[i])
        if (this.#isBackgroundFetch(val)) {
          if (val.__staleWhileFetching) return val.__staleWhileFetching
        } else if (val !== undefined) {
          return val
        }
      }
    } finally {
      this.#flushDisposed()
    }
  }
  #popOrder
  #popIdx = 0
  #popSeq = -1

  has(k, hasOptions = {}) {
    const { updateAgeOnHas = this.updateAgeOnHas, status } = hasOptions
    if (status) {
      status.op = 'has'
      status.key = k
      status.cache = this
    }
    const index = this.#keyMap.get(k)
    if (index !== undefined) {
      const v = this.#valList[index]
      if (this.#isBackgroundFetch(v) && v.__staleWhileFetching === undefined) return false
      if (!this.#isStale(index)) {
        if (updateAgeOnHas) this.#updateItemAge(index)
        if (status) {
          status.has = 'hit'
          this.#statusTTL(status, index)
        }
        return true
      } else if (status) {
        status.has = 'stale'
        this.#statusTTL(status, index)
      }
    } else if (status) {
      status.has = 'miss'
    }
    return false
  }

  peek(k, peekOptions = {}) {
    const { allowStale = this.allowStale, status } = peekOptions
    if (status) {
      status.op = 'peek'
      status.key = k
      status.cache = this
    }
    const index = this.#keyMap.get(k)
    if (index === undefined || (!allowStale && this.#isStale(index))) {
      if (status) status.peek = index === undefined ? 'miss' : 'stale'
      return undefined
    }
    const v = this.#valList[index]
    const val = this.#isBackgroundFetch(v) ? v.__staleWhileFetching : v
    if (status) {
      if (val !== undefined) {
        status.peek = 'hit'
        status.value = val
      } else {
        status.peek = 'miss'
      }
    }
    return val
  }

  // ---- fetch -------------------------------------------------------------------------------

  #backgroundFetch(k, index, options, context) {
    const v = index === undefined ? undefined : this.#valList[index]
    if (this.#isBackgroundFetch(v)) return v
    const ac = new AbortController()
    const { signal } = options
    signal?.addEventListener('abort', () => ac.abort(signal.reason), { signal: ac.signal })
    const fetchOpts = { signal: ac.signal, options, context }
    const cb = (v, updateCache = false) => {
      const { aborted } = ac.signal
      const ignoreAbort = options.ignoreFetchAbort && v !== undefined
      const proceed = options.ignoreFetchAbort || !!(options.allowStaleOnFetchAbort && v !== undefined)
      if (options.status) {
        if (aborted && !updateCache) {
          options.status.fetchAborted = true
          options.status.fetchError = ac.signal.reason
          if (ignoreAbort) options.status.fetchAbortIgnored = true
        } else {
          options.status.fetchResolved = true
        }
      }
      if (aborted && !ignoreAbort && !updateCache) return fetchFail(ac.signal.reason, proceed)
      const bf = p
      const vl = this.#valList[index]
      if (vl === p || (vl === undefined && ignoreAbort && updateCache)) {
        if (v === undefined) {
          if (bf.__staleWhileFetching !== undefined) {
            this.#valList[index] = bf.__staleWhileFetching
            this.#syncDeadline(index)
          } else {
            this.#delete(k, 'fetch')
          }
        } else {
          if (options.status) options.status.fetchUpdated = true
          this.#set(k, v, fetchOpts.options, bf)
        }
      }
      return v
    }
    const eb = (er) => {
      if (options.status) {
        options.status.fetchRejected = true
        options.status.fetchError = er
      }
      return fetchFail(er, false)
    }
    const fetchFail = (er, proceed) => {
      const { aborted } = ac.signal
      const allowStaleAborted = aborted && options.allowStaleOnFetchAbort
      const allowStale = allowStaleAborted || options.allowStaleOnFetchRejection
      const noDelete = allowStale || options.noDeleteOnFetchRejection
      const bf = p
      if (this.#valList[index] === p) {
        const del = !noDelete || (!proceed && bf.__staleWhileFetching === undefined)
        if (del) {
          this.#delete(k, 'fetch')
        } else if (!allowStaleAborted) {
          this.#valList[index] = bf.__staleWhileFetching
          this.#syncDeadline(index)
        }
      }
      if (allowStale) {
        if (options.status && bf.__staleWhileFetching !== undefined) {
          options.status.returnedStale = true
        }
        return bf.__staleWhileFetching
      } else if (bf.__returned === bf) {
        throw er
      }
    }
    const pcall = (res, rej) => {
      const fmp = this.#fetchMethod?.(k, v, fetchOpts)
      ac.signal.addEventListener('abort', () => {
        if (!options.ignoreFetchAbort || options.allowStaleOnFetchAbort) {
          res(undefined)
          if (options.allowStaleOnFetchAbort) res = (v) => cb(v, true)
        }
      })
      if (fmp && fmp instanceof Promise) {
        fmp.then((v) => res(v === undefined ? undefined : v), rej)
      } else if (fmp !== undefined) {
        res(fmp)
      }
    }
    if (options.status) options.status.fetchDispatched = true
    const p = new Promise(pcall).then(cb, eb)
    const bf = Object.assign(p, {
      __abortController: ac,
      __staleWhileFetching: v,
      __returned: undefined,
    })
    if (index === undefined) {
      this.#set(k, bf, { ...fetchOpts.options, status: undefined })
      index = this.#keyMap.get(k)
    } else {
      this.#valList[index] = bf
    }
    return bf
  }

  #isBackgroundFetch(p) {
    if (!this.#hasFetchMethod) return false
    const b = p
    return (
      !!b &&
      b instanceof Promise &&
      b.hasOwnProperty('__staleWhileFetching') &&
      b.__abortController instanceof AbortController
    )
  }

  async fetch(k, fetchOptions = {}) {
    const {
      allowStale = this.allowStale,
      updateAgeOnGet = this.updateAgeOnGet,
      noDeleteOnStaleGet = this.noDeleteOnStaleGet,
      ttl = this.ttl,
      noDisposeOnSet = this.noDisposeOnSet,
      size = 0,
      sizeCalculation = this.sizeCalculation,
      noUpdateTTL = this.noUpdateTTL,
      noDeleteOnFetchRejection = this.noDeleteOnFetchRejection,
      allowStaleOnFetchRejection = this.allowStaleOnFetchRejection,
      ignoreFetchAbort = this.ignoreFetchAbort,
      allowStaleOnFetchAbort = this.allowStaleOnFetchAbort,
      context,
      forceRefresh = false,
      status,
      signal,
    } = fetchOptions
    if (status) {
      status.op = 'fetch'
      status.key = k
      if (forceRefresh) status.forceRefresh = true
      if (context) status.context = context
      status.cache = this
    }
    if (!this.#hasFetchMethod) {
      if (status) status.fetch = 'get'
      return this.#get(k, { allowStale, updateAgeOnGet, noDeleteOnStaleGet, status })
    }
    const options = {
      allowStale,
      updateAgeOnGet,
      noDeleteOnStaleGet,
      ttl,
      noDisposeOnSet,
      size,
      sizeCalculation,
      noUpdateTTL,
      noDeleteOnFetchRejection,
      allowStaleOnFetchRejection,
      allowStaleOnFetchAbort,
      ignoreFetchAbort,
      status,
      signal,
    }
    const index = this.#keyMap.get(k)
    if (index === undefined) {
      this.#misses++
      if (status) status.fetch = 'miss'
      const p = this.#backgroundFetch(k, index, options, context)
      return (p.__returned = p)
    }
    const v = this.#valList[index]
    if (this.#isBackgroundFetch(v)) {
      const stale = allowStale && v.__staleWhileFetching !== undefined
      if (status) {
        status.fetch = 'inflight'
        if (stale) status.returnedStale = true
      }
      return stale ? v.__staleWhileFetching : (v.__returned = v)
    }
    const isStale = this.#isStale(index)
    if (!forceRefresh && !isStale) {
      this.#hits++
      if (status) status.fetch = 'hit'
      this.#touch(index)
      if (updateAgeOnGet) this.#updateItemAge(index)
      if (status) this.#statusTTL(status, index)
      return v
    }
    this.#misses++
    const p = this.#backgroundFetch(k, index, options, context)
    const hasStale = p.__staleWhileFetching !== undefined
    const staleVal = hasStale && allowStale
    if (status) {
      status.fetch = isStale ? 'stale' : 'refresh'
      if (staleVal && isStale) status.returnedStale = true
    }
    return staleVal ? p.__staleWhileFetching : (p.__returned = p)
  }

  async forceFetch(k, fetchOptions = {}) {
    const v = await this.fetch(k, fetchOptions)
    if (v === undefined) throw new Error('fetch() returned undefined')
    return v
  }

  memo(k, memoOptions = {}) {
    const memoMethod = this.#memoMethod
    if (!memoMethod) throw new Error('no memoMethod provided to constructor')
    const { context, status, forceRefresh, ...options } = memoOptions
    if (status) {
      status.op = 'memo'
      status.key = k
      if (context) status.context = context
      if (forceRefresh) status.forceRefresh = true
      status.cache = this
    }
    const v = this.#get(k, options)
    const refresh = forceRefresh || v === undefined
    if (status) {
      status.memo = refresh ? 'miss' : 'hit'
      if (!refresh) status.value = v
    }
    if (!refresh) return v
    const vv = memoMethod(k, v, { options, context })
    if (status) status.value = vv
    this.#set(k, vv, options)
    return vv
  }

  // ---- reads -------------------------------------------------------------------------------

  get(k, getOptions) {
    if (getOptions === undefined && this.#ttls === undefined && !this.#hasFetchMethod) {
      // The common case, kept small: a Map lookup and a logged use.
      const i = this.#keyMap.get(k)
      if (i === undefined) {
        this.#misses++
        this.#missKey = k
        this.#missAt = this.#adds
        return undefined
      }
      this.#hits++
      this.#use(i)
      return this.#valList[i]
    }
    const status = getOptions?.status
    if (status) {
      status.op = 'get'
      status.key = k
      status.cache = this
    }
    const result = this.#get(k, getOptions)
    if (status && result !== undefined) status.value = result
    return result
  }

  #get(k, getOptions = {}) {
    const {
      allowStale = this.allowStale,
      updateAgeOnGet = this.updateAgeOnGet,
      noDeleteOnStaleGet = this.noDeleteOnStaleGet,
      status,
    } = getOptions
    const index = this.#keyMap.get(k)
    if (index === undefined) {
      this.#misses++
      if (status) status.get = 'miss'
      return undefined
    }
    const value = this.#valList[index]
    const fetching = this.#isBackgroundFetch(value)
    if (status) this.#statusTTL(status, index)
    if (this.#isStale(index)) {
      this.#misses++
      if (!fetching) {
        if (!noDeleteOnStaleGet) this.#delete(k, 'expire')
        if (status) status.get = 'stale'
        if (allowStale) {
          if (status) status.returnedStale = true
          return value
        }
        return undefined
      }
      if (status) status.get = 'stale-fetching'
      if (allowStale && value.__staleWhileFetching !== undefined) {
        if (status) status.returnedStale = true
        return value.__staleWhileFetching
      }
      return undefined
    }
    if (status) status.get = fetching ? 'fetching' : 'hit'
    if (fetching && value.__staleWhileFetching === undefined) this.#misses++
    else this.#hits++
    this.#touch(index)
    if (updateAgeOnGet) this.#updateItemAge(index)
    return fetching ? value.__staleWhileFetching : value
  }

  // ---- removal -----------------------------------------------------------------------------

  delete(k) {
    return this.#delete(k, 'delete')
  }

  #delete(k, reason, policyForgot = false) {
    let deleted = false
    if (this.#size !== 0) {
      const index = this.#keyMap.get(k)
      if (index !== undefined) {
        deleted = true
        this.#removeItemSize(index)
        const v = this.#valList[index]
        if (this.#isBackgroundFetch(v)) {
          v.__abortController.abort(new Error('deleted'))
        } else if (this.#hasDispose || this.#hasDisposeAfter) {
          if (this.#hasDispose) this.#dispose?.(v, k, reason)
          if (this.#hasDisposeAfter) this.#disposed?.push([v, k, reason])
        }
        if (this.#keyMap.get(k) === index) {
          this.#keyMap.delete(k)
          if (!policyForgot) this.#logEvent((EV_REMOVE | index) >>> 0, 0)
          this.#releaseSlot(index)
          if (reason === 'expire') this.#evictions++
        }
      }
    }
    this.#flushDisposed()
    return deleted
  }

  clear() {
    return this.#clear('delete')
  }

  #clear(reason) {
    for (const index of this.#rindexes({ allowStale: true })) {
      const v = this.#valList[index]
      if (this.#isBackgroundFetch(v)) {
        v.__abortController.abort(new Error('deleted'))
      } else {
        const k = this.#keyList[index]
        if (this.#hasDispose) this.#dispose?.(v, k, reason)
        if (this.#hasDisposeAfter) this.#disposed?.push([v, k, reason])
      }
    }
    this.#keyMap.clear()
    this.#valList.fill(undefined)
    this.#keyList.fill(undefined)
    if (this.#ttls && this.#starts) {
      this.#ttls.fill(0)
      this.#starts.fill(0)
    }
    if (this.#purgeHeap) {
      this.#purgeHeap.clear()
      if (this.#purgeTimer !== undefined) clearTimeout(this.#purgeTimer)
      this.#purgeTimer = undefined
      this.#purgeAt = Infinity
    }
    if (this.#sizes) this.#sizes.fill(0)
    this.#free.length = 0
    this.#nextSlot = 0
    this.#calculatedSize = 0
    this.#size = 0
    this.#nlog = 0
    this.#nChosen = this.#chosenAt = 0
    this.#chosenUntil = Infinity
    this.#chosenPos.fill(0)
    this.#hitCounts?.fill(0)
    this.#f64[F_NOW] = this.#now0()
    this.#call(OP_CLEAR)
    this.#flushDisposed()
  }

  /**
   * Test and debugging aid: the policy's own entry count and total weight, and the entries it
   * already chose as the victims of coming inserts (live, but no longer counted by it).
   */
  policyStats() {
    return {
      len: this.#call(OP_LEN),
      weightedSize: this.#call(OP_WEIGHTED_SIZE),
      chosen: this.#liveChosen().length,
    }
  }
}

module.exports = { Cache, LRUCache: Cache, SharedCache }
