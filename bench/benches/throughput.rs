//! Throughput of cortado, moka, mini-moka and quick_cache (`sync::Cache` each) behind
//! [`ConcCache`], at 1 and 2 threads and at `available_parallelism()` threads:
//!
//! - `read_hit`: gets of keys that are all present (100k keys, capacity 200k), uniform;
//! - `zipf_0.99`, `zipf_1.2`: get, then insert on a miss; Zipf over 1M keys, capacity 100k;
//! - `insert_evict`: inserts of fresh keys into a full cache (capacity 100k).
//!
//! Keys are generated before timing (4M per thread, 2^22, cycled). Each timed iteration is a
//! batch of `BATCH` operations per thread; criterion reports elements/s = operations/s over all
//! threads. Warm-up 1 s, measurement 2 s, 10 samples, so the whole run stays well under 10 minutes
//! on 2 cores.
//!
//! `cargo bench -p cortado-bench` (add e.g. `-- zipf_0.99` to filter).

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use cortado_bench::conc::{self, ConcCache, CACHES};
use cortado_bench::zipf::{mix64, uniform_keys, zipf_keys};

const KEYS_PER_THREAD: usize = 1 << 22;
const BATCH: u64 = 4096;

#[derive(Clone, Copy)]
enum Op {
    Read,
    GetOrInsert,
    Insert,
}

struct Workload {
    name: &'static str,
    op: Op,
    capacity: u64,
    /// Keys inserted before timing (read_hit: every key read; others: a warm cache).
    prefill: fn() -> Vec<u64>,
    /// Thread t's key stream.
    keys: fn(usize) -> Vec<u64>,
}

const READ_KEYS: u64 = 100_000;
const ZIPF_KEYS: u64 = 1_000_000;

fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            name: "read_hit",
            op: Op::Read,
            capacity: 2 * READ_KEYS,
            prefill: || (1..=READ_KEYS).map(mix64).collect(),
            keys: |t| uniform_keys(READ_KEYS, KEYS_PER_THREAD, 11 + t as u64),
        },
        Workload {
            name: "zipf_0.99",
            op: Op::GetOrInsert,
            capacity: 100_000,
            prefill: || zipf_keys(ZIPF_KEYS, 0.99, 1_000_000, 999),
            keys: |t| zipf_keys(ZIPF_KEYS, 0.99, KEYS_PER_THREAD, 21 + t as u64),
        },
        Workload {
            name: "zipf_1.2",
            op: Op::GetOrInsert,
            capacity: 100_000,
            prefill: || zipf_keys(ZIPF_KEYS, 1.2, 1_000_000, 998),
            keys: |t| zipf_keys(ZIPF_KEYS, 1.2, KEYS_PER_THREAD, 31 + t as u64),
        },
        Workload {
            name: "insert_evict",
            op: Op::Insert,
            capacity: 100_000,
            prefill: || (0..100_000u64).map(|i| mix64(u64::MAX - i)).collect(),
            // Distinct per thread and per position: every insert is a new key while the stream
            // lasts (2^22 per thread, far more than the capacity).
            keys: |t| {
                (0..KEYS_PER_THREAD as u64)
                    .map(|i| mix64(((t as u64 + 1) << 32) | i))
                    .collect()
            },
        },
    ]
}

fn thread_counts() -> Vec<usize> {
    let avail = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut v = vec![1, 2, avail];
    v.sort_unstable();
    v.dedup();
    v
}

/// Runs `iters` batches on each of `streams.len()` threads; returns the wall time from the common
/// start to the last thread's end.
fn timed_run(
    cache: &Arc<dyn ConcCache>,
    streams: &[Arc<Vec<u64>>],
    cursors: &[AtomicUsize],
    op: Op,
    iters: u64,
) -> Duration {
    let n = streams.len();
    let start = Barrier::new(n + 1);
    let mut t0 = Instant::now();
    std::thread::scope(|s| {
        for (keys, cursor) in streams.iter().zip(cursors) {
            let start = &start;
            s.spawn(move || {
                let mask = keys.len() - 1;
                let mut i = cursor.load(Ordering::Relaxed);
                start.wait();
                for _ in 0..iters * BATCH {
                    let k = keys[i & mask];
                    i = i.wrapping_add(1);
                    match op {
                        Op::Read => {
                            black_box(cache.get(k));
                        }
                        Op::GetOrInsert => {
                            if cache.get(k).is_none() {
                                cache.insert(k, k);
                            }
                        }
                        Op::Insert => cache.insert(k, k),
                    }
                }
                cursor.store(i & mask, Ordering::Relaxed);
            });
        }
        start.wait();
        t0 = Instant::now();
    });
    t0.elapsed()
}

fn bench(c: &mut Criterion) {
    let threads = thread_counts();
    let max_t = *threads.iter().max().unwrap();
    for w in workloads() {
        // Streams for the largest thread count; smaller counts use the first ones.
        let streams: Vec<Arc<Vec<u64>>> = (0..max_t).map(|t| Arc::new((w.keys)(t))).collect();
        let prefill = (w.prefill)();
        let mut group = c.benchmark_group(w.name);
        group
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(2))
            .sample_size(10);
        for &t in &threads {
            group.throughput(Throughput::Elements(BATCH * t as u64));
            // cortado as users get it (statistics on), and without statistics, like the
            // anchors.
            for name in CACHES.iter().chain(&["cortado-nostats"]) {
                let cache = conc::build(name, w.capacity, None).expect("cache");
                for &k in &prefill {
                    cache.insert(k, k);
                }
                cache.run_pending_tasks();
                if matches!(w.op, Op::Read) {
                    let missing = prefill.iter().filter(|&&k| cache.get(k).is_none()).count();
                    assert_eq!(missing, 0, "{name}: read_hit needs every key present");
                }
                let cursors: Vec<AtomicUsize> =
                    (0..t).map(|i| AtomicUsize::new(i * 7919 * 64)).collect();
                group.bench_with_input(BenchmarkId::new(*name, format!("{t}t")), &t, |b, &t| {
                    b.iter_custom(|iters| timed_run(&cache, &streams[..t], &cursors, w.op, iters))
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
