//! Hit ratio of each concurrent cache on Zipf workloads, at 1 thread and at N threads sharing one
//! cache, to show whether the hit ratio drops when threads are added.
//!
//! Each thread replays its own pre-generated stream with get-then-insert-on-miss; the total
//! number of requests is the same at 1 and N threads (split evenly), so the two columns see the
//! same amount of traffic. No `run_pending_tasks()` during the run: maintenance happens however
//! the cache does it under load, which is what this measures.
//!
//! `cargo run --release -p cortado-bench --bin zipf_hitratio -- --help`

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Barrier;
use std::time::Instant;

use cortado_bench::args::Args;
use cortado_bench::conc::{self, CACHES};
use cortado_bench::zipf::zipf_keys;

const USAGE: &str = "\
zipf_hitratio: hit ratio per cache on Zipf keys, 1 thread vs N threads sharing the cache

USAGE: zipf_hitratio [OPTIONS]

--cache NAME       cortado, moka, mini-moka, quick_cache (repeatable; default: all)
--exponent LIST    Zipf exponents (default 0.99,1.2)
--keys N           distinct keys (default 1000000)
--capacity N       cache capacity in entries (default 100000)
--requests N       total requests per run, split over the threads (default 8000000)
--threads N        the N of the N-thread column (default: available parallelism, at least 2)
";

fn main() {
    if let Err(e) = run() {
        eprintln!("zipf_hitratio: {e}");
        std::process::exit(2);
    }
}

/// Runs `streams.len()` threads on one cache; returns (hits, requests, seconds).
fn run_once(
    cache_name: &str,
    capacity: u64,
    streams: &[&[u64]],
) -> Result<(u64, u64, f64), String> {
    let cache = conc::build(cache_name, capacity, None)?;
    let hits = AtomicU64::new(0);
    let barrier = Barrier::new(streams.len());
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for keys in streams {
            let cache = &cache;
            let hits = &hits;
            let barrier = &barrier;
            s.spawn(move || {
                barrier.wait();
                let mut h = 0u64;
                for &k in keys.iter() {
                    if cache.get(k).is_some() {
                        h += 1;
                    } else {
                        cache.insert(k, k);
                    }
                }
                hits.fetch_add(h, Ordering::Relaxed);
            });
        }
    });
    let secs = t0.elapsed().as_secs_f64();
    let total: u64 = streams.iter().map(|s| s.len() as u64).sum();
    Ok((hits.load(Ordering::Relaxed), total, secs))
}

fn run() -> Result<(), String> {
    let args = Args::parse(
        &[
            "cache", "exponent", "keys", "capacity", "requests", "threads",
        ],
        &["help"],
    )?;
    if args.flag("help") {
        print!("{USAGE}");
        return Ok(());
    }
    let caches: Vec<String> = {
        let v = args.all("cache");
        if v.is_empty() {
            CACHES.iter().map(|s| s.to_string()).collect()
        } else {
            v
        }
    };
    let exponents: Vec<f64> = {
        let v = args.all("exponent");
        if v.is_empty() {
            vec![0.99, 1.2]
        } else {
            v.iter()
                .map(|s| {
                    s.parse()
                        .map_err(|_| format!("--exponent: bad value {s:?}"))
                })
                .collect::<Result<_, _>>()?
        }
    };
    let n_keys: u64 = args.parsed("keys", 1_000_000)?;
    let capacity: u64 = args.parsed("capacity", 100_000)?;
    let requests: usize = args.parsed("requests", 8_000_000)?;
    let avail = std::thread::available_parallelism().map_or(2, |n| n.get());
    let threads: usize = args.parsed("threads", avail.max(2))?;
    let threads = threads.max(2);

    println!(
        "Zipf hit ratio: {n_keys} keys, capacity {capacity}, {requests} requests per run \
         (split over the threads), get-then-insert-on-miss; {threads} threads on {avail} CPUs.\n"
    );
    println!("| cache | Zipf s | 1 thread | {threads} threads | change (pp) | 1 thread Mops/s | {threads} threads Mops/s |");
    println!("|---|--:|--:|--:|--:|--:|--:|");
    for &s in &exponents {
        // One stream per thread; the 1-thread run replays the N streams' first parts back to back
        // so both runs draw from the same distribution with the same total count.
        let per = requests / threads;
        let t0 = Instant::now();
        let streams: Vec<Vec<u64>> = (0..threads)
            .map(|t| zipf_keys(n_keys, s, per, 0x5eed + t as u64))
            .collect();
        let single: Vec<u64> = streams.concat();
        eprintln!(
            "generated {} keys for s={s} in {:.1} s",
            single.len(),
            t0.elapsed().as_secs_f64()
        );
        for name in &caches {
            let (h1, n1, t1) = run_once(name, capacity, &[&single])?;
            let refs: Vec<&[u64]> = streams.iter().map(Vec::as_slice).collect();
            let (hn, nn, tn) = run_once(name, capacity, &refs)?;
            let r1 = 100.0 * h1 as f64 / n1 as f64;
            let rn = 100.0 * hn as f64 / nn as f64;
            println!(
                "| {name} | {s} | {r1:.2} | {rn:.2} | {:+.2} | {:.1} | {:.1} |",
                rn - r1,
                n1 as f64 / t1 / 1e6,
                nn as f64 / tn / 1e6
            );
        }
    }
    Ok(())
}
