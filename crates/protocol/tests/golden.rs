//! Golden vectors written by hand from the protocol reference (not produced by this crate's
//! encoders): each is decoded to the expected field values and, where the encoding is
//! canonical, re-encoded byte for byte.

use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use protocol::body::{HeartbeatData, JsonBody, JsonStyle, TopicRouteData};
use protocol::header::{GetMaxOffsetRequestHeader, QueryConsumerOffsetRequestHeader};
use protocol::header::{SendMessageRequestHeader, SendMessageRequestHeaderV2};
use protocol::message::properties::parse_properties;
use protocol::message::{decode_batch, decode_message, encode_batch, MessageVersion};
use protocol::message::{java_string_hash, MessageExtBrokerInner};
use protocol::{
    decode_frame, encode_frame, CommandHeader, LanguageCode, RemotingCommand, SerializeType,
};

fn frame(prefix: &[u8], header: &[u8], body: &[u8]) -> BytesMut {
    let mut buf = BytesMut::new();
    buf.extend_from_slice(prefix);
    buf.extend_from_slice(header);
    buf.extend_from_slice(body);
    buf
}

/// A Java 5.3.3 producer's SEND_MESSAGE_V2: fastjson, alphabetical fields, short keys.
const JAVA_SEND_V2_PREFIX: [u8; 8] = [0x00, 0x00, 0x01, 0x6D, 0x00, 0x00, 0x01, 0x64];
const JAVA_SEND_V2_HEADER: &[u8] = br#"{"code":310,"extFields":{"a":"PG","b":"TopicTest","c":"TBW102","d":"4","e":"1","f":"0","g":"1700000000000","h":"0","i":"TAGS\u0001TagA\u0002UNIQ_KEY\u00017F0000010001B4AAC2D00000000A0000\u0002WAIT\u0001true\u0002","j":"0","k":"false","l":"16","m":"false","n":"broker-a"},"flag":0,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON","version":479}"#;

#[test]
fn java_send_message_v2_frame() {
    assert_eq!(JAVA_SEND_V2_HEADER.len(), 0x164);
    let mut buf = frame(&JAVA_SEND_V2_PREFIX, JAVA_SEND_V2_HEADER, b"Hello");
    let wire = buf.clone();
    let cmd = decode_frame(&mut buf).unwrap().unwrap();
    assert!(buf.is_empty());
    assert_eq!(cmd.code, 310);
    assert_eq!(cmd.language, LanguageCode::Java);
    assert_eq!((cmd.version, cmd.opaque, cmd.flag), (479, 7, 0));
    assert_eq!(cmd.remark, None);
    assert_eq!(cmd.serialize_type, SerializeType::Json);
    assert_eq!(cmd.body.as_deref(), Some(&b"Hello"[..]));
    assert!(!cmd.is_response() && !cmd.is_oneway());

    // The V2 send header with its short keys.
    let h = SendMessageRequestHeader::parse(cmd.code, &cmd.ext_fields).unwrap();
    assert_eq!(h.producer_group, "PG");
    assert_eq!(h.topic, "TopicTest");
    assert_eq!(h.default_topic, "TBW102");
    assert_eq!(h.default_topic_queue_nums, 4);
    assert_eq!(h.queue_id, 1);
    assert_eq!(h.sys_flag, 0);
    assert_eq!(h.born_timestamp, 1_700_000_000_000);
    assert_eq!(h.flag, 0);
    assert_eq!(h.reconsume_times, Some(0));
    assert_eq!(h.unit_mode, Some(false));
    assert_eq!(h.max_reconsume_times, Some(16));
    assert_eq!(h.batch, Some(false));
    assert!(!h.is_batch());
    assert_eq!(h.broker_name.as_deref(), Some("broker-a"));
    let props = parse_properties(h.properties.as_deref().unwrap());
    assert_eq!(props.get("TAGS").map(String::as_str), Some("TagA"));
    assert_eq!(props.get("WAIT").map(String::as_str), Some("true"));
    assert_eq!(props.get("UNIQ_KEY").map(String::as_str), Some("7F0000010001B4AAC2D00000000A0000"));
    // Writing the header back gives the same keys and values.
    assert_eq!(SendMessageRequestHeaderV2(h).to_ext_fields(), cmd.ext_fields);

    // Canonical fastjson form: re-encodes byte for byte.
    let mut out = BytesMut::new();
    encode_frame(&cmd, &mut out).unwrap();
    assert_eq!(&out[..], &wire[..]);
}

