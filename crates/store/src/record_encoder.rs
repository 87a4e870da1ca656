//! Encoding a message into the CommitLog record layout (remoting-protocol §4.1) on the append
//! path, with every field final: the appender knows the record's queue offset, physical offset
//! and store time before it encodes, so nothing is patched afterwards.
//!
//! Why not `MessageExtBrokerInner::encode`: that writes through `BufMut` and computes the body CRC
//! itself, so the store used to copy the body into a buffer, copy the buffer into the segment,
//! patch fields and then read the whole record again for the whole-record CRC. Here:
//! - a record of at most [`INLINE_LIMIT`] bytes is laid out whole in the appender's scratch
//!   buffer and CRC-checked in one call over contiguous bytes, then written with one copy (for
//!   small records the fixed cost of each CRC call and each write dominated the profile);
//! - a larger record is written in pieces (head, body, middle, properties, CRC property), the body
//!   and properties straight from the message, so the body is copied once.
//!
//! Either way the body is read twice by the CRC (its own CRC is a field the whole-record CRC
//! covers). Joining CRCs with `crc32fast::Hasher::combine` instead was tried: its matrix method
//! cost more than a second pass over a 1 KiB body.

use std::net::{IpAddr, SocketAddr};

use protocol::message::{MessageExtBrokerInner, MessageVersion};

use crate::record::{put_crc_digits, PROPERTY_CRC32, PROP_CRC_LEN};

/// Largest record laid out whole in the scratch buffer.
pub(crate) const INLINE_LIMIT: usize = 2048;

/// The fields the appender decides.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Placement {
    pub queue_offset: i64,
    pub physical_offset: i64,
    pub store_timestamp: i64,
}

