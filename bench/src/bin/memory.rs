//! Memory per entry: builds 1M `u64 -> u64` entries in one cache (capacity 1M, so nothing is
//! evicted) and reports the growth of the process's resident set (VmRSS) per entry; then
//! inserts 10M more keys (every insert evicts one) and reports it again: the steady state of a
//! long-running cache, whose tables may grow as entries come and go (a hash table's tombstones,
//! ghost lists filling up) although the entry count stays the same.
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

USAGE: memory --cache NAME | --all [--entries N] [--churn N]

--cache NAME   cortado, moka, mini-moka, quick_cache, hashmap (std HashMap<u64,u64>, the floor)
--all          measure every cache, each in a fresh process, and print a markdown table
--entries N    number of entries (default 1000000); the capacity is the same
--churn N      inserts of new keys after the first measurement (default 10000000; 0: none),
               each evicting one entry, before the second (not for hashmap, which has no bound)
";

const ALL: &[&str] = &["cortado", "moka", "mini-moka", "quick_cache", "hashmap"];

fn main() {
    if let Err(e) = run() {
        eprintln!("memory: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let args = Args::parse(&["cache", "entries", "churn"], &["all", "help"])?;
    let entries: u64 = args.parsed("entries", 1_000_000)?;
    let churn: u64 = args.parsed("churn", 10_000_000)?;
    if args.flag("help") {
        print!("{USAGE}");
        return Ok(());
    }
    if args.flag("all") {
        return run_all(entries, churn);
    }
    let Some(name) = args.value("cache") else {
        return Err(format!("give --cache NAME or --all\n\n{USAGE}"));
    };
    let r = measure(name, entries, churn)?;
    // One machine-readable line for --all.
    println!(
        "RESULT {name} entries={} rss_delta={} bytes_per_entry={:.1} churned_entries={} \
         churned_bytes_per_entry={}",
        r.entries,
        r.delta,
        r.per_entry,
        r.churned.map_or(String::new(), |c| c.0.to_string()),
        r.churned.map_or(String::new(), |c| format!("{:.1}", c.1)),
    );
    Ok(())
}

struct Measured {
    entries: u64,
    delta: u64,
    per_entry: f64,
    /// Entries held and bytes per entry after the churn, if there was one.
    churned: Option<(u64, f64)>,
}

fn measure(name: &str, n: u64, churn: u64) -> Result<Measured, String> {
    let before = resident_bytes().ok_or("can't read VmRSS from /proc/self/status")?;
    let per_entry = |after: u64, len: u64| after.saturating_sub(before) as f64 / len.max(1) as f64;
    let (entries, after, churned) = if name == "hashmap" {
        let mut m: HashMap<u64, u64> = HashMap::new();
        for i in 0..n {
            m.insert(mix64(i), i);
        }
        let after = resident_bytes().unwrap_or(0);
        let len = black_box(&m).len() as u64;
        (len, after, None)
    } else {
        let c = conc::build(name, n, None)?;
        for i in 0..n {
            c.insert(mix64(i), i);
        }
        c.run_pending_tasks();
        let len = c.entry_count();
        let after = resident_bytes().unwrap_or(0);
        let churned = (churn > 0).then(|| {
            for i in n..n + churn {
                c.insert(mix64(i), i);
            }
            c.run_pending_tasks();
            let len = c.entry_count();
            (len, per_entry(resident_bytes().unwrap_or(0), len))
        });
        black_box(&c);
        (len, after, churned)
    };
    Ok(Measured {
        entries,
        delta: after.saturating_sub(before),
        per_entry: per_entry(after, entries),
        churned,
    })
}

fn run_all(entries: u64, churn: u64) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    println!(
        "Resident memory (VmRSS growth) for {entries} u64 -> u64 entries, capacity {entries}, \
         one fresh process per cache; then after {churn} more inserts, each evicting one.\n"
    );
    println!(
        "| cache | entries held | RSS growth (MiB) | bytes per entry | after the churn: entries | \
         bytes per entry |"
    );
    println!("|---|--:|--:|--:|--:|--:|");
    for name in ALL {
        let out = Command::new(&exe)
            .args([
                "--cache",
                name,
                "--entries",
                &entries.to_string(),
                "--churn",
                &churn.to_string(),
            ])
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
        let or_dash = |v: String| if v.is_empty() { "–".to_string() } else { v };
        println!(
            "| {label} | {} | {:.1} | {} | {} | {} |",
            field("entries"),
            delta / (1024.0 * 1024.0),
            field("bytes_per_entry"),
            or_dash(field("churned_entries")),
            or_dash(field("churned_bytes_per_entry")),
        );
    }
    Ok(())
}
