//! Encoding a message into the CommitLog record layout (remoting-protocol §4.1) on the append
//! path, with every field final: the appender knows the record's queue offset, physical offset
//! and store time before it encodes, so nothing is patched afterwards.
//!
//! Why not `MessageExtBrokerInner::encode`: that writes the whole record, body included, into one
//! buffer through `BufMut` and computes the body CRC itself, so the store copied the body twice
//! (into the buffer, then into the segment), read it twice more for the whole-record CRC and
//! patched fields afterwards. Here the fixed fields and the short middle (topic, lengths) are
//! laid out in stack arrays, the body and the properties are copied once, straight from the
//! message into the segment, and the body is read twice by the CRC (its own CRC is a field the
//! whole-record CRC covers). Joining CRCs with `crc32fast::Hasher::combine` instead was tried:
//! its matrix method cost more than a second pass over a 1 KiB body.

use protocol::message::MessageExtBrokerInner;
use protocol::message::MessageVersion;

use crate::record::{put_crc_digits, PROPERTY_CRC32, PROP_CRC_LEN};

/// Fixed fields up to BODYLENGTH with two IPv6 hosts.
const MAX_HEAD_LEN: usize = 112;
/// TOPICLENGTH (at most 2), the topic (the store accepts at most 127 bytes), PROPERTIESLENGTH.
const MAX_MID_LEN: usize = 2 + 127 + 2;

/// One record, encoded around the message's body and properties, which are written from the
/// message itself. In the log: `head`, body, `mid`, properties, `crc_prop` (if any).
#[derive(Debug, Clone)]
pub(crate) struct EncodedRecord {
    head: [u8; MAX_HEAD_LEN],
    head_len: usize,
    mid: [u8; MAX_MID_LEN],
    mid_len: usize,
    crc_prop: [u8; PROP_CRC_LEN],
    crc_prop_len: usize,
}

impl EncodedRecord {
    /// The record's pieces in log order; `m` is the message it was encoded from.
    pub fn pieces<'a>(&'a self, m: &'a MessageExtBrokerInner) -> [&'a [u8]; 5] {
        [
            &self.head[..self.head_len],
            &m.body[..],
            &self.mid[..self.mid_len],
            m.properties.as_bytes(),
            &self.crc_prop[..self.crc_prop_len],
        ]
    }
}

/// The fields the appender decides.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Placement {
    pub queue_offset: i64,
    pub physical_offset: i64,
    pub store_timestamp: i64,
}

/// Writes big-endian fields into a stack array.
struct Cursor<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Cursor<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    fn put_host(&mut self, addr: &std::net::SocketAddr) {
        match addr.ip() {
            std::net::IpAddr::V4(ip) => self.put(&ip.octets()),
            std::net::IpAddr::V6(ip) => self.put(&ip.octets()),
        }
        self.put(&i32::from(addr.port()).to_be_bytes());
    }
}

/// Encodes `m` at `at`. `total_len` must be the record's stored size (`encoded_len`, plus
/// [`PROP_CRC_LEN`] with `with_crc_prop`); the caller validated the topic (at most 127 bytes of
/// `[%|a-zA-Z0-9_-]`) and the properties' length, so nothing below can overflow or truncate.
pub(crate) fn encode_record(
    m: &MessageExtBrokerInner,
    at: Placement,
    with_crc_prop: bool,
    total_len: usize,
) -> EncodedRecord {
    let mut rec = EncodedRecord {
        head: [0; MAX_HEAD_LEN],
        head_len: 0,
        mid: [0; MAX_MID_LEN],
        mid_len: 0,
        crc_prop: [0; PROP_CRC_LEN],
        crc_prop_len: 0,
    };
    let body = &m.body[..];
    let version = m.version();
    let body_crc = crc32fast::hash(body) & 0x7FFF_FFFF;
    let mut c = Cursor { buf: &mut rec.head, len: 0 };
    c.put(&(total_len as i32).to_be_bytes());
    c.put(&version.magic().to_be_bytes());
    c.put(&(body_crc as i32).to_be_bytes());
    c.put(&m.queue_id.to_be_bytes());
    c.put(&m.flag.to_be_bytes());
    c.put(&at.queue_offset.to_be_bytes());
    c.put(&at.physical_offset.to_be_bytes());
    c.put(&m.effective_sys_flag().to_be_bytes());
    c.put(&m.born_timestamp.to_be_bytes());
    c.put_host(&m.born_host);
    c.put(&at.store_timestamp.to_be_bytes());
    c.put_host(&m.store_host);
    c.put(&m.reconsume_times.to_be_bytes());
    c.put(&m.prepared_transaction_offset.to_be_bytes());
    c.put(&(body.len() as i32).to_be_bytes());
    rec.head_len = c.len;
    let mut c = Cursor { buf: &mut rec.mid, len: 0 };
    match version {
        MessageVersion::V1 => c.put(&[m.topic.len() as u8]),
        MessageVersion::V2 => c.put(&(m.topic.len() as i16).to_be_bytes()),
    }
    c.put(m.topic.as_bytes());
    let crc_prop_len = if with_crc_prop { PROP_CRC_LEN } else { 0 };
    c.put(&((m.properties.len() + crc_prop_len) as i16).to_be_bytes());
    rec.mid_len = c.len;
    if with_crc_prop {
        let mut crc = crc32fast::Hasher::new();
        for piece in &rec.pieces(m)[..4] {
            crc.update(piece);
        }
        let record_crc = crc.finalize() & 0x7FFF_FFFF;
        rec.crc_prop[..8].copy_from_slice(PROPERTY_CRC32);
        rec.crc_prop[8] = 0x01;
        put_crc_digits(&mut rec.crc_prop[9..19], record_crc);
        rec.crc_prop[19] = 0x02;
        rec.crc_prop_len = PROP_CRC_LEN;
    }
    debug_assert_eq!(rec.pieces(m).iter().map(|p| p.len()).sum::<usize>(), total_len);
    rec
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
        let e = encode_record(m, at, crc, total);
        let rec = e.pieces(m).concat();
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
