//! Java's `String.hashCode` (the tags code in the ConsumeQueue and IndexFile) and the parse of a
//! tag subscription expression into the set of codes the broker filters on.

use std::collections::BTreeSet;

/// Java `String.hashCode`: `s[0]*31^(n-1) + ... + s[n-1]` over UTF-16 code units, wrapping at 32
/// bits. Tags outside the BMP hash as their surrogate pairs, exactly as Java does.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| h.wrapping_mul(31).wrapping_add(i32::from(unit)))
}

/// The tags code stored in a ConsumeQueue entry: the hash of the tags, 0 when there are none.
pub fn tags_code(tags: Option<&str>) -> i64 {
    match tags {
        Some(t) if !t.is_empty() => i64::from(java_string_hash(t)),
        _ => 0,
    }
}

/// The subscription expression that matches every tag.
pub const SUB_ALL: &str = "*";

/// A parsed TAG-type subscription expression (RocketMQ `FilterAPI.buildSubscriptionData`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagFilter {
    /// `*` or empty: every message matches.
    All,
    /// `a || b`: the trimmed tags and their Java hash codes.
    Tags { tags: BTreeSet<String>, codes: BTreeSet<i32> },
}

impl TagFilter {
    /// Parses `"*"`, `""` or `"tagA || tagB"`. Empty alternatives are skipped; an expression
    /// made only of separators matches nothing rather than everything, as in Java.
    pub fn parse(expr: &str) -> Self {
        let expr = expr.trim();
        if expr.is_empty() || expr == SUB_ALL {
            return Self::All;
        }
        let tags: BTreeSet<String> =
            expr.split("||").map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect();
        let codes = tags.iter().map(|t| java_string_hash(t)).collect();
        Self::Tags { tags, codes }
    }

    /// Broker-side match on the ConsumeQueue tags code (hash collisions pass).
    pub fn matches_code(&self, code: i64) -> bool {
        match self {
            Self::All => true,
            Self::Tags { codes, .. } => i32::try_from(code).is_ok_and(|c| codes.contains(&c)),
        }
    }

    /// Client-side match on the actual TAGS string (drops hash collisions).
    pub fn matches_tag(&self, tag: Option<&str>) -> bool {
        match self {
            Self::All => true,
            Self::Tags { tags, .. } => tag.is_some_and(|t| tags.contains(t)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_java_values() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("TagA"), 2598919);
        assert_eq!(java_string_hash("hello"), 99162322);
        // Overflowing and non-ASCII inputs, values as the JVM computes them.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        assert_eq!(java_string_hash("é"), 233);
        assert_eq!(java_string_hash("😀"), 1772899);
    }

    #[test]
    fn parse_expressions() {
        assert_eq!(TagFilter::parse("*"), TagFilter::All);
        assert_eq!(TagFilter::parse(" "), TagFilter::All);
        let f = TagFilter::parse("TagA || TagB ||");
        assert!(f.matches_code(2598919));
        assert!(f.matches_tag(Some("TagB")));
        assert!(!f.matches_tag(Some("TagC")));
        assert!(!f.matches_tag(None));
        assert!(!f.matches_code(1));
    }
}
