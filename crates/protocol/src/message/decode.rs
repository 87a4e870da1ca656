//! Decoding stored records into [`MessageExt`] (RocketMQ `MessageDecoder.decode`). Bodies are
//! zero-copy slices of the input; properties are parsed into a map.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};

use crate::error::{ProtocolError, Result};
use crate::message::host::read_host;
use crate::message::msg_id::create_offset_msg_id;
use crate::message::properties::{self, parse_properties};
use crate::message::record::{body_crc, MessageExtBrokerInner, MessageVersion};
use crate::message::sysflag::{self, BORNHOST_V6_FLAG, STOREHOST_V6_FLAG};
use crate::reader::Reader;

/// A decoded stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageExt {
    /// TOTALSIZE.
    pub store_size: usize,
    pub version: MessageVersion,
    /// BODYCRC as stored.
    pub body_crc: u32,
    pub queue_id: i32,
    pub flag: i32,
    pub queue_offset: i64,
    /// PHYSICALOFFSET: where the record lies in the CommitLog.
    pub commit_log_offset: i64,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    /// The body as stored (still compressed if SYSFLAG says so).
    pub body: Bytes,
    pub topic: String,
    pub properties: BTreeMap<String, String>,
}

impl MessageExt {
    /// The offsetMsgId: store host + physical offset.
    pub fn msg_id(&self) -> String {
        create_offset_msg_id(&self.store_host, self.commit_log_offset)
    }

    /// One property's value.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.get(name).map(String::as_str)
    }

    /// The TAGS property.
    pub fn tags(&self) -> Option<&str> {
        self.property(properties::TAGS)
    }

    /// The KEYS property (space-separated keys).
    pub fn keys(&self) -> Option<&str> {
        self.property(properties::KEYS)
    }

    /// The individual keys of the KEYS property.
    pub fn key_list(&self) -> impl Iterator<Item = &str> {
        self.keys().into_iter().flat_map(|k| k.split(' ')).filter(|k| !k.is_empty())
    }

    /// The client's UNIQ_KEY.
    pub fn uniq_key(&self) -> Option<&str> {
        self.property(properties::UNIQ_KEY)
    }

    /// The id a client shows for the message (Java `MessageClientExt.getMsgId`): the UNIQ_KEY
    /// when the producer set one, else the offsetMsgId.
    pub fn client_msg_id(&self) -> String {
        self.uniq_key().map_or_else(|| self.msg_id(), str::to_owned)
    }

    /// The transaction type bits of SYSFLAG.
    pub fn transaction_type(&self) -> i32 {
        sysflag::transaction_type(self.sys_flag)
    }

    /// The properties in wire form.
    pub fn properties_string(&self) -> Result<String> {
        properties::properties_to_string(&self.properties)
    }

    /// The message as the broker would store it again (e.g. the CHECK_TRANSACTION_STATE body,
    /// or a re-put of a scheduled message after the caller changes fields).
    pub fn to_inner(&self, tags_code: i64) -> Result<MessageExtBrokerInner> {
        Ok(MessageExtBrokerInner {
            topic: self.topic.clone(),
            queue_id: self.queue_id,
            flag: self.flag,
            sys_flag: self.sys_flag,
            born_timestamp: self.born_timestamp,
            born_host: self.born_host,
            store_timestamp: self.store_timestamp,
            store_host: self.store_host,
            reconsume_times: self.reconsume_times,
            prepared_transaction_offset: self.prepared_transaction_offset,
            body: self.body.clone(),
            properties: self.properties_string()?,
            tags_code,
        })
    }

    /// Re-encodes the record with its own offsets (RocketMQ `MessageDecoder.encode`).
    pub fn encode(&self, out: &mut BytesMut) -> Result<()> {
        self.to_inner(0)?.encode(self.queue_offset, self.commit_log_offset, out)
    }
}

/// Decodes the record at the start of `buf`. TOTALSIZE must match the fields exactly; bytes
/// after the record are ignored. With `verify_crc` the body CRC is checked.
pub fn decode_message(buf: &Bytes, verify_crc: bool) -> Result<MessageExt> {
    let mut r = Reader::new(buf);
    let store_size = r.len_i32("record TOTALSIZE")?;
    if store_size > buf.len() {
        return Err(ProtocolError::Truncated { what: "record", need: store_size, have: buf.len() });
    }
    let magic = r.i32("record MAGICCODE")?;
    let version = MessageVersion::from_magic(magic).ok_or(ProtocolError::BadMagic(magic))?;
    let stored_crc = r.i32("record BODYCRC")? as u32;
    let queue_id = r.i32("record QUEUEID")?;
    let flag = r.i32("record FLAG")?;
    let queue_offset = r.i64("record QUEUEOFFSET")?;
    let commit_log_offset = r.i64("record PHYSICALOFFSET")?;
    let sys_flag = r.i32("record SYSFLAG")?;
    let born_timestamp = r.i64("record BORNTIMESTAMP")?;
    let born_host = read_host(&mut r, sys_flag & BORNHOST_V6_FLAG != 0, "record BORNHOST")?;
    let store_timestamp = r.i64("record STORETIMESTAMP")?;
    let store_host = read_host(&mut r, sys_flag & STOREHOST_V6_FLAG != 0, "record STOREHOST")?;
    let reconsume_times = r.i32("record RECONSUMETIMES")?;
    let prepared_transaction_offset = r.i64("record PREPAREDTRANSACTIONOFFSET")?;
    let body_len = r.len_i32("record BODYLENGTH")?;
    let body_start = r.pos();
    r.take(body_len, "record BODY")?;
    let body = buf.slice(body_start..body_start + body_len);
    if verify_crc {
        let computed = body_crc(&body);
        if computed != stored_crc {
            return Err(ProtocolError::BodyCrcMismatch { stored: stored_crc, computed });
        }
    }
    let topic_len = match version {
        MessageVersion::V1 => usize::from(r.u8("record TOPICLENGTH")?),
        MessageVersion::V2 => r.len_i16("record TOPICLENGTH")?,
    };
    let topic = std::str::from_utf8(r.take(topic_len, "record TOPIC")?)
        .map_err(|_| ProtocolError::InvalidUtf8("record TOPIC"))?
        .to_owned();
    let props_len = r.len_i16("record PROPERTIESLENGTH")?;
    let props = std::str::from_utf8(r.take(props_len, "record PROPERTIES")?)
        .map_err(|_| ProtocolError::InvalidUtf8("record PROPERTIES"))?;
    if r.pos() != store_size {
        return Err(ProtocolError::RecordSizeMismatch { declared: store_size, actual: r.pos() });
    }
    Ok(MessageExt {
        store_size,
        version,
        body_crc: stored_crc,
        queue_id,
        flag,
        queue_offset,
        commit_log_offset,
        sys_flag,
        born_timestamp,
        born_host,
        store_timestamp,
        store_host,
        reconsume_times,
        prepared_transaction_offset,
        body,
        topic,
        properties: parse_properties(props),
    })
}

/// Decodes concatenated records (a pull/query response body) the way clients do: stop silently
/// at the first record that does not decode. CRCs are not checked, as in the Java client.
pub fn decode_messages(buf: &Bytes) -> Vec<MessageExt> {
    let mut out = Vec::new();
    let mut rest = buf.clone();
    while !rest.is_empty() {
        match decode_message(&rest, false) {
            Ok(msg) => {
                let size = msg.store_size;
                out.push(msg);
                // decode_message checked size <= rest.len(); a zero size cannot decode.
                rest = rest.slice(size..);
            }
            Err(_) => break,
        }
    }
    out
}
