//! Latency of `get` under a concurrent writer: p50/p99/p99.9/max per cache, with expiry on
//! (time-to-live) for cortado and moka; quick_cache has no expiry and runs without.
//!
//! Readers time every `get` with `Instant::now()` (vDSO `clock_gettime`, which orders the TSC
//! read, unlike a bare `rdtsc` that lets a short `get` overlap the timer) into a log-linear
//! histogram (~1.5% bucket width); a writer thread inserts continuously at full speed meanwhile. Keys: Zipf 0.99 over
//! 1M keys, capacity 100k, prefilled before timing.
//!
//! `cargo run --release -p cortado-bench --bin latency -- --help`

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use cortado_bench::args::Args;
use cortado_bench::conc;
use cortado_bench::zipf::zipf_keys;

const USAGE: &str = "\
latency: get latency percentiles under a concurrent writer, expiry on where supported

USAGE: latency [OPTIONS]

--cache NAME     cortado, moka, quick_cache (repeatable; default: those three)
--ttl-ms N       time-to-live for cortado and moka (default 1000; 0: no expiry)
--secs N         measured seconds per cache (default 3)
--readers N      reader threads (default: available parallelism - 1, at least 1)
--keys N         distinct keys, Zipf 0.99 (default 1000000)
--capacity N     cache capacity (default 100000)
";

const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;

/// Log-linear histogram of nanoseconds: exact below 128, then 64 buckets per power of two.
struct Hist {
    counts: Vec<u64>,
    max: u64,
    total: u64,
}

impl Hist {
    fn new() -> Hist {
        Hist {
            counts: vec![0; (2 * SUB + (64 - SUB_BITS as u64 - 1) * SUB) as usize],
            max: 0,
            total: 0,
        }
    }

    fn index(v: u64) -> usize {
        if v < 2 * SUB {
            v as usize
        } else {
            let e = 63 - v.leading_zeros(); // >= SUB_BITS + 1
            let shift = e - SUB_BITS;
            let m = v >> shift; // in [SUB, 2 SUB)
            (2 * SUB + u64::from(e - SUB_BITS - 1) * SUB + (m - SUB)) as usize
        }
    }

    /// The middle of bucket `i`.
    fn value(i: usize) -> u64 {
        let i = i as u64;
        if i < 2 * SUB {
            i
        } else {
            let j = i - 2 * SUB;
            let e = j / SUB + u64::from(SUB_BITS) + 1;
            let shift = e - u64::from(SUB_BITS);
            let m = j % SUB + SUB;
            (m << shift) + (1 << shift) / 2
        }
    }

    #[inline]
    fn record(&mut self, v: u64) {
        self.counts[Self::index(v)] += 1;
        self.max = self.max.max(v);
        self.total += 1;
    }

    fn merge(&mut self, o: &Hist) {
        for (a, b) in self.counts.iter_mut().zip(&o.counts) {
            *a += b;
        }
        self.max = self.max.max(o.max);
        self.total += o.total;
    }

