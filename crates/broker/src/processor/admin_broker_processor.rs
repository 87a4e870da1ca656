//! Administration and offset lookups (RocketMQ `AdminBrokerProcessor`), and the answer to every
//! code no other processor handles: REQUEST_CODE_NOT_SUPPORTED.

use std::collections::BTreeMap;
use std::sync::Arc;

use protocol::body::{
    perm, JsonBody, KvTable, LockBatchRequestBody, LockBatchResponseBody, MessageQueue,
    TopicConfig, UnlockBatchRequestBody,
};
use protocol::header::{
    CreateTopicRequestHeader, DeleteTopicRequestHeader, GetConsumeStatsRequestHeader,
    GetConsumerConnectionListRequestHeader, GetEarliestMsgStoretimeRequestHeader,
    GetEarliestMsgStoretimeResponseHeader, GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader,
    GetMinOffsetRequestHeader, GetMinOffsetResponseHeader, GetTopicStatsInfoRequestHeader,
    SearchOffsetRequestHeader, SearchOffsetResponseHeader,
};
use protocol::{RemotingCommand, RequestCode, ResponseCode};
use remoting::{Channel, ProcessFuture, RequestProcessor};
use store::BoundaryType;

use super::{decode_header, error_response, json_body, success};
use crate::admin_body::{
    consume_stats_json, Connection, ConsumerConnection, OffsetWrapper, TopicOffset,
};
use crate::broker_controller::BrokerController;
use crate::broker_stats::BrokerStats;
use crate::subscription_group_manager::SubscriptionGroupConfig;
use crate::topic_validator as tv;

/// The default processor.
pub struct AdminBrokerProcessor {
    c: Arc<BrokerController>,
}

impl AdminBrokerProcessor {
    /// A processor for `c`.
    pub fn new(c: Arc<BrokerController>) -> Self {
        Self { c }
    }
}

impl RequestProcessor for AdminBrokerProcessor {
    fn process(&self, _channel: &Channel, request: RemotingCommand) -> ProcessFuture {
        let c = self.c.clone();
        Box::pin(async move { Some(dispatch(&c, &request)) })
    }
}

fn dispatch(c: &BrokerController, r: &RemotingCommand) -> RemotingCommand {
    let result = match r.code {
        RequestCode::UPDATE_AND_CREATE_TOPIC => update_and_create_topic(c, r),
        RequestCode::DELETE_TOPIC_IN_BROKER => delete_topic(c, r),
        RequestCode::GET_ALL_TOPIC_CONFIG => {
            json_body(r, &c.topic_config_manager.serialize_wrapper())
                .map(|b| success(r).with_body(b))
        }
        RequestCode::GET_BROKER_RUNTIME_INFO => runtime_info(c, r),
        RequestCode::GET_BROKER_CONFIG => broker_config(c, r),
        RequestCode::SEARCH_OFFSET_BY_TIMESTAMP => search_offset(c, r),
        RequestCode::GET_MAX_OFFSET => get_max_offset(c, r),
        RequestCode::GET_MIN_OFFSET => get_min_offset(c, r),
        RequestCode::GET_EARLIEST_MSG_STORETIME => earliest_msg_storetime(c, r),
        RequestCode::GET_ALL_CONSUMER_OFFSET => {
            json_body(r, &c.consumer_offset_manager.serialize_wrapper())
                .map(|b| success(r).with_body(b))
        }
        // RocketMQ answers with the schedule service's encoded offset table, the same JSON as
        // `config/delayOffset.json`.
        RequestCode::GET_ALL_DELAY_OFFSET => {
            json_body(r, &c.schedule_message_service.offset_table())
                .map(|b| success(r).with_body(b))
        }
        RequestCode::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => update_subscription_group(c, r),
        RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG => {
            json_body(r, &c.subscription_group_manager.wrapper()).map(|b| success(r).with_body(b))
        }
        RequestCode::GET_TOPIC_STATS_INFO => topic_stats(c, r),
        RequestCode::GET_CONSUMER_CONNECTION_LIST => consumer_connection_list(c, r),
        RequestCode::GET_CONSUME_STATS => consume_stats(c, r),
        RequestCode::LOCK_BATCH_MQ => lock_batch_mq(c, r),
        RequestCode::UNLOCK_BATCH_MQ => unlock_batch_mq(c, r),
        code => Err(error_response(
            r,
            ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
            format!(" request type {code} not supported"),
        )),
    };
    result.unwrap_or_else(|resp| resp)
}

