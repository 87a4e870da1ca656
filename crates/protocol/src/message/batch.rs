//! The SEND_BATCH_MESSAGE body (reference §4.4, RocketMQ `MessageDecoder.encodeMessages`):
//! concatenated `TOTALSIZE | MAGIC(0) | BODYCRC(0) | FLAG | BODYLEN | BODY | PROPLEN(int16) |
//! PROPERTIES`. Decoded bodies are zero-copy slices of the request body.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{ProtocolError, Result};
use crate::message::properties::{self, MAX_PROPERTIES_LEN};
use crate::reader::Reader;

/// Fixed bytes of one element: five int32 fields and the int16 properties length.
const ELEMENT_FIXED_LEN: usize = 22;

/// One message of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchMessage {
    pub flag: i32,
    pub body: Bytes,
    /// Properties in wire form.
    pub properties: String,
}

impl BatchMessage {
    /// Encoded size of this element.
    pub fn encoded_len(&self) -> usize {
        ELEMENT_FIXED_LEN + self.body.len() + self.properties.len()
    }

    /// One property's value.
    pub fn property(&self, name: &str) -> Option<&str> {
        properties::find_property(&self.properties, name)
    }
}

/// Decodes a batch body. Any truncated or inconsistent element fails the whole batch: the
/// broker must not store part of a batch it could not read.
pub fn decode_batch(body: &Bytes) -> Result<Vec<BatchMessage>> {
    let mut out = Vec::new();
    let mut r = Reader::new(body);
    while r.remaining() > 0 {
        let start = r.pos();
        let total = r.len_i32("batch TOTALSIZE")?;
        let _magic = r.i32("batch MAGICCODE")?;
        let _crc = r.i32("batch BODYCRC")?;
        let flag = r.i32("batch FLAG")?;
        let body_len = r.len_i32("batch BODYLEN")?;
        let body_start = r.pos();
        r.take(body_len, "batch BODY")?;
        let msg_body = body.slice(body_start..body_start + body_len);
        let props_len = r.len_i16("batch PROPLEN")?;
        let props = std::str::from_utf8(r.take(props_len, "batch PROPERTIES")?)
            .map_err(|_| ProtocolError::InvalidUtf8("batch PROPERTIES"))?;
        let actual = r.pos() - start;
        if actual != total {
            return Err(ProtocolError::RecordSizeMismatch { declared: total, actual });
        }
        out.push(BatchMessage { flag, body: msg_body, properties: props.to_owned() });
    }
    Ok(out)
}

/// Encodes a batch body (what a producer sends).
pub fn encode_batch(messages: &[BatchMessage], out: &mut BytesMut) -> Result<()> {
    for m in messages {
        if m.properties.len() > MAX_PROPERTIES_LEN {
            return Err(ProtocolError::TooLong {
                what: "batch properties",
                len: m.properties.len(),
                max: MAX_PROPERTIES_LEN,
            });
        }
        let total = m.encoded_len();
        let total = i32::try_from(total).map_err(|_| ProtocolError::TooLong {
            what: "batch element",
            len: total,
            max: i32::MAX as usize,
        })?;
        out.reserve(m.encoded_len());
        out.put_i32(total);
        out.put_i32(0);
        out.put_i32(0);
        out.put_i32(m.flag);
        out.put_i32(m.body.len() as i32);
        out.put_slice(&m.body);
        out.put_i16(m.properties.len() as i16);
        out.put_slice(m.properties.as_bytes());
    }
    Ok(())
}
