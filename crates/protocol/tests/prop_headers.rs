//! Every typed header survives `to_ext(from_ext(ext))`, ignores unknown keys, names a missing
//! required key, and never panics on arbitrary ext fields.

use proptest::prelude::*;
use protocol::header::*;
use protocol::{ExtFields, ProtocolError};

/// A value of the right type for each field; optional fields are sometimes absent.
fn ext_for(fields: &'static [FieldSpec]) -> impl Strategy<Value = ExtFields> {
    let per_field: Vec<BoxedStrategy<Option<(String, String)>>> = fields
        .iter()
        .map(|f| {
            let value = match f.kind {
                FieldKind::Str => ".{0,20}".boxed(),
                FieldKind::Int => any::<i32>().prop_map(|v| v.to_string()).boxed(),
                FieldKind::Long => any::<i64>().prop_map(|v| v.to_string()).boxed(),
                FieldKind::Bool => any::<bool>().prop_map(|v| v.to_string()).boxed(),
            };
            let pair = value.prop_map(move |v| Some((f.key.to_owned(), v)));
            if f.required {
                pair.boxed()
            } else {
                prop_oneof![Just(None), pair].boxed()
            }
        })
        .collect();
    (per_field, prop::collection::btree_map("zz[a-z]{1,8}", ".{0,8}", 0..3)).prop_map(
        |(pairs, unknown)| {
            let mut ext: ExtFields = pairs.into_iter().flatten().collect();
            for (k, v) in unknown {
                ext.insert(k, v);
            }
            ext
        },
    )
}

fn check<H: CommandHeader + PartialEq + std::fmt::Debug>(
    ext: &ExtFields,
) -> Result<(), TestCaseError> {
    let h = H::from_ext(ext).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let out = h.to_ext_fields();
    // Exactly the header's keys come back, unchanged; unknown keys are dropped.
    let known: ExtFields =
        ext.iter().filter(|(k, _)| H::FIELDS.iter().any(|f| f.key == *k)).collect();
    prop_assert_eq!(&out, &known);
    prop_assert_eq!(H::from_ext(&out).map_err(|e| TestCaseError::fail(e.to_string()))?, h);
    for f in H::FIELDS.iter().filter(|f| f.required) {
        let mut missing = out.clone();
        missing.remove(f.key);
        prop_assert_eq!(H::from_ext(&missing), Err(ProtocolError::MissingField(f.key.to_owned())));
    }
    for f in H::FIELDS.iter().filter(|f| matches!(f.kind, FieldKind::Int | FieldKind::Long)) {
        let mut bad = out.clone();
        bad.insert(f.key, "x1");
        let is_invalid = matches!(H::from_ext(&bad), Err(ProtocolError::InvalidField { .. }));
        prop_assert!(is_invalid);
    }
    Ok(())
}

macro_rules! header_props {
    ($($test:ident => $ty:ty,)*) => {
        proptest! {
            $(
                #[test]
                fn $test(ext in ext_for(<$ty as CommandHeader>::FIELDS)) {
                    check::<$ty>(&ext)?;
                }
            )*

            #[test]
            fn arbitrary_ext_never_panics(
                ext in prop::collection::btree_map("[a-zA-Z]{1,3}|producerGroup|queueId|topic", ".{0,12}", 0..20)
            ) {
                let ext = ExtFields::from(ext);
                $( let _ = <$ty as CommandHeader>::from_ext(&ext); )*
                let _ = SendMessageRequestHeader::parse(310, &ext);
                let _ = SendMessageRequestHeader::parse(10, &ext);
            }
        }
    };
}

header_props! {
    send_v1 => SendMessageRequestHeader,
    send_v2 => SendMessageRequestHeaderV2,
    send_response => SendMessageResponseHeader,
    pull_request => PullMessageRequestHeader,
    pull_response => PullMessageResponseHeader,
    query_consumer_offset => QueryConsumerOffsetRequestHeader,
    query_consumer_offset_response => QueryConsumerOffsetResponseHeader,
    update_consumer_offset => UpdateConsumerOffsetRequestHeader,
    search_offset => SearchOffsetRequestHeader,
    search_offset_response => SearchOffsetResponseHeader,
    get_max_offset => GetMaxOffsetRequestHeader,
    get_max_offset_response => GetMaxOffsetResponseHeader,
    get_min_offset => GetMinOffsetRequestHeader,
    get_min_offset_response => GetMinOffsetResponseHeader,
    earliest => GetEarliestMsgStoretimeRequestHeader,
    earliest_response => GetEarliestMsgStoretimeResponseHeader,
    query_message => QueryMessageRequestHeader,
    query_message_response => QueryMessageResponseHeader,
    view_message => ViewMessageRequestHeader,
    heartbeat_response => HeartbeatResponseHeader,
    unregister_client => UnregisterClientRequestHeader,
    send_back => ConsumerSendMsgBackRequestHeader,
    consumer_list => GetConsumerListByGroupRequestHeader,
    notify_ids_changed => NotifyConsumerIdsChangedRequestHeader,
    end_transaction => EndTransactionRequestHeader,
    check_transaction => CheckTransactionStateRequestHeader,
    create_topic => CreateTopicRequestHeader,
    delete_topic => DeleteTopicRequestHeader,
    topic_stats => GetTopicStatsInfoRequestHeader,
    connection_list => GetConsumerConnectionListRequestHeader,
    consume_stats => GetConsumeStatsRequestHeader,
    topic_config => GetTopicConfigRequestHeader,
    register_broker => RegisterBrokerRequestHeader,
    register_broker_response => RegisterBrokerResponseHeader,
    unregister_broker => UnregisterBrokerRequestHeader,
    route_info => GetRouteInfoRequestHeader,
    broker_heartbeat => BrokerHeartbeatRequestHeader,
    put_kv => PutKvConfigRequestHeader,
    get_kv => GetKvConfigRequestHeader,
    get_kv_response => GetKvConfigResponseHeader,
    delete_kv => DeleteKvConfigRequestHeader,
    kv_list => GetKvListByNamespaceRequestHeader,
    delete_topic_namesrv => DeleteTopicFromNamesrvRequestHeader,
    topics_by_cluster => GetTopicsByClusterRequestHeader,
}

#[test]
fn bool_parsing_is_javas() {
    let ext: ExtFields = [("clientID", "c"), ("unitMode", "TrUe")].into_iter().collect();
    let h = ConsumerSendMsgBackRequestHeader::from_ext(
        &[("offset", "1"), ("group", "g"), ("delayLevel", "0"), ("unitMode", "yes")]
            .into_iter()
            .collect(),
    )
    .unwrap();
    assert_eq!(h.unit_mode, Some(false));
    let mut ext2 = ext.clone();
    ext2.insert("offset", "1");
    ext2.insert("group", "g");
    ext2.insert("delayLevel", "0");
    let h = ConsumerSendMsgBackRequestHeader::from_ext(&ext2).unwrap();
    assert_eq!(h.unit_mode, Some(true));
}