type Answer = Result<RemotingCommand, RemotingCommand>;

fn update_and_create_topic(c: &BrokerController, r: &RemotingCommand) -> Answer {
    let h: CreateTopicRequestHeader = decode_header(r)?;
    let bad = |remark: String| error_response(r, ResponseCode::INVALID_PARAMETER, remark);
    tv::validate_topic(&h.topic).map_err(bad)?;
    if tv::is_system_topic(&h.topic) || h.topic == c.config.broker_cluster_name {
        return Err(bad(format!("The topic[{}] is conflict with system topic.", h.topic)));
    }
    if h.read_queue_nums <= 0 || h.write_queue_nums <= 0 || h.read_queue_nums > 1024 {
        return Err(bad(format!(
            "invalid queue numbers: read {} write {}",
            h.read_queue_nums, h.write_queue_nums
        )));
    }
    let config = TopicConfig {
        topic_name: h.topic.clone(),
        read_queue_nums: h.read_queue_nums,
        write_queue_nums: h.write_queue_nums,
        perm: h.perm & (perm::READ | perm::WRITE | perm::INHERIT),
        topic_filter_type: if h.topic_filter_type.is_empty() {
            "SINGLE_TAG".to_owned()
        } else {
            h.topic_filter_type.clone()
        },
        topic_sys_flag: h.topic_sys_flag.unwrap_or(0),
        order: h.order,
        ..TopicConfig::default()
    };
    c.topic_config_manager.update_topic_config(config).map_err(|e| {
        error_response(r, ResponseCode::SYSTEM_ERROR, format!("create topic failed: {e:?}"))
    })?;
    tracing::info!(topic = %h.topic, read = h.read_queue_nums, write = h.write_queue_nums,
        "topic created or updated");
    c.register_broker_all_soon();
    Ok(success(r))
}

fn delete_topic(c: &BrokerController, r: &RemotingCommand) -> Answer {
    let h: DeleteTopicRequestHeader = decode_header(r)?;
    if tv::is_system_topic(&h.topic) {
        return Err(error_response(
            r,
            ResponseCode::INVALID_PARAMETER,
            format!("The topic[{}] is conflict with system topic.", h.topic),
        ));
    }
    c.topic_config_manager
        .delete_topic_config(&h.topic)
        .map_err(|e| error_response(r, ResponseCode::SYSTEM_ERROR, e.to_string()))?;
    c.consumer_offset_manager.clean_offset_by_topic(&h.topic);
    c.register_broker_all_soon();
    Ok(success(r))
}

fn runtime_info(c: &BrokerController, r: &RemotingCommand) -> Answer {
    let s = &c.store;
    let now = rt::clock::now_millis() as i64;
    let mut table = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        table.insert(k.to_owned(), v);
    };
    put("brokerVersion", protocol::code::version::CURRENT.to_string());
    put("brokerVersionDesc", "V5_3_3".to_owned());
    put("bootTimestamp", c.boot_timestamp.to_string());
    put("runtime", format!("{} s", (now - c.boot_timestamp) / 1000));
    put("commitLogMinOffset", s.min_phy_offset().to_string());
    put("commitLogMaxOffset", s.max_phy_offset().to_string());
    put(
        "dispatchBehindBytes",
        s.max_phy_offset().saturating_sub(s.dispatched_offset()).to_string(),
    );
    put("earliestMessageTimeStamp", s.earliest_message_time_in_store().to_string());
    put("brokerActive", "true".to_owned());
    // Counted since start (RocketMQ counts per day); the tools print them as they are.
    let elapsed = now - c.boot_timestamp;
    put("msgPutTotalTodayNow", c.stats.put_total().to_string());
    put("msgGetTotalTodayNow", c.stats.get_total().to_string());
    put("msgPutTotalTodayMorning", "0".to_owned());
    put("msgGetTotalTodayMorning", "0".to_owned());
    put("msgPutTotalYesterdayMorning", "0".to_owned());
    put("msgGetTotalYesterdayMorning", "0".to_owned());
    put("putTps", BrokerStats::tps_triplet(c.stats.put_total(), elapsed));
    put("getTransferedTps", BrokerStats::tps_triplet(c.stats.get_total(), elapsed));
    put("pageCacheLockTimeMills", "0".to_owned());
    put("heldPullRequests", c.pull_request_hold_service.held().to_string());
    put("consumerGroups", c.consumer_manager.group_count().to_string());
    put("producerGroups", c.producer_manager.group_count().to_string());
    let body = KvTable { table }
        .encode()
        .map_err(|e| error_response(r, ResponseCode::SYSTEM_ERROR, format!("encode body: {e}")))?;
    Ok(success(r).with_body(body))
}

