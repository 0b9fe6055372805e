// Type-checked by `npm test` (tsc -p test/types), never run: the ESM declarations
// (index.d.mts) used as lru-cache users use them. Each `@ts-expect-error` must stay an error.
import LRU, { Cache, LRUCache, SharedCache } from 'cortado'

const c = new LRUCache<string, number>({ max: 100, ttl: 1000, policy: 'tinylfu' })
c.set('a', 1).set('b', 2, { ttl: 5 })
const got: number | undefined = c.get('a')
const present: boolean = c.has('a') && c.delete('b')
const peeked: number | undefined = c.peek('a', { allowStale: true })
const stats: LRUCache.Stats = c.stats()
const rate: number = stats.hits / Math.max(1, stats.hits + stats.misses) + stats.evictions
for (const [k, v] of c) {
  const key: string = k
  const value: number = v
  void key, value
}
const dumped: [string, LRUCache.Entry<number>][] = c.dump()
c.load(dumped)
const remaining: number = c.getRemainingTTL('a')

const reasons: LRUCache.DisposeReason[] = []
const sized = new Cache<string, { id: number }>({
  maxSize: 1000,
  sizeCalculation: (value, key) => key.length + value.id,
  dispose: (_value, _key, reason) => reasons.push(reason),
})
sized.set('x', { id: 1 })

const fetching = new LRUCache<string, string>({
  max: 10,
  fetchMethod: async (key, _stale, { signal }) => (signal.aborted ? undefined : key.toUpperCase()),
})
const fetched: Promise<string | undefined> = fetching.fetch('x')
const forced: Promise<string> = fetching.forceFetch('y')

const byDefault = new LRU<number, string>({ max: 5, policy: 'lru' })
byDefault.set(1, 'one')

const shared = new SharedCache('types-test', { max: 10, ttl: 1000 })
shared.set('k', Buffer.from('v')).set(Buffer.from('k2'), 'v2')
const sharedValue: string | Buffer | undefined = shared.get('k')
const sharedFetch: Promise<string | Buffer | undefined> = shared.fetch('k')

// @ts-expect-error keys are typed
c.set(1, 1)
// @ts-expect-error values are typed
c.set('x', 'not a number')
// @ts-expect-error only the two policies exist
new LRUCache<string, number>({ max: 1, policy: 'fifo' })
// @ts-expect-error a SharedCache holds strings and Buffers only
new SharedCache<number>('n')

export {
  got, present, peeked, rate, remaining, fetched, forced, sharedValue, sharedFetch,
}