/// A C++ 2.x client's QUERY_CONSUMER_OFFSET: jsoncpp FastWriter (sorted keys, trailing newline),
/// `remark:""`, empty auth ext fields.
const CPP_PREFIX: [u8; 8] = [0x00, 0x00, 0x00, 0xBA, 0x00, 0x00, 0x00, 0xB6];
const CPP_HEADER: &[u8] = b"{\"code\":14,\"extFields\":{\"AccessKey\":\"\",\"OnsChannel\":\"\",\"Signature\":\"\",\"consumerGroup\":\"CG\",\"queueId\":\"2\",\"topic\":\"T\"},\"flag\":0,\"language\":\"CPP\",\"opaque\":1,\"remark\":\"\",\"version\":339}\n";

#[test]
fn cpp_json_header_with_trailing_newline() {
    assert_eq!(CPP_HEADER.len(), 0xB6);
    let mut buf = frame(&CPP_PREFIX, CPP_HEADER, b"");
    let cmd = decode_frame(&mut buf).unwrap().unwrap();
    assert_eq!(cmd.code, 14);
    assert_eq!(cmd.language, LanguageCode::Cpp);
    assert_eq!((cmd.version, cmd.opaque), (339, 1));
    assert_eq!(cmd.remark.as_deref(), Some(""));
    assert_eq!(cmd.body, None);
    assert_eq!(cmd.ext_fields.get("Signature"), Some(""));
    let h: QueryConsumerOffsetRequestHeader = cmd.decode_header().unwrap();
    assert_eq!((h.consumer_group.as_str(), h.topic.as_str(), h.queue_id), ("CG", "T", 2));
    assert_eq!(h.set_zero_if_not_found, None);
}

/// A Go client's SEND_MESSAGE (code 10): encoding/json field order, long keys plus `bname`.
const GO_PREFIX: [u8; 8] = [0x00, 0x00, 0x01, 0xBF, 0x00, 0x00, 0x01, 0xB9];
const GO_HEADER: &[u8] = br#"{"code":10,"language":"GO","version":317,"opaque":3,"flag":0,"remark":"","extFields":{"batch":"false","bname":"broker-a","bornTimestamp":"1700000000000","defaultTopic":"TBW102","defaultTopicQueueNums":"4","flag":"0","maxReconsumeTimes":"0","producerGroup":"GoPG","properties":"KEYS\u0001k1 k2\u0002UNIQ_KEY\u0001C0A80002A2B1000000000000000A0001\u0002","queueId":"2","reconsumeTimes":"0","sysFlag":"0","topic":"TopicTest","unitMode":"false"}}"#;

#[test]
fn go_send_message_frame() {
    assert_eq!(GO_HEADER.len(), 0x1B9);
    let mut buf = frame(&GO_PREFIX, GO_HEADER, b"hi");
    let cmd = decode_frame(&mut buf).unwrap().unwrap();
    assert_eq!(cmd.code, 10);
    assert_eq!(cmd.language, LanguageCode::Go);
    assert_eq!((cmd.version, cmd.opaque, cmd.flag), (317, 3, 0));
    assert_eq!(cmd.remark.as_deref(), Some(""));
    assert_eq!(cmd.body.as_deref(), Some(&b"hi"[..]));
    let h = SendMessageRequestHeader::parse(cmd.code, &cmd.ext_fields).unwrap();
    assert_eq!(h.producer_group, "GoPG");
    assert_eq!(h.topic, "TopicTest");
    assert_eq!(h.queue_id, 2);
    assert_eq!(h.born_timestamp, 1_700_000_000_000);
    assert_eq!(h.max_reconsume_times, Some(0));
    assert_eq!(h.broker_name.as_deref(), Some("broker-a"));
    assert!(!h.is_batch());
    let props = parse_properties(h.properties.as_deref().unwrap());
    assert_eq!(props.get("KEYS").map(String::as_str), Some("k1 k2"));
}

/// GET_MAX_OFFSET with a ROCKETMQ binary header (Java with `rocketmq.serialize.type=ROCKETMQ`).
const BINARY_FRAME: &[u8] = &[
    0x00, 0x00, 0x00, 0x33, // length 51 = 4 + 47
    0x01, 0x00, 0x00, 0x2F, // ROCKETMQ, header 47
    0x00, 0x1E, // code 30
    0x00, // JAVA
    0x01, 0xDF, // version 479
    0x00, 0x00, 0x00, 0x09, // opaque
    0x00, 0x00, 0x00, 0x00, // flag
    0x00, 0x00, 0x00, 0x00, // no remark
    0x00, 0x00, 0x00, 0x1A, // ext 26 bytes
    0x00, 0x07, b'q', b'u', b'e', b'u', b'e', b'I', b'd', 0x00, 0x00, 0x00, 0x01, b'0', 0x00, 0x05,
    b't', b'o', b'p', b'i', b'c', 0x00, 0x00, 0x00, 0x01, b'T',
];

