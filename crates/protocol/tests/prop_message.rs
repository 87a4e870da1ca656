//! Property tests of the message codecs: round trips and "arbitrary bytes never panic".

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use protocol::message::msg_id::{create_offset_msg_id, decode_offset_msg_id, decode_uniq_key};
use protocol::message::properties::{parse_properties, properties_to_string};
use protocol::message::record::{set_physical_offset, set_queue_offset, set_store_timestamp};
use protocol::message::sysflag::{BORNHOST_V6_FLAG, STOREHOST_V6_FLAG};
use protocol::message::{
    decode_batch, decode_message, decode_messages, encode_batch, BatchMessage,
    MessageExtBrokerInner, MessageVersion, RecordHeader, RecordKind, UniqKeyPrefix,
};

fn addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port)),
        (any::<[u8; 16]>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port)),
    ]
}

/// Property maps that survive the wire form: non-empty names without separators, non-empty
/// values without the pair terminator (a value may contain `\u{1}`).
fn props() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map("[^\u{1}\u{2}]{1,12}", "[^\u{2}]{1,20}", 0..6)
}

fn topic() -> impl Strategy<Value = String> {
    prop_oneof![3 => "[a-zA-Z0-9_%-]{0,127}", 1 => "[a-z]{128,300}"]
}

prop_compose! {
    fn inner()(
        topic in topic(),
        queue_id: i32, flag: i32, sys_flag: i32, born_timestamp: i64,
        born_host in addr(), store_timestamp: i64, store_host in addr(),
        reconsume_times: i32, prepared_transaction_offset: i64,
        body in prop::collection::vec(any::<u8>(), 0..2048),
        properties in props(),
    ) -> MessageExtBrokerInner {
        MessageExtBrokerInner {
            topic, queue_id, flag, sys_flag, born_timestamp, born_host, store_timestamp,
            store_host, reconsume_times, prepared_transaction_offset,
            body: Bytes::from(body),
            properties: properties_to_string(&properties).unwrap(),
            tags_code: 0,
        }
    }
}

