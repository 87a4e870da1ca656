//! The legacy route JSON: what fastjson's default writer produces for TopicRouteData and
//! ClusterInfo. fastjson writes the `Long` keys of `BrokerData.brokerAddrs` unquoted
//! (`{0:"10.0.0.1:10911"}`); clients older than V4_9_4 get exactly that from a Java name server,
//! and GET_BROKER_CLUSTER_INFO always answers in it. Everything else is serde's compact output.
//!
//! Only the keys of objects that are the value of a `brokerAddrs` field are unquoted, and only
//! when they are integers: string-keyed maps (broker names, topics) stay quoted, as fastjson
//! keeps them.

use serde::Serialize;

use protocol::body::{to_json, JsonStyle};
use protocol::ProtocolError;

/// The field whose map keys fastjson leaves unquoted.
const BROKER_ADDRS_KEY: &[u8] = b"\"brokerAddrs\"";

/// Serializes `value` compactly with fastjson's unquoted `brokerAddrs` keys.
pub fn to_legacy_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, ProtocolError> {
    Ok(unquote_broker_addrs_keys(&to_json(value, JsonStyle::Legacy)?))
}

/// Rewrites compact JSON so that integer keys of every `brokerAddrs` object lose their quotes.
/// Input that is not what serde_json writes is copied unchanged.
pub fn unquote_broker_addrs_keys(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len());
    // One entry per open container: Some(unquote) for an object, None for an array.
    let mut stack: Vec<Option<bool>> = Vec::new();
    // The last complete string was an object key equal to `"brokerAddrs"`.
    let mut after_broker_addrs_key = false;
    let mut expect_key = false;
    let mut i = 0;
    while let Some(&b) = json.get(i) {
        match b {
            b'"' => {
                let start = i;
                i += 1;
                while let Some(&c) = json.get(i) {
                    i += 1;
                    match c {
                        b'\\' => i += 1,
                        b'"' => break,
                        _ => {}
                    }
                }
                let literal = json.get(start..i.min(json.len())).unwrap_or_default();
                let unquote = expect_key && stack.last() == Some(&Some(true));
                let inner = literal.get(1..literal.len().saturating_sub(1)).unwrap_or_default();
                if unquote && is_integer(inner) {
                    out.extend_from_slice(inner);
                } else {
                    out.extend_from_slice(literal);
                }
                after_broker_addrs_key = expect_key && literal == BROKER_ADDRS_KEY;
                expect_key = false;
                continue;
            }
            b'{' => {
                stack.push(Some(after_broker_addrs_key));
                after_broker_addrs_key = false;
                expect_key = true;
            }
            b'[' => {
                stack.push(None);
                after_broker_addrs_key = false;
                expect_key = false;
            }
            b'}' | b']' => {
                stack.pop();
                expect_key = false;
            }
            b',' => {
                after_broker_addrs_key = false;
                expect_key = matches!(stack.last(), Some(Some(_)));
            }
            // The key flag survives the colon: it is the next value that matters.
            b':' => expect_key = false,
            _ => after_broker_addrs_key = false,
        }
        out.push(b);
        i += 1;
    }
    out
}

/// `-?[0-9]+`: what `Long.toString` writes.
fn is_integer(s: &[u8]) -> bool {
    let digits = s.strip_prefix(b"-").unwrap_or(s);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unquote(s: &str) -> String {
        String::from_utf8(unquote_broker_addrs_keys(s.as_bytes())).unwrap()
    }

    #[test]
    fn only_broker_addrs_keys_lose_quotes() {
        assert_eq!(
            unquote(r#"{"brokerAddrs":{"0":"a:1","1":"b:2"},"x":{"0":"y"}}"#),
            r#"{"brokerAddrs":{0:"a:1",1:"b:2"},"x":{"0":"y"}}"#
        );
        // A broker named "0" keyed by name stays quoted; a nested brokerAddrs is found.
        assert_eq!(
            unquote(r#"{"brokerAddrTable":{"0":{"brokerAddrs":{"-1":"a"},"brokerName":"0"}}}"#),
            r#"{"brokerAddrTable":{"0":{"brokerAddrs":{-1:"a"},"brokerName":"0"}}}"#
        );
        // The word as a value or inside a string changes nothing.
        assert_eq!(
            unquote(r#"{"k":"brokerAddrs","v":{"0":"\"brokerAddrs\":{\"1\":2}"}}"#),
            r#"{"k":"brokerAddrs","v":{"0":"\"brokerAddrs\":{\"1\":2}"}}"#
        );
        assert_eq!(unquote(r#"[{"brokerAddrs":{}}]"#), r#"[{"brokerAddrs":{}}]"#);
        assert_eq!(unquote(r#"{"brokerAddrs":{"x1":"a"}}"#), r#"{"brokerAddrs":{"x1":"a"}}"#);
    }

    #[test]
    fn malformed_input_is_copied() {
        for s in ["", "{", "\"", r#"{"brokerAddrs":{"0"#, "]]}}"] {
            assert_eq!(unquote(s), s);
        }
    }
}