/// The effective settings as `key=value` lines, like Java's `MixAll.properties2String`.
fn broker_config(c: &BrokerController, r: &RemotingCommand) -> Answer {
    let mut text = String::new();
    for (k, v) in crate::broker_config_loader::config_items(&c.config, c.store.config()) {
        text.push_str(k);
        text.push('=');
        text.push_str(&v);
        text.push('\n');
    }
    Ok(success(r).with_body(text.into_bytes()))
}

fn search_offset(c: &BrokerController, r: &RemotingCommand) -> Answer {
    let h: SearchOffsetRequestHeader = decode_header(r)?;
    let boundary = match h.boundary_type.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("upper") => BoundaryType::Upper,
        _ => BoundaryType::Lower,
    };
    let offset = c.store.offset_in_queue_by_time(&h.topic, h.queue_id, h.timestamp, boundary);
    Ok(success(r).with_header(&SearchOffsetResponseHeader { offset }))
}

fn get_max_offset(c: &BrokerController, r: &RemotingCommand) -> Answer {
    let h: GetMaxOffsetRequestHeader = decode_header(r)?;
    let offset = c.store.max_offset_in_queue(&h.topic, h.queue_id);
    Ok(success(r).with_header(&GetMaxOffsetResponseHeader { offset }))
}

fn get_min_offset(c: &BrokerController, r: &RemotingCommand) -> Answer {
    let h: GetMinOffsetRequestHeader = decode_header(r)?;
    let offset = c.store.min_offset_in_queue(&h.topic, h.queue_id);
    Ok(success(r).with_header(&GetMinOffsetResponseHeader { offset }))
}

fn earliest_msg_storetime(c: &BrokerController, r: &RemotingCommand) -> Answer {
    let h: GetEarliestMsgStoretimeRequestHeader = decode_header(r)?;
    let timestamp = c.store.earliest_message_time(&h.topic, h.queue_id);
    Ok(success(r).with_header(&GetEarliestMsgStoretimeResponseHeader { timestamp }))
}

fn update_subscription_group(c: &BrokerController, r: &RemotingCommand) -> Answer {
    let config = SubscriptionGroupConfig::decode(r.body_bytes()).map_err(|e| {
        error_response(r, ResponseCode::SYSTEM_ERROR, format!("bad subscription group body: {e}"))
    })?;
    tv::validate_group(&config.group_name)
        .map_err(|remark| error_response(r, ResponseCode::INVALID_PARAMETER, remark))?;
    c.subscription_group_manager
        .update_subscription_group_config(config)
        .map_err(|e| error_response(r, ResponseCode::SYSTEM_ERROR, e))?;
    Ok(success(r))
}

fn message_queue(c: &BrokerController, topic: &str, queue_id: i32) -> MessageQueue {
    MessageQueue { broker_name: c.config.broker_name.clone(), queue_id, topic: topic.to_owned() }
}