proptest! {
    #[test]
    fn record_round_trip(m in inner(), qo: i64, po: i64) {
        let bytes = m.to_bytes(qo, po).unwrap();
        prop_assert_eq!(bytes.len(), m.encoded_len());
        let header = RecordHeader::parse(&bytes).unwrap();
        prop_assert_eq!(header.total_size, bytes.len());
        let d = decode_message(&bytes, true).unwrap();
        prop_assert_eq!(header.kind, RecordKind::Message(d.version));
        let expected_version =
            if m.topic.len() > 127 { MessageVersion::V2 } else { MessageVersion::V1 };
        prop_assert_eq!(d.version, expected_version);
        prop_assert_eq!(&d.topic, &m.topic);
        prop_assert_eq!(d.queue_id, m.queue_id);
        prop_assert_eq!(d.flag, m.flag);
        prop_assert_eq!(d.queue_offset, qo);
        prop_assert_eq!(d.commit_log_offset, po);
        prop_assert_eq!(d.sys_flag & !(BORNHOST_V6_FLAG | STOREHOST_V6_FLAG),
            m.sys_flag & !(BORNHOST_V6_FLAG | STOREHOST_V6_FLAG));
        prop_assert_eq!(d.sys_flag & BORNHOST_V6_FLAG != 0, m.born_host.is_ipv6());
        prop_assert_eq!(d.sys_flag & STOREHOST_V6_FLAG != 0, m.store_host.is_ipv6());
        prop_assert_eq!(d.born_timestamp, m.born_timestamp);
        prop_assert_eq!(d.born_host, m.born_host);
        prop_assert_eq!(d.store_timestamp, m.store_timestamp);
        prop_assert_eq!(d.store_host, m.store_host);
        prop_assert_eq!(d.reconsume_times, m.reconsume_times);
        prop_assert_eq!(d.prepared_transaction_offset, m.prepared_transaction_offset);
        prop_assert_eq!(&d.body, &m.body);
        prop_assert_eq!(parse_properties(&m.properties), d.properties.clone());
        // Re-encoding the decoded message gives the same bytes.
        let mut again = BytesMut::new();
        d.encode(&mut again).unwrap();
        prop_assert_eq!(&again[..], &bytes[..]);
        // The msg id names this record.
        prop_assert_eq!(decode_offset_msg_id(&d.msg_id()).unwrap(), (m.store_host, po));
    }

    #[test]
    fn record_patching(m in inner(), qo: i64, po: i64, ts: i64) {
        let mut bytes = BytesMut::new();
        m.encode(0, 0, &mut bytes).unwrap();
        set_queue_offset(&mut bytes, qo).unwrap();
        set_physical_offset(&mut bytes, po).unwrap();
        set_store_timestamp(&mut bytes, ts).unwrap();
        let d = decode_message(&bytes.freeze(), true).unwrap();
        prop_assert_eq!((d.queue_offset, d.commit_log_offset, d.store_timestamp), (qo, po, ts));
        prop_assert_eq!(d.born_timestamp, m.born_timestamp);
        prop_assert_eq!(d.store_host, m.store_host);
    }

    #[test]
    fn concatenated_records_stop_at_garbage(
        ms in prop::collection::vec(inner(), 1..4),
        garbage in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut buf = BytesMut::new();
        for (i, m) in ms.iter().enumerate() {
            m.encode(i as i64, buf.len() as i64, &mut buf).unwrap();
        }
        buf.extend_from_slice(&garbage);
        let decoded = decode_messages(&buf.freeze());
        // Garbage may by chance decode as more records, never fewer.
        prop_assert!(decoded.len() >= ms.len());
        for (d, m) in decoded.iter().zip(&ms) {
            prop_assert_eq!(&d.body, &m.body);
            prop_assert_eq!(&d.topic, &m.topic);
        }
    }

    #[test]
    fn record_decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let b = Bytes::from(bytes);
        let _ = decode_message(&b, true);
        let _ = decode_message(&b, false);
        let _ = decode_messages(&b);
        let _ = RecordHeader::parse(&b);
        let mut m = b.to_vec();
        let _ = set_store_timestamp(&mut m, 1);
        let _ = set_queue_offset(&mut m, 1);
    }

    #[test]
    fn mutated_records_never_panic(m in inner(), idx: usize, byte: u8) {
        let mut bytes = m.to_bytes(1, 2).unwrap().to_vec();
        let i = idx % bytes.len();
        bytes[i] = byte;
        let b = Bytes::from(bytes);
        let _ = decode_message(&b, true);
        let _ = decode_messages(&b);
    }

    #[test]
    fn properties_round_trip(p in props()) {
        let s = properties_to_string(&p).unwrap();
        prop_assert_eq!(parse_properties(&s), p);
    }

    #[test]
    fn properties_parse_never_panics(s in any::<String>()) {
        let _ = parse_properties(&s);
    }

    #[test]
    fn batch_round_trip(
        elems in prop::collection::vec(
            (any::<i32>(), prop::collection::vec(any::<u8>(), 0..512), props()), 0..5)
    ) {
        let msgs: Vec<BatchMessage> = elems.into_iter().map(|(flag, body, p)| BatchMessage {
            flag,
            body: Bytes::from(body),
            properties: properties_to_string(&p).unwrap(),
        }).collect();
        let mut buf = BytesMut::new();
        encode_batch(&msgs, &mut buf).unwrap();
        prop_assert_eq!(decode_batch(&buf.freeze()).unwrap(), msgs);
    }

    #[test]
    fn batch_decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_batch(&Bytes::from(bytes));
    }

    #[test]
    fn offset_msg_id_round_trip(host in addr(), offset: i64) {
        let id = create_offset_msg_id(&host, offset);
        prop_assert_eq!(id.len(), if host.is_ipv4() { 32 } else { 56 });
        prop_assert_eq!(id.to_uppercase(), id.clone());
        prop_assert_eq!(decode_offset_msg_id(&id).unwrap(), (host, offset));
    }

    #[test]
    fn uniq_key_round_trip(host in addr(), pid: i16, hash: i32, elapsed: i32, counter: i16) {
        let key = UniqKeyPrefix::new(host.ip(), pid, hash).create(elapsed, counter);
        prop_assert_eq!(key.len(), if host.is_ipv4() { 32 } else { 56 });
        let parts = decode_uniq_key(&key).unwrap();
        prop_assert_eq!((parts.ip, parts.pid, parts.hash, parts.elapsed_ms, parts.counter),
            (host.ip(), pid, hash, elapsed, counter));
    }

    #[test]
    fn id_decoders_never_panic(s in any::<String>()) {
        let _ = decode_offset_msg_id(&s);
        let _ = decode_uniq_key(&s);
    }
}

#[test]
fn oversize_fields_are_errors() {
    let host: SocketAddr = "1.2.3.4:5".parse().unwrap();
    let mut m = MessageExtBrokerInner {
        topic: "T".into(),
        queue_id: 0,
        flag: 0,
        sys_flag: 0,
        born_timestamp: 0,
        born_host: host,
        store_timestamp: 0,
        store_host: host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::new(),
        properties: "x".repeat(40_000),
        tags_code: 0,
    };
    assert!(m.to_bytes(0, 0).is_err());
    m.properties.clear();
    m.topic = "t".repeat(40_000);
    assert!(m.to_bytes(0, 0).is_err());
    m.topic = "T".into();
    let bytes = m.to_bytes(0, 0).unwrap();
    assert_eq!(bytes.len(), 91 + 1);
    // A corrupted body fails the CRC check only when asked.
    let mut bad = bytes.to_vec();
    bad[8] ^= 1;
    let bad = Bytes::from(bad);
    assert!(decode_message(&bad, true).is_err());
    assert!(decode_message(&bad, false).is_ok());
}
