//! The Rust side of the C API benchmark (bench.c is the C side): the same loops on a
//! `Cache<Box<[u8]>, V>` called directly, so the difference is the cost of the boundary.
//! `V` mirrors the library's value handle (an `Arc` of a struct owning a boxed copy), so
//! both sides allocate the same way on insert. Not a test: run it with ffi/bench/run.sh.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use cortado::Cache;

const VALUE_LEN: usize = 64;
const ROUNDS: usize = 7;

/// Same shape as the library's `cortado_value` (bytes owned through a box, in an `Arc`).
struct Bytes {
    data: Box<[u8]>,
}

type Value = Arc<Bytes>;

/// Best of `ROUNDS` rounds of `passes` passes of `op` over every key, in ns per operation.
fn best(keys: &[[u8; 16]], passes: usize, mut op: impl FnMut(&[u8])) -> f64 {
    (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..passes {
                for k in keys {
                    op(&k[..]);
                }
            }
            start.elapsed().as_nanos() as f64 / (keys.len() * passes) as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// `KEYS PASSES` after the `--` of `cargo bench` (cargo's own `--bench` flag is skipped).
fn arg(position: usize, default: usize) -> usize {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .nth(position)
        .map_or(default, |a| a.parse().expect("a number"))
}

fn main() {
    let (nkeys, passes) = (arg(0, 1000), arg(1, 100));
    let keys: Vec<[u8; 16]> = (0..nkeys)
        .map(|i| {
            let mut k = [0u8; 16];
            k[..15].copy_from_slice(format!("key-{i:011}").as_bytes());
            k
        })
        .collect();
    let value = [b'v'; VALUE_LEN];
    let copy = || {
        Arc::new(Bytes {
            data: Box::from(&value[..]),
        })
    };
    let cache: Cache<Box<[u8]>, Value> = Cache::builder().build();
    for k in &keys {
        cache.insert(Box::from(&k[..]), copy());
    }
    cache.run_pending_tasks();
    let shared: Value = copy();

    println!(
        "Rust (Cache<Box<[u8]>, Arc<..>>), {nkeys} keys x {passes} passes, best of {ROUNDS} rounds"
    );
    let get = best(&keys, passes, |k| {
        let v = cache.get(k).expect("hit");
        black_box(v.data.len());
    });
    println!("{:<34} {get:6.1} ns/op", "get hit (Arc clone)");
    let contains = best(&keys, passes, |k| {
        black_box(cache.contains_key(k));
    });
    println!("{:<34} {contains:6.1} ns/op", "contains");
    let insert = best(&keys, passes, |k| cache.insert(Box::from(k), copy()));
    println!("{:<34} {insert:6.1} ns/op", "insert (copy, replaces)");
    let insert_shared = best(&keys, passes, |k| {
        cache.insert(Box::from(k), Arc::clone(&shared))
    });
    println!(
        "{:<34} {insert_shared:6.1} ns/op",
        "insert (shared Arc, replaces)"
    );
}