#[test]
fn rocketmq_binary_header_frame() {
    let mut buf = BytesMut::from(BINARY_FRAME);
    let cmd = decode_frame(&mut buf).unwrap().unwrap();
    assert_eq!(cmd.serialize_type, SerializeType::RocketMq);
    assert_eq!((cmd.code, cmd.version, cmd.opaque, cmd.flag), (30, 479, 9, 0));
    assert_eq!(cmd.language, LanguageCode::Java);
    assert_eq!(cmd.remark, None);
    assert_eq!(cmd.body, None);
    let h: GetMaxOffsetRequestHeader = cmd.decode_header().unwrap();
    assert_eq!((h.topic.as_str(), h.queue_id, h.committed), ("T", 0, None));
    let mut out = BytesMut::new();
    encode_frame(&cmd, &mut out).unwrap();
    assert_eq!(&out[..], BINARY_FRAME);

    // The answer is JSON whatever the request used.
    let resp = RemotingCommand::response_to(&cmd, 0);
    let mut out = BytesMut::new();
    encode_frame(&resp, &mut out).unwrap();
    assert_eq!(out[4], 0);
    assert_eq!(
        &out[8..],
        br#"{"code":0,"flag":1,"language":"JAVA","opaque":9,"serializeTypeCurrentRPC":"JSON","version":479}"#
    );
}

#[test]
fn cpp_batch_as_v2_with_m_flag() {
    let ext = [
        ("a", "PG"),
        ("b", "T"),
        ("c", "TBW102"),
        ("d", "4"),
        ("e", "0"),
        ("f", "0"),
        ("g", "1"),
        ("h", "0"),
        ("m", "true"),
    ]
    .into_iter()
    .collect();
    let h = SendMessageRequestHeader::parse(310, &ext).unwrap();
    assert!(h.is_batch());
}

/// A SEND_BATCH_MESSAGE body with two messages.
const BATCH: &[u8] = &[
    // message 1: flag 0, body "A", properties UNIQ_KEY=K1
    0x00, 0x00, 0x00, 0x23, // total 35
    0x00, 0x00, 0x00, 0x00, // magic
    0x00, 0x00, 0x00, 0x00, // crc
    0x00, 0x00, 0x00, 0x00, // flag
    0x00, 0x00, 0x00, 0x01, b'A', // body
    0x00, 0x0C, b'U', b'N', b'I', b'Q', b'_', b'K', b'E', b'Y', 0x01, b'K', b'1', 0x02,
    // message 2: flag 1, body "BC", no properties
    0x00, 0x00, 0x00, 0x18, // total 24
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // magic, crc
    0x00, 0x00, 0x00, 0x01, // flag
    0x00, 0x00, 0x00, 0x02, b'B', b'C', // body
    0x00, 0x00, // no properties
];

#[test]
fn batch_body_with_two_messages() {
    let body = Bytes::from_static(BATCH);
    let msgs = decode_batch(&body).unwrap();
    assert_eq!(msgs.len(), 2);
    assert_eq!((msgs[0].flag, &msgs[0].body[..]), (0, &b"A"[..]));
    assert_eq!(msgs[0].property("UNIQ_KEY"), Some("K1"));
    assert_eq!((msgs[1].flag, &msgs[1].body[..], msgs[1].properties.as_str()), (1, &b"BC"[..], ""));
    // Zero copy: the element body points into the request body.
    assert_eq!(msgs[1].body.as_ptr(), BATCH[55..].as_ptr());
    let mut out = BytesMut::new();
    encode_batch(&msgs, &mut out).unwrap();
    assert_eq!(&out[..], BATCH);
    // A truncated batch is an error, not a partial batch.
    assert!(decode_batch(&Bytes::from_static(&BATCH[..BATCH.len() - 1])).is_err());
}

/// A pulled stored message (v1, IPv4 hosts), exactly as it lies in the CommitLog.
const RECORD: &[u8] = &[
    0x00, 0x00, 0x00, 0x65, // TOTALSIZE 101
    0xDA, 0xA3, 0x20, 0xA7, // MAGICCODE v1
    0x58, 0x93, 0x2A, 0xAC, // BODYCRC = crc32("hi") & 0x7FFFFFFF
    0x00, 0x00, 0x00, 0x03, // QUEUEID
    0x00, 0x00, 0x00, 0x00, // FLAG
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, // QUEUEOFFSET
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, // PHYSICALOFFSET 4096
    0x00, 0x00, 0x00, 0x00, // SYSFLAG
    0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x00, // BORNTIMESTAMP 1700000000000
    0x0A, 0x00, 0x00, 0x05, 0x00, 0x00, 0xD4, 0x31, // BORNHOST 10.0.0.5:54321
    0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x0A, // STORETIMESTAMP 1700000000010
    0x0A, 0x00, 0x00, 0x01, 0x00, 0x00, 0x2A, 0x9F, // STOREHOST 10.0.0.1:10911
    0x00, 0x00, 0x00, 0x00, // RECONSUMETIMES
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // PREPAREDTRANSACTIONOFFSET
    0x00, 0x00, 0x00, 0x02, b'h', b'i', // BODY
    0x01, b'T', // TOPIC
    0x00, 0x07, b'T', b'A', b'G', b'S', 0x01, b'a', 0x02, // PROPERTIES
];

