export { LRUCache, Cache, SharedCache, Perf } from './index.js'
import { LRUCache } from './index.js'
export default LRUCache
