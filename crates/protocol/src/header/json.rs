//! The JSON command header (serialize type 0), as fastjson writes it: the bean properties in
//! alphabetical order, enums by name, null fields omitted. The parser takes what every client
//! sends: any key order, unknown keys, missing `remark`/`extFields`, a trailing newline (C++),
//! `\uXXXX` escapes, and non-string `extFields` values.

use std::fmt;

use bytes::{BufMut, BytesMut};
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::command::{RemotingCommand, SerializeType};
use crate::error::{ProtocolError, Result};
use crate::ext_fields::ExtFields;
use crate::language::LanguageCode;

/// Appends the JSON header of `cmd` (not its body).
pub fn encode_json_header(cmd: &RemotingCommand, out: &mut BytesMut) {
    out.put_slice(b"{\"code\":");
    push_i32(out, cmd.code);
    if !cmd.ext_fields.is_empty() {
        out.put_slice(b",\"extFields\":{");
        for (i, (k, v)) in cmd.ext_fields.iter().enumerate() {
            if i > 0 {
                out.put_u8(b',');
            }
            push_str(out, k);
            out.put_u8(b':');
            push_str(out, v);
        }
        out.put_u8(b'}');
    }
    out.put_slice(b",\"flag\":");
    push_i32(out, cmd.flag);
    out.put_slice(b",\"language\":");
    push_str(out, cmd.language.name());
    out.put_slice(b",\"opaque\":");
    push_i32(out, cmd.opaque);
    if let Some(remark) = &cmd.remark {
        out.put_slice(b",\"remark\":");
        push_str(out, remark);
    }
    out.put_slice(b",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":");
    push_i32(out, cmd.version);
    out.put_u8(b'}');
}

/// Parses a JSON header into a command without a body.
pub fn decode_json_header(bytes: &[u8]) -> Result<RemotingCommand> {
    // serde would also read a struct from an array; a header is only ever an object.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ProtocolError::InvalidJsonHeader("not a JSON object".into()));
    }
    let h: JsonHeader = serde_json::from_slice(bytes)
        .map_err(|e| ProtocolError::InvalidJsonHeader(e.to_string()))?;
    let ext_fields = h.ext_fields.map(|e| e.0).unwrap_or_default();
    Ok(RemotingCommand {
        code: h.code,
        language: h.language.0,
        version: h.version,
        opaque: h.opaque,
        flag: h.flag,
        remark: h.remark,
        ext_fields,
        body: None,
        serialize_type: SerializeType::Json,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonHeader {
    #[serde(default)]
    code: i32,
    #[serde(default)]
    language: Lang,
    #[serde(default)]
    version: i32,
    #[serde(default)]
    opaque: i32,
    #[serde(default)]
    flag: i32,
    #[serde(default)]
    remark: Option<String>,
    #[serde(default)]
    ext_fields: Option<ExtMap>,
}

/// `extFields`, read straight into the map (null values skipped).
struct ExtMap(ExtFields);

impl<'de> Deserialize<'de> for ExtMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ExtMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<ExtMap, A::Error> {
                let mut ext = ExtFields::new();
                while let Some((k, v)) = map.next_entry::<String, ExtValue>()? {
                    if let Some(v) = v.0 {
                        ext.insert(k, v);
                    }
                }
                Ok(ExtMap(ext))
            }
        }
        d.deserialize_map(V)
    }
}

/// A language given by name (or, from odd clients, by number); unknown ones read as OTHER
/// rather than failing the request.
#[derive(Default)]
struct Lang(LanguageCode);