/// An encoded record as the byte ranges to write, in log order.
#[derive(Debug)]
pub(crate) enum Encoded<'a> {
    /// The whole record.
    Whole(&'a [u8]),
    /// Head, body, middle (topic and lengths), properties, CRC property (may be empty).
    Pieces([&'a [u8]; 5]),
}

fn put_host(out: &mut Vec<u8>, addr: &SocketAddr) {
    match addr.ip() {
        IpAddr::V4(ip) => out.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => out.extend_from_slice(&ip.octets()),
    }
    out.extend_from_slice(&i32::from(addr.port()).to_be_bytes());
}

/// Fields up to and including BODYLENGTH.
fn put_head(out: &mut Vec<u8>, m: &MessageExtBrokerInner, at: Placement, total: usize, crc: u32) {
    out.extend_from_slice(&(total as i32).to_be_bytes());
    out.extend_from_slice(&m.version().magic().to_be_bytes());
    out.extend_from_slice(&((crc & 0x7FFF_FFFF) as i32).to_be_bytes());
    out.extend_from_slice(&m.queue_id.to_be_bytes());
    out.extend_from_slice(&m.flag.to_be_bytes());
    out.extend_from_slice(&at.queue_offset.to_be_bytes());
    out.extend_from_slice(&at.physical_offset.to_be_bytes());
    out.extend_from_slice(&m.effective_sys_flag().to_be_bytes());
    out.extend_from_slice(&m.born_timestamp.to_be_bytes());
    put_host(out, &m.born_host);
    out.extend_from_slice(&at.store_timestamp.to_be_bytes());
    put_host(out, &m.store_host);
    out.extend_from_slice(&m.reconsume_times.to_be_bytes());
    out.extend_from_slice(&m.prepared_transaction_offset.to_be_bytes());
    out.extend_from_slice(&(m.body.len() as i32).to_be_bytes());
}

/// TOPICLENGTH, TOPIC and PROPERTIESLENGTH (which counts the CRC property).
fn put_mid(out: &mut Vec<u8>, m: &MessageExtBrokerInner, crc_prop_len: usize) {
    match m.version() {
        MessageVersion::V1 => out.push(m.topic.len() as u8),
        MessageVersion::V2 => out.extend_from_slice(&(m.topic.len() as i16).to_be_bytes()),
    }
    out.extend_from_slice(m.topic.as_bytes());
    out.extend_from_slice(&((m.properties.len() + crc_prop_len) as i16).to_be_bytes());
}

/// The CRC property carrying `crc`.
fn put_crc_prop(out: &mut Vec<u8>, crc: u32) {
    out.extend_from_slice(PROPERTY_CRC32);
    out.push(0x01);
    let at = out.len();
    out.extend_from_slice(&[b'0'; 10]);
    put_crc_digits(&mut out[at..], crc & 0x7FFF_FFFF);
    out.push(0x02);
}

/// Encodes `m` at `at` using `scratch` (cleared first). `total_len` must be the record's stored
/// size (`encoded_len`, plus [`PROP_CRC_LEN`] with `with_crc_prop`); the caller validated the
/// topic and the properties' length, so the length casts cannot truncate.
pub(crate) fn encode_record<'a>(
    m: &'a MessageExtBrokerInner,
    at: Placement,
    with_crc_prop: bool,
    total_len: usize,
    scratch: &'a mut Vec<u8>,
) -> Encoded<'a> {
    scratch.clear();
    let body = &m.body[..];
    let props = m.properties.as_bytes();
    let crc_prop_len = if with_crc_prop { PROP_CRC_LEN } else { 0 };
    let body_crc = crc32fast::hash(body);
    put_head(scratch, m, at, total_len, body_crc);
    if total_len <= INLINE_LIMIT {
        scratch.extend_from_slice(body);
        put_mid(scratch, m, crc_prop_len);
        scratch.extend_from_slice(props);
        if with_crc_prop {
            let crc = crc32fast::hash(scratch);
            put_crc_prop(scratch, crc);
        }
        debug_assert_eq!(scratch.len(), total_len);
        return Encoded::Whole(scratch);
    }
    let head_len = scratch.len();
    put_mid(scratch, m, crc_prop_len);
    let mid_len = scratch.len() - head_len;
    if with_crc_prop {
        let mut crc = crc32fast::Hasher::new();
        crc.update(&scratch[..head_len]);
        crc.update(body);
        crc.update(&scratch[head_len..]);
        crc.update(props);
        put_crc_prop(scratch, crc.finalize());
    }
    let (head, rest) = scratch.split_at(head_len);
    let (mid, crc_prop) = rest.split_at(mid_len);
    debug_assert_eq!(head.len() + body.len() + mid.len() + props.len() + crc_prop.len(), total_len);
    Encoded::Pieces([head, body, mid, props, crc_prop])
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use bytes::Bytes;

    use super::*;
    use crate::record::{check_record, CrcCheck, RecordCheck};

    fn message(body: &[u8], born: &str, props: &str) -> MessageExtBrokerInner {
        let born: SocketAddr = born.parse().expect("addr");
        MessageExtBrokerInner {
            topic: "TopicA".to_owned(),
            queue_id: 3,
            flag: 7,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            born_host: born,
            store_timestamp: 0,
            store_host: "10.0.0.1:10911".parse().expect("addr"),
            reconsume_times: 2,
            prepared_transaction_offset: 0,
            body: Bytes::copy_from_slice(body),
            properties: props.to_owned(),
            tags_code: 0,
        }
    }

    fn assemble(m: &MessageExtBrokerInner, at: Placement, crc: bool) -> Vec<u8> {
        let total = m.encoded_len() + if crc { PROP_CRC_LEN } else { 0 };
        let mut scratch = Vec::new();
        let rec = match encode_record(m, at, crc, total, &mut scratch) {
            Encoded::Whole(w) => {
                assert!(total <= INLINE_LIMIT);
                w.to_vec()
            }
            Encoded::Pieces(p) => {
                assert!(total > INLINE_LIMIT);
                p.concat()
            }
        };
        assert_eq!(rec.len(), total);
        rec
    }

    /// Without the CRC property the bytes equal the protocol crate's encoder (the reference
    /// layout); with it, the recovery check accepts the record and finds its fields.
    #[test]
    fn matches_the_protocol_encoder_and_passes_the_full_check() {
        let at = Placement { queue_offset: 42, physical_offset: 4096, store_timestamp: 1_234 };
        for (body, born) in [
            (&b""[..], "10.1.2.3:5555"),
            (&b"hello"[..], "[::1]:5555"),
            (&[0xA5u8; 3000][..], "10.1.2.3:5555"),
        ] {
            let mut m = message(body, born, "TAGS\u{1}TagA\u{2}KEYS\u{1}k1\u{2}");
            let plain = assemble(&m, at, false);
            m.store_timestamp = at.store_timestamp;
            let reference = m.to_bytes(at.queue_offset, at.physical_offset).expect("encode");
            assert_eq!(plain, reference.to_vec());

            let full = assemble(&m, at, true);
            match check_record(&full, Some(at.physical_offset), CrcCheck::Full) {
                RecordCheck::Record(v) => {
                    assert_eq!(v.queue_offset, 42);
                    assert_eq!(v.store_timestamp, 1_234);
                    assert_eq!(v.body, body);
                    assert_eq!(v.property("TAGS"), Some("TagA"));
                }
                other => panic!("{other:?}"),
            }
            // A flipped body byte fails the whole-record CRC.
            if !body.is_empty() {
                let mut torn = full.clone();
                torn[100] ^= 1;
                assert!(matches!(
                    check_record(&torn, Some(at.physical_offset), CrcCheck::Full),
                    RecordCheck::Invalid(_)
                ));
            }
        }
    }
}
