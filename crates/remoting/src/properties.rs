//! The daemons' configuration files. RocketMQ's `broker.conf` and `namesrv.conf` are Java
//! `.properties` files; this reads them the way `java.util.Properties.load` does, keeping each
//! key's line so that a malformed or unknown key is reported as `broker.conf:12: listenPort: ...`.
//!
//! It lives in the transport crate because both daemons (name server and broker) depend on this
//! crate and nothing else they share deals with configuration.
//!
//! Format: `key=value`, `key: value` or `key value`; lines starting with `#` or `!` are comments;
//! a line ending in an odd number of backslashes continues on the next one (whose leading
//! whitespace is skipped); `\t \n \r \f \uXXXX` escapes, any other escaped character stands for
//! itself. Unlike Java, trailing whitespace of a value is dropped too (a stray space after a
//! number would otherwise make it malformed). A key given twice keeps its last value, with a
//! warning.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use tracing::warn;

/// A malformed configuration value or line, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}:{line}: {key}: {message}")]
pub struct ConfigError {
    /// The file (or other source) name, as given to [`Properties::parse`].
    pub source_name: String,
    /// 1-based line where the key starts.
    pub line: usize,
    pub key: String,
    pub message: String,
}

/// One key's value and the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    value: String,
    line: usize,
}

/// A parsed properties file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    source_name: String,
    entries: BTreeMap<String, Entry>,
    /// Earlier definitions that a later line overrode: (line, key).
    overridden: Vec<(usize, String)>,
}

impl Properties {
    /// Parses `text`; `source_name` (usually the file name) is used in error messages.
    pub fn parse(text: &str, source_name: &str) -> Result<Self, ConfigError> {
        let mut props = Self { source_name: source_name.to_string(), ..Self::default() };
        let mut lines = text.lines().enumerate();
        while let Some((idx, raw)) = lines.next() {
            let first = trim_ws_start(raw);
            if first.is_empty() || first.starts_with('#') || first.starts_with('!') {
                continue;
            }
            let line = idx + 1;
            let mut logical = first.to_string();
            while ends_with_continuation(&logical) {
                logical.pop();
                match lines.next() {
                    Some((_, next)) => logical.push_str(trim_ws_start(next)),
                    None => break,
                }
            }
            let (raw_key, raw_value) = split_key_value(&logical);
            let key = unescape(raw_key, false)
                .map_err(|message| props.error_at(line, raw_key, message))?;
            let value =
                unescape(raw_value, true).map_err(|message| props.error_at(line, &key, message))?;
            if let Some(old) = props.entries.insert(key.clone(), Entry { value, line }) {
                warn!("{source_name}:{line}: {key} overrides the value given on line {}", old.line);
                props.overridden.push((old.line, key));
            }
        }
        Ok(props)
    }

    /// The source name given to [`parse`](Self::parse).
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every key with its value and line, sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, usize)> {
        self.entries.iter().map(|(k, e)| (k.as_str(), e.value.as_str(), e.line))
    }

    /// The line `key` was (last) set on.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        self.entries.get(key).map(|e| e.line)
    }

    /// Definitions overridden by a later line with the same key: (line, key), in file order.
    pub fn overridden(&self) -> &[(usize, String)] {
        &self.overridden
    }

    /// Keys not in `known`, as (line, key) sorted by line, for the daemon to warn about.
    pub fn unknown_keys(&self, known: &[&str]) -> Vec<(usize, String)> {
        let mut unknown: Vec<(usize, String)> = self
            .entries
            .iter()
            .filter(|(k, _)| !known.contains(&k.as_str()))
            .map(|(k, e)| (e.line, k.clone()))
            .collect();
        unknown.sort();
        unknown
    }

    /// The raw value of `key` (never malformed; `Result` for symmetry with the typed getters).
    pub fn get_str(&self, key: &str) -> Result<Option<&str>, ConfigError> {
        Ok(self.entries.get(key).map(|e| e.value.as_str()))
    }

    /// `key` as a boolean: `true`/`false` in any case, like Java; anything else is an error
    /// here (Java would read it as false), to catch typos.
    pub fn get_bool(&self, key: &str) -> Result<Option<bool>, ConfigError> {
        self.get_with(key, |v| {
            if v.eq_ignore_ascii_case("true") {
                Ok(true)
            } else if v.eq_ignore_ascii_case("false") {
                Ok(false)
            } else {
                Err(format!("expected true or false, found {v:?}"))
            }
        })
    }

    /// `key` as a `u64`.
    pub fn get_u64(&self, key: &str) -> Result<Option<u64>, ConfigError> {
        self.get_int(key)
    }

    /// `key` as an `i64`.
    pub fn get_i64(&self, key: &str) -> Result<Option<i64>, ConfigError> {
        self.get_int(key)
    }

    /// `key` as a `u32`.
    pub fn get_u32(&self, key: &str) -> Result<Option<u32>, ConfigError> {
        self.get_int(key)
    }

    /// `key` as an `i32`.
    pub fn get_i32(&self, key: &str) -> Result<Option<i32>, ConfigError> {
        self.get_int(key)
    }

    /// `key` as a `u16` (ports).
    pub fn get_u16(&self, key: &str) -> Result<Option<u16>, ConfigError> {
        self.get_int(key)
    }

    /// `key` as an `f64`.
    pub fn get_f64(&self, key: &str) -> Result<Option<f64>, ConfigError> {
        self.get_with(key, |v| v.parse().map_err(|_| format!("expected a number, found {v:?}")))
    }

    /// `key` parsed by `parse`, whose error message is reported with the file, line and key
    /// (for enums such as `brokerRole` or `flushDiskType`).
    pub fn get_with<T>(
        &self,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        let Some(entry) = self.entries.get(key) else { return Ok(None) };
        parse(&entry.value).map(Some).map_err(|message| self.error_at(entry.line, key, message))
    }

    /// An error about `key` at its line (line 0 if the key is absent), for checks the daemon
    /// makes itself, such as a value out of its allowed range.
    pub fn error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        self.error_at(self.line_of(key).unwrap_or(0), key, message.into())
    }

    fn get_int<T>(&self, key: &str) -> Result<Option<T>, ConfigError>
    where
        T: FromStr + TryFrom<i128> + Bounded,
    {
        self.get_with(key, |v| {
            // Java's parseInt/parseLong: optional sign, decimal digits, nothing else.
            let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("expected an integer, found {v:?}"));
            }
            let wide: Result<i128, _> = v.parse();
            match wide.ok().and_then(|n| T::try_from(n).ok()) {
                Some(n) => Ok(n),
                None => Err(format!(
                    "expected an integer between {} and {}, found {v:?}",
                    T::LOW,
                    T::HIGH
                )),
            }
        })
    }

    fn error_at(&self, line: usize, key: &str, message: String) -> ConfigError {
        ConfigError { source_name: self.source_name.clone(), line, key: key.to_string(), message }
    }
}

