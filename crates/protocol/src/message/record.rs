//! The stored message record: RocketMQ's CommitLog layout, which is also the body of pull, query
//! and view responses (reference §4.1). The broker hands the store a [`MessageExtBrokerInner`];
//! the store encodes it outside its append lock and patches the offsets and store time inside it
//! with [`set_queue_offset`], [`set_physical_offset`] and [`set_store_timestamp`].

use std::net::SocketAddr;

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{ProtocolError, Result};
use crate::message::host::{host_len, put_host};
use crate::message::properties::MAX_PROPERTIES_LEN;
use crate::message::sysflag::{BORNHOST_V6_FLAG, STOREHOST_V6_FLAG};
use crate::reader::{i32_at, put_i64_at};

/// Magic code of a v1 record (1-byte topic length).
pub const MAGIC_V1: i32 = 0xDAA3_20A7_u32 as i32;
/// Magic code of a v2 record (2-byte topic length), used when the topic is longer than 127 bytes.
pub const MAGIC_V2: i32 = 0xDAA3_20AB_u32 as i32;
/// Magic code of the blank record that pads the end of a CommitLog file.
pub const BLANK_MAGIC: i32 = 0xCBD4_3194_u32 as i32;

/// Offset of TOTALSIZE.
pub const TOTALSIZE_POS: usize = 0;
/// Offset of MAGICCODE.
pub const MAGICCODE_POS: usize = 4;
/// Offset of BODYCRC.
pub const BODYCRC_POS: usize = 8;
/// Offset of QUEUEID.
pub const QUEUEID_POS: usize = 12;
/// Offset of FLAG.
pub const FLAG_POS: usize = 16;
/// Offset of QUEUEOFFSET.
pub const QUEUEOFFSET_POS: usize = 20;
/// Offset of PHYSICALOFFSET.
pub const PHYSICALOFFSET_POS: usize = 28;
/// Offset of SYSFLAG.
pub const SYSFLAG_POS: usize = 36;
/// Offset of BORNTIMESTAMP.
pub const BORNTIMESTAMP_POS: usize = 40;
/// Offset of BORNHOST; everything after it moves with the born host's length.
pub const BORNHOST_POS: usize = 48;
/// Size of the blank record header (TOTALSIZE + MAGIC) written at the end of a CommitLog file.
pub const BLANK_HEADER_LEN: usize = 8;
/// Topics of at most this many bytes use the v1 layout (Java `Byte.MAX_VALUE`).
pub const MAX_V1_TOPIC_LEN: usize = i8::MAX as usize;
/// The v2 topic length is an int16.
pub const MAX_TOPIC_LEN: usize = i16::MAX as usize;

/// Size of every fixed-width field (with a 2-byte properties length, without hosts and without
/// the topic length field): 72 bytes up to BODYLENGTH plus PROPERTIESLENGTH.
const FIXED_LEN: usize = 74;

/// Which layout a record uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageVersion {
    V1,
    V2,
}

impl MessageVersion {
    /// The version of a message magic code, `None` for anything else (including blank).
    pub fn from_magic(magic: i32) -> Option<Self> {
        match magic {
            MAGIC_V1 => Some(Self::V1),
            MAGIC_V2 => Some(Self::V2),
            _ => None,
        }
    }

    /// The version RocketMQ picks for a topic of `topic_len` bytes.
    pub fn for_topic_len(topic_len: usize) -> Self {
        if topic_len > MAX_V1_TOPIC_LEN {
            Self::V2
        } else {
            Self::V1
        }
    }

    /// The magic code written for this version.
    pub fn magic(self) -> i32 {
        match self {
            Self::V1 => MAGIC_V1,
            Self::V2 => MAGIC_V2,
        }
    }

    /// Width of the topic length field.
    pub fn topic_len_size(self) -> usize {
        match self {
            Self::V1 => 1,
            Self::V2 => 2,
        }
    }
}

/// `CRC32(body) & 0x7FFFFFFF`, as RocketMQ's `UtilAll.crc32` stores it.
pub fn body_crc(body: &[u8]) -> u32 {
    crc32fast::hash(body) & 0x7FFF_FFFF
}