fn topic_stats(c: &BrokerController, r: &RemotingCommand) -> Answer {
    let h: GetTopicStatsInfoRequestHeader = decode_header(r)?;
    let Some(topic) = c.topic_config_manager.select(&h.topic) else {
        return Err(error_response(
            r,
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist", h.topic),
        ));
    };
    let s = &c.store;
    let entries: Vec<(MessageQueue, TopicOffset)> = (0..topic.write_queue_nums)
        .map(|q| {
            let min = s.min_offset_in_queue(&h.topic, q);
            let max = s.max_offset_in_queue(&h.topic, q);
            let last = if max > 0 { s.message_store_timestamp(&h.topic, q, max - 1) } else { 0 };
            (
                message_queue(c, &h.topic, q),
                TopicOffset { min_offset: min, max_offset: max, last_update_timestamp: last },
            )
        })
        .collect();
    let body = crate::admin_body::topic_stats_json(&entries)
        .map_err(|e| error_response(r, ResponseCode::SYSTEM_ERROR, e.to_string()))?;
    Ok(success(r).with_body(body))
}

fn consume_stats(c: &BrokerController, r: &RemotingCommand) -> Answer {
    let h: GetConsumeStatsRequestHeader = decode_header(r)?;
    let group = &h.consumer_group;
    let topics = match h.topic.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => vec![t.to_owned()],
        None => c.consumer_offset_manager.which_topic_by_consumer(group),
    };
    let s = &c.store;
    let mut entries = Vec::new();
    for topic in topics {
        let Some(config) = c.topic_config_manager.select(&topic) else { continue };
        for q in 0..config.write_queue_nums {
            let broker_offset = s.max_offset_in_queue(&topic, q).max(0);
            let consumer_offset = c.consumer_offset_manager.query_offset(group, &topic, q).max(0);
            let last_timestamp = if consumer_offset > 0 {
                s.message_store_timestamp(&topic, q, consumer_offset - 1)
            } else {
                0
            };
            entries.push((
                message_queue(c, &topic, q),
                OffsetWrapper {
                    broker_offset,
                    consumer_offset,
                    pull_offset: consumer_offset,
                    last_timestamp,
                },
            ));
        }
    }
    let body = consume_stats_json(&entries, 0.0)
        .map_err(|e| error_response(r, ResponseCode::SYSTEM_ERROR, e.to_string()))?;
    Ok(success(r).with_body(body))
}

fn consumer_connection_list(c: &BrokerController, r: &RemotingCommand) -> Answer {
    let h: GetConsumerConnectionListRequestHeader = decode_header(r)?;
    let Some(info) = c.consumer_manager.get_consumer_group_info(&h.consumer_group) else {
        return Err(error_response(
            r,
            ResponseCode::CONSUMER_NOT_ONLINE,
            format!("the consumer group[{}] not online", h.consumer_group),
        ));
    };
    let body = ConsumerConnection {
        connection_set: info
            .channels
            .values()
            .map(|ch| Connection {
                client_addr: ch.channel.remote_addr().to_string(),
                client_id: ch.client_id.clone(),
                language: ch.language.name().to_owned(),
                version: ch.version,
            })
            .collect(),
        consume_from_where: info.consume_from_where,
        consume_type: info.consume_type,
        message_model: info.message_model,
        subscription_table: info.subscription_table.clone(),
    };
    json_body(r, &body).map(|b| success(r).with_body(b))
}

fn lock_batch_mq(c: &BrokerController, r: &RemotingCommand) -> Answer {
    let body = LockBatchRequestBody::decode(r.body_bytes()).map_err(|e| {
        error_response(r, ResponseCode::SYSTEM_ERROR, format!("bad lock body: {e}"))
    })?;
    let now = rt::clock::now_millis() as i64;
    let locked = c.rebalance_lock_manager.try_lock_batch(
        &body.consumer_group,
        &body.mq_set,
        &body.client_id,
        now,
    );
    json_body(r, &LockBatchResponseBody { lock_ok_mq_set: locked }).map(|b| success(r).with_body(b))
}

fn unlock_batch_mq(c: &BrokerController, r: &RemotingCommand) -> Answer {
    let body = UnlockBatchRequestBody::decode(r.body_bytes()).map_err(|e| {
        error_response(r, ResponseCode::SYSTEM_ERROR, format!("bad unlock body: {e}"))
    })?;
    c.rebalance_lock_manager.unlock_batch(&body.consumer_group, &body.mq_set, &body.client_id);
    Ok(success(r))
}
