//! Shared helpers of the store's integration tests.
#![allow(dead_code)]

use std::net::SocketAddr;

use bytes::Bytes;
use protocol::message::{decode_message, MessageExtBrokerInner};
use store::{FlushDiskType, MessageStoreConfig};

pub fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// A message with a body, tags and keys.
pub fn msg(
    topic: &str,
    queue_id: i32,
    body: &[u8],
    tags: Option<&str>,
    keys: Option<&str>,
) -> MessageExtBrokerInner {
    let mut props = String::new();
    if let Some(t) = tags {
        props.push_str(&format!("TAGS\u{1}{t}\u{2}"));
    }
    if let Some(k) = keys {
        props.push_str(&format!("KEYS\u{1}{k}\u{2}"));
    }
    MessageExtBrokerInner {
        topic: topic.to_owned(),
        queue_id,
        flag: 0,
        sys_flag: 0,
        born_timestamp: 1,
        born_host: addr("10.0.0.1:5000"),
        store_timestamp: 0,
        store_host: addr("10.0.0.2:10911"),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::copy_from_slice(body),
        properties: props,
        tags_code: 0,
    }
}

/// Small files so records cross segments often.
pub fn small_config(flush: FlushDiskType) -> MessageStoreConfig {
    MessageStoreConfig {
        mapped_file_size_commit_log: 8 * 1024,
        mapped_file_size_consume_queue: 20 * 16,
        flush_disk_type: flush,
        max_hash_slot_num: 16,
        max_index_num: 32,
        max_message_size: 6000,
        ..MessageStoreConfig::default()
    }
}

/// Decodes a served record, checking its CRC.
pub fn body_of(rec: &Bytes) -> Bytes {
    decode_message(rec, true).expect("served record must decode with a valid CRC").body
}