/// A message as the broker hands it to the store: everything but the offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageExtBrokerInner {
    pub topic: String,
    pub queue_id: i32,
    /// The producer's user flag.
    pub flag: i32,
    /// SYSFLAG; the IPv6 host bits are recomputed from the addresses when encoding.
    pub sys_flag: i32,
    pub born_timestamp: i64,
    /// The producer's TCP peer address.
    pub born_host: SocketAddr,
    pub store_timestamp: i64,
    /// The broker's `brokerIP1:listenPort`.
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    /// The body exactly as produced (possibly compressed; never re-encoded).
    pub body: Bytes,
    /// Properties already in wire form (see [`crate::message::properties`]).
    pub properties: String,
    /// The ConsumeQueue tags code (not part of the record; carried for the dispatcher).
    pub tags_code: i64,
}

impl MessageExtBrokerInner {
    /// The record layout this message gets.
    pub fn version(&self) -> MessageVersion {
        MessageVersion::for_topic_len(self.topic.len())
    }

    /// `sys_flag` with the IPv6 bits set from the addresses.
    pub fn effective_sys_flag(&self) -> i32 {
        let mut flag = self.sys_flag & !(BORNHOST_V6_FLAG | STOREHOST_V6_FLAG);
        if self.born_host.is_ipv6() {
            flag |= BORNHOST_V6_FLAG;
        }
        if self.store_host.is_ipv6() {
            flag |= STOREHOST_V6_FLAG;
        }
        flag
    }

    /// The TOTALSIZE of the encoded record (saturating; [`Self::encode`] rejects oversize ones).
    pub fn encoded_len(&self) -> usize {
        FIXED_LEN
            .saturating_add(host_len(&self.born_host))
            .saturating_add(host_len(&self.store_host))
            .saturating_add(self.body.len())
            .saturating_add(self.version().topic_len_size())
            .saturating_add(self.topic.len())
            .saturating_add(self.properties.len())
    }

    /// Appends the full record to `out`.
    pub fn encode(
        &self,
        queue_offset: i64,
        physical_offset: i64,
        out: &mut BytesMut,
    ) -> Result<()> {
        if self.topic.len() > MAX_TOPIC_LEN {
            return Err(too_long("topic", self.topic.len(), MAX_TOPIC_LEN));
        }
        if self.properties.len() > MAX_PROPERTIES_LEN {
            return Err(too_long("properties", self.properties.len(), MAX_PROPERTIES_LEN));
        }
        let max = i32::MAX as usize;
        let total = self.encoded_len();
        if total > max {
            return Err(too_long("message record", total, max));
        }
        let version = self.version();
        out.reserve(total);
        out.put_i32(total as i32);
        out.put_i32(version.magic());
        out.put_i32(body_crc(&self.body) as i32);
        out.put_i32(self.queue_id);
        out.put_i32(self.flag);
        out.put_i64(queue_offset);
        out.put_i64(physical_offset);
        out.put_i32(self.effective_sys_flag());
        out.put_i64(self.born_timestamp);
        put_host(out, &self.born_host);
        out.put_i64(self.store_timestamp);
        put_host(out, &self.store_host);
        out.put_i32(self.reconsume_times);
        out.put_i64(self.prepared_transaction_offset);
        out.put_i32(self.body.len() as i32);
        out.put_slice(&self.body);
        match version {
            MessageVersion::V1 => out.put_u8(self.topic.len() as u8),
            MessageVersion::V2 => out.put_i16(self.topic.len() as i16),
        }
        out.put_slice(self.topic.as_bytes());
        out.put_i16(self.properties.len() as i16);
        out.put_slice(self.properties.as_bytes());
        Ok(())
    }

    /// The encoded record as its own buffer.
    pub fn to_bytes(&self, queue_offset: i64, physical_offset: i64) -> Result<Bytes> {
        let mut out = BytesMut::with_capacity(self.encoded_len());
        self.encode(queue_offset, physical_offset, &mut out)?;
        Ok(out.freeze())
    }
}

