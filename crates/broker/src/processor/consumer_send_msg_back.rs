//! CONSUMER_SEND_MSG_BACK (36) (RocketMQ `AbstractSendMessageProcessor.consumerSendMsgBack`):
//! a consumer hands back a message it failed to consume; the broker stores a copy on the
//! group's retry topic, or on its dead-letter topic once the retries are used up.
//!
//! A retry copy is delayed (RocketMQ's back-off): level = the request's delayLevel if > 0, else
//! 3 + reconsume times, so it goes through the schedule topic and reaches the retry topic once
//! the level's delay has passed. A dead-letter copy is stored at once.

use protocol::body::perm;
use protocol::code::version;
use protocol::header::ConsumerSendMsgBackRequestHeader;
use protocol::message::properties as props;
use protocol::message::{decode_message, tags_code};
use protocol::{RemotingCommand, ResponseCode};
use store::PutMessageStatus;

use super::{decode_header, error_response, success};
use crate::broker_controller::BrokerController;
use crate::topic_validator::{dlq_topic, retry_topic};

/// Queues of a dead-letter topic.
pub const DLQ_NUMS_PER_GROUP: i32 = 1;

/// Handles one send-back request.
pub async fn consumer_send_msg_back(
    c: &BrokerController,
    request: &RemotingCommand,
) -> RemotingCommand {
    let h: ConsumerSendMsgBackRequestHeader = match decode_header(request) {
        Ok(h) => h,
        Err(resp) => return resp,
    };
    let err = |code, remark: String| error_response(request, code, remark);
    let Some(group) = c.subscription_group_manager.find_subscription_group_config(&h.group) else {
        return err(
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("subscription group not exist, {}", h.group),
        );
    };
    if !perm::is_writeable(c.config.broker_permission) {
        return err(
            ResponseCode::NO_PERMISSION,
            format!("the broker[{}] sending message is forbidden", c.config.broker_name),
        );
    }
    if group.retry_queue_nums <= 0 {
        // The group asked for no retries: the message is dropped, as RocketMQ does.
        return success(request);
    }
    let Some(record) = c.store.look_message_by_offset(h.offset) else {
        return err(
            ResponseCode::SYSTEM_ERROR,
            format!("look message by offset failed, {}", h.offset),
        );
    };
    let msg = match decode_message(&record, false) {
        Ok(m) => m,
        Err(e) => {
            return err(ResponseCode::SYSTEM_ERROR, format!("stored message unreadable: {e}"))
        }
    };
    let max_reconsume_times = match h.max_reconsume_times {
        Some(n) if request.version >= version::V3_4_9 && n >= 0 => n,
        _ => group.retry_max_times,
    };
    let to_dlq = msg.reconsume_times >= max_reconsume_times || h.delay_level < 0;
    let (topic, queue_nums) = if to_dlq {
        (dlq_topic(&h.group), DLQ_NUMS_PER_GROUP)
    } else {
        (retry_topic(&h.group), group.retry_queue_nums)
    };
    let config = match c.topic_config_manager.create_topic_in_send_message_back_method(
        &topic,
        queue_nums,
        perm::READ | perm::WRITE,
    ) {
        Ok((config, fresh)) => {
            if fresh {
                c.register_broker_all_soon();
            }
            config
        }
        Err(e) => {
            return err(ResponseCode::SYSTEM_ERROR, format!("topic[{topic}] not exist: {e:?}"))
        }
    };
    if !perm::is_writeable(config.perm) {
        return err(
            ResponseCode::NO_PERMISSION,
            format!("the topic[{topic}] sending message is forbidden"),
        );
    }
    let mut properties = msg.properties.clone();
    properties.entry(props::RETRY_TOPIC.to_owned()).or_insert_with(|| msg.topic.clone());
    let origin = h
        .origin_msg_id
        .clone()
        .filter(|s| !s.is_empty())
        .or_else(|| msg.property(props::ORIGIN_MESSAGE_ID).map(str::to_owned))
        .or_else(|| msg.uniq_key().map(str::to_owned))
        .unwrap_or_else(|| msg.msg_id());
    properties.insert(props::ORIGIN_MESSAGE_ID.to_owned(), origin);
    properties.insert(props::WAIT.to_owned(), "false".to_owned());
    // The store appends its own record CRC; the consumed record's would be a stale duplicate.
    properties.remove(props::CRC32);
    if to_dlq {
        // Nothing consumes a dead-letter topic on a schedule: keep it out of the schedule topic.
        properties.remove(props::DELAY);
    } else {
        let level =
            if h.delay_level == 0 { msg.reconsume_times.saturating_add(3) } else { h.delay_level };
        properties.insert(props::DELAY.to_owned(), level.to_string());
    }
    let properties = match props::properties_to_string(&properties) {
        Ok(p) => p,
        Err(e) => return err(ResponseCode::MESSAGE_ILLEGAL, e.to_string()),
    };
    let mut inner = match msg.to_inner(tags_code(msg.tags())) {
        Ok(i) => i,
        Err(e) => return err(ResponseCode::SYSTEM_ERROR, e.to_string()),
    };
    inner.topic = topic;
    inner.queue_id = (rt::rand::u64() % queue_nums.max(1) as u64) as i32;
    inner.store_host = c.store_host;
    inner.reconsume_times = msg.reconsume_times.saturating_add(1);
    inner.properties = properties;
    if let Err(e) = c.schedule_message_service.transform_delay_level_message(&mut inner) {
        return err(ResponseCode::MESSAGE_ILLEGAL, e.to_string());
    }
    let result = c.store.put_message(&inner).await;
    match result.status {
        PutMessageStatus::PutOk => success(request),
        other => err(ResponseCode::SYSTEM_ERROR, other.as_str().to_owned()),
    }
}
