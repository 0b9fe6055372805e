//! The cortado demo: the seed scenarios, each printed with what it shows.
//!
//! Run with `make demo` (or `cargo run --release -p cortado --example demo`).

use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use cortado::{quanta, Cache, EvictionPolicy, Expiry, RemovalCause};

fn main() {
    println!("cortado demo (Rust core)\n");
    coalescing();
    ttl();
    negative_caching();
    size_aware();
    hit_ratio();
}

fn coalescing() {
    println!("1. Read-through with coalescing: 50 threads miss the same key at once");
    let cache: Cache<&'static str, Arc<String>> = Cache::new(1_000);
    let loads = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(50));
    let start = Instant::now();
    let threads: Vec<_> = (0..50)
        .map(|_| {
            let (cache, loads, barrier) = (cache.clone(), loads.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                cache.get_with("user:42", || {
                    loads.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(100)); // a slow backend
                    Arc::new("Ada Lovelace".to_string())
                })
            })
        })
        .collect();
    let values: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let same = values.iter().all(|v| Arc::ptr_eq(v, &values[0]));
    println!(
        "   loader ran {} time(s); all 50 callers got the same value: {same}; took {:?}\n",
        loads.load(Ordering::SeqCst),
        start.elapsed()
    );
}

fn ttl() {
    println!("2. Time-to-live on a manual clock (no sleeping)");
    let (clock, mock) = quanta::Clock::mock();
    let expired = Arc::new(Mutex::new(Vec::new()));
    let log = expired.clone();
    let sessions: Cache<String, u32> = Cache::builder()
        .max_capacity(1_000)
        .time_to_live(Duration::from_secs(30 * 60))
        .clock(clock)
        .eviction_listener(move |k, _, cause| log.lock().unwrap().push((k, cause)))
        .build();
    sessions.insert("alice".into(), 1);
    mock.increment(Duration::from_secs(20 * 60));
    sessions.insert("bob".into(), 2);
    mock.increment(Duration::from_secs(10 * 60));
    println!(
        "   after 30 min: alice = {:?}, bob = {:?}",
        sessions.get("alice"),
        sessions.get("bob")
    );
    sessions.run_pending_tasks();
    println!("   listener saw: {:?}\n", expired.lock().unwrap());
}

struct NegativeCaching;

impl Expiry<u64, Option<String>> for NegativeCaching {
    fn expire_after_create(
        &self,
        _: &u64,
        v: &Option<String>,
        _: quanta::Instant,
    ) -> Option<Duration> {
        Some(match v {
            Some(_) => Duration::from_secs(3600),
            None => Duration::from_secs(5),
        })
    }
}

fn negative_caching() {
    println!("3. Per-entry expiry: cache 'not found' for 5 s, real rows for an hour");
    let (clock, mock) = quanta::Clock::mock();
    let lookups = AtomicUsize::new(0);
    let db = |id: u64| {
        lookups.fetch_add(1, Ordering::SeqCst);
        (id == 1).then(|| "alice".to_string())
    };
    let users: Cache<u64, Option<String>> = Cache::builder()
        .max_capacity(10_000)
        .expire_after(NegativeCaching)
        .clock(clock)
        .build();
    for _ in 0..3 {
        users.get_with(1, || db(1));
        users.get_with(404, || db(404));
    }
    println!(
        "   6 reads, {} database lookups",
        lookups.load(Ordering::SeqCst)
    );
    mock.increment(Duration::from_secs(5));
    users.get_with(1, || db(1));
    users.get_with(404, || db(404));
    println!(
        "   5 s later: the miss was looked up again, the hit was not ({} lookups)\n",
        lookups.load(Ordering::SeqCst)
    );
}

fn size_aware() {
    println!("4. Size-aware eviction: a 1 MiB cache of blobs of very different sizes");
    let evicted = Arc::new(AtomicUsize::new(0));
    let e = evicted.clone();
    let blobs: Cache<u32, Arc<Vec<u8>>> = Cache::builder()
        .max_capacity(1 << 20)
        .weigher(|_, v: &Arc<Vec<u8>>| v.len() as u32)
        .eviction_listener(move |_, _, cause| {
            assert_eq!(cause, RemovalCause::Size);
            e.fetch_add(1, Ordering::Relaxed);
        })
        .build();
    for i in 0..2_000u32 {
        let size = if i % 10 == 0 { 256 * 1024 } else { 2 * 1024 };
        blobs.insert(i, Arc::new(vec![0; size]));
    }
    blobs.insert(9_999, Arc::new(vec![0; 2 << 20]));
    blobs.run_pending_tasks();
    println!(
        "   {} entries, {} bytes (bound {}), {} evicted by size; a 2 MiB blob (heavier than the\n   whole cache) is refused and reported: kept = {}\n",
        blobs.entry_count(),
        blobs.weighted_size(),
        1 << 20,
        evicted.load(Ordering::Relaxed),
        blobs.contains_key(&9_999)
    );
}

/// Replays a trace read-through (get, insert on miss) and returns the hit ratio.
fn replay(keys: &[u64], capacity: u64, policy: EvictionPolicy) -> f64 {
    let cache: Cache<u64, ()> = Cache::builder()
        .max_capacity(capacity)
        .eviction_policy(policy)
        .build();
    let mut hits = 0usize;
    for &k in keys {
        if cache.get(&k).is_some() {
            hits += 1;
        } else {
            cache.insert(k, ());
        }
    }
    hits as f64 / keys.len() as f64
}

fn traces_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/traces/keys")
}

fn load_keys(path: &Path) -> std::io::Result<Vec<u64>> {
    let f = std::fs::File::open(path)?;
    std::io::BufReader::new(f)
        .lines()
        .map(|l| {
            l.and_then(|l| {
                l.trim()
                    .parse()
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
            })
        })
        .collect()
}

fn hit_ratio() {
    println!(
        "5. Hit ratio against exact LRU on real traces (capacity = 5% and 10% of unique keys)"
    );
    let dir = traces_dir();
    if !dir.is_dir() {
        println!(
            "   the shared traces are missing (expected {}): this section needs ../shared/traces",
            dir.display()
        );
        return;
    }
    println!(
        "   {:<16} {:>8} {:>9} {:>9} {:>8}",
        "trace", "capacity", "LRU", "cortado", "gain"
    );
    for name in [
        "cache2k-web07",
        "lirs-sprite",
        "lirs-multi2",
        "lirs-2_pools",
        "corda-vault",
    ] {
        let keys = match load_keys(&dir.join(format!("{name}.txt"))) {
            Ok(k) => k,
            Err(e) => {
                println!("   {name}: cannot read ({e})");
                continue;
            }
        };
        let unique = keys.iter().collect::<std::collections::HashSet<_>>().len() as u64;
        let mut by_size = HashMap::new();
        for pct in [5u64, 10] {
            let capacity = (unique * pct / 100).max(1);
            let lru = replay(&keys, capacity, EvictionPolicy::Lru);
            let tlfu = replay(&keys, capacity, EvictionPolicy::TinyLfu);
            by_size.insert(pct, (lru, tlfu));
            println!(
                "   {:<16} {:>8} {:>8.2}% {:>8.2}% {:>+7.2}",
                name,
                capacity,
                lru * 100.0,
                tlfu * 100.0,
                (tlfu - lru) * 100.0
            );
        }
    }
    println!("   (full tables for all 22 traces and more policies: docs/benchmarks.md)");
}
