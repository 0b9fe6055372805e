// Type-checked by `npm test`, never run: the CommonJS declarations (index.d.ts).
import cortado = require('cortado')

const c = new cortado.LRUCache<string, Buffer>({ max: 10 })
c.set('a', Buffer.alloc(1))
const v: Buffer | undefined = c.get('a')
const same: typeof cortado.LRUCache = cortado.Cache
// @ts-expect-error values are typed
c.set('b', 'text')

export = { v, same }