/// The range of an integer type, for error messages.
trait Bounded {
    const LOW: i128;
    const HIGH: i128;
}

macro_rules! bounded {
    ($($t:ty),*) => {$(
        impl Bounded for $t {
            const LOW: i128 = <$t>::MIN as i128;
            const HIGH: i128 = <$t>::MAX as i128;
        }
    )*};
}

bounded!(u16, u32, u64, i32, i64);

impl fmt::Display for Properties {
    /// Writes the properties back as `key=value` lines (escaping what needs it), sorted by key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (key, entry) in &self.entries {
            writeln!(f, "{}={}", escape(key, true), escape(&entry.value, false))?;
        }
        Ok(())
    }
}

/// Java's properties whitespace: space, tab, form feed.
fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{c}')
}

fn trim_ws_start(s: &str) -> &str {
    s.trim_start_matches(is_ws)
}

/// Whether `s` ends in an odd number of backslashes (the last one escapes the line break).
fn ends_with_continuation(s: &str) -> bool {
    s.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

/// Splits a logical line at the first unescaped `=`, `:` or whitespace; the separator and the
/// whitespace around it are dropped.
fn split_key_value(line: &str) -> (&str, &str) {
    let mut escaped = false;
    let mut key_end = line.len();
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '=' || c == ':' || is_ws(c) {
            key_end = i;
            break;
        }
    }
    let (key, rest) = line.split_at(key_end);
    let rest = trim_ws_start(rest);
    let rest = rest.strip_prefix(['=', ':']).unwrap_or(rest);
    (key, trim_ws_start(rest))
}

/// Resolves escapes. With `trim_end`, trailing whitespace that was not escaped is dropped.
fn unescape(raw: &str, trim_end: bool) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    // Length of `out` up to the last character that must be kept.
    let mut keep = 0;
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            if !is_ws(c) {
                keep = out.len();
            }
            continue;
        }
        let resolved = match chars.next() {
            Some('t') => '\t',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('f') => '\u{c}',
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = (hex.len() == 4)
                    .then(|| u32::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .ok_or_else(|| format!("malformed \\uXXXX escape \"\\u{hex}\""))?;
                char::from_u32(code)
                    .ok_or_else(|| format!("\\u{hex} is not a character on its own"))?
            }
            Some(other) => other,
            // A lone backslash at the very end (a continuation with no next line): dropped.
            None => break,
        };
        out.push(resolved);
        keep = out.len();
    }
    if trim_end {
        out.truncate(keep);
    }
    Ok(out)
}

/// The inverse of [`unescape`] for writing a file back.
fn escape(s: &str, is_key: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.chars().enumerate() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{c}' => out.push_str("\\f"),
            '=' | ':' if is_key => {
                out.push('\\');
                out.push(c);
            }
            ' ' if is_key || i == 0 => out.push_str("\\ "),
            '#' | '!' if i == 0 && is_key => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    // Trailing spaces of a value would be trimmed on reading; escape the last one.
    if !is_key && out.ends_with(' ') && !out.ends_with("\\ ") {
        out.pop();
        out.push_str("\\ ");
    }
    out
}

#[cfg(test)]
mod tests;
