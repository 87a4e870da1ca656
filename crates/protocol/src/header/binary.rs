//! The ROCKETMQ binary command header (serialize type 1, RocketMQ `RocketMQSerializable`):
//! `code i16 | language i8 | version i16 | opaque i32 | flag i32 | remarkLen i32 + remark |
//! extLen i32 + { keyLen i16, key, valLen i32, val }*`.

use bytes::{BufMut, BytesMut};

use crate::command::{RemotingCommand, SerializeType};
use crate::error::{ProtocolError, Result};
use crate::ext_fields::ExtFields;
use crate::language::LanguageCode;
use crate::reader::Reader;

/// Size of the fixed part, up to and including the two length fields.
pub const BINARY_HEADER_FIXED_LEN: usize = 21;

fn to_i16(what: &'static str, value: i32) -> Result<i16> {
    i16::try_from(value)
        .map_err(|_| ProtocolError::NotBinaryEncodable { what, value: value.into() })
}

fn len_i32(what: &'static str, len: usize) -> Result<i32> {
    i32::try_from(len).map_err(|_| ProtocolError::TooLong { what, len, max: i32::MAX as usize })
}

/// The size [`encode_binary_header`] will write.
pub fn binary_header_len(cmd: &RemotingCommand) -> usize {
    let remark = cmd.remark.as_ref().map_or(0, String::len);
    let ext: usize = cmd.ext_fields.iter().map(|(k, v)| 2 + k.len() + 4 + v.len()).sum();
    BINARY_HEADER_FIXED_LEN + remark + ext
}

/// Appends the binary header of `cmd`. Java truncates code and version to int16 silently; here
/// a value that does not fit is an error, so nothing is ever sent under the wrong code.
pub fn encode_binary_header(cmd: &RemotingCommand, out: &mut BytesMut) -> Result<()> {
    let code = to_i16("code", cmd.code)?;
    let version = to_i16("version", cmd.version)?;
    let remark = cmd.remark.as_deref().unwrap_or_default();
    let remark_len = len_i32("remark", remark.len())?;
    let mut ext_len = 0usize;
    for (k, v) in cmd.ext_fields.iter() {
        if k.len() > i16::MAX as usize {
            return Err(ProtocolError::TooLong {
                what: "ext field key",
                len: k.len(),
                max: i16::MAX as usize,
            });
        }
        len_i32("ext field value", v.len())?;
        ext_len += 2 + k.len() + 4 + v.len();
    }
    let ext_len_i32 = len_i32("ext fields", ext_len)?;
    out.reserve(BINARY_HEADER_FIXED_LEN + remark.len() + ext_len);
    out.put_i16(code);
    out.put_u8(cmd.language.code());
    out.put_i16(version);
    out.put_i32(cmd.opaque);
    out.put_i32(cmd.flag);
    out.put_i32(remark_len);
    out.put_slice(remark.as_bytes());
    out.put_i32(ext_len_i32);
    for (k, v) in cmd.ext_fields.iter() {
        out.put_i16(k.len() as i16);
        out.put_slice(k.as_bytes());
        out.put_i32(v.len() as i32);
        out.put_slice(v.as_bytes());
    }
    Ok(())
}

fn utf8(bytes: &[u8], what: &'static str) -> Result<String> {
    std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| ProtocolError::InvalidUtf8(what))
}

/// Parses a binary header into a command without a body. An empty remark is absent and an empty
/// ext value is dropped (both decode as null in Java); an unknown language byte reads as OTHER.
pub fn decode_binary_header(bytes: &[u8]) -> Result<RemotingCommand> {
    let mut r = Reader::new(bytes);
    let code = i32::from(r.i16("header code")?);
    let language_byte = r.u8("header language")?;
    let language = LanguageCode::from_code(language_byte).unwrap_or(LanguageCode::Other);
    let version = i32::from(r.i16("header version")?);
    let opaque = r.i32("header opaque")?;
    let flag = r.i32("header flag")?;
    let remark_len = r.len_i32("header remark length")?;
    let remark = match remark_len {
        0 => None,
        n => Some(utf8(r.take(n, "header remark")?, "header remark")?),
    };
    let ext_len = r.len_i32("header ext length")?;
    let mut ext = Reader::new(r.take(ext_len, "header ext fields")?);
    let mut ext_fields = ExtFields::new();
    while ext.remaining() > 0 {
        let key_len = ext.len_i16("ext key length")?;
        let key = utf8(ext.take(key_len, "ext key")?, "ext key")?;
        let val_len = ext.len_i32("ext value length")?;
        let val = utf8(ext.take(val_len, "ext value")?, "ext value")?;
        if !val.is_empty() {
            ext_fields.insert(key, val);
        }
    }
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields,
        body: None,
        serialize_type: SerializeType::RocketMq,
    })
}
