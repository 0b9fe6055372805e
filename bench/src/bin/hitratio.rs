//! Hit-ratio simulator: replays traces through cortado, moka, quick_cache, an exact LRU, Bélády
//! and OPT with bypass at a few cache sizes, prints a markdown table and (with `--write-docs`)
//! writes it to docs/hitratio.md with one SVG chart per trace under docs/charts/.
//!
//! `cargo run --release -p cortado-bench --bin hitratio -- --help`

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use cortado_bench::args::Args;
use cortado_bench::sim::{self, POLICIES};
use cortado_bench::svg::{line_chart, Series};
use cortado_bench::traces::{self, Trace, KNOWN};

const USAGE: &str = "\
hitratio: replay cache traces and print hit ratios (markdown)

USAGE: hitratio [OPTIONS] [TRACE_FILE ...]

TRACE_FILE        a plain-text trace (one unsigned 64-bit key per line, or `key size` per
                  line; .gz/.zst/.xz are decompressed); named after its file name
--trace NAME      a trace of shared/traces (repeatable, or comma-separated); default: all 22
                  (with --weighted: twitter-c52). --list shows the names
--policy NAME     lru, cortado, cortado-lru, moka, quick_cache, belady, opt-bypass
                  (repeatable; default: all)
--sizes LIST      cache sizes in % of each trace's unique keys (default 1,5,10,25);
                  capacity = floor(unique * size / 100), at least 2
--max-requests N  replay only the first N requests of each trace
--threads N       (trace, size, policy) jobs run in parallel on N threads (default 2)
--weighted        every object weighs its size (traces with sizes, e.g. twitter-c52);
                  capacity in % of the total size of the unique objects
--traces-dir DIR  where the traces are (default: <repo>/../shared/traces)
--write-docs      also write docs/hitratio.md (docs/hitratio-weighted.md) and
                  docs/charts/hitratio-<trace>.svg
--docs-dir DIR    docs folder for --write-docs (default: <repo>/docs)
--check-reference compare with <traces-dir>/reference-hit-ratios.md: capacity and the
                  LRU, moka, quick_cache, Belady and OPT+bypass columns (unweighted only)
--list            list the known traces and policies
";

enum Source {
    Known(&'static traces::TraceSpec),
    File(PathBuf),
}

/// Hit ratio by [trace][size][policy].
type Results = Vec<Vec<Vec<Option<f64>>>>;

struct Job {
    trace: usize,
    size: usize,
    policy: usize,
    cost: u64,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("hitratio: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let args = Args::parse(
        &[
            "trace",
            "policy",
            "sizes",
            "max-requests",
            "threads",
            "traces-dir",
            "docs-dir",
        ],
        &["weighted", "write-docs", "help", "list", "check-reference"],
    )
    .map_err(|e| format!("{e}\n\n{USAGE}"))?;
    if args.flag("help") {
        print!("{USAGE}");
        return Ok(());
    }
    if args.flag("list") {
        println!("traces:");
        for s in KNOWN {
            println!("  {:<20} {}", s.name, s.file);
        }
        println!("policies: {}", POLICIES.join(", "));
        return Ok(());
    }
    let weighted = args.flag("weighted");
    let dir = args
        .value("traces-dir")
        .map(PathBuf::from)
        .unwrap_or_else(traces::default_dir);
    let threads: usize = args.parsed("threads", 2)?;
    let threads = threads.max(1);
    let max_requests: Option<usize> = match args.value("max-requests") {
        None => None,
        Some(_) => Some(args.parsed("max-requests", 0usize)?),
    };
    let sizes: Vec<f64> = {
        let v = args.all("sizes");
        if v.is_empty() {
            vec![1.0, 5.0, 10.0, 25.0]
        } else {
            v.iter()
                .map(|s| {
                    s.trim_end_matches('%')
                        .parse::<f64>()
                        .ok()
                        .filter(|x| *x > 0.0)
                        .ok_or_else(|| format!("--sizes: bad size {s:?}"))
                })
                .collect::<Result<_, _>>()?
        }
    };
    let policies: Vec<String> = {
        let v = args.all("policy");
        if v.is_empty() {
            POLICIES.iter().map(|s| s.to_string()).collect()
        } else {
            for p in &v {
                if !POLICIES.contains(&p.as_str()) {
                    return Err(format!(
                        "unknown policy {p:?}; known: {}",
                        POLICIES.join(", ")
                    ));
                }
            }
            v
        }
    };

