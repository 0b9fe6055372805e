//! Replays the shared conformance vectors (`tests/conformance/vectors/*.txt`, format in the
//! README beside them) through the Rust API.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cortado::{Cache, EvictionPolicy, RemovalCause};

type Events = Arc<Mutex<Vec<(String, String, RemovalCause)>>>;

fn duration(token: &str) -> Duration {
    let split = token
        .find(|c: char| !c.is_ascii_digit())
        .expect("duration has a unit");
    let (n, unit) = token.split_at(split);
    let n: u64 = n.parse().expect("duration number");
    match unit {
        "ns" => Duration::from_nanos(n),
        "us" => Duration::from_micros(n),
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        other => panic!("unknown duration unit {other}"),
    }
}

struct Runner {
    cache: Cache<String, String>,
    mock: Arc<cortado::quanta::Mock>,
    events: Events,
    checked: Vec<bool>,
}

fn build(words: &[&str]) -> Runner {
    assert_eq!(words[0], "cache", "first line configures the cache");
    let (clock, mock) = cortado::quanta::Clock::mock();
    let events: Events = Arc::default();
    let sink = Arc::clone(&events);
    let mut b = Cache::builder()
        .clock(clock)
        .eviction_listener(move |k, v, c| sink.lock().unwrap().push((k, v, c)));
    for opt in &words[1..] {
        let (name, value) = opt.split_once('=').expect("option is name=value");
        b = match name {
            "max" => b.max_capacity(value.parse().unwrap()),
            "policy" => b.eviction_policy(match value {
                "lru" => EvictionPolicy::Lru,
                "tinylfu" => EvictionPolicy::TinyLfu,
                other => panic!("unknown policy {other}"),
            }),
            "weigher" => {
                assert_eq!(value, "value_len");
                b.weigher(|_k: &String, v: &String| v.len() as u32)
            }
            "ttl" => b.time_to_live(duration(value)),
            "tti" => b.time_to_idle(duration(value)),
            other => panic!("unknown option {other}"),
        };
    }
    Runner {
        cache: b.build(),
        mock,
        events,
        checked: Vec::new(),
    }
}

fn show(v: Option<String>) -> String {
    v.unwrap_or_else(|| "miss".to_string())
}

impl Runner {
    fn step(&mut self, op: &[&str], expect: Option<&[&str]>) -> Result<(), String> {
        let want = |expect: Option<&[&str]>| expect.map(|e| e.join(" ")).unwrap_or_default();
        let got: Option<String> = match op {
            ["insert", k, v] => {
                self.cache.insert(k.to_string(), v.to_string());
                None
            }
            ["insert", k, v, ttl] => {
                let d = duration(ttl.strip_prefix("ttl=").expect("ttl=D"));
                self.cache.insert_with_ttl(k.to_string(), v.to_string(), d);
                None
            }
            ["get", k] => Some(show(self.cache.get(*k))),
            ["peek", k] => Some(show(self.cache.peek(*k))),
            ["contains", k] => Some(self.cache.contains_key(*k).to_string()),
            ["remove", k] => Some(show(self.cache.remove(*k))),
            ["invalidate", k] => {
                self.cache.invalidate(*k);
                None
            }
            ["invalidate_all"] => {
                self.cache.invalidate_all();
                None
            }
            ["get_with", k, v] => Some(self.cache.get_with(k.to_string(), || v.to_string())),
            ["advance", d] => {
                self.mock.increment(duration(d));
                None
            }
            ["run_pending_tasks"] => {
                self.cache.run_pending_tasks();
                None
            }
            ["len"] => Some(self.cache.entry_count().to_string()),
            ["weighted_size"] => Some(self.cache.weighted_size().to_string()),
            ["order"] => Some(self.cache.keys_coldest_first().join(" ")),
            ["stats", h, m] => {
                let s = self.cache.stats();
                let got = format!("hits={} misses={}", s.hits, s.misses);
                let expected = format!("{h} {m}");
                return if got == expected {
                    Ok(())
                } else {
                    Err(format!("expected {expected}, got {got}"))
                };
            }
            ["event", k, v, cause] => {
                let events = self.events.lock().unwrap();
                self.checked.resize(events.len(), false);
                let found = events.iter().enumerate().position(|(i, (ek, ev, ec))| {
                    !self.checked[i] && ek == k && ev == v && ec.as_str() == *cause
                });
                return match found {
                    Some(i) => {
                        self.checked[i] = true;
                        Ok(())
                    }
                    None => Err(format!(
                        "no unchecked event {k} {v} {cause} in {:?}",
                        *events
                    )),
                };
            }
            ["no_events"] => {
                let events = self.events.lock().unwrap();
                self.checked.resize(events.len(), false);
                let unchecked: Vec<_> = events
                    .iter()
                    .zip(&self.checked)
                    .filter(|(_, c)| !**c)
                    .map(|(e, _)| e.clone())
                    .collect();
                return if unchecked.is_empty() {
                    Ok(())
                } else {
                    Err(format!("unchecked events: {unchecked:?}"))
                };
            }
            other => return Err(format!("unknown operation {other:?}")),
        };
        match (got, expect) {
            (Some(got), Some(_)) if got == want(expect) => Ok(()),
            (Some(got), Some(_)) => Err(format!("expected {:?}, got {got:?}", want(expect))),
            (None, None) | (Some(_), None) => Ok(()),
            (None, Some(_)) => Err("this operation has no result to check".into()),
        }
    }
}

/// Runs one vector file; returns the number of operations checked.
fn run_file(path: &Path) -> Result<usize, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let mut runner: Option<Runner> = None;
    let mut ops = 0;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(r) = runner.as_mut() else {
            runner = Some(build(&words));
            continue;
        };
        let (op, expect) = match words.iter().position(|w| *w == "->") {
            Some(i) => (&words[..i], Some(&words[i + 1..])),
            None => (&words[..], None),
        };
        r.step(op, expect)
            .map_err(|e| format!("{}:{}: `{line}`: {e}", path.display(), n + 1))?;
        ops += 1;
    }
    Ok(ops)
}

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance/vectors")
}

#[test]
fn every_vector_passes() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(vectors_dir())
        .expect("tests/conformance/vectors exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 5,
        "expected the shared vectors, found {files:?}"
    );
    let failures: Vec<String> = files.iter().filter_map(|f| run_file(f).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_wrong_expectation_is_caught() {
    let dir = std::env::temp_dir().join(format!("cortado-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("wrong.txt");
    std::fs::write(&f, "cache max=2\ninsert a 1\nget a -> 2\n").unwrap();
    let err = run_file(&f).unwrap_err();
    assert!(err.contains("wrong.txt:3"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
