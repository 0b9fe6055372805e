//! Resident set size of this process (Linux): `VmRSS` from `/proc/self/status`.

/// Resident set size in bytes, or `None` where `/proc/self/status` can't be read (not Linux).
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb * 1024)
}