    // Which traces.
    let mut sources = Vec::new();
    let mut names = args.all("trace");
    if names.is_empty() && args.positional.is_empty() {
        names = if weighted {
            vec!["twitter-c52".to_string()]
        } else {
            KNOWN.iter().map(|s| s.name.to_string()).collect()
        };
    }
    for n in &names {
        let spec = traces::find(n).ok_or_else(|| {
            format!(
                "unknown trace {n:?} (--list shows the names; a file path goes without --trace)"
            )
        })?;
        sources.push(Source::Known(spec));
    }
    if !names.is_empty() {
        traces::check_dir(&dir)?;
    }
    for p in &args.positional {
        let path = PathBuf::from(p);
        if !path.is_file() {
            return Err(format!("{p}: no such file"));
        }
        sources.push(Source::File(path));
    }

    let started = Instant::now();
    let loaded = load_all(&sources, &dir, threads, max_requests)?;
    let mut trace_list: Vec<Arc<Trace>> = Vec::new();
    for t in loaded {
        if weighted && t.sizes.is_none() {
            eprintln!(
                "hitratio: skipping {} in --weighted mode: it has no object sizes",
                t.name
            );
            continue;
        }
        trace_list.push(t);
    }
    if trace_list.is_empty() {
        return Err("no trace to replay".into());
    }
    eprintln!(
        "loaded {} trace(s) in {:.1} s",
        trace_list.len(),
        started.elapsed().as_secs_f64()
    );

    // Jobs, longest first.
    let mut jobs = Vec::new();
    for (ti, t) in trace_list.iter().enumerate() {
        for si in 0..sizes.len() {
            for (pi, p) in policies.iter().enumerate() {
                jobs.push(Job {
                    trace: ti,
                    size: si,
                    policy: pi,
                    cost: t.len() as u64 * sim::cost(p),
                });
            }
        }
    }
    jobs.sort_by_key(|j| std::cmp::Reverse(j.cost));
    let capacity = |t: &Trace, si: usize| -> u64 {
        let st = t.stats();
        sim::capacity_for(
            if weighted { st.unique_bytes } else { st.unique },
            sizes[si],
        )
    };

    let results: Mutex<Results> = Mutex::new(vec![
        vec![vec![None; policies.len()]; sizes.len()];
        trace_list.len()
    ]);
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let error: Mutex<Option<String>> = Mutex::new(None);
    let replay_started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads.min(jobs.len()) {
            s.spawn(|| loop {
                let j = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(j) else { break };
                let t = &trace_list[job.trace];
                let cap = capacity(t, job.size);
                let p = &policies[job.policy];
                let t0 = Instant::now();
                let mut cache = match sim::build(p, cap, weighted, t) {
                    Ok(c) => c,
                    Err(e) => {
                        *error.lock().unwrap() = Some(e);
                        break;
                    }
                };
                let out = sim::replay(cache.as_mut(), t, weighted);
                drop(cache);
                let pct = out.percent();
                results.lock().unwrap()[job.trace][job.size][job.policy] = Some(pct);
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                eprintln!(
                    "[{n}/{}] {} {}% cap {} {}: {:.2}% ({:.1} s)",
                    jobs.len(),
                    t.name,
                    sizes[job.size],
                    cap,
                    p,
                    pct,
                    t0.elapsed().as_secs_f64()
                );
            });
        }
    });
    if let Some(e) = error.into_inner().unwrap() {
        return Err(e);
    }
    let results = results.into_inner().unwrap();
    let elapsed = replay_started.elapsed().as_secs_f64();
    eprintln!(
        "replayed {} jobs on {threads} thread(s) in {elapsed:.1} s (total {:.1} s)",
        jobs.len(),
        started.elapsed().as_secs_f64()
    );

    let table = markdown_table(&trace_list, &sizes, &policies, &results, weighted, capacity);
    print!("{table}");
    cross_check(&trace_list, &sizes, &policies, &results);
    if args.flag("check-reference") && !weighted {
        check_reference(&dir, &trace_list, &sizes, &policies, &results, capacity)?;
    }

    if args.flag("write-docs") {
        let docs = args
            .value("docs-dir")
            .map(PathBuf::from)
            .unwrap_or_else(|| cortado_bench::repo_root().join("docs"));
        write_docs(
            &docs,
            &trace_list,
            &sizes,
            &policies,
            &results,
            weighted,
            &table,
            max_requests,
        )?;
    }
    Ok(())
}

