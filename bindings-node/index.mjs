// ES module entry point: the same classes as the CommonJS entry (index.js).
import cortado from './index.js'

export const { Cache, LRUCache, SharedCache } = cortado
export default Cache
