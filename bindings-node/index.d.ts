/// <reference types="node" />
/**
 * cortado: a drop-in replacement for lru-cache (same options, methods and semantics) whose
 * eviction policy runs in Rust: adaptive W-TinyLFU by default, or lru-cache's exact LRU order
 * with `policy: 'lru'`. Plus `SharedCache`, one native cache shared by every worker thread.
 *
 * Differences from lru-cache, by design:
 * - `policy: 'tinylfu'` (the default) may evict a just-written entry in favour of more popular
 *   ones (it is reported to `dispose` with reason `'evict'`), and iteration order is the
 *   policy's eviction order (coldest last in `keys()`), not strict recency.
 * - An entry is stale once its age reaches `ttl` (lru-cache: once it exceeds `ttl`).
 * - With `policy: 'tinylfu'`, an insert into a full cache reclaims expired entries before it
 *   evicts live ones (reason `'expire'`); `ttlAutopurge` uses one timer per cache, not one
 *   per entry.
 * - `stats()` counts hits, misses and evictions. There is no `unsafeExposeInternals` and no
 *   `diagnostics_channel` publishing.
 */

export type Perf = { now: () => number }

export declare namespace LRUCache {
  type Size = number
  type Milliseconds = number
  type Count = number
  type DisposeReason = 'evict' | 'set' | 'delete' | 'expire' | 'fetch'
  type Disposer<K, V> = (value: V, key: K, reason: DisposeReason) => void
  type InsertReason = 'add' | 'update' | 'replace'
  type Inserter<K, V> = (value: V, key: K, reason: InsertReason) => void
  type SizeCalculator<K, V> = (value: V, key: K) => Size
  type Policy = 'tinylfu' | 'lru'

  interface FetcherOptions<K, V, FC = unknown> {
    signal: AbortSignal
    options: FetcherFetchOptions<K, V, FC>
    /** The `context` passed to `fetch()`. */
    context: FC
  }

  /** Filled in by a method when passed as its `status` option. */
  interface Status<K, V, FC = unknown> {
    op?: 'get' | 'set' | 'memo' | 'fetch' | 'delete' | 'has' | 'peek'
    set?: 'add' | 'update' | 'replace' | 'miss' | 'deleted'
    peek?: 'hit' | 'miss' | 'stale'
    memo?: 'hit' | 'miss'
    context?: unknown
    ttl?: Milliseconds
    start?: Milliseconds
    now?: Milliseconds
    remainingTTL?: Milliseconds
    entrySize?: Size
    totalCalculatedSize?: Size
    maxEntrySizeExceeded?: true
    key?: K
    value?: V
    oldValue?: V
    has?: 'hit' | 'stale' | 'miss'
    fetch?: 'get' | 'inflight' | 'miss' | 'hit' | 'stale' | 'refresh'
    forceRefresh?: boolean
    fetchDispatched?: true
    fetchUpdated?: true
    fetchError?: Error
    fetchAborted?: true
    fetchAbortIgnored?: true
    fetchResolved?: true
    fetchRejected?: true
    get?: 'stale' | 'hit' | 'miss' | 'fetching' | 'stale-fetching'
    returnedStale?: true
    cache?: LRUCache<K & {}, V & {}, FC>
  }

  interface FetcherFetchOptions<K, V, FC = unknown>
    extends Pick<
      OptionsBase<K, V, FC>,
      | 'allowStale'
      | 'updateAgeOnGet'
      | 'noDeleteOnStaleGet'
      | 'sizeCalculation'
      | 'ttl'
      | 'noDisposeOnSet'
      | 'noUpdateTTL'
      | 'noDeleteOnFetchRejection'
      | 'allowStaleOnFetchRejection'
      | 'ignoreFetchAbort'
      | 'allowStaleOnFetchAbort'
    > {
    status?: Status<K, V, FC>
    size?: Size
  }

  interface FetchOptions<K, V, FC> extends FetcherFetchOptions<K, V, FC> {
    /** Fetch a new value even if the cached one is fresh. */
    forceRefresh?: boolean
    context?: FC
    signal?: AbortSignal
    status?: Status<K, V, FC>
  }
  interface FetchOptionsWithContext<K, V, FC> extends FetchOptions<K, V, FC> {
    context: FC
  }
  interface FetchOptionsNoContext<K, V, FC extends undefined | void = undefined>
    extends FetchOptions<K, V, FC> {
    context?: FC
  }

