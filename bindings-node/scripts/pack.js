#!/usr/bin/env node
'use strict'
// Makes the npm tarball buildable on its own (`npm pack` runs this as prepack and postpack).
//
// In the repository the addon's crate is a member of the Cargo workspace: it inherits its
// version and dependencies from the root manifest and depends on the core by the path
// `../core`, neither of which a tarball carries. `prepare` writes `crate/`: a standalone copy
// of the crate (manifest with every inherited field spelled out, its sources, build script,
// the core's sources beside them, and the workspace's Cargo.lock), which `scripts/build.js`
// builds when it is present; `clean` removes it again. maturin does the same for the Python
// package's sdist.

const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')
const repo = path.join(root, '..')
const out = path.join(root, 'crate')

/** The `[section]` tables of a simple manifest: name -> { key: raw value text }. */
function tables(text) {
  const result = {}
  let current = ''
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const header = line.match(/^\[([^\]]+)\]$/)
    if (header) {
      current = header[1]
      result[current] ??= {}
      continue
    }
    const kv = line.match(/^([A-Za-z0-9_.-]+)\s*=\s*(.+)$/)
    if (kv) (result[current] ??= {})[kv[1]] = kv[2]
  }
  return result
}

/**
 * A member's manifest with what it inherits from the workspace written out: `x.workspace =
 * true` becomes the workspace's value of `x` (from `[workspace.package]` under `[package]`,
 * from `[workspace.dependencies]` elsewhere). Sections named in `drop` are left out.
 */
function standalone(memberText, workspace, drop = []) {
  const lines = []
  let section = ''
  let skipping = false
  for (const raw of memberText.split('\n')) {
    const header = raw.trim().match(/^\[([^\]]+)\]$/)
    if (header) {
      section = header[1]
      skipping = drop.includes(section)
    }
    if (skipping) continue
    const inherited = raw.match(/^([A-Za-z0-9_-]+)\.workspace\s*=\s*true\s*$/)
    if (inherited) {
      const key = inherited[1]
      const from = section === 'package' ? workspace['workspace.package'] : workspace['workspace.dependencies']
      const value = from?.[key]
      if (value === undefined) throw new Error(`cortado: the workspace has no value for ${key}`)
      lines.push(`${key} = ${value}`)
    } else {
      lines.push(raw)
    }
  }
  return lines.join('\n')
}

function copyDir(from, to) {
  fs.cpSync(from, to, { recursive: true })
}

function prepare() {
  clean()
  const workspace = tables(fs.readFileSync(path.join(repo, 'Cargo.toml'), 'utf8'))
  fs.mkdirSync(out)
  // The addon's crate: a workspace of its own (so Cargo looks no further up), the core beside it.
  const addon = standalone(fs.readFileSync(path.join(root, 'Cargo.toml'), 'utf8'), workspace)
    .replace(/cortado = \{ path = "\.\.\/core" \}/, 'cortado = { path = "core" }')
  if (!addon.includes('cortado = { path = "core" }')) {
    throw new Error('cortado: the addon manifest no longer depends on ../core as expected')
  }
  fs.writeFileSync(path.join(out, 'Cargo.toml'), `${addon.trimEnd()}\n\n[workspace]\n`)
  copyDir(path.join(root, 'src'), path.join(out, 'src'))
  fs.copyFileSync(path.join(root, 'build.rs'), path.join(out, 'build.rs'))
  // The core: sources and the README its crate docs include; no tests or dev-dependencies.
  const core = path.join(out, 'core')
  fs.mkdirSync(core)
  const coreManifest = standalone(fs.readFileSync(path.join(repo, 'core', 'Cargo.toml'), 'utf8'), workspace, [
    'dev-dependencies',
  ])
  fs.writeFileSync(path.join(core, 'Cargo.toml'), coreManifest.trimEnd() + '\n')
  copyDir(path.join(repo, 'core', 'src'), path.join(core, 'src'))
  fs.copyFileSync(path.join(repo, 'core', 'README.md'), path.join(core, 'README.md'))
  // The workspace's lock file pins the same dependency versions; Cargo drops what is unused.
  fs.copyFileSync(path.join(repo, 'Cargo.lock'), path.join(out, 'Cargo.lock'))
  console.error('cortado: wrote crate/ (standalone crate for the tarball)')
}

function clean() {
  fs.rmSync(out, { recursive: true, force: true })
}

const command = process.argv[2]
if (command === 'prepare') prepare()
else if (command === 'clean') clean()
else {
  console.error('usage: node scripts/pack.js prepare|clean')
  process.exit(2)
}
