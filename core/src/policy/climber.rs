//! Hill climbing of the admission window size (Caffeine's simple climber).
//!
//! Recency-heavy workloads want a large window, frequency-heavy ones a tiny one; no fixed split
//! is right for both. Every sample period the climber compares the hit rate with the previous
//! period's and keeps moving the window in the direction that helped, with a step that decays
//! while the workload is stable and restarts when the hit rate jumps (a phase change).

const STEP_PERCENT: f64 = 0.0625;
const STEP_DECAY_RATE: f64 = 0.98;
const RESTART_THRESHOLD: f64 = 0.05;

/// The climber's state between samples.
#[derive(Debug)]
pub(crate) struct Climber {
    hits: u64,
    misses: u64,
    previous_hit_rate: f64,
    step: f64,
    sample_size: u64,
}

impl Climber {
    pub(crate) fn new(maximum: u64, sample_size: u64) -> Self {
        Self {
            hits: 0,
            misses: 0,
            previous_hit_rate: 0.0,
            step: -STEP_PERCENT * maximum as f64,
            sample_size: sample_size.max(1),
        }
    }

    pub(crate) fn set_sample_size(&mut self, sample_size: u64) {
        self.sample_size = sample_size.max(1);
    }

    #[inline]
    pub(crate) fn record_hit(&mut self) {
        self.hits += 1;
    }

    #[inline]
    pub(crate) fn record_miss(&mut self) {
        self.misses += 1;
    }

    /// The signed change of the window's maximum (in weight) to apply now, or 0 when the
    /// current sample is not complete yet.
    pub(crate) fn adjustment(&mut self, maximum: u64) -> i64 {
        let requests = self.hits + self.misses;
        if requests < self.sample_size {
            return 0;
        }
        let hit_rate = self.hits as f64 / requests as f64;
        let change = hit_rate - self.previous_hit_rate;
        let amount = if change >= 0.0 { self.step } else { -self.step };
        self.step = if change.abs() >= RESTART_THRESHOLD {
            let sign = if amount >= 0.0 { 1.0 } else { -1.0 };
            STEP_PERCENT * maximum as f64 * sign
        } else {
            STEP_DECAY_RATE * amount
        };
        self.previous_hit_rate = hit_rate;
        self.hits = 0;
        self.misses = 0;
        amount as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_for_a_full_sample() {
        let mut c = Climber::new(1000, 100);
        for _ in 0..99 {
            c.record_hit();
        }
        assert_eq!(c.adjustment(1000), 0);
        c.record_miss();
        assert_ne!(c.adjustment(1000), 0);
    }

    #[test]
    fn reverses_direction_when_the_hit_rate_falls() {
        let mut c = Climber::new(1000, 10);
        for _ in 0..10 {
            c.record_hit();
        }
        let first = c.adjustment(1000);
        for _ in 0..10 {
            c.record_miss();
        }
        let second = c.adjustment(1000);
        assert!(
            first.signum() == -second.signum() && first != 0,
            "{first} {second}"
        );
    }
}