  interface MemoOptions<K, V, FC = unknown>
    extends Pick<
      OptionsBase<K, V, FC>,
      | 'allowStale'
      | 'updateAgeOnGet'
      | 'noDeleteOnStaleGet'
      | 'sizeCalculation'
      | 'ttl'
      | 'noDisposeOnSet'
      | 'noUpdateTTL'
      | 'noDeleteOnFetchRejection'
      | 'allowStaleOnFetchRejection'
      | 'ignoreFetchAbort'
      | 'allowStaleOnFetchAbort'
    > {
    forceRefresh?: boolean
    context?: FC
    status?: Status<K, V, FC>
  }
  interface MemoOptionsWithContext<K, V, FC> extends MemoOptions<K, V, FC> {
    context: FC
  }
  interface MemoOptionsNoContext<K, V, FC extends undefined | void = undefined>
    extends MemoOptions<K, V, FC> {
    context?: FC
  }
  interface MemoizerOptions<K, V, FC = unknown> {
    options: MemoizerMemoOptions<K, V, FC>
    context: FC
  }
  interface MemoizerMemoOptions<K, V, FC = unknown>
    extends Pick<
      OptionsBase<K, V, FC>,
      | 'allowStale'
      | 'updateAgeOnGet'
      | 'noDeleteOnStaleGet'
      | 'sizeCalculation'
      | 'ttl'
      | 'noDisposeOnSet'
      | 'noUpdateTTL'
    > {
    status?: Status<K, V, FC>
    size?: Size
    start?: Milliseconds
  }

  interface HasOptions<K, V, FC> extends Pick<OptionsBase<K, V, FC>, 'updateAgeOnHas'> {
    status?: Status<K, V, FC>
  }
  interface GetOptions<K, V, FC>
    extends Pick<OptionsBase<K, V, FC>, 'allowStale' | 'updateAgeOnGet' | 'noDeleteOnStaleGet'> {
    status?: Status<K, V, FC>
  }
  interface PeekOptions<K, V, FC> extends Pick<OptionsBase<K, V, FC>, 'allowStale'> {
    status?: Status<K, V, FC>
  }
  interface SetOptions<K, V, FC>
    extends Pick<OptionsBase<K, V, FC>, 'sizeCalculation' | 'ttl' | 'noDisposeOnSet' | 'noUpdateTTL'> {
    /** The entry's size (with `maxSize` or `maxEntrySize`); else `sizeCalculation` decides. */
    size?: Size
    /** When the entry's TTL starts, on the cache's `perf` clock. */
    start?: Milliseconds
    status?: Status<K, V, FC>
  }

  type Fetcher<K, V, FC = unknown> = (
    key: K,
    staleValue: V | undefined,
    options: FetcherOptions<K, V, FC>,
  ) => Promise<V | undefined | void> | V | undefined | void
  type Memoizer<K, V, FC = unknown> = (
    key: K,
    staleValue: V | undefined,
    options: MemoizerOptions<K, V, FC>,
  ) => V

  interface OptionsBase<K, V, FC> {
    /** Most entries kept. */
    max?: Count
    /** Default time to live of entries, in ms (0: none). */
    ttl?: Milliseconds
    /** How long a clock reading is reused for staleness checks (ms, default 1). */
    ttlResolution?: Milliseconds
    /** Remove entries when they expire (one timer per cache) instead of when next read. */
    ttlAutopurge?: boolean
    /** `get` restarts the entry's TTL (time-to-idle). */
    updateAgeOnGet?: boolean
    /** `has` restarts the entry's TTL. */
    updateAgeOnHas?: boolean
    /** `get`, `peek` and `fetch` may return stale values. */
    allowStale?: boolean
    /** Called with every value that leaves the cache, before it is removed. */
    dispose?: Disposer<K, V>
    /** Called when a value is added or replaced. */
    onInsert?: Inserter<K, V>
    /** Like `dispose`, called after the removal (at the end of the operation). */
    disposeAfter?: Disposer<K, V>
    noDisposeOnSet?: boolean
    noUpdateTTL?: boolean
    /** Bound on the sum of entry sizes. */
    maxSize?: Size
    /** Size of an entry whose `fetch` is in flight (default 1). */
    backgroundFetchSize?: number
    /** Entries larger than this are not stored (default: `maxSize`). */
    maxEntrySize?: Size
    sizeCalculation?: SizeCalculator<K, V>
    fetchMethod?: Fetcher<K, V, FC>
    memoMethod?: Memoizer<K, V, FC>
    noDeleteOnFetchRejection?: boolean
    noDeleteOnStaleGet?: boolean
    allowStaleOnFetchRejection?: boolean
    allowStaleOnFetchAbort?: boolean
    ignoreFetchAbort?: boolean
    /** The clock, `performance` by default: any `{ now(): number }` (tests, fake time). */
    perf?: Perf
    /**
     * The eviction policy: `'tinylfu'` (default; adaptive W-TinyLFU, keeps popular entries
     * through scans) or `'lru'` (lru-cache's exact least-recently-used order).
     */
    policy?: Policy
  }
  interface OptionsMaxLimit<K, V, FC> extends OptionsBase<K, V, FC> {
    max: Count
  }
  interface OptionsTTLLimit<K, V, FC> extends OptionsBase<K, V, FC> {
    ttl: Milliseconds
    ttlAutopurge: boolean
  }
  interface OptionsSizeLimit<K, V, FC> extends OptionsBase<K, V, FC> {
    maxSize: Size
  }
  type Options<K, V, FC> =
    | OptionsMaxLimit<K, V, FC>
    | OptionsSizeLimit<K, V, FC>
    | OptionsTTLLimit<K, V, FC>

