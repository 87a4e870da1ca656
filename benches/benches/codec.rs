//! Codec hot paths: a send-sized frame (small header, 1 KiB body) through both header
//! serializations, and a stored record with typical properties through encode and decode.

use std::hint::black_box;
use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use protocol::header::SendMessageRequestHeader;
use protocol::header::SendMessageRequestHeaderV2;
use protocol::message::properties::{encode_properties, KEYS, TAGS, UNIQ_KEY, WAIT};
use protocol::message::{decode_message, MessageExtBrokerInner};
use protocol::{decode_frame, encode_frame, RemotingCommand, RequestCode, SerializeType};

const BODY_LEN: usize = 1024;

fn properties() -> String {
    encode_properties([
        (TAGS, "TagA"),
        (KEYS, "order-42 user-7"),
        (UNIQ_KEY, "7F0000010001B4AAC2D00000000A0000"),
        (WAIT, "true"),
    ])
    .unwrap_or_default()
}

fn send_command(serialize_type: SerializeType) -> RemotingCommand {
    let header = SendMessageRequestHeader {
        producer_group: "bench-producer".into(),
        topic: "BenchTopic".into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id: 3,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        flag: 0,
        properties: Some(properties()),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        batch: Some(false),
        max_reconsume_times: Some(16),
        broker_name: Some("broker-a".into()),
    };
    let mut cmd =
        RemotingCommand::request(RequestCode::SEND_MESSAGE_V2, &SendMessageRequestHeaderV2(header))
            .with_opaque(12345)
            .with_body(vec![0x5A; BODY_LEN]);
    cmd.serialize_type = serialize_type;
    cmd
}

fn frames(c: &mut Criterion) {
    for (name, ty) in [("json", SerializeType::Json), ("binary", SerializeType::RocketMq)] {
        let cmd = send_command(ty);
        let mut wire = BytesMut::new();
        encode_frame(&cmd, &mut wire).unwrap_or_default();
        let mut group = c.benchmark_group(format!("frame_{name}"));
        group.throughput(Throughput::Bytes(wire.len() as u64));
        let mut out = BytesMut::with_capacity(4096);
        group.bench_function("encode", |b| {
            b.iter(|| {
                out.clear();
                let _ = encode_frame(black_box(&cmd), &mut out);
                black_box(out.len())
            })
        });
        group.bench_function("decode", |b| {
            b.iter_batched(
                || wire.clone(),
                |mut buf| black_box(decode_frame(&mut buf).ok().flatten()),
                BatchSize::SmallInput,
            )
        });
        group.finish();
    }
}

fn message() -> MessageExtBrokerInner {
    let born: SocketAddr = SocketAddr::from(([10, 0, 0, 5], 54321));
    let store: SocketAddr = SocketAddr::from(([10, 0, 0, 1], 10911));
    MessageExtBrokerInner {
        topic: "BenchTopic".into(),
        queue_id: 3,
        flag: 0,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        born_host: born,
        store_timestamp: 1_700_000_000_010,
        store_host: store,
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::from(vec![0x5A; BODY_LEN]),
        properties: properties(),
        tags_code: 0,
    }
}

fn records(c: &mut Criterion) {
    let msg = message();
    let record = msg.to_bytes(42, 1 << 30).unwrap_or_default();
    let mut group = c.benchmark_group("record");
    group.throughput(Throughput::Bytes(record.len() as u64));
    let mut out = BytesMut::with_capacity(4096);
    group.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            let _ = black_box(&msg).encode(42, 1 << 30, &mut out);
            black_box(out.len())
        })
    });
    group.bench_function("decode_crc", |b| {
        b.iter(|| black_box(decode_message(black_box(&record), true).ok()))
    });
    group.bench_function("decode", |b| {
        b.iter(|| black_box(decode_message(black_box(&record), false).ok()))
    });
    group.finish();
}

criterion_group!(benches, frames, records);
criterion_main!(benches);
