//! `extFields`: the string map that carries every custom header field, with typed getters that
//! parse like Java's `Integer.parseInt`/`Long.parseLong`/`Boolean.parseBoolean` and report the
//! key that was missing or malformed.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::str::FromStr;

use crate::error::{ProtocolError, Result};

/// The `extFields` of a command. Sorted, so encodings are deterministic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtFields(BTreeMap<String, String>);

/// Java `Boolean.parseBoolean`: `"true"` in any case is true, everything else false.
pub fn parse_java_bool(s: &str) -> bool {
    s.eq_ignore_ascii_case("true")
}

impl ExtFields {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The raw value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// Sets `key`, returning the previous value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Option<String> {
        self.0.insert(key.into(), value.into())
    }

    /// Sets `key` to the decimal/`true`/`false` form of `value`, as Java's `toString` writes it.
    pub fn insert_display(&mut self, key: impl Into<String>, value: impl Display) {
        self.0.insert(key.into(), value.to_string());
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.0.remove(key)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The underlying map.
    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// The value of a required key.
    pub fn require(&self, key: &str) -> Result<&str> {
        self.get(key).ok_or_else(|| ProtocolError::MissingField(key.to_owned()))
    }

    fn parse<T: FromStr>(key: &str, value: &str, ty: &str) -> Result<T> {
        value.parse().map_err(|_| ProtocolError::InvalidField {
            key: key.to_owned(),
            value: value.to_owned(),
            reason: format!("not a valid {ty}"),
        })
    }

    /// A required string.
    pub fn get_string(&self, key: &str) -> Result<String> {
        self.require(key).map(str::to_owned)
    }

    /// A required int.
    pub fn get_i32(&self, key: &str) -> Result<i32> {
        Self::parse(key, self.require(key)?, "int")
    }

    /// A required long.
    pub fn get_i64(&self, key: &str) -> Result<i64> {
        Self::parse(key, self.require(key)?, "long")
    }

    /// A required boolean (any value but a case-insensitive `true` is false).
    pub fn get_bool(&self, key: &str) -> Result<bool> {
        self.require(key).map(parse_java_bool)
    }

    /// An optional string.
    pub fn opt_string(&self, key: &str) -> Option<String> {
        self.get(key).map(str::to_owned)
    }

    /// An optional int; present but malformed is an error.
    pub fn opt_i32(&self, key: &str) -> Result<Option<i32>> {
        self.get(key).map(|v| Self::parse(key, v, "int")).transpose()
    }

    /// An optional long; present but malformed is an error.
    pub fn opt_i64(&self, key: &str) -> Result<Option<i64>> {
        self.get(key).map(|v| Self::parse(key, v, "long")).transpose()
    }

    /// An optional boolean.
    pub fn opt_bool(&self, key: &str) -> Option<bool> {
        self.get(key).map(parse_java_bool)
    }
}

impl From<BTreeMap<String, String>> for ExtFields {
    fn from(map: BTreeMap<String, String>) -> Self {
        Self(map)
    }
}

impl From<ExtFields> for BTreeMap<String, String> {
    fn from(ext: ExtFields) -> Self {
        ext.0
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for ExtFields {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self(iter.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_getters() {
        let ext: ExtFields =
            [("queueId", "3"), ("offset", "-9"), ("b", "TRUE"), ("x", "yes"), ("bad", "1.5")]
                .into_iter()
                .collect();
        assert_eq!(ext.get_i32("queueId").unwrap(), 3);
        assert_eq!(ext.get_i64("offset").unwrap(), -9);
        assert!(ext.get_bool("b").unwrap());
        assert!(!ext.get_bool("x").unwrap());
        assert_eq!(ext.opt_i32("nope").unwrap(), None);
        assert_eq!(ext.get_i32("nope"), Err(ProtocolError::MissingField("nope".into())));
        let err = ext.get_i32("bad").unwrap_err();
        assert!(err.to_string().contains("`bad`"), "{err}");
        assert!(ext.opt_i64("bad").is_err());
    }
}