  /** One entry of `dump()` / `load()`, or the result of `info()`. */
  interface Entry<V> {
    value: V
    ttl?: Milliseconds
    size?: Size
    start?: Milliseconds
  }

  interface Stats {
    hits: number
    misses: number
    /** Entries removed by the cache itself: evicted for space, or expired. */
    evictions: number
    hitRate: number
  }
}

type FetchOpts<K, V, FC> = unknown extends FC
  ? LRUCache.FetchOptions<K, V, FC>
  : FC extends undefined | void
    ? LRUCache.FetchOptionsNoContext<K, V, FC>
    : LRUCache.FetchOptionsWithContext<K, V, FC>
type MemoOpts<K, V, FC> = unknown extends FC
  ? LRUCache.MemoOptions<K, V, FC>
  : FC extends undefined | void
    ? LRUCache.MemoOptionsNoContext<K, V, FC>
    : LRUCache.MemoOptionsWithContext<K, V, FC>
type KeyNoContext<K, FC> = unknown extends FC ? K : FC extends undefined | void ? K : never

/** A bounded cache with lru-cache's API; W-TinyLFU eviction by default. */
export declare class LRUCache<K extends {}, V extends {}, FC = unknown> {
  constructor(options: LRUCache.Options<K, V, FC> | LRUCache<K, V, FC>)

  get perf(): Perf
  ttl: LRUCache.Milliseconds
  ttlResolution: LRUCache.Milliseconds
  ttlAutopurge: boolean
  updateAgeOnGet: boolean
  updateAgeOnHas: boolean
  allowStale: boolean
  noDisposeOnSet: boolean
  noUpdateTTL: boolean
  maxEntrySize: LRUCache.Size
  sizeCalculation?: LRUCache.SizeCalculator<K, V>
  noDeleteOnFetchRejection: boolean
  noDeleteOnStaleGet: boolean
  allowStaleOnFetchAbort: boolean
  allowStaleOnFetchRejection: boolean
  ignoreFetchAbort: boolean
  backgroundFetchSize: number

  get max(): LRUCache.Count
  get maxSize(): LRUCache.Count
  get calculatedSize(): LRUCache.Size
  get size(): LRUCache.Count
  get fetchMethod(): LRUCache.Fetcher<K, V, FC> | undefined
  get memoMethod(): LRUCache.Memoizer<K, V, FC> | undefined
  get dispose(): LRUCache.Disposer<K, V> | undefined
  get onInsert(): LRUCache.Inserter<K, V> | undefined
  get disposeAfter(): LRUCache.Disposer<K, V> | undefined
  /** The eviction policy in use. */
  get policy(): LRUCache.Policy