#[test]
fn pulled_ipv4_record() {
    let bytes = Bytes::from_static(RECORD);
    let m = decode_message(&bytes, true).unwrap();
    assert_eq!(m.store_size, 101);
    assert_eq!(m.version, MessageVersion::V1);
    assert_eq!(m.queue_id, 3);
    assert_eq!(m.queue_offset, 5);
    assert_eq!(m.commit_log_offset, 4096);
    assert_eq!(m.sys_flag, 0);
    assert_eq!(m.born_timestamp, 1_700_000_000_000);
    assert_eq!(m.born_host, "10.0.0.5:54321".parse::<SocketAddr>().unwrap());
    assert_eq!(m.store_timestamp, 1_700_000_000_010);
    assert_eq!(m.store_host, "10.0.0.1:10911".parse::<SocketAddr>().unwrap());
    assert_eq!(&m.body[..], b"hi");
    assert_eq!(m.topic, "T");
    assert_eq!(m.tags(), Some("a"));
    assert_eq!(m.msg_id(), "0A00000100002A9F0000000000001000");

    // The broker side produces the same bytes from the same message.
    let inner = MessageExtBrokerInner {
        topic: "T".into(),
        queue_id: 3,
        flag: 0,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: m.born_host,
        store_timestamp: 1_700_000_000_010,
        store_host: m.store_host,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from_static(b"hi"),
        properties: "TAGS\u{1}a\u{2}".into(),
        tags_code: 0,
    };
    assert_eq!(&inner.to_bytes(5, 4096).unwrap()[..], RECORD);
}

#[test]
fn tag_hash_from_the_reference() {
    // HeartbeatData example in the reference: codeSet [2598919] for tag "TagA".
    assert_eq!(java_string_hash("TagA"), 2_598_919);
}

/// A Java name server's legacy route JSON, broker ids unquoted.
const LEGACY_ROUTE: &[u8] = br#"{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"brokerName":"b","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"b","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#;

#[test]
fn legacy_route_json() {
    let r = TopicRouteData::decode(LEGACY_ROUTE).unwrap();
    assert_eq!(r.broker_datas[0].master_addr(), Some("10.0.0.1:10911"));
    assert_eq!(r.broker_datas[0].broker_addrs.get(&1).map(String::as_str), Some("10.0.0.2:10911"));
    assert_eq!(r.queue_datas[0].write_queue_nums, 4);
    assert_eq!(
        r.encode_with(JsonStyle::Standard).unwrap(),
        br#"{"brokerDatas":[{"brokerAddrs":{"0":"10.0.0.1:10911","1":"10.0.0.2:10911"},"brokerName":"b","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"b","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#
    );
}

/// The reference's HeartbeatData example.
const HEARTBEAT: &[u8] = br#"{"clientID":"10.0.0.5@12345#8123456789","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"G","messageModel":"CLUSTERING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[2598919],"expressionType":"TAG","subString":"TagA","subVersion":1700000000000,"tagsSet":["TagA"],"topic":"T"},{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1700000000001,"tagsSet":[],"topic":"%RETRY%G"}],"unitMode":false}],"heartbeatFingerprint":0,"producerDataSet":[{"groupName":"PG"},{"groupName":"CLIENT_INNER_PRODUCER"}],"withoutSub":false}"#;

#[test]
fn heartbeat_json() {
    let h = HeartbeatData::decode(HEARTBEAT).unwrap();
    assert_eq!(h.client_id, "10.0.0.5@12345#8123456789");
    let c = &h.consumer_data_set[0];
    assert_eq!(c.group_name, "G");
    assert_eq!(c.subscription_data_set[0].code_set, vec![2_598_919]);
    assert_eq!(c.subscription_data_set[1].topic, "%RETRY%G");
    assert_eq!(h.producer_data_set[1].group_name, "CLIENT_INNER_PRODUCER");
    assert_eq!(h.encode().unwrap(), HEARTBEAT);
}
