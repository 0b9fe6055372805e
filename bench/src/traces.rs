//! Reading the traces in `shared/traces/` (formats in its `SOURCES.md`) and plain-text traces
//! given by path. Each decoded trace is kept in memory for the life of the process.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use crate::FastMap;

/// How the (decompressed) bytes of a trace file encode its requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Text, one request per line: `key` or `key size` (unsigned decimal). CRLF is fine; blank lines
    /// and lines starting with `*` (LIRS checkpoints) or `#` are skipped.
    Lines,
    /// ARC text: `start count _ _` per line, meaning requests for start, start+1, ..., start+count-1.
    ArcRanges,
    /// Big-endian 32-bit unsigned integers, one per request.
    Be32,
    /// Big-endian 64-bit integers (read as unsigned), one per request.
    Be64,
}

/// A known trace: its name (as in SOURCES.md), its file under the traces folder and its format.
/// The compression is taken from the file extension (`.gz`, `.zst`, `.xz`, else none).
#[derive(Clone, Copy, Debug)]
pub struct TraceSpec {
    pub name: &'static str,
    pub file: &'static str,
    pub format: Format,
}

const fn spec(name: &'static str, file: &'static str, format: Format) -> TraceSpec {
    TraceSpec { name, file, format }
}

/// The 22 traces of `shared/traces/SOURCES.md`, in the order of its reference table.
pub const KNOWN: &[TraceSpec] = &[
    spec("lirs-loop", "lirs/loop.trace.gz", Format::Lines),
    spec("lirs-2_pools", "lirs/2_pools.trace.gz", Format::Lines),
    spec("lirs-sprite", "lirs/sprite.trace.gz", Format::Lines),
    spec("lirs-cpp", "lirs/cpp.trace.gz", Format::Lines),
    spec("lirs-cs", "lirs/cs.trace.gz", Format::Lines),
    spec("lirs-gli", "lirs/gli.trace.gz", Format::Lines),
    spec("lirs-ps", "lirs/ps.trace.gz", Format::Lines),
    spec("lirs-multi1", "lirs/multi1.trace.gz", Format::Lines),
    spec("lirs-multi2", "lirs/multi2.trace.gz", Format::Lines),
    spec("lirs-multi3", "lirs/multi3.trace.gz", Format::Lines),
    spec("arc-OLTP", "arc/OLTP.lis.zst", Format::ArcRanges),
    spec("arc-P3", "arc/P3.lis.zst", Format::ArcRanges),
    spec("arc-P6", "arc/P6.lis.zst", Format::ArcRanges),
    spec("arc-P12", "arc/P12.lis.zst", Format::ArcRanges),
    spec(
        "cache2k-orm-busy",
        "cache2k/orm-busy.trace.xz",
        Format::Be32,
    ),
    spec(
        "cache2k-orm-night",
        "cache2k/orm-night.trace.xz",
        Format::Be32,
    ),
    spec("cache2k-web07", "cache2k/web07.trace.xz", Format::Be32),
    spec("cache2k-web12", "cache2k/web12.trace.xz", Format::Be32),
    spec("scarab-recs", "scarab/scarab-recs.trace.xz", Format::Be64),
    spec("corda-vault", "corda/trace_vaultservice.gz", Format::Be64),
    spec(
        "cloudphysics-w106",
        "cloud_physics/w106.trace.xz",
        Format::Be32,
    ),
    spec(
        "twitter-c52",
        "twitter/cluster52.key_size.txt.xz",
        Format::Lines,
    ),
];

/// Looks a known trace up by name (case-insensitive).
pub fn find(name: &str) -> Option<&'static TraceSpec> {
    KNOWN.iter().find(|s| s.name.eq_ignore_ascii_case(name))
}

/// The default traces folder: `CARGO_MANIFEST_DIR/../../shared/traces` (the repository root's
/// `../shared/traces`).
pub fn default_dir() -> PathBuf {
    crate::repo_root().join("../shared/traces")
}

