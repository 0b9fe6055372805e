//! Turns `cargo bench -p cortado-bench` output (read from stdin) into a markdown table of
//! throughput (the middle estimate, in millions of operations per second): one row per
//! workload and thread count, one column per cache.
//!
//! `cargo bench -p cortado-bench | tee bench.txt; cargo run --release -p cortado-bench --bin criterion_table < bench.txt`

use std::collections::BTreeMap;
use std::io::Read;

fn main() {
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        eprintln!("criterion_table: reading stdin: {e}");
        std::process::exit(2);
    }
    // (workload, threads) -> cache -> Mops/s; keep first-seen orders.
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut cols: Vec<String> = Vec::new();
    let mut cells: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    let mut current: Option<(String, String, String)> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if !line.starts_with(' ') && !line.starts_with("Benchmarking") && !trimmed.is_empty() {
            // A result header: `group/cache/threads` alone or followed by `time:`.
            let id = trimmed.split_whitespace().next().unwrap_or("");
            let parts: Vec<&str> = id.split('/').collect();
            current = (parts.len() == 3 && parts[2].ends_with('t'))
                .then(|| (parts[0].into(), parts[1].into(), parts[2].into()));
        }
        let Some(rest) = trimmed.strip_prefix("thrpt:") else {
            continue;
        };
        let Some((workload, cache, threads)) = current.clone() else {
            continue;
        };
        // `thrpt:  [lo unit mid unit hi unit]`; the "change" block has percentages instead.
        let inner = rest.trim().trim_start_matches('[').trim_end_matches(']');
        let toks: Vec<&str> = inner.split_whitespace().collect();
        if toks.len() != 6 || toks[1].ends_with('%') || toks[0].ends_with('%') {
            continue;
        }
        let Ok(v) = toks[2].parse::<f64>() else {
            continue;
        };
        let scale = match toks[3] {
            "elem/s" => 1e-6,
            "Kelem/s" => 1e-3,
            "Melem/s" => 1.0,
            "Gelem/s" => 1e3,
            _ => continue,
        };
        let row = (workload.clone(), threads.clone());
        if !rows.contains(&row) {
            rows.push(row);
        }
        if !cols.contains(&cache) {
            cols.push(cache.clone());
        }
        cells.insert((workload, threads, cache), v * scale);
        current = None;
    }
    if rows.is_empty() {
        eprintln!("criterion_table: no `group/cache/Nt` throughput results on stdin");
        std::process::exit(1);
    }
    print!("| workload | threads |");
    for c in &cols {
        print!(" {c} |");
    }
    println!();
    print!("|---|--:|");
    for _ in &cols {
        print!("--:|");
    }
    println!();
    for (w, t) in &rows {
        print!("| {w} | {} |", t.trim_end_matches('t'));
        for c in &cols {
            match cells.get(&(w.clone(), t.clone(), c.clone())) {
                Some(v) => print!(" {v:.2} |"),
                None => print!(" - |"),
            }
        }
        println!();
    }
    println!("\nMillions of operations per second over all threads (criterion's middle estimate).");
}
