//! Memory per entry: builds 1M `u64 -> u64` entries in one cache (capacity 1M, so nothing is
//! evicted) and reports the growth of the process's resident set (VmRSS) per entry.
//!
//! `memory --cache NAME` measures one cache in this process; `memory --all` runs itself once per
//! cache (a fresh process each) and prints a markdown table.
//!
//! `cargo run --release -p cortado-bench --bin memory -- --all`

use std::collections::HashMap;
use std::hint::black_box;
use std::process::Command;

use cortado_bench::args::Args;
use cortado_bench::conc;
use cortado_bench::rss::resident_bytes;
use cortado_bench::zipf::mix64;

const USAGE: &str = "\
memory: resident memory per entry of 1M u64 -> u64 entries

USAGE: memory --cache NAME | --all [--entries N]

--cache NAME   cortado, moka, mini-moka, quick_cache, hashmap (std HashMap<u64,u64>, the floor)
--all          measure every cache, each in a fresh process, and print a markdown table
--entries N    number of entries (default 1000000); the capacity is the same
";

const ALL: &[&str] = &["cortado", "moka", "mini-moka", "quick_cache", "hashmap"];

fn main() {
    if let Err(e) = run() {
        eprintln!("memory: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let args = Args::parse(&["cache", "entries"], &["all", "help"])?;
    let entries: u64 = args.parsed("entries", 1_000_000)?;
    if args.flag("help") {
        print!("{USAGE}");
        return Ok(());
    }
    if args.flag("all") {
        return run_all(entries);
    }
    let Some(name) = args.value("cache") else {
        return Err(format!("give --cache NAME or --all\n\n{USAGE}"));
    };
    let r = measure(name, entries)?;
    // One machine-readable line for --all, then a readable one.
    println!(
        "RESULT {name} entries={} rss_delta={} bytes_per_entry={:.1}",
        r.entries, r.delta, r.per_entry
    );
    Ok(())
}

struct Measured {
    entries: u64,
    delta: u64,
    per_entry: f64,
}

fn measure(name: &str, n: u64) -> Result<Measured, String> {
    let before = resident_bytes().ok_or("can't read VmRSS from /proc/self/status")?;
    let (entries, after) = if name == "hashmap" {
        let mut m: HashMap<u64, u64> = HashMap::new();
        for i in 0..n {
            m.insert(mix64(i), i);
        }
        let after = resident_bytes().unwrap_or(0);
        let len = black_box(&m).len() as u64;
        (len, after)
    } else {
        let c = conc::build(name, n, None)?;
        for i in 0..n {
            c.insert(mix64(i), i);
        }
        c.run_pending_tasks();
        let len = c.entry_count();
        let after = resident_bytes().unwrap_or(0);
        black_box(&c);
        (len, after)
    };
    let delta = after.saturating_sub(before);
    Ok(Measured {
        entries,
        delta,
        per_entry: delta as f64 / entries.max(1) as f64,
    })
}

fn run_all(entries: u64) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    println!(
        "Resident memory (VmRSS growth) for {entries} u64 -> u64 entries, capacity {entries}, \
         one fresh process per cache.\n"
    );
    println!("| cache | entries held | RSS growth (MiB) | bytes per entry |");
    println!("|---|--:|--:|--:|");
    for name in ALL {
        let out = Command::new(&exe)
            .args(["--cache", name, "--entries", &entries.to_string()])
            .output()
            .map_err(|e| format!("running {}: {e}", exe.display()))?;
        if !out.status.success() {
            return Err(format!(
                "{name}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout
            .lines()
            .find(|l| l.starts_with("RESULT "))
            .ok_or_else(|| format!("{name}: no RESULT line in {stdout:?}"))?;
        let field = |k: &str| -> String {
            line.split_whitespace()
                .find_map(|f| f.strip_prefix(&format!("{k}=")).map(String::from))
                .unwrap_or_default()
        };
        let delta: f64 = field("rss_delta").parse().unwrap_or(0.0);
        let label = if *name == "hashmap" {
            "std HashMap (floor)"
        } else {
            name
        };
        println!(
            "| {label} | {} | {:.1} | {} |",
            field("entries"),
            delta / (1024.0 * 1024.0),
            field("bytes_per_entry")
        );
    }
    Ok(())
}
