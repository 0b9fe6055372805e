#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
// The only `unsafe` is the prefetch hint in `prefetch.rs`.
#![deny(unsafe_code)]

mod builder;
mod cache;
mod clock;
mod entry;
mod expiry;
mod iter;
mod key_hash;
mod listener;
mod loader;
mod loading;
mod policy;
mod prefetch;
mod read_buffer;
mod shard;
mod side_table;
mod slot_policy;
mod stats;
mod thread_slot;
mod timer_wheel;

pub use builder::{BuildError, CacheBuilder, Weigher, MAX_DURATION};
pub use cache::Cache;
pub use entry::{CompResult, Entry, EntrySelector, Op};
pub use expiry::Expiry;
pub use iter::Iter;
pub use listener::{EvictionListener, RemovalCause};
pub use loader::{LoadResult, LoadWaiter, RecursiveLoad};
pub use loading::{Claim, LoadGuard};
pub use policy::EvictionPolicy;
pub use slot_policy::SlotPolicy;
pub use stats::CacheStats;

/// The time source, re-exported so callers can build a mock clock
/// (`quanta::Clock::mock()`) without naming the dependency themselves.
pub use quanta;

/// The default hasher: foldhash, seeded per cache. Fast on small keys, and not predictable
/// from outside the process.
pub type RandomState = foldhash::fast::RandomState;
