//! JSON the way RocketMQ's fastjson peers write and read it. Input: serde first; if that fails,
//! the unquoted numeric object keys fastjson writes for non-string map keys
//! (`{0:"10.0.0.1:10911"}`) are quoted and the parse retried. Output: compact, map keys sorted
//! (every map here is a `BTreeMap`), numeric keys quoted, which every client reads; the standard
//! form additionally escapes non-ASCII as `\uXXXX`, as fastjson's `BrowserCompatible` does.

use std::io;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{ProtocolError, Result};
use crate::frame::MAX_FRAME_LEN;

/// Largest JSON body accepted: nothing larger fits in a frame.
pub const MAX_JSON_BODY_LEN: usize = MAX_FRAME_LEN;

/// Which JSON form to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JsonStyle {
    /// fastjson's default writer: compact, raw UTF-8 (for clients older than V4_9_4).
    #[default]
    Legacy,
    /// fastjson's `BrowserCompatible, QuoteFieldNames, MapSortField` form: compact, sorted map
    /// keys, non-ASCII escaped (for V4_9_4+ or `acceptStandardJsonOnly`).
    Standard,
}

/// Parses a fastjson-written body into `T`.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    if bytes.len() > MAX_JSON_BODY_LEN {
        return Err(ProtocolError::TooLong {
            what: "JSON body",
            len: bytes.len(),
            max: MAX_JSON_BODY_LEN,
        });
    }
    match serde_json::from_slice(bytes) {
        Ok(v) => Ok(v),
        Err(first) => {
            let quoted = quote_numeric_keys(bytes);
            if quoted.len() == bytes.len() {
                return Err(ProtocolError::Json(first.to_string()));
            }
            serde_json::from_slice(&quoted).map_err(|_| ProtocolError::Json(first.to_string()))
        }
    }
}

/// Wraps unquoted numeric object keys in quotes: `{0:"a",-1:"b"}` → `{"0":"a","-1":"b"}`. Only
/// tokens in key position are touched (never text inside strings or values); anything else is
/// copied as is, so malformed input stays malformed.
pub fn quote_numeric_keys(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + 16);
    // One entry per open container: true for an object.
    let mut stack: Vec<bool> = Vec::new();
    let mut expect_key = false;
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        match b {
            b'"' => {
                // Copy the whole string literal, honouring escapes.
                let start = i;
                i += 1;
                while let Some(&c) = input.get(i) {
                    i += 1;
                    match c {
                        b'\\' => i += 1,
                        b'"' => break,
                        _ => {}
                    }
                }
                out.extend_from_slice(input.get(start..i.min(input.len())).unwrap_or_default());
                expect_key = false;
                continue;
            }
            b'{' => {
                stack.push(true);
                expect_key = true;
            }
            b'[' => {
                stack.push(false);
                expect_key = false;
            }
            b'}' | b']' => {
                stack.pop();
                expect_key = false;
            }
            b',' => expect_key = stack.last() == Some(&true),
            b':' => expect_key = false,
            b'-' | b'0'..=b'9' if expect_key => {
                let start = i;
                while input.get(i).is_some_and(|c| {
                    c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E')
                }) {
                    i += 1;
                }
                out.push(b'"');
                out.extend_from_slice(input.get(start..i).unwrap_or_default());
                out.push(b'"');
                expect_key = false;
                continue;
            }
            _ => {}
        }
        out.push(b);
        i += 1;
    }
    out
}

/// Serializes `value` compactly in the given style.
pub fn to_json<T: Serialize + ?Sized>(value: &T, style: JsonStyle) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(128);
    let res = match style {
        JsonStyle::Legacy => serde_json::to_writer(&mut out, value),
        JsonStyle::Standard => {
            let mut ser = serde_json::Serializer::with_formatter(&mut out, AsciiFormatter);
            value.serialize(&mut ser)
        }
    };
    res.map_err(|e| ProtocolError::Json(e.to_string()))?;
    Ok(out)
}

/// Compact formatter that writes non-ASCII characters as `\uXXXX` (UTF-16 units).
struct AsciiFormatter;

impl serde_json::ser::Formatter for AsciiFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if c.is_ascii() {
                continue;
            }
            writer.write_all(fragment.get(start..i).unwrap_or_default().as_bytes())?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            start = i + c.len_utf8();
        }
        writer.write_all(fragment.get(start..).unwrap_or_default().as_bytes())
    }
}

/// A JSON body type: parsed fastjson-tolerantly, written compactly.
pub trait JsonBody: Serialize + DeserializeOwned {
    /// Parses a body (see [`parse`]).
    fn decode(bytes: &[u8]) -> Result<Self> {
        parse(bytes)
    }

    /// Writes the body in the legacy (default fastjson) form.
    fn encode(&self) -> Result<Vec<u8>> {
        to_json(self, JsonStyle::Legacy)
    }

    /// Writes the body in the given form.
    fn encode_with(&self, style: JsonStyle) -> Result<Vec<u8>> {
        to_json(self, style)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn quotes_only_keys() {
        let input = br#"{"a":{0:"x:1",1:"y,2:3"},"b":[1,-2,{3:4}],"c":"{5:6}", -7 :8}"#;
        let out = quote_numeric_keys(input);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"a":{"0":"x:1","1":"y,2:3"},"b":[1,-2,{"3":4}],"c":"{5:6}", "-7" :8}"#
        );
        let m: BTreeMap<i64, String> = parse(br#"{0:"m",1:"s"}"#).unwrap();
        assert_eq!(m.get(&0).map(String::as_str), Some("m"));
        assert!(parse::<BTreeMap<i64, String>>(b"{0:").is_err());
    }

    #[test]
    fn standard_escapes_non_ascii() {
        let m: BTreeMap<String, String> = [("k".to_owned(), "é😀\"".to_owned())].into();
        assert_eq!(to_json(&m, JsonStyle::Standard).unwrap(), br#"{"k":"\u00e9\ud83d\ude00\""}"#);
        assert_eq!(to_json(&m, JsonStyle::Legacy).unwrap(), "{\"k\":\"é😀\\\"\"}".as_bytes());
    }
}
