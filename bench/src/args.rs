//! A minimal command-line parser (no dependency): `--flag`, `--opt VALUE`, `--opt=VALUE`, and
//! positional arguments.

use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct Args {
    values: HashMap<String, Vec<String>>,
    flags: Vec<String>,
    pub positional: Vec<String>,
}

impl Args {
    /// Parses `std::env::args()`, skipping the program name. `takes_value` lists the options that
    /// take a value; every other `--name` is a flag. Unknown names (in neither list) are errors.
    pub fn parse(takes_value: &[&str], flags: &[&str]) -> Result<Args, String> {
        Self::parse_from(std::env::args().skip(1), takes_value, flags)
    }

    pub fn parse_from(
        it: impl IntoIterator<Item = String>,
        takes_value: &[&str],
        flags: &[&str],
    ) -> Result<Args, String> {
        let mut out = Args::default();
        let mut it = it.into_iter();
        while let Some(a) = it.next() {
            if a == "--" {
                out.positional.extend(it.by_ref());
                break;
            }
            if let Some(name) = a.strip_prefix("--") {
                let (name, inline) = match name.split_once('=') {
                    Some((n, v)) => (n.to_string(), Some(v.to_string())),
                    None => (name.to_string(), None),
                };
                if takes_value.contains(&name.as_str()) {
                    let v = match inline {
                        Some(v) => v,
                        None => it.next().ok_or_else(|| format!("--{name} needs a value"))?,
                    };
                    out.values.entry(name).or_default().push(v);
                } else if flags.contains(&name.as_str()) {
                    if inline.is_some() {
                        return Err(format!("--{name} takes no value"));
                    }
                    out.flags.push(name);
                } else {
                    return Err(format!("unknown option --{name}"));
                }
            } else {
                out.positional.push(a);
            }
        }
        Ok(out)
    }

    pub fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    /// Every value given for `name`, each split at commas.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.values
            .get(name)
            .map(|v| {
                v.iter()
                    .flat_map(|s| s.split(','))
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The last value given for `name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .and_then(|v| v.last())
            .map(String::as_str)
    }

    /// The last value for `name` parsed as `T`, or `default`.
    pub fn parsed<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.value(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("--{name}: can't parse {v:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_values_flags_and_positionals() {
        let a = Args::parse_from(
            [
                "--trace",
                "a",
                "--trace=b,c",
                "--weighted",
                "file.txt",
                "--sizes",
                "1,5",
            ]
            .map(String::from),
            &["trace", "sizes"],
            &["weighted"],
        )
        .unwrap();
        assert_eq!(a.all("trace"), ["a", "b", "c"]);
        assert_eq!(a.all("sizes"), ["1", "5"]);
        assert!(a.flag("weighted"));
        assert_eq!(a.positional, ["file.txt"]);
        assert!(Args::parse_from(["--nope".to_string()], &[], &[]).is_err());
        assert!(Args::parse_from(["--trace".to_string()], &["trace"], &[]).is_err());
    }
}
