//! Auto-creation, topic administration, stats bodies, and message lookups by key and by
//! offsetMsgId.

mod common;

use common::*;
use protocol::body::{JsonBody, TopicConfigSerializeWrapper};
use protocol::header::{
    CreateTopicRequestHeader, DeleteTopicRequestHeader, GetConsumeStatsRequestHeader,
    GetConsumerConnectionListRequestHeader, GetEarliestMsgStoretimeRequestHeader,
    GetMinOffsetRequestHeader, GetTopicStatsInfoRequestHeader, QueryMessageRequestHeader,
    SearchOffsetRequestHeader, UpdateConsumerOffsetRequestHeader, ViewMessageRequestHeader,
};
use protocol::message::decode_offset_msg_id;
use protocol::{RemotingCommand, RequestCode, ResponseCode};

fn create_topic(topic: &str, queues: i32) -> RemotingCommand {
    let h = CreateTopicRequestHeader {
        topic: topic.into(),
        default_topic: "TBW102".into(),
        read_queue_nums: queues,
        write_queue_nums: queues,
        perm: 6,
        topic_filter_type: "SINGLE_TAG".into(),
        topic_sys_flag: Some(0),
        order: false,
        attributes: None,
        force: None,
    };
    RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_TOPIC, &h)
}

#[tokio::test]
async fn auto_create_off_means_topic_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = broker::BrokerConfig { auto_create_topic_enable: false, ..broker_config() };
    let b = TestBroker::start(dir.path(), cfg).await;
    assert!(b.handle.controller().topic_config_manager.select("TBW102").is_none());
    let r = b.invoke(send_v2("NewTopic", 0, None, "x")).await;
    assert_eq!(r.code, ResponseCode::TOPIC_NOT_EXIST, "{r:?}");
    // Created by an administrator, then sendable.
    assert_eq!(b.invoke(create_topic("NewTopic", 2)).await.code, 0);
    assert_eq!(b.invoke(send_v2("NewTopic", 1, None, "x")).await.code, 0);
    assert_eq!(b.invoke(send_v2("NewTopic", 2, None, "x")).await.code, 29);
    // System topics cannot be created by hand.
    assert_eq!(b.invoke(create_topic("TBW102", 2)).await.code, ResponseCode::INVALID_PARAMETER);
    let r = b.invoke(RemotingCommand::new_request(RequestCode::GET_ALL_TOPIC_CONFIG)).await;
    let all = TopicConfigSerializeWrapper::decode(r.body_bytes()).unwrap();
    assert!(all.topic_config_table.contains_key("NewTopic"));
    let d = DeleteTopicRequestHeader { topic: "NewTopic".into() };
    let r = b.invoke(RemotingCommand::request(RequestCode::DELETE_TOPIC_IN_BROKER, &d)).await;
    assert_eq!(r.code, 0);
    assert_eq!(b.invoke(send_v2("NewTopic", 0, None, "x")).await.code, 17);
    b.shutdown().await;
}