/// A decoded trace.
#[derive(Debug)]
pub struct Trace {
    pub name: String,
    /// One key per request.
    pub keys: Vec<u64>,
    /// Object size per request, where the trace has sizes (`key size` text).
    pub sizes: Option<Vec<u32>>,
    next_use: OnceLock<Arc<Vec<u32>>>,
    stats: OnceLock<Stats>,
}

/// Unique-key statistics of a trace.
#[derive(Clone, Copy, Debug)]
pub struct Stats {
    pub requests: u64,
    pub unique: u64,
    /// Sum of the sizes of the unique objects (the size of each key's first request), or `unique`
    /// when the trace has no sizes.
    pub unique_bytes: u64,
}

/// Marks "never used again" in [`Trace::next_use`].
pub const NEVER: u32 = u32::MAX;

impl Trace {
    pub fn new(name: impl Into<String>, keys: Vec<u64>, sizes: Option<Vec<u32>>) -> Trace {
        assert!(
            keys.len() < NEVER as usize,
            "traces of 2^32-1 requests or more are not supported"
        );
        if let Some(s) = &sizes {
            assert_eq!(s.len(), keys.len());
        }
        Trace {
            name: name.into(),
            keys,
            sizes,
            next_use: OnceLock::new(),
            stats: OnceLock::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The first `n` requests as a new trace (the whole trace if it is shorter).
    pub fn truncated(&self, n: usize) -> Trace {
        let n = n.min(self.keys.len());
        Trace::new(
            self.name.clone(),
            self.keys[..n].to_vec(),
            self.sizes.as_ref().map(|s| s[..n].to_vec()),
        )
    }

    /// Weight of request `i`: its size in a trace with sizes (at least 1), else 1.
    #[inline]
    pub fn weight(&self, i: usize) -> u32 {
        self.sizes.as_ref().map_or(1, |s| s[i].max(1))
    }

    pub fn stats(&self) -> Stats {
        *self.stats.get_or_init(|| {
            let mut seen: FastMap<()> = FastMap::default();
            let mut bytes = 0u64;
            for (i, &k) in self.keys.iter().enumerate() {
                if seen.insert(k, ()).is_none() {
                    bytes += u64::from(self.weight(i));
                }
            }
            Stats {
                requests: self.keys.len() as u64,
                unique: seen.len() as u64,
                unique_bytes: bytes,
            }
        })
    }

    /// For each request i, the index of the next request for the same key, or [`NEVER`].
    /// Computed once (a backward pass) and shared.
    pub fn next_use(&self) -> Arc<Vec<u32>> {
        self.next_use
            .get_or_init(|| {
                let mut next = vec![NEVER; self.keys.len()];
                let mut last: FastMap<u32> = FastMap::default();
                for i in (0..self.keys.len()).rev() {
                    if let Some(j) = last.insert(self.keys[i], i as u32) {
                        next[i] = j;
                    }
                }
                Arc::new(next)
            })
            .clone()
    }
}

/// Decompresses `path` according to its extension.
pub fn read_decompressed(path: &Path) -> Result<Vec<u8>, String> {
    let err = |e: std::io::Error| format!("{}: {e}", path.display());
    let file = std::fs::File::open(path).map_err(err)?;
    let file = std::io::BufReader::with_capacity(1 << 16, file);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let mut out = Vec::new();
    if name.ends_with(".gz") {
        flate2::read::MultiGzDecoder::new(file)
            .read_to_end(&mut out)
            .map_err(err)?;
    } else if name.ends_with(".zst") {
        zstd::stream::read::Decoder::with_buffer(file)
            .map_err(err)?
            .read_to_end(&mut out)
            .map_err(err)?;
    } else if name.ends_with(".xz") {
        xz2::read::XzDecoder::new_multi_decoder(file)
            .read_to_end(&mut out)
            .map_err(err)?;
    } else {
        let mut f = file;
        f.read_to_end(&mut out).map_err(err)?;
    }
    Ok(out)
}

fn parse_u64(tok: &[u8]) -> Option<u64> {
    if tok.is_empty() || tok.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in tok {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(v)
}

fn fields(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|b| b.is_ascii_whitespace() || *b == b',')
        .filter(|t| !t.is_empty())
}

fn bad_line(what: &str, lineno: usize, line: &[u8]) -> String {
    format!(
        "{what}: line {lineno}: expected an unsigned 64-bit integer, got {:?}",
        String::from_utf8_lossy(line)
    )
}

/// Parses decompressed bytes in `format`. `what` names the source in error messages.
pub fn parse(
    bytes: &[u8],
    format: Format,
    what: &str,
) -> Result<(Vec<u64>, Option<Vec<u32>>), String> {
    match format {
        Format::Be32 | Format::Be64 => {
            let w = if format == Format::Be32 { 4 } else { 8 };
            if bytes.len() % w != 0 {
                return Err(format!(
                    "{what}: {} bytes is not a multiple of {w}",
                    bytes.len()
                ));
            }
            let keys = bytes
                .chunks_exact(w)
                .map(|c| {
                    if w == 4 {
                        u64::from(u32::from_be_bytes(c.try_into().unwrap()))
                    } else {
                        u64::from_be_bytes(c.try_into().unwrap())
                    }
                })
                .collect();
            Ok((keys, None))
        }
        Format::Lines => {
            let mut keys = Vec::with_capacity(bytes.len() / 8);
            let mut sizes: Vec<u32> = Vec::new();
            let mut with_sizes: Option<bool> = None;
            for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
                let line = line.trim_ascii();
                if line.is_empty() || line[0] == b'*' || line[0] == b'#' {
                    continue;
                }
                let mut f = fields(line);
                let key = f
                    .next()
                    .and_then(parse_u64)
                    .ok_or_else(|| bad_line(what, i + 1, line))?;
                let size = f.next();
                // The first request line decides whether the trace has sizes.
                let has = *with_sizes.get_or_insert(size.is_some());
                keys.push(key);
                if has {
                    let s = size
                        .and_then(parse_u64)
                        .ok_or_else(|| {
                            format!(
                                "{what}: line {}: expected `key size`, got {:?}",
                                i + 1,
                                String::from_utf8_lossy(line)
                            )
                        })?
                        .min(u64::from(u32::MAX)) as u32;
                    sizes.push(s);
                }
            }
            Ok((keys, with_sizes.unwrap_or(false).then_some(sizes)))
        }
        Format::ArcRanges => {
            let mut keys = Vec::with_capacity(bytes.len() / 6);
            for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
                let line = line.trim_ascii();
                if line.is_empty() {
                    continue;
                }
                let mut f = fields(line);
                let start = f.next().and_then(parse_u64);
                let count = f.next().and_then(parse_u64);
                let (Some(start), Some(count)) = (start, count) else {
                    return Err(format!(
                        "{what}: line {}: expected `start count _ _`, got {:?}",
                        i + 1,
                        String::from_utf8_lossy(line)
                    ));
                };
                keys.extend((0..count).map(|j| start.wrapping_add(j)));
            }
            Ok((keys, None))
        }
    }
}

