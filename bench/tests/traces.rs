//! The trace decoders against the counts in `shared/traces/SOURCES.md` and against the plain-text
//! conversions in `shared/traces/keys/`. Skipped (with a note) where the traces folder is absent.

use cortado_bench::traces::{self, KNOWN};

/// (name, requests, unique keys) from SOURCES.md.
const EXPECTED: &[(&str, u64, u64)] = &[
    ("lirs-loop", 505_500, 1_011),
    ("lirs-2_pools", 100_000, 9_939),
    ("lirs-sprite", 133_996, 7_075),
    ("lirs-cpp", 9_047, 1_223),
    ("lirs-cs", 6_781, 1_409),
    ("lirs-gli", 6_015, 2_529),
    ("lirs-ps", 10_448, 3_083),
    ("lirs-multi1", 15_858, 2_606),
    ("lirs-multi2", 26_311, 5_684),
    ("lirs-multi3", 30_241, 7_454),
    ("arc-OLTP", 914_145, 186_880),
    ("arc-P3", 3_912_296, 762_543),
    ("arc-P6", 12_672_123, 773_770),
    ("arc-P12", 13_208_930, 3_153_310),
    ("cache2k-orm-busy", 5_000_000, 76_349),
    ("cache2k-orm-night", 5_000_000, 86_466),
    ("cache2k-web07", 76_118, 20_484),
    ("cache2k-web12", 95_607, 13_756),
    ("scarab-recs", 1_245_184, 258_368),
    ("corda-vault", 135_702, 90_468),
    ("cloudphysics-w106", 5_292_456, 275_171),
    ("twitter-c52", 1_000_000, 143_542),
];

#[test]
fn known_traces_decode_as_documented() {
    let dir = traces::default_dir();
    if !dir.is_dir() {
        eprintln!("skipped: no traces folder at {}", dir.display());
        return;
    }
    assert_eq!(KNOWN.len(), EXPECTED.len());
    for &(name, requests, unique) in EXPECTED {
        let spec = traces::find(name).unwrap();
        let t = traces::load_known(&dir, spec).unwrap();
        let st = t.stats();
        assert_eq!((st.requests, st.unique), (requests, unique), "{name}");
        assert_eq!(t.sizes.is_some(), name == "twitter-c52", "{name}");
        let plain = dir.join("keys").join(format!("{name}.txt"));
        if plain.is_file() {
            let p = traces::load_file(&plain, traces::Format::Lines, name).unwrap();
            if spec.format == traces::Format::Be64 {
                // keys/corda-vault.txt was converted reading the 64-bit integers little-endian,
                // against SOURCES.md (big-endian, as Caffeine's reader does). We read big-endian:
                // the same trace up to a bijection of the keys.
                let swapped: Vec<u64> = t.keys.iter().map(|k| k.swap_bytes()).collect();
                assert!(p.keys == swapped, "{name}: differs from keys/{name}.txt");
            } else {
                assert!(p.keys == t.keys, "{name}: differs from keys/{name}.txt");
            }
        }
    }
}

#[test]
fn missing_folder_is_a_clear_error() {
    let e = traces::load_known(std::path::Path::new("/nonexistent/traces"), &KNOWN[0]).unwrap_err();
    assert!(e.contains("--traces-dir"), "{e}");
}