impl<'de> Deserialize<'de> for Lang {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Lang;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a language name or code")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<Lang, E> {
                Ok(Lang(LanguageCode::from_name(s).unwrap_or(LanguageCode::Other)))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> std::result::Result<Lang, E> {
                let code = u8::try_from(n).ok().and_then(LanguageCode::from_code);
                Ok(Lang(code.unwrap_or(LanguageCode::Other)))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<Lang, E> {
                Ok(Lang(LanguageCode::Other))
            }
            fn visit_unit<E: de::Error>(self) -> std::result::Result<Lang, E> {
                Ok(Lang::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// An ext value: strings as they are, numbers and booleans in their text form (fastjson would
/// coerce them the same way), null as absent.
struct ExtValue(Option<String>);

impl<'de> Deserialize<'de> for ExtValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ExtValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number, boolean or null")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<ExtValue, E> {
                Ok(ExtValue(Some(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> std::result::Result<ExtValue, E> {
                Ok(ExtValue(Some(s)))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> std::result::Result<ExtValue, E> {
                Ok(ExtValue(Some(b.to_string())))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> std::result::Result<ExtValue, E> {
                Ok(ExtValue(Some(n.to_string())))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> std::result::Result<ExtValue, E> {
                Ok(ExtValue(Some(n.to_string())))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> std::result::Result<ExtValue, E> {
                Ok(ExtValue(Some(n.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> std::result::Result<ExtValue, E> {
                Ok(ExtValue(None))
            }
        }
        d.deserialize_any(V)
    }
}

fn push_i32(out: &mut BytesMut, n: i32) {
    let mut buf = [0u8; 11];
    let mut i = buf.len();
    let mut v = i64::from(n).unsigned_abs();
    loop {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        out.put_u8(b'-');
    }
    out.put_slice(buf.get(i..).unwrap_or_default());
}

/// Writes a JSON string literal: quotes, backslashes and control characters escaped, everything
/// else as raw UTF-8 (fastjson's default writer does the same).
pub(crate) fn push_str(out: &mut BytesMut, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.put_u8(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x08 => Some(b"\\b"),
            0x0C => Some(b"\\f"),
            0..=0x1F => Some(b""),
            _ => None,
        };
        if let Some(esc) = escape {
            out.put_slice(bytes.get(start..i).unwrap_or_default());
            if esc.is_empty() {
                out.put_slice(b"\\u00");
                out.put_u8(HEX[usize::from(b >> 4)]);
                out.put_u8(HEX[usize::from(b & 0xF)]);
            } else {
                out.put_slice(esc);
            }
            start = i + 1;
        }
    }
    out.put_slice(bytes.get(start..).unwrap_or_default());
    out.put_u8(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_escapes() {
        let mut out = BytesMut::new();
        for n in [0, 7, -1, i32::MIN, i32::MAX] {
            out.clear();
            push_i32(&mut out, n);
            assert_eq!(std::str::from_utf8(&out).unwrap(), n.to_string());
        }
        out.clear();
        push_str(&mut out, "a\"\\\n\u{1}\u{2}é");
        assert_eq!(&out[..], "\"a\\\"\\\\\\n\\u0001\\u0002é\"".as_bytes());
        let parsed: String = serde_json::from_slice(&out).unwrap();
        assert_eq!(parsed, "a\"\\\n\u{1}\u{2}é");
    }

    #[test]
    fn tolerant_parse() {
        let cmd = decode_json_header(
            br#"{"version":317,"opaque":5,"language":"SWIFT","code":11,"x":[1,{"y":2}],
               "extFields":{"queueId":3,"b":true,"n":null,"s":"\u0041"}}
            "#,
        )
        .unwrap();
        assert_eq!((cmd.code, cmd.version, cmd.opaque), (11, 317, 5));
        assert_eq!(cmd.language, LanguageCode::Other);
        assert_eq!(cmd.ext_fields.get("queueId"), Some("3"));
        assert_eq!(cmd.ext_fields.get("b"), Some("true"));
        assert_eq!(cmd.ext_fields.get("s"), Some("A"));
        assert!(!cmd.ext_fields.contains_key("n"));
        assert_eq!(cmd.remark, None);
        assert!(decode_json_header(b"{\"code\":1").is_err());
        assert!(decode_json_header(b"{\"code\":99999999999}").is_err());
        assert!(decode_json_header(b"[]").is_err());
    }
}