#[tokio::test]
async fn query_by_key_view_by_id_and_stats() {
    let dir = tempfile::tempdir().unwrap();
    let b = TestBroker::start(dir.path(), broker_config()).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let key = if i == 1 { "order-42" } else { "other" };
        let r = b.invoke(send_v1("QT", 0, props(Some("T"), Some(key)), &format!("q{i}"))).await;
        assert_eq!(r.code, 0, "{r:?}");
        ids.push(r.ext_fields.get("msgId").unwrap().to_owned());
    }
    let store = &b.handle.controller().store;
    store.wait_dispatched(store.max_phy_offset()).await;

    let q = QueryMessageRequestHeader {
        topic: "QT".into(),
        key: "order-42".into(),
        max_num: 32,
        begin_timestamp: 0,
        end_timestamp: i64::MAX,
        unique_key_query: None,
        broker_name: None,
    };
    let r = b.invoke(RemotingCommand::request(RequestCode::QUERY_MESSAGE, &q)).await;
    assert_eq!(r.code, 0, "{r:?}");
    let msgs = decode_body(&r);
    assert_eq!(msgs.len(), 1);
    assert_eq!(&msgs[0].body[..], b"q1");
    assert!(r.ext_fields.get("indexLastUpdatePhyoffset").is_some());
    let none = QueryMessageRequestHeader { key: "missing".into(), ..q };
    let r = b.invoke(RemotingCommand::request(RequestCode::QUERY_MESSAGE, &none)).await;
    assert_eq!(r.code, ResponseCode::QUERY_NOT_FOUND, "{r:?}");

    // viewMessage: the client decodes the offsetMsgId and asks its broker for the offset.
    let (_, offset) = decode_offset_msg_id(&ids[2]).unwrap();
    let v = ViewMessageRequestHeader { offset, topic: None, broker_name: None };
    let r = b.invoke(RemotingCommand::request(RequestCode::VIEW_MESSAGE_BY_ID, &v)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(&decode_body(&r)[0].body[..], b"q2");
    let v = ViewMessageRequestHeader { offset: 1 << 40, topic: None, broker_name: None };
    let r = b.invoke(RemotingCommand::request(RequestCode::VIEW_MESSAGE_BY_ID, &v)).await;
    assert_eq!(r.code, ResponseCode::SYSTEM_ERROR);

    // Offset by time: the first message stored at or after 0 is offset 0.
    let s = SearchOffsetRequestHeader {
        topic: "QT".into(),
        queue_id: 0,
        timestamp: 0,
        boundary_type: None,
        broker_name: None,
    };
    let r = b.invoke(RemotingCommand::request(RequestCode::SEARCH_OFFSET_BY_TIMESTAMP, &s)).await;
    assert_eq!((r.code, ext_i64(&r, "offset")), (0, 0), "{r:?}");

    // Min offset and the earliest store time of the queue.
    let m = GetMinOffsetRequestHeader { topic: "QT".into(), queue_id: 0, broker_name: None };
    let r = b.invoke(RemotingCommand::request(RequestCode::GET_MIN_OFFSET, &m)).await;
    assert_eq!((r.code, ext_i64(&r, "offset")), (0, 0), "{r:?}");
    let e =
        GetEarliestMsgStoretimeRequestHeader { topic: "QT".into(), queue_id: 0, broker_name: None };
    let r = b.invoke(RemotingCommand::request(RequestCode::GET_EARLIEST_MSG_STORETIME, &e)).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(ext_i64(&r, "timestamp") > 0, "{r:?}");
    let r = b.invoke(RemotingCommand::new_request(RequestCode::GET_BROKER_CONFIG)).await;
    assert!(String::from_utf8_lossy(r.body_bytes()).contains("brokerName=broker-a\n"));

    // Topic stats: fastjson's MessageQueue-keyed map.
    let t = GetTopicStatsInfoRequestHeader { topic: "QT".into() };
    let r = b.invoke(RemotingCommand::request(RequestCode::GET_TOPIC_STATS_INFO, &t)).await;
    assert_eq!(r.code, 0);
    let text = String::from_utf8(r.body_bytes().to_vec()).unwrap();
    assert!(
        text.contains(
            r#"{"brokerName":"broker-a","queueId":0,"topic":"QT"}:{"lastUpdateTimestamp":"#
        ),
        "{text}"
    );
    assert!(text.contains(r#""maxOffset":3,"minOffset":0"#), "{text}");

    // Consume stats after a commit.
    let u = UpdateConsumerOffsetRequestHeader {
        consumer_group: "QG".into(),
        topic: "QT".into(),
        queue_id: 0,
        commit_offset: 2,
        broker_name: None,
    };
    b.invoke(RemotingCommand::request(RequestCode::UPDATE_CONSUMER_OFFSET, &u)).await;
    let h = GetConsumeStatsRequestHeader { consumer_group: "QG".into(), topic: None };
    let r = b.invoke(RemotingCommand::request(RequestCode::GET_CONSUME_STATS, &h)).await;
    assert_eq!(r.code, 0);
    let text = String::from_utf8(r.body_bytes().to_vec()).unwrap();
    assert!(
        text.contains(r#""queueId":0,"topic":"QT"}:{"brokerOffset":3,"consumerOffset":2"#),
        "{text}"
    );

    // Nobody online in QG.
    let h = GetConsumerConnectionListRequestHeader { consumer_group: "QG".into() };
    let r = b.invoke(RemotingCommand::request(RequestCode::GET_CONSUMER_CONNECTION_LIST, &h)).await;
    assert_eq!(r.code, ResponseCode::CONSUMER_NOT_ONLINE);
    let r = b.invoke(RemotingCommand::new_request(RequestCode::GET_BROKER_RUNTIME_INFO)).await;
    assert_eq!(r.code, 0);
    assert!(String::from_utf8_lossy(r.body_bytes()).contains("commitLogMaxOffset"));
    b.shutdown().await;
}
