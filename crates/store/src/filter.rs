//! The hook a read uses to skip messages a subscription does not want (RocketMQ
//! `MessageFilter`).

/// Decides which ConsumeQueue entries a read returns.
pub trait MessageFilter: Send + Sync {
    /// Match on the entry's tags code (the Java hash of the TAGS; hash collisions pass and the
    /// client re-checks the tag string).
    fn is_matched_by_tags_code(&self, tags_code: i64) -> bool;

    /// Optional second match on the stored record itself (e.g. SQL92 over its properties).
    fn is_matched_by_commit_log(&self, _record: &[u8]) -> bool {
        true
    }
}

/// Matches everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct AcceptAll;

impl MessageFilter for AcceptAll {
    fn is_matched_by_tags_code(&self, _tags_code: i64) -> bool {
        true
    }
}

/// Matches a set of tags codes (a `tagA || tagB` subscription).
#[derive(Debug, Clone, Default)]
pub struct TagsCodeFilter {
    pub codes: Vec<i64>,
}

impl MessageFilter for TagsCodeFilter {
    fn is_matched_by_tags_code(&self, tags_code: i64) -> bool {
        self.codes.contains(&tags_code)
    }
}