/// Reads and decodes a file in `format`.
pub fn load_file(path: &Path, format: Format, name: &str) -> Result<Trace, String> {
    let bytes = read_decompressed(path)?;
    let (keys, sizes) = parse(&bytes, format, &path.display().to_string())?;
    if keys.is_empty() {
        return Err(format!("{}: no requests", path.display()));
    }
    Ok(Trace::new(name, keys, sizes))
}

type Slot = Arc<OnceLock<Result<Arc<Trace>, String>>>;

fn registry() -> &'static Mutex<HashMap<PathBuf, Slot>> {
    static R: OnceLock<Mutex<HashMap<PathBuf, Slot>>> = OnceLock::new();
    R.get_or_init(Default::default)
}

/// Loads a file once per process (later calls share the decoded trace; concurrent callers for the
/// same file wait for one decode).
pub fn load_cached(path: &Path, format: Format, name: &str) -> Result<Arc<Trace>, String> {
    let slot = registry()
        .lock()
        .unwrap()
        .entry(path.to_path_buf())
        .or_default()
        .clone();
    slot.get_or_init(|| load_file(path, format, name).map(Arc::new))
        .clone()
}

/// Loads a known trace from `dir` (cached per process), with a clear error if the folder is missing.
pub fn load_known(dir: &Path, spec: &TraceSpec) -> Result<Arc<Trace>, String> {
    check_dir(dir)?;
    load_cached(&dir.join(spec.file), spec.format, spec.name)
}

