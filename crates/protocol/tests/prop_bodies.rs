//! Property tests of the JSON bodies: round trips in both output styles, the fastjson legacy
//! input with unquoted numeric keys, and arbitrary bytes never panicking.

use std::collections::BTreeMap;

use proptest::prelude::*;
use protocol::body::*;

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_%-]{1,12}"
}

/// Any text, including quotes, escapes and non-ASCII.
fn text() -> impl Strategy<Value = String> {
    ".{0,16}"
}

fn broker_data() -> impl Strategy<Value = BrokerData> {
    (
        prop::collection::btree_map(-2i64..100, "[0-9.]{7,15}:[0-9]{2,5}", 0..4),
        name(),
        name(),
        any::<bool>(),
        prop::option::of(text()),
    )
        .prop_map(|(broker_addrs, broker_name, cluster, enable_acting_master, zone_name)| {
            BrokerData { broker_addrs, broker_name, cluster, enable_acting_master, zone_name }
        })
}

fn queue_data() -> impl Strategy<Value = QueueData> {
    (name(), 0i32..16, 0i32..64, any::<i32>(), 0i32..64).prop_map(|(b, p, r, f, w)| QueueData {
        broker_name: b,
        perm: p,
        read_queue_nums: r,
        topic_sys_flag: f,
        write_queue_nums: w,
    })
}

fn route() -> impl Strategy<Value = TopicRouteData> {
    (
        prop::collection::vec(broker_data(), 0..3),
        prop::collection::btree_map(name(), prop::collection::vec(text(), 0..2), 0..2),
        prop::option::of(text()),
        prop::collection::vec(queue_data(), 0..3),
    )
        .prop_map(|(broker_datas, filter_server_table, order_topic_conf, queue_datas)| {
            TopicRouteData {
                broker_datas,
                filter_server_table,
                order_topic_conf,
                queue_datas,
                topic_queue_mapping_by_broker: None,
            }
        })
}

fn subscription() -> impl Strategy<Value = SubscriptionData> {
    (any::<bool>(), prop::collection::vec(any::<i32>(), 0..3), text(), any::<i64>(), name())
        .prop_map(|(class_filter_mode, code_set, sub_string, sub_version, topic)| {
            SubscriptionData {
                class_filter_mode,
                code_set,
                expression_type: "TAG".into(),
                sub_string,
                sub_version,
                tags_set: vec!["TagA".into()],
                topic,
            }
        })
}

fn heartbeat() -> impl Strategy<Value = HeartbeatData> {
    let consumer = (name(), prop::collection::vec(subscription(), 0..3), any::<bool>()).prop_map(
        |(group_name, subscription_data_set, unit_mode)| ConsumerData {
            consume_from_where: ConsumeFromWhere::ConsumeFromFirstOffset,
            consume_type: ConsumeType::ConsumePassively,
            group_name,
            message_model: MessageModel::Clustering,
            subscription_data_set,
            unit_mode,
        },
    );
    (
        text(),
        prop::collection::vec(consumer, 0..3),
        any::<i32>(),
        prop::collection::vec(name().prop_map(|group_name| ProducerData { group_name }), 0..3),
        any::<bool>(),
    )
        .prop_map(|(client_id, consumer_data_set, fp, producer_data_set, without_sub)| {
            HeartbeatData {
                client_id,
                consumer_data_set,
                heartbeat_fingerprint: fp,
                producer_data_set,
                without_sub,
            }
        })
}

fn topic_config() -> impl Strategy<Value = TopicConfig> {
    (name(), 0i32..64, 0i32..64, 0i32..8, prop::collection::btree_map(name(), name(), 0..2))
        .prop_map(|(topic_name, r, w, p, attributes)| TopicConfig {
            attributes,
            perm: p,
            read_queue_nums: r,
            topic_name,
            write_queue_nums: w,
            ..TopicConfig::default()
        })
}

fn register_body() -> impl Strategy<Value = RegisterBrokerBody> {
    (
        prop::collection::vec(topic_config(), 0..4),
        any::<(i64, i64, i64)>(),
        prop::collection::vec(text(), 0..2),
    )
        .prop_map(|(configs, (counter, state_version, timestamp), filter_server_list)| {
            RegisterBrokerBody {
                filter_server_list,
                topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
                    data_version: DataVersion { counter, state_version, timestamp },
                    topic_config_table: configs
                        .into_iter()
                        .map(|c| (c.topic_name.clone(), c))
                        .collect(),
                    topic_queue_mapping_info_map: BTreeMap::new(),
                },
            }
        })
}

/// What fastjson's default writer does to non-string keys: `"12":` becomes `12:`. Only used on
/// generated data whose strings never look like a quoted number followed by a colon.
fn unquote_numeric_keys(json: &str) -> String {
    let mut out = String::new();
    let mut rest = json;
    while let Some(start) = rest.find('"') {
        let (before, after) = rest.split_at(start);
        out.push_str(before);
        let inner = &after[1..];
        let end = inner.find('"').map(|e| e + 1);
        match end {
            Some(end)
                if inner[..end - 1].parse::<i64>().is_ok() && inner[end..].starts_with(':') =>
            {
                out.push_str(&inner[..end - 1]);
                rest = &inner[end..];
            }
            _ => {
                out.push('"');
                rest = inner;
            }
        }
    }
    out.push_str(rest);
    out
}