fn load_all(
    sources: &[Source],
    dir: &Path,
    threads: usize,
    max_requests: Option<usize>,
) -> Result<Vec<Arc<Trace>>, String> {
    type Slot = Option<Result<Arc<Trace>, String>>;
    let out: Mutex<Vec<Slot>> = Mutex::new((0..sources.len()).map(|_| None).collect());
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads.min(sources.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(src) = sources.get(i) else { break };
                let r = match src {
                    Source::Known(spec) => traces::load_known(dir, spec),
                    Source::File(p) => {
                        traces::load_cached(p, traces::Format::Lines, &traces::name_for_path(p))
                    }
                }
                .map(|t| match max_requests {
                    Some(n) if n < t.len() => Arc::new(t.truncated(n)),
                    _ => t,
                })
                .inspect(|t| {
                    // Precompute what the jobs share.
                    t.stats();
                    t.next_use();
                });
                out.lock().unwrap()[i] = Some(r);
            });
        }
    });
    out.into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.expect("every source loaded"))
        .collect()
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn size_label(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{}%", x.round() as i64)
    } else {
        format!("{x}%")
    }
}

fn cell(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |x| format!("{x:.2}"))
}

fn means(results: &[Vec<Vec<Option<f64>>>], si: usize, pi: usize) -> Option<f64> {
    let vals: Vec<f64> = results.iter().filter_map(|r| r[si][pi]).collect();
    (!vals.is_empty()).then(|| vals.iter().sum::<f64>() / vals.len() as f64)
}

fn markdown_table(
    trace_list: &[Arc<Trace>],
    sizes: &[f64],
    policies: &[String],
    results: &[Vec<Vec<Option<f64>>>],
    weighted: bool,
    capacity: impl Fn(&Trace, usize) -> u64,
) -> String {
    let mut s = String::new();
    let cap_head = if weighted {
        "capacity (bytes)"
    } else {
        "capacity"
    };
    s.push_str(&format!("| trace | size | {cap_head} |"));
    for p in policies {
        s.push_str(&format!(" {} |", sim::heading(p)));
    }
    s.push_str("\n|---|--:|--:|");
    for _ in policies {
        s.push_str("--:|");
    }
    s.push('\n');
    for (ti, t) in trace_list.iter().enumerate() {
        for (si, &size) in sizes.iter().enumerate() {
            s.push_str(&format!(
                "| {} | {} | {} |",
                t.name,
                size_label(size),
                thousands(capacity(t, si))
            ));
            for v in &results[ti][si] {
                s.push_str(&format!(" {} |", cell(*v)));
            }
            s.push('\n');
        }
    }
    if trace_list.len() > 1 {
        for (si, &size) in sizes.iter().enumerate() {
            s.push_str(&format!(
                "| **mean of {}** | {} | |",
                trace_list.len(),
                size_label(size)
            ));
            for pi in 0..policies.len() {
                s.push_str(&format!(" {} |", cell(means(results, si, pi))));
            }
            s.push('\n');
        }
    }
    s
}

/// cortado-lru must agree with the exact LRU.
fn cross_check(
    trace_list: &[Arc<Trace>],
    sizes: &[f64],
    policies: &[String],
    results: &[Vec<Vec<Option<f64>>>],
) {
    let (Some(a), Some(b)) = (
        policies.iter().position(|p| p == "lru"),
        policies.iter().position(|p| p == "cortado-lru"),
    ) else {
        return;
    };
    let mut worst = (0.0f64, String::new());
    for (ti, t) in trace_list.iter().enumerate() {
        for (si, &size) in sizes.iter().enumerate() {
            if let (Some(x), Some(y)) = (results[ti][si][a], results[ti][si][b]) {
                let d = (x - y).abs();
                if d > worst.0 {
                    worst = (d, format!("{} {}", t.name, size_label(size)));
                }
            }
        }
    }
    if worst.0 > 0.01 {
        eprintln!(
            "WARNING: cortado-lru differs from the exact LRU by {:.4} pp ({})",
            worst.0, worst.1
        );
    } else {
        eprintln!(
            "cross-check: cortado-lru matches the exact LRU within {:.4} pp",
            worst.0
        );
    }
}

fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn write_docs(
    docs: &Path,
    trace_list: &[Arc<Trace>],
    sizes: &[f64],
    policies: &[String],
    results: &[Vec<Vec<Option<f64>>>],
    weighted: bool,
    table: &str,
    max_requests: Option<usize>,
) -> Result<(), String> {
    let charts = docs.join("charts");
    std::fs::create_dir_all(&charts).map_err(|e| format!("{}: {e}", charts.display()))?;
    let prefix = if weighted {
        "hitratio-weighted"
    } else {
        "hitratio"
    };
    let unit = if weighted {
        "cache size (% of the total size of unique objects)"
    } else {
        "cache size (% of unique keys)"
    };
    let mut chart_links = Vec::new();
    let mut write_chart =
        |file_stem: String, title: String, per: &dyn Fn(usize, usize) -> Option<f64>| {
            let series: Vec<Series> = policies
                .iter()
                .enumerate()
                .map(|(pi, p)| Series {
                    label: sim::heading(p).to_string(),
                    points: sizes
                        .iter()
                        .enumerate()
                        .filter_map(|(si, &x)| per(si, pi).map(|y| (x, y)))
                        .collect(),
                    // Lines that lie on another (cortado-lru on LRU, Belady under OPT+bypass).
                    dashed: p == "cortado-lru" || p == "belady",
                })
                .collect();
            let svg = line_chart(&title, unit, "hit ratio (%)", &series);
            let path = charts.join(format!("{file_stem}.svg"));
            std::fs::write(&path, svg).map_err(|e| format!("{}: {e}", path.display()))?;
            chart_links.push((title, format!("charts/{file_stem}.svg")));
            Ok::<(), String>(())
        };
    for (ti, t) in trace_list.iter().enumerate() {
        write_chart(
            format!("{prefix}-{}", file_safe(&t.name)),
            if weighted {
                format!("{} (weighted by object size)", t.name)
            } else {
                t.name.clone()
            },
            &|si, pi| results[ti][si][pi],
        )?;
    }
    if trace_list.len() > 1 {
        write_chart(
            format!("{prefix}-mean"),
            format!("mean of {} traces", trace_list.len()),
            &|si, pi| means(results, si, pi),
        )?;
    }

    let mut md = String::new();
    md.push_str(if weighted {
        "# Hit ratios, weighted by object size\n\n"
    } else {
        "# Hit ratios on real traces\n\n"
    });
    md.push_str("Written by `cargo run --release -p cortado-bench --bin hitratio -- --write-docs");
    if weighted {
        md.push_str(" --weighted");
    }
    if let Some(n) = max_requests {
        md.push_str(&format!(" --max-requests {n}"));
    }
    md.push_str("`.\n\n");
    md.push_str(
        "Method: every request is `get(k)`, and on a miss `insert(k, v)`, then \
         `run_pending_tasks()` (cortado, moka), so capacity bounds are exact; hit ratio = hits / \
         requests, cold misses included. ",
    );
    if weighted {
        md.push_str(
            "Each object weighs its size in bytes from the trace; capacity = floor(size% x the total \
             size of the unique objects). Belady and OPT+bypass evict the furthest next use until the \
             object fits: a strong offline reference, not a proven bound for variable sizes. ",
        );
    } else {
        md.push_str("Every object has size 1; capacity = floor(size% x unique keys), at least 2. ");
    }
    md.push_str(
        "LRU is an exact LRU; cortado-lru is cortado with `EvictionPolicy::Lru` (must equal LRU); \
         moka is `moka::sync::Cache` and quick_cache `quick_cache::sync::Cache` with one shard, \
         both with a fixed-key SipHash; Belady admits every miss and evicts the key used furthest \
         in the future; OPT+bypass may instead leave the missed key out, the bound for caches with \
         an admission filter. Traces: `shared/traces/SOURCES.md`.\n\n",
    );
    md.push_str(table);
    md.push_str("\n## Charts\n\n");
    for (title, link) in &chart_links {
        md.push_str(&format!("![{title}]({link})\n"));
    }
    let file = docs.join(format!("{prefix}.md"));
    std::fs::write(&file, md).map_err(|e| format!("{}: {e}", file.display()))?;
    eprintln!(
        "wrote {} and {} chart(s) in {}",
        file.display(),
        chart_links.len(),
        charts.display()
    );
    Ok(())
}

