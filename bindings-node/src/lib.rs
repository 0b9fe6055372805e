//! Node.js bindings for cortado (napi-rs 3).
//!
//! Two exports carry everything: `createPolicy`, the eviction policy of the lru-cache
//! compatible `Cache` of `index.js` (keys and values stay in JavaScript, see `policy.rs`), and
//! `SharedCacheHandle`, a `cortado::Cache` of strings and buffers shared by every worker thread
//! of the process (see `shared.rs`). No cache logic lives here: the policy, expiry and load
//! coalescing are the core's.

#![deny(unsafe_op_in_unsafe_fn)]
// napi-derive leaves out the exports under `cfg(test)`, so the helpers look unused there.
#![cfg_attr(test, allow(dead_code, unused_imports))]

mod policy;
mod shared;