fn round_trip<T: JsonBody + PartialEq + std::fmt::Debug>(v: &T) -> Result<(), TestCaseError> {
    for style in [JsonStyle::Legacy, JsonStyle::Standard] {
        let json = v.encode_with(style).unwrap();
        prop_assert!(!json.contains(&b'\n'));
        prop_assert_eq!(&T::decode(&json).unwrap(), v);
        if style == JsonStyle::Standard {
            prop_assert!(json.is_ascii());
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn route_round_trip(r in route()) {
        round_trip(&r)?;
        // The legacy fastjson form with unquoted broker ids parses to the same value.
        let names_only = TopicRouteData {
            broker_datas: r.broker_datas.iter().map(|b| BrokerData {
                zone_name: None, ..b.clone()
            }).collect(),
            filter_server_table: BTreeMap::new(),
            order_topic_conf: None,
            ..r.clone()
        };
        let json = String::from_utf8(names_only.encode().unwrap()).unwrap();
        let legacy = unquote_numeric_keys(&json);
        prop_assert_eq!(TopicRouteData::decode(legacy.as_bytes()).unwrap(), names_only);
    }

    #[test]
    fn cluster_info_round_trip(bds in prop::collection::vec(broker_data(), 0..4)) {
        let mut info = ClusterInfo::default();
        for b in bds {
            info.cluster_addr_table.entry(b.cluster.clone()).or_default().insert(b.broker_name.clone());
            info.broker_addr_table.insert(b.broker_name.clone(), b);
        }
        round_trip(&info)?;
    }

    #[test]
    fn heartbeat_round_trip(h in heartbeat()) {
        round_trip(&h)?;
    }

    #[test]
    fn register_body_round_trip(b in register_body()) {
        round_trip(&b)?;
        let z = b.encode_body(true).unwrap();
        prop_assert_eq!(RegisterBrokerBody::decode_body(&z, true).unwrap(), b);
    }

    #[test]
    fn small_bodies_round_trip(
        kv in prop::collection::btree_map(text(), text(), 0..4),
        topics in prop::collection::btree_set(name(), 0..4),
        mqs in prop::collection::btree_set((name(), any::<i32>(), name()), 0..4),
        offsets in prop::collection::btree_map(name(), prop::collection::btree_map(any::<i32>(), any::<i64>(), 0..3), 0..3),
    ) {
        round_trip(&KvTable { table: kv })?;
        round_trip(&TopicList { broker_addr: Some("b:1".into()), topic_list: topics.clone() })?;
        round_trip(&ConsumerListByGroupResponseBody { consumer_id_list: topics.into_iter().collect() })?;
        let mq_set: std::collections::BTreeSet<MessageQueue> = mqs
            .into_iter()
            .map(|(broker_name, queue_id, topic)| MessageQueue { broker_name, queue_id, topic })
            .collect();
        round_trip(&LockBatchRequestBody {
            client_id: "c".into(), consumer_group: "g".into(), mq_set: mq_set.clone(), only_this_broker: true,
        })?;
        round_trip(&UnlockBatchRequestBody {
            client_id: "c".into(), consumer_group: "g".into(), mq_set: mq_set.clone(), only_this_broker: false,
        })?;
        round_trip(&LockBatchResponseBody { lock_ok_mq_set: mq_set })?;
        let w = ConsumerOffsetSerializeWrapper { data_version: None, offset_table: offsets };
        round_trip(&w)?;
        let legacy = unquote_numeric_keys(&String::from_utf8(w.encode().unwrap()).unwrap());
        prop_assert_eq!(ConsumerOffsetSerializeWrapper::decode(legacy.as_bytes()).unwrap(), w);
    }

    #[test]
    fn body_decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = TopicRouteData::decode(&bytes);
        let _ = ClusterInfo::decode(&bytes);
        let _ = HeartbeatData::decode(&bytes);
        let _ = RegisterBrokerBody::decode_body(&bytes, false);
        let _ = RegisterBrokerBody::decode_body(&bytes, true);
        let _ = LockBatchRequestBody::decode(&bytes);
        let _ = quote_numeric_keys(&bytes);
    }

    #[test]
    fn body_decoders_never_panic_on_jsonish_text(s in "[{}\\[\\]\":,0-9a-z -]{0,120}") {
        let _ = TopicRouteData::decode(s.as_bytes());
        let _ = ConsumerOffsetSerializeWrapper::decode(s.as_bytes());
        let _ = quote_numeric_keys(s.as_bytes());
    }

    #[test]
    fn topic_config_text_round_trip(c in topic_config()) {
        let text = c.encode_text().unwrap();
        prop_assert_eq!(TopicConfig::decode_text(&text).unwrap(), c);
    }
}