/// Compares with the reference table (`reference-hit-ratios.md` beside the traces): the capacity
/// column and the columns measured the same way here.
fn check_reference(
    dir: &Path,
    trace_list: &[Arc<Trace>],
    sizes: &[f64],
    policies: &[String],
    results: &[Vec<Vec<Option<f64>>>],
    capacity: impl Fn(&Trace, usize) -> u64,
) -> Result<(), String> {
    let path = dir.join("reference-hit-ratios.md");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut header: Option<Vec<String>> = None;
    // (trace, size label) -> (capacity, column -> value)
    let mut rows = std::collections::HashMap::new();
    for line in text.lines() {
        let cells: Vec<String> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().replace("**", "").replace(',', ""))
            .collect();
        if cells.len() < 4 {
            continue;
        }
        if cells[0] == "trace" && cells[1] == "size" {
            header = Some(cells);
            continue;
        }
        if let Some(h) = &header {
            if cells.len() == h.len() && cells[1].ends_with('%') {
                let cap: u64 = cells[2].parse().unwrap_or(0);
                let vals: std::collections::HashMap<String, f64> = h
                    .iter()
                    .zip(&cells)
                    .skip(3)
                    .filter_map(|(k, v)| v.parse().ok().map(|v| (k.clone(), v)))
                    .collect();
                rows.insert((cells[0].clone(), cells[1].clone()), (cap, vals));
            }
        }
    }
    if rows.is_empty() {
        return Err(format!("{}: no result table found", path.display()));
    }
    println!("\nAgainst {} (ours - reference, pp):\n", path.display());
    let cols: Vec<(usize, &str)> = policies
        .iter()
        .enumerate()
        .filter_map(|(i, p)| match p.as_str() {
            "lru" => Some((i, "LRU")),
            "moka" => Some((i, "moka")),
            "quick_cache" => Some((i, "quick_cache")),
            "belady" => Some((i, "Belady")),
            "opt-bypass" => Some((i, "OPT+bypass")),
            _ => None,
        })
        .collect();
    let mut line = String::from("| trace | size | capacity |");
    for (_, c) in &cols {
        line.push_str(&format!(" {c} |"));
    }
    println!("{line}");
    println!("|---|--:|--:|{}", "--:|".repeat(cols.len()));
    let mut worst = vec![0.0f64; cols.len()];
    let mut sum = vec![0.0f64; cols.len()];
    let mut n = vec![0usize; cols.len()];
    let mut cap_mismatch = 0;
    for (ti, t) in trace_list.iter().enumerate() {
        for (si, &size) in sizes.iter().enumerate() {
            let Some((rcap, vals)) = rows.get(&(t.name.clone(), size_label(size))) else {
                continue;
            };
            let cap = capacity(t, si);
            let mut line = format!(
                "| {} | {} | {}{} |",
                t.name,
                size_label(size),
                cap,
                if cap == *rcap {
                    String::new()
                } else {
                    format!(" (ref {rcap})")
                }
            );
            if cap != *rcap {
                cap_mismatch += 1;
            }
            for (ci, (pi, c)) in cols.iter().enumerate() {
                match (results[ti][si][*pi], vals.get(*c)) {
                    (Some(ours), Some(r)) => {
                        let d = ours - r;
                        worst[ci] = worst[ci].max(d.abs());
                        sum[ci] += d.abs();
                        n[ci] += 1;
                        line.push_str(&format!(" {d:+.2} |"));
                    }
                    _ => line.push_str(" - |"),
                }
            }
            println!("{line}");
        }
    }
    let mut line = String::from("| **max abs** | | |");
    for w in &worst {
        line.push_str(&format!(" {w:.2} |"));
    }
    println!("{line}");
    let mut line = String::from("| **mean abs** | | |");
    for (s, k) in sum.iter().zip(&n) {
        line.push_str(&format!(
            " {:.3} |",
            if *k > 0 { s / *k as f64 } else { 0.0 }
        ));
    }
    println!("{line}");
    println!("\ncapacity mismatches: {cap_mismatch}");
    Ok(())
}