/// An error that says how to point at the traces when `dir` is missing.
pub fn check_dir(dir: &Path) -> Result<(), String> {
    if dir.is_dir() {
        Ok(())
    } else {
        Err(format!(
            "traces folder {} not found: the traces live in shared/traces next to the repository \
             (see its SOURCES.md); pass --traces-dir DIR to point elsewhere",
            dir.display()
        ))
    }
}

/// A name for a trace given by path: the file name without `.txt` and compression extensions.
pub fn name_for_path(path: &Path) -> String {
    let mut name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("trace")
        .to_string();
    for ext in [".gz", ".zst", ".xz", ".txt", ".trace"] {
        if let Some(s) = name.strip_suffix(ext) {
            name = s.to_string();
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_with_crlf_checkpoints_and_blanks() {
        let (k, s) = parse(b"1\r\n2\r\n*\r\n\r\n3\n", Format::Lines, "t").unwrap();
        assert_eq!(k, [1, 2, 3]);
        assert!(s.is_none());
    }

    #[test]
    fn lines_with_sizes() {
        let (k, s) = parse(b"18446744073709551615 10\n5 20\r\n", Format::Lines, "t").unwrap();
        assert_eq!(k, [u64::MAX, 5]);
        assert_eq!(s.unwrap(), [10, 20]);
        assert!(parse(b"1 2\n3\n", Format::Lines, "t").is_err());
        assert!(parse(b"x\n", Format::Lines, "t").is_err());
    }

    #[test]
    fn arc_ranges_expand() {
        let (k, _) = parse(b"10 3 0 0\n1 1 0 0\r\n", Format::ArcRanges, "t").unwrap();
        assert_eq!(k, [10, 11, 12, 1]);
    }

    #[test]
    fn binary_big_endian() {
        let (k, _) = parse(&[0, 0, 1, 0, 255, 255, 255, 255], Format::Be32, "t").unwrap();
        assert_eq!(k, [256, u64::from(u32::MAX)]);
        let (k, _) = parse(&[0xff, 0, 0, 0, 0, 0, 0, 1], Format::Be64, "t").unwrap();
        assert_eq!(k, [0xff00_0000_0000_0001]);
        assert!(parse(&[0, 0, 1], Format::Be32, "t").is_err());
    }

    #[test]
    fn next_use_and_stats() {
        let t = Trace::new("t", vec![1, 2, 1, 3, 2, 1], Some(vec![5, 7, 5, 1, 7, 5]));
        assert_eq!(*t.next_use(), [2, 4, 5, NEVER, NEVER, NEVER]);
        let s = t.stats();
        assert_eq!((s.requests, s.unique, s.unique_bytes), (6, 3, 13));
    }

    #[test]
    fn names_for_paths() {
        assert_eq!(name_for_path(Path::new("/x/lirs-cs.txt")), "lirs-cs");
        assert_eq!(name_for_path(Path::new("a.trace.gz")), "a");
    }
}
