//! [`Message`], what producers send. Tags, keys, the delay level and waitStoreMsgOK live in the
//! properties map under RocketMQ's property names, as they do on the wire, so there is one
//! source of truth; the accessors and `with_*` builders name them.

use std::collections::BTreeMap;

use bytes::Bytes;
use protocol::message::properties as prop;

pub use protocol::body::MessageQueue;
pub use protocol::message::MessageExt;

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    pub topic: String,
    pub body: Bytes,
    /// The user flag, stored with the message and handed back to consumers.
    pub flag: i32,
    /// Every property, the well-known ones (TAGS, KEYS, DELAY, WAIT, UNIQ_KEY ...) included.
    pub properties: BTreeMap<String, String>,
}

impl Message {
    /// A message for `topic`; like Java's, it asks the broker to wait for the store
    /// (`WAIT=true`).
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Self {
        let mut properties = BTreeMap::new();
        properties.insert(prop::WAIT.to_owned(), "true".to_owned());
        Self { topic: topic.into(), body: body.into(), flag: 0, properties }
    }

    /// Sets the tag (one tag; consumers filter on it).
    pub fn with_tags(mut self, tags: impl Into<String>) -> Self {
        self.set_tags(tags);
        self
    }

    /// Sets the business keys (indexed by the broker, space-separated on the wire).
    pub fn with_keys<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let joined: Vec<String> = keys.into_iter().map(|k| k.as_ref().to_owned()).collect();
        self.put_property(prop::KEYS, joined.join(" "));
        self
    }

    /// Sets one business key.
    pub fn with_key(self, key: impl AsRef<str>) -> Self {
        self.with_keys([key])
    }

    /// Sets the user flag.
    pub fn with_flag(mut self, flag: i32) -> Self {
        self.flag = flag;
        self
    }

    /// Sets the delay level (1..=18: 1s 5s 10s 30s 1m ... 2h); 0 clears it.
    pub fn with_delay_time_level(mut self, level: i32) -> Self {
        self.set_delay_time_level(level);
        self
    }

    /// Sets whether the broker answers only after storing (default true).
    pub fn with_wait_store_msg_ok(mut self, wait: bool) -> Self {
        self.put_property(prop::WAIT, wait.to_string());
        self
    }

    /// Sets a user property.
    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.put_property(name, value);
        self
    }

    /// Sets the tag.
    pub fn set_tags(&mut self, tags: impl Into<String>) {
        self.put_property(prop::TAGS, tags);
    }

    /// Sets the delay level; 0 or less clears it.
    pub fn set_delay_time_level(&mut self, level: i32) {
        if level > 0 {
            self.put_property(prop::DELAY, level.to_string());
        } else {
            self.properties.remove(prop::DELAY);
        }
    }

    /// Sets a property.
    pub fn put_property(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.properties.insert(name.into(), value.into());
    }

    /// One property.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name).map(String::as_str)
    }

    /// The tag.
    pub fn tags(&self) -> Option<&str> {
        self.property(prop::TAGS)
    }

    /// The keys property (space-separated).
    pub fn keys(&self) -> Option<&str> {
        self.property(prop::KEYS)
    }

    /// The delay level, 0 if none.
    pub fn delay_time_level(&self) -> i32 {
        self.property(prop::DELAY).and_then(|d| d.parse().ok()).unwrap_or(0)
    }

    /// Whether the broker answers only after storing.
    pub fn wait_store_msg_ok(&self) -> bool {
        self.property(prop::WAIT) != Some("false")
    }

    /// The client-side unique id (UNIQ_KEY), set by the producer when sending.
    pub fn uniq_key(&self) -> Option<&str> {
        self.property(prop::UNIQ_KEY)
    }

    /// The properties in wire form.
    pub(crate) fn properties_string(&self) -> protocol::Result<String> {
        prop::encode_properties(self.properties.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

/// The topic of the retry queue of a consumer group.
pub fn retry_topic(group: &str) -> String {
    format!("%RETRY%{group}")
}

/// Whether a topic is a retry topic.
pub fn is_retry_topic(topic: &str) -> bool {
    topic.starts_with("%RETRY%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_write_properties() {
        let m = Message::new("T", "body")
            .with_tags("TagA")
            .with_keys(["k1", "k2"])
            .with_delay_time_level(3)
            .with_flag(7)
            .with_property("color", "red");
        assert_eq!(m.tags(), Some("TagA"));
        assert_eq!(m.keys(), Some("k1 k2"));
        assert_eq!(m.delay_time_level(), 3);
        assert!(m.wait_store_msg_ok());
        assert_eq!(m.property("color"), Some("red"));
        let wire = m.properties_string().unwrap();
        assert!(wire.contains("TAGS\u{1}TagA\u{2}"));
        let m = m.with_delay_time_level(0).with_wait_store_msg_ok(false);
        assert_eq!(m.delay_time_level(), 0);
        assert!(!m.wait_store_msg_ok());
        assert_eq!(retry_topic("G"), "%RETRY%G");
        assert!(is_retry_topic("%RETRY%G") && !is_retry_topic("T"));
    }
}
