//! Per-entry expiry: the `Expiry` trait and how an entry's deadline is derived.
//!
//! An entry either has its own deadline (set by an [`Expiry`] returning `Some`, or by
//! `insert_with_ttl`) or follows the cache-wide time-to-live and time-to-idle. Keeping the two
//! apart lets negative caching give misses a short life without shortening everything else.

use std::time::Duration;

use quanta::Instant;

use crate::clock::{deadline_after, NEVER};

/// Decides per entry how long it lives. Each method runs outside every cache lock, on the
/// thread that made the call.
///
/// `Some` gives the entry a deadline of its own, which the cache-wide time-to-live and
/// time-to-idle no longer move. `None` changes nothing: on create the cache-wide settings, if
/// any, apply; on a read or an update an entry's own deadline stays as it is, and an entry
/// without one goes on following the cache-wide settings (so an update restarts its
/// time-to-live, as in a cache without an `Expiry`). An implementation only overrides the
/// events it cares about.
pub trait Expiry<K, V>: Send + Sync + 'static {
    /// Lifetime of a newly inserted entry, measured from `created_at`.
    fn expire_after_create(&self, key: &K, value: &V, created_at: Instant) -> Option<Duration> {
        let _ = (key, value, created_at);
        None
    }

    /// New remaining lifetime after a read; `duration_until_expiry` is the current one
    /// (`None` if the entry has no deadline).
    fn expire_after_read(
        &self,
        key: &K,
        value: &V,
        read_at: Instant,
        duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        let _ = (key, value, read_at, duration_until_expiry);
        None
    }

    /// New remaining lifetime after the value was replaced; `duration_until_expiry` is the
    /// current one (`None` if the entry has no deadline).
    fn expire_after_update(
        &self,
        key: &K,
        value: &V,
        updated_at: Instant,
        duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        let _ = (key, value, updated_at, duration_until_expiry);
        None
    }
}

/// The cache-wide expiry settings, fixed at build time.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ExpiryConfig {
    pub(crate) ttl: Option<Duration>,
    pub(crate) tti: Option<Duration>,
    /// Whether any deadline can exist at all: the hot paths skip the clock read otherwise.
    pub(crate) enabled: bool,
}

impl ExpiryConfig {
    /// Deadline of an entry without its own deadline, written at `written` and read at `now`.
    #[inline]
    pub(crate) fn shared_deadline(&self, written: u64, now: u64) -> u64 {
        let ttl = self.ttl.map_or(NEVER, |d| deadline_after(written, d));
        let tti = self.tti.map_or(NEVER, |d| deadline_after(now, d));
        ttl.min(tti)
    }
}

/// Remaining time until `deadline` as seen at `now`, as the `Expiry` callbacks expect it.
pub(crate) fn remaining(deadline: u64, now: u64) -> Option<Duration> {
    (deadline != NEVER).then(|| Duration::from_nanos(deadline.saturating_sub(now)))
}