fn too_long(what: &'static str, len: usize, max: usize) -> ProtocolError {
    ProtocolError::TooLong { what, len, max }
}

fn patch_i64(record: &mut [u8], at: usize, value: i64, what: &'static str) -> Result<()> {
    if put_i64_at(record, at, value) {
        Ok(())
    } else {
        Err(ProtocolError::Truncated { what, need: at + 8, have: record.len() })
    }
}

/// Overwrites QUEUEOFFSET in an encoded record.
pub fn set_queue_offset(record: &mut [u8], queue_offset: i64) -> Result<()> {
    patch_i64(record, QUEUEOFFSET_POS, queue_offset, "record QUEUEOFFSET")
}

/// Overwrites PHYSICALOFFSET in an encoded record.
pub fn set_physical_offset(record: &mut [u8], physical_offset: i64) -> Result<()> {
    patch_i64(record, PHYSICALOFFSET_POS, physical_offset, "record PHYSICALOFFSET")
}

/// Offset of STORETIMESTAMP, which follows the born host and so depends on SYSFLAG.
pub fn store_timestamp_pos(sys_flag: i32) -> usize {
    let born = if sys_flag & BORNHOST_V6_FLAG != 0 { 20 } else { 8 };
    BORNHOST_POS + born
}

/// Overwrites STORETIMESTAMP in an encoded record (reads SYSFLAG to find it).
pub fn set_store_timestamp(record: &mut [u8], store_timestamp: i64) -> Result<()> {
    let sys_flag = i32_at(record, SYSFLAG_POS).ok_or(ProtocolError::Truncated {
        what: "record SYSFLAG",
        need: SYSFLAG_POS + 4,
        have: record.len(),
    })?;
    patch_i64(record, store_timestamp_pos(sys_flag), store_timestamp, "record STORETIMESTAMP")
}

/// Appends the blank record header that marks the unused tail of a CommitLog file: TOTALSIZE
/// (the number of bytes left in the file) and [`BLANK_MAGIC`]. The rest is left as is.
pub fn put_blank_header(out: &mut impl BufMut, remaining_in_file: i32) {
    out.put_i32(remaining_in_file);
    out.put_i32(BLANK_MAGIC);
}

/// What kind of record starts at a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Message(MessageVersion),
    /// End-of-file padding: skip to the next file.
    Blank,
}

/// The first eight bytes of a record, enough to walk a CommitLog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    pub total_size: usize,
    pub kind: RecordKind,
}

impl RecordHeader {
    /// Reads TOTALSIZE and MAGICCODE. An unknown magic, a negative size or a message size
    /// smaller than the smallest possible record is an error (the scan has hit garbage or a
    /// torn write); whether the whole record is present is for the caller to check.
    pub fn parse(buf: &[u8]) -> Result<Self> {
        let truncated = ProtocolError::Truncated {
            what: "record header",
            need: BLANK_HEADER_LEN,
            have: buf.len(),
        };
        let (Some(size), Some(magic)) = (i32_at(buf, TOTALSIZE_POS), i32_at(buf, MAGICCODE_POS))
        else {
            return Err(truncated);
        };
        let kind = match (MessageVersion::from_magic(magic), magic) {
            (Some(v), _) => RecordKind::Message(v),
            (None, BLANK_MAGIC) => RecordKind::Blank,
            (None, _) => return Err(ProtocolError::BadMagic(magic)),
        };
        let min = match kind {
            RecordKind::Message(_) => MIN_RECORD_LEN,
            RecordKind::Blank => BLANK_HEADER_LEN,
        };
        match usize::try_from(size) {
            Ok(total_size) if total_size >= min => Ok(Self { total_size, kind }),
            _ => Err(ProtocolError::InvalidLength { what: "record TOTALSIZE", len: size.into() }),
        }
    }
}

/// The smallest possible message record: v1, IPv4 hosts, empty body, topic and properties.
pub const MIN_RECORD_LEN: usize = FIXED_LEN + 8 + 8 + 1;
