#!/usr/bin/env bash
# The npm tarball, installed into a fresh project, builds its addon from the standalone crate
# that `npm pack` put in it (scripts/pack.js) and works from CommonJS, ESM and TypeScript.
# Needs bindings-node's devDependencies installed (`npm ci`: TypeScript), as `make test` does.
set -euo pipefail
cd "$(dirname "$0")/.."
pkg=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

tarball=$(npm pack --silent --pack-destination "$tmp" | tail -n 1)
[ -d crate ] && { echo "check-pack: crate/ was left behind by npm pack" >&2; exit 1; }
cd "$tmp"
npm init -y >/dev/null
npm install --no-audit --no-fund --loglevel=error "./$tarball"
[ -d node_modules/cortado/crate/target ] && { echo "check-pack: build products were kept" >&2; exit 1; }

node -e "
const assert = require('node:assert')
const { Cache, LRUCache, SharedCache } = require('cortado')
assert.strictEqual(LRUCache, Cache)
const c = new Cache({ max: 100 })
for (let i = 0; i < 1000; i++) c.set('k' + i, i)
assert.ok(c.size <= 100)
assert.strictEqual(c.get('k999'), 999, 'a value just set is readable')
const s = new SharedCache('check-pack', { max: 10 })
s.set('a', 'b')
assert.strictEqual(s.get('a'), 'b')
console.log('check-pack: CommonJS ok')
"
cat > esm.mjs <<'EOF'
import assert from 'node:assert'
import { Cache } from 'cortado'
const c = new Cache({ max: 10, ttl: 60_000 })
c.set('a', 1)
assert.strictEqual(c.get('a'), 1)
assert.ok(c.getRemainingTTL('a') > 0)
console.log('check-pack: ESM ok')
EOF
node esm.mjs
cat > types.ts <<'EOF'
import { Cache } from 'cortado'
const c = new Cache<string, number>({ max: 10 })
c.set('a', 1)
const n: number | undefined = c.get('a')
// @ts-expect-error: values are numbers
c.set('b', 'not a number')
export { n }
EOF
# A TypeScript project for Node has @types/node (the types name Buffer): bindings-node's own.
"$pkg/node_modules/.bin/tsc" --noEmit --strict --module nodenext --moduleResolution nodenext \
    --typeRoots "$pkg/node_modules/@types" --types node types.ts
echo "check-pack: types ok"
