//! Time as `u64` nanosecond ticks since the cache was built.
//!
//! Deadlines are stored as plain integers so the read path compares two `u64`s instead of
//! juggling `Instant`s, and so tests can drive time with quanta's mock clock without sleeping.

use std::time::Duration;

/// A tick value meaning "never": no deadline, never expires.
pub(crate) const NEVER: u64 = u64::MAX;

/// The cache's clock: a `quanta::Clock` (real or mocked) read relative to the build instant.
#[derive(Clone, Debug)]
pub(crate) struct Clock {
    inner: quanta::Clock,
    origin: quanta::Instant,
}

impl Clock {
    pub(crate) fn new(inner: quanta::Clock) -> Self {
        let origin = inner.now();
        Self { inner, origin }
    }

    /// Nanoseconds since the cache was built. Starts at 1 so that 0 can never be a deadline
    /// that is already due at build time by accident.
    #[inline]
    pub(crate) fn now(&self) -> u64 {
        let d = self.inner.now().saturating_duration_since(self.origin);
        u64::try_from(d.as_nanos())
            .unwrap_or(NEVER - 1)
            .saturating_add(1)
    }

    /// The `quanta::Instant` that corresponds to a tick value, for user callbacks.
    pub(crate) fn instant_at(&self, ticks: u64) -> quanta::Instant {
        self.origin + Duration::from_nanos(ticks.saturating_sub(1))
    }
}

/// `now + d` in ticks, saturating just below [`NEVER`] so huge durations mean "effectively never"
/// without colliding with the sentinel.
#[inline]
pub(crate) fn deadline_after(now: u64, d: Duration) -> u64 {
    let nanos = u64::try_from(d.as_nanos()).unwrap_or(NEVER - 1);
    now.saturating_add(nanos).min(NEVER - 1)
}