    fn percentile(&self, q: f64) -> u64 {
        let target = ((self.total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= target {
                return Self::value(i).min(self.max);
            }
        }
        self.max
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("latency: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let args = Args::parse(
        &["cache", "ttl-ms", "secs", "readers", "keys", "capacity"],
        &["help"],
    )?;
    if args.flag("help") {
        print!("{USAGE}");
        return Ok(());
    }
    let caches: Vec<String> = {
        let v = args.all("cache");
        if v.is_empty() {
            vec!["cortado".into(), "moka".into(), "quick_cache".into()]
        } else {
            v
        }
    };
    let ttl = Duration::from_millis(args.parsed("ttl-ms", 1000)?);
    let secs: f64 = args.parsed("secs", 3.0)?;
    let avail = std::thread::available_parallelism().map_or(2, |n| n.get());
    let readers: usize = args.parsed("readers", avail.saturating_sub(1).max(1))?;
    let readers = readers.max(1);
    let n_keys: u64 = args.parsed("keys", 1_000_000)?;
    let capacity: u64 = args.parsed("capacity", 100_000)?;

    // Cost of the timing itself: the median of an empty timed region.
    let overhead = {
        let mut h = Hist::new();
        for _ in 0..200_000 {
            let a = Instant::now();
            h.record(a.elapsed().as_nanos() as u64);
        }
        h.percentile(0.5)
    };

    let stream_len = 1 << 22;
    let reader_keys: Vec<Vec<u64>> = (0..readers)
        .map(|r| zipf_keys(n_keys, 0.99, stream_len, 100 + r as u64))
        .collect();
    let writer_keys = zipf_keys(n_keys, 0.99, stream_len, 7);

    println!(
        "get latency under one concurrent writer: {readers} reader thread(s) + 1 writer on {avail} \
         CPUs, Zipf 0.99 over {n_keys} keys, capacity {capacity}, {secs} s per cache, TTL {} ms \
         where supported (0: none); timer overhead ~{overhead} ns (included).\n",
        ttl.as_millis()
    );
    println!("| cache | expiry | gets | reader hit % | p50 (ns) | p99 (ns) | p99.9 (ns) | max (ns) | writer inserts/s |");
    println!("|---|---|--:|--:|--:|--:|--:|--:|--:|");
    for name in &caches {
        let ttl_opt = (conc::supports_ttl(name) && !ttl.is_zero()).then_some(ttl);
        let cache = conc::build(name, capacity, ttl_opt)?;
        // Prefill from the writer's stream.
        for &k in writer_keys.iter().take(4 * capacity as usize) {
            cache.insert(k, k);
        }
        cache.run_pending_tasks();

        let stop = AtomicBool::new(false);
        let inserts = AtomicU64::new(0);
        let barrier = Barrier::new(readers + 2);
        let mut hist = Hist::new();
        let mut hits = 0u64;
        let mut elapsed = 0.0;
        std::thread::scope(|s| {
            let cache = &cache;
            let stop = &stop;
            let barrier = &barrier;
            let inserts = &inserts;
            let writer_keys = &writer_keys;
            s.spawn(move || {
                barrier.wait();
                let mut n = 0u64;
                let mut i = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..256 {
                        let k = writer_keys[i & (stream_len - 1)];
                        cache.insert(k, k);
                        i += 1;
                    }
                    n += 256;
                }
                inserts.store(n, Ordering::Relaxed);
            });
            let handles: Vec<_> = reader_keys
                .iter()
                .map(|keys| {
                    s.spawn(move || {
                        let mut h = Hist::new();
                        let mut hits = 0u64;
                        barrier.wait();
                        let mut i = 0usize;
                        while !stop.load(Ordering::Relaxed) {
                            for _ in 0..256 {
                                let k = keys[i & (stream_len - 1)];
                                let a = Instant::now();
                                let v = black_box(cache.get(k));
                                h.record(a.elapsed().as_nanos() as u64);
                                hits += u64::from(v.is_some());
                                i += 1;
                            }
                        }
                        (h, hits)
                    })
                })
                .collect();
            barrier.wait();
            let t0 = Instant::now();
            std::thread::sleep(Duration::from_secs_f64(secs));
            stop.store(true, Ordering::Relaxed);
            for hd in handles {
                let (h, n) = hd.join().unwrap();
                hist.merge(&h);
                hits += n;
            }
            elapsed = t0.elapsed().as_secs_f64();
        });
        println!(
            "| {name} | {} | {} | {:.1} | {} | {} | {} | {} | {:.2e} |",
            if ttl_opt.is_some() {
                format!("TTL {} ms", ttl.as_millis())
            } else {
                "none".to_string()
            },
            hist.total,
            100.0 * hits as f64 / hist.total.max(1) as f64,
            hist.percentile(0.50),
            hist.percentile(0.99),
            hist.percentile(0.999),
            hist.max,
            inserts.load(Ordering::Relaxed) as f64 / elapsed
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Hist;

    #[test]
    fn histogram_buckets_are_close() {
        for v in [0u64, 1, 127, 128, 129, 1000, 65_535, 1 << 40, u64::MAX / 2] {
            let i = Hist::index(v);
            let back = Hist::value(i);
            let err = (back as f64 - v as f64).abs() / (v.max(1) as f64);
            assert!(err <= 0.02 || v < 128, "{v} -> {i} -> {back}");
        }
        let mut h = Hist::new();
        for v in 1..=1000u64 {
            h.record(v);
        }
        assert!((h.percentile(0.5) as i64 - 500).abs() <= 10);
        assert_eq!(h.max, 1000);
    }
}