  /** Remaining ms of the entry's TTL: 0 if absent, Infinity if none, negative once stale. */
  getRemainingTTL(key: K): number
  /** `[key, value]` pairs, most recently used (hottest) first. */
  entries(): Generator<[K, V], void, unknown>
  /** `[key, value]` pairs, least recently used (coldest, next to be evicted) first. */
  rentries(): Generator<[K, V], void, unknown>
  keys(): Generator<K, void, unknown>
  rkeys(): Generator<K, void, unknown>
  values(): Generator<V, void, unknown>
  rvalues(): Generator<V, void, unknown>
  [Symbol.iterator](): Generator<[K, V], void, unknown>
  [Symbol.toStringTag]: string
  /** The first value (hottest first) for which `fn` is truthy, read with `get`. */
  find(fn: (v: V, k: K, self: LRUCache<K, V, FC>) => boolean, getOptions?: LRUCache.GetOptions<K, V, FC>): V | undefined
  forEach(fn: (v: V, k: K, self: LRUCache<K, V, FC>) => unknown, thisp?: unknown): void
  rforEach(fn: (v: V, k: K, self: LRUCache<K, V, FC>) => unknown, thisp?: unknown): void
  /** Deletes every stale entry; whether any was deleted. */
  purgeStale(): boolean
  /** The entry's value, remaining `ttl`, `start` (Date.now()) and `size`; stale ones too. */
  info(key: K): LRUCache.Entry<V> | undefined
  /** Every entry, coldest first, with portable `start` times: `load` restores it. */
  dump(): [K, LRUCache.Entry<V>][]
  load(arr: [K, LRUCache.Entry<V>][]): void
  /** Adds or replaces; `set(k, undefined)` deletes. Returns the cache. */
  set(k: K, v: V | undefined, setOptions?: LRUCache.SetOptions<K, V, FC>): this
  /** Evicts the next victim of the policy (the least recently used with `'lru'`), returning its value. */
  pop(): V | undefined
  has(k: K, hasOptions?: LRUCache.HasOptions<K, V, FC>): boolean
  peek(k: K, peekOptions?: LRUCache.PeekOptions<K, V, FC>): V | undefined
  fetch(k: K, fetchOptions: FetchOpts<K, V, FC>): Promise<undefined | V>
  fetch(k: KeyNoContext<K, FC>, fetchOptions?: FetchOpts<K, V, FC>): Promise<undefined | V>
  forceFetch(k: K, fetchOptions: FetchOpts<K, V, FC>): Promise<V>
  forceFetch(k: KeyNoContext<K, FC>, fetchOptions?: FetchOpts<K, V, FC>): Promise<V>
  memo(k: K, memoOptions: MemoOpts<K, V, FC>): V
  memo(k: KeyNoContext<K, FC>, memoOptions?: MemoOpts<K, V, FC>): V
  get(k: K, getOptions?: LRUCache.GetOptions<K, V, FC>): V | undefined
  delete(k: K): boolean
  clear(): void
  /** Hits and misses (of `get`, and the lookups of `fetch` and `memo`), and evictions. */
  stats(): LRUCache.Stats
  /**
   * Debugging aid: the native policy's own entry count and total weight, and the entries it
   * already chose as the victims of coming inserts (still live, no longer counted by it).
   */
  policyStats(): { len: number; weightedSize: number; chosen: number }
}

/** The same class as `LRUCache`. */
export declare const Cache: typeof LRUCache
export type Cache<K extends {}, V extends {}, FC = unknown> = LRUCache<K, V, FC>

export declare namespace SharedCache {
  type Key = string | Buffer
  type Value = string | Buffer
  interface Options<V extends Value = Value> {
    max?: number
    /** Bound on the total bytes of keys and values (UTF-8 for strings); not with `max`. */
    maxSize?: number
    ttl?: number
    /** Reads restart the TTL, the entry's own (from `set`) or the cache's (time-to-idle). */
    updateAgeOnGet?: boolean
    policy?: LRUCache.Policy
    /**
     * Loader for `fetch`, run on the thread whose `fetch` claimed the load; other threads'
     * fetches of the same key wait for its result.
     */
    fetchMethod?: (key: Key, staleValue: undefined, options: { signal?: AbortSignal; options: object; context: unknown }) => Promise<V | undefined> | V | undefined
    /**
     * Called on this thread for entries that this thread's calls removed (eviction and expiry
     * happen during whichever thread's call runs the cache's upkeep).
     */
    dispose?: (value: V, key: Key, reason: LRUCache.DisposeReason) => void
    /** Test hook: a manual clock, moved by `advanceClock`. */
    manualClock?: boolean
  }
  interface Stats {
    hits: number
    misses: number
    evictions: number
    loadSuccesses: number
    loadFailures: number
    hitRate: number
  }
}

/**
 * A cache of string and Buffer keys and values in native memory, shared by every worker
 * thread of the process that opens the same `name` (the first opener's options define it;
 * opening it again with other options throws). `fetch` is coalesced across threads.
 */
export declare class SharedCache<V extends SharedCache.Value = SharedCache.Value> {
  constructor(name: string, options?: SharedCache.Options<V>)
  get name(): string
  get(k: SharedCache.Key): V | undefined
  peek(k: SharedCache.Key): V | undefined
  has(k: SharedCache.Key): boolean
  set(k: SharedCache.Key, v: V | undefined, setOptions?: { ttl?: number }): this
  delete(k: SharedCache.Key): boolean
  clear(): void
  get size(): number
  /** Total bytes of keys and values (with `maxSize`), else the entry count. */
  get calculatedSize(): number
  /** Applies pending evictions and expiry now; whether the cache shrank. */
  purgeStale(): boolean
  keys(): SharedCache.Key[]
  rkeys(): SharedCache.Key[]
  stats(): SharedCache.Stats
  fetch(k: SharedCache.Key, options?: { signal?: AbortSignal; context?: unknown }): Promise<V | undefined>
  advanceClock(ms: number): void
  /** Releases this handle's pending loads (other threads' waits retry). */
  close(): void
}
