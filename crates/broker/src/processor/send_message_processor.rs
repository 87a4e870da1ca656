//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320) (RocketMQ
//! `SendMessageProcessor`): check the request, find or auto-create the topic, pick the queue,
//! build the stored message and map the store's status to RocketMQ's response codes.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use protocol::body::{perm, TopicConfig};
use protocol::header::{is_batch_request, SendMessageRequestHeader, SendMessageResponseHeader};
use protocol::message::msg_id::month_start_utc;
use protocol::message::properties::{self as props, append_property, find_property};
use protocol::message::{decode_batch, sysflag, tags_code, MessageExtBrokerInner, UniqKeyPrefix};
use protocol::{RemotingCommand, RequestCode, ResponseCode};
use remoting::{Channel, ProcessFuture, RequestProcessor};
use store::{PutMessageResult, PutMessageStatus};

use super::consumer_send_msg_back::{consumer_send_msg_back, DLQ_NUMS_PER_GROUP};
use super::error_response;
use crate::broker_controller::BrokerController;
use crate::topic_config_manager::CreateTopicError;
use crate::topic_validator as tv;

/// Queues of a retry or dead-letter topic created on the send path.
const RETRY_DLQ_QUEUE_NUMS: i32 = 1;

/// The send processor; one instance serves all three codes.
pub struct SendMessageProcessor {
    c: Arc<BrokerController>,
    uniq: Arc<UniqKeyGenerator>,
}

impl SendMessageProcessor {
    /// A processor for `c`.
    pub fn new(c: Arc<BrokerController>) -> Self {
        let uniq = Arc::new(UniqKeyGenerator::new(&c));
        Self { c, uniq }
    }
}

impl RequestProcessor for SendMessageProcessor {
    fn process(&self, channel: &Channel, request: RemotingCommand) -> ProcessFuture {
        let c = self.c.clone();
        let uniq = self.uniq.clone();
        let born_host = channel.remote_addr();
        Box::pin(async move {
            Some(if request.code == RequestCode::CONSUMER_SEND_MSG_BACK {
                consumer_send_msg_back(&c, &request).await
            } else {
                send_message(&c, born_host, &request, &uniq).await
            })
        })
    }
}

/// UNIQ_KEYs for messages whose producer did not set one, in the client's layout: the broker's
/// IP, a random "pid" and "class loader hash" (so two broker processes on one host differ),
/// the ms since the start of the month and a counter.
struct UniqKeyGenerator {
    prefix: UniqKeyPrefix,
    counter: AtomicU32,
}

impl UniqKeyGenerator {
    fn new(c: &BrokerController) -> Self {
        let r = rt::rand::u64();
        let prefix = UniqKeyPrefix::new(c.config.broker_ip1, r as i16, (r >> 16) as i32);
        Self { prefix, counter: AtomicU32::new(0) }
    }

    fn next(&self) -> String {
        let now = rt::clock::now_millis() as i64;
        let elapsed = (now - month_start_utc(now)) as i32;
        let counter = self.counter.fetch_add(1, Ordering::Relaxed) as i16;
        self.prefix.create(elapsed, counter)
    }
}

/// RocketMQ `handlePutMessageResult`: the response code (and remark) for a store status.
pub fn put_status_to_response(status: PutMessageStatus) -> (i32, Option<&'static str>) {
    match status {
        PutMessageStatus::PutOk => (ResponseCode::SUCCESS, None),
        PutMessageStatus::FlushDiskTimeout => (ResponseCode::FLUSH_DISK_TIMEOUT, None),
        PutMessageStatus::FlushSlaveTimeout => (ResponseCode::FLUSH_SLAVE_TIMEOUT, None),
        PutMessageStatus::SlaveNotAvailable => (ResponseCode::SLAVE_NOT_AVAILABLE, None),
        PutMessageStatus::CreateMappedFileFailed => (
            ResponseCode::SYSTEM_ERROR,
            Some("create mapped file failed, server is busy or broken."),
        ),
        PutMessageStatus::MessageIllegal | PutMessageStatus::PropertiesSizeExceeded => (
            ResponseCode::MESSAGE_ILLEGAL,
            Some(
                "the message is illegal, maybe msg body or properties length not matched. msg \
                 body length limit 4m, msg properties length limit 32k.",
            ),
        ),
        PutMessageStatus::ServiceNotAvailable => (
            ResponseCode::SERVICE_NOT_AVAILABLE,
            Some(
                "service not available now. It may be caused by the store being shut down or a \
                 failed disk flush.",
            ),
        ),
        PutMessageStatus::OsPageCacheBusy => (
            ResponseCode::SYSTEM_ERROR,
            Some("[PC_SYNCHRONIZED]broker busy, start flow control for a while"),
        ),
        PutMessageStatus::UnknownError => (ResponseCode::SYSTEM_ERROR, Some("UNKNOWN_ERROR")),
    }
}

/// Whether the client gets a SendResult (the message is stored) for this code.
fn is_send_ok(code: i32) -> bool {
    matches!(
        code,
        ResponseCode::SUCCESS
            | ResponseCode::FLUSH_DISK_TIMEOUT
            | ResponseCode::FLUSH_SLAVE_TIMEOUT
            | ResponseCode::SLAVE_NOT_AVAILABLE
    )
}

async fn send_message(
    c: &BrokerController,
    born_host: SocketAddr,
    request: &RemotingCommand,
    uniq: &UniqKeyGenerator,
) -> RemotingCommand {
    let header = match SendMessageRequestHeader::parse(request.code, &request.ext_fields) {
        Ok(h) => h,
        Err(e) => {
            return error_response(
                request,
                ResponseCode::SYSTEM_ERROR,
                format!("decode request header failed: {e}"),
            )
        }
    };
    let checked = msg_check(c, request, &header)
        .and_then(|(config, queue_id)| handle_retry_and_dlq(c, request, &header, config, queue_id));
    let (topic, topic_config, queue_id) = match checked {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    // handle_retry_and_dlq moved an exhausted retry to the dead-letter topic.
    let diverted_to_dlq = topic != header.topic;
    let mut sys_flag = header.sys_flag;
    if sysflag::transaction_type(sys_flag) == sysflag::TRANSACTION_PREPARED_TYPE
        || header.properties.as_deref().and_then(|p| find_property(p, props::TRAN_MSG))
            == Some("true")
    {
        // Half messages need the transaction service (check-backs, commit/rollback), which this
        // broker does not run; storing them would hide them forever.
        return error_response(
            request,
            ResponseCode::NO_PERMISSION,
            format!(
                "the broker[{}] sending transaction message is forbidden",
                c.config.broker_name
            ),
        );
    }
    if topic_config.topic_filter_type == "MULTI_TAG" {
        sys_flag |= sysflag::MULTI_TAGS_FLAG;
    }
    let template = MessageExtBrokerInner {
        topic,
        queue_id,
        flag: header.flag,
        sys_flag,
        born_timestamp: header.born_timestamp,
        born_host,
        store_timestamp: 0,
        store_host: c.store_host,
        reconsume_times: header.reconsume_times.unwrap_or(0),
        prepared_transaction_offset: 0,
        body: Bytes::new(),
        properties: String::new(),
        tags_code: 0,
    };
    let cluster = &c.config.broker_cluster_name;
    let result = if is_batch_request(request.code, &header) {
        let body = request.body.clone().unwrap_or_default();
        let elements = match decode_batch(&body) {
            Ok(e) if !e.is_empty() => e,
            Ok(_) => {
                return error_response(request, ResponseCode::MESSAGE_ILLEGAL, "empty batch body")
            }
            Err(e) => {
                return error_response(
                    request,
                    ResponseCode::MESSAGE_ILLEGAL,
                    format!("bad batch body: {e}"),
                )
            }
        };
        if tv::is_retry_or_dlq(&header.topic) {
            return error_response(
                request,
                ResponseCode::MESSAGE_ILLEGAL,
                "batch message does not support retry group",
            );
        }
        let mut msgs = Vec::with_capacity(elements.len());
        for e in elements {
            if e.property(props::DELAY).is_some_and(|d| d.trim() != "0") {
                return error_response(
                    request,
                    ResponseCode::MESSAGE_ILLEGAL,
                    "batch message does not support delay message",
                );
            }
            let properties = match complete_properties(&e.properties, cluster, uniq) {
                Ok(p) => p,
                Err(resp) => return error_response(request, resp.0, resp.1),
            };
            msgs.push(MessageExtBrokerInner {
                flag: e.flag,
                body: e.body,
                tags_code: tags_code(find_property(&properties, props::TAGS)),
                properties,
                ..template.clone()
            });
        }
        c.store.put_messages(&msgs).await
    } else {
        let raw = header.properties.as_deref().unwrap_or_default();
        let properties = match complete_properties(raw, cluster, uniq) {
            Ok(p) => p,
            Err(resp) => return error_response(request, resp.0, resp.1),
        };
        let mut msg = MessageExtBrokerInner {
            body: request.body.clone().unwrap_or_default(),
            tags_code: tags_code(find_property(&properties, props::TAGS)),
            properties,
            ..template
        };
        if let Err(resp) = handle_schedule_message(c, &mut msg, diverted_to_dlq) {
            return error_response(request, resp.0, resp.1);
        }
        c.store.put_message(&msg).await
    };
    put_result_response(c, request, queue_id, &result)
}

/// RocketMQ `HookUtils.handleScheduleMessage`: a message asking for a delay level is stored in
/// the schedule topic instead (see `schedule::transform`); the SendResult still names the
/// queue the producer chose, as RocketMQ answers with the request's queue id. A retry diverted
/// to the dead-letter topic is not delayed: RocketMQ's handleRetryAndDLQ sets its DELAY to 0,
/// and so does this.
fn handle_schedule_message(
    c: &BrokerController,
    msg: &mut MessageExtBrokerInner,
    diverted_to_dlq: bool,
) -> Result<(), (i32, String)> {
    let bad = |e: protocol::ProtocolError| (ResponseCode::MESSAGE_ILLEGAL, e.to_string());
    if diverted_to_dlq {
        if find_property(&msg.properties, props::DELAY).is_some() {
            let mut map = props::parse_properties(&msg.properties);
            map.insert(props::DELAY.to_owned(), "0".to_owned());
            msg.properties = props::properties_to_string(&map).map_err(bad)?;
        }
        return Ok(());
    }
    c.schedule_message_service.transform_delay_level_message(msg).map(drop).map_err(bad)
}

/// Adds UNIQ_KEY (if the producer did not) and CLUSTER to a message's properties.
fn complete_properties(
    raw: &str,
    cluster: &str,
    uniq: &UniqKeyGenerator,
) -> Result<String, (i32, String)> {
    let mut properties = raw.to_owned();
    let bad = |e: protocol::ProtocolError| (ResponseCode::MESSAGE_ILLEGAL, e.to_string());
    if find_property(&properties, props::UNIQ_KEY).is_none() {
        append_property(&mut properties, props::UNIQ_KEY, &uniq.next()).map_err(bad)?;
    }
    if find_property(&properties, props::CLUSTER).is_none() {
        append_property(&mut properties, props::CLUSTER, cluster).map_err(bad)?;
    }
    Ok(properties)
}

fn put_result_response(
    c: &BrokerController,
    request: &RemotingCommand,
    queue_id: i32,
    result: &PutMessageResult,
) -> RemotingCommand {
    let (code, remark) = put_status_to_response(result.status);
    let mut response = RemotingCommand::response_to(request, code);
    response.remark = remark.map(str::to_owned);
    if is_send_ok(code) {
        let Some(append) = &result.append else {
            return error_response(
                request,
                ResponseCode::SYSTEM_ERROR,
                "store returned no offsets",
            );
        };
        c.stats.inc_put(append.msg_num.max(0) as u64);
        response = response.with_header(&SendMessageResponseHeader {
            msg_id: append.msg_id.clone(),
            queue_id,
            queue_offset: append.logics_offset,
            transaction_id: None,
            batch_uniq_id: None,
            recall_handle: None,
            msg_region: Some(c.config.region_id.clone()),
            trace_on: Some(c.config.trace_on.to_string()),
        });
    }
    response
}

/// RocketMQ `handleRetryAndDLQ`: a message re-sent to a retry topic by a consumer whose
/// send-back failed goes to the group's dead-letter topic once its retries are used up.
fn handle_retry_and_dlq(
    c: &BrokerController,
    request: &RemotingCommand,
    h: &SendMessageRequestHeader,
    config: TopicConfig,
    queue_id: i32,
) -> Result<(String, TopicConfig, i32), RemotingCommand> {
    let Some(group) = h.topic.strip_prefix(tv::RETRY_GROUP_TOPIC_PREFIX) else {
        return Ok((h.topic.clone(), config, queue_id));
    };
    let Some(group_config) = c.subscription_group_manager.find_subscription_group_config(group)
    else {
        return Err(error_response(
            request,
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("subscription group not exist, {group}"),
        ));
    };
    let max = match h.max_reconsume_times {
        Some(n) if request.version >= protocol::code::version::V3_4_9 && n >= 0 => n,
        _ => group_config.retry_max_times,
    };
    if h.reconsume_times.unwrap_or(0) <= max {
        return Ok((h.topic.clone(), config, queue_id));
    }
    let dlq = tv::dlq_topic(group);
    match c.topic_config_manager.create_topic_in_send_message_back_method(
        &dlq,
        DLQ_NUMS_PER_GROUP,
        perm::READ | perm::WRITE,
    ) {
        Ok((dlq_config, fresh)) => {
            if fresh {
                c.register_broker_all_soon();
            }
            let q = (rt::rand::u64() % DLQ_NUMS_PER_GROUP as u64) as i32;
            Ok((dlq, dlq_config, q))
        }
        Err(e) => Err(error_response(
            request,
            ResponseCode::SYSTEM_ERROR,
            format!("topic[{dlq}] not exist: {e:?}"),
        )),
    }
}

/// RocketMQ `msgCheck`: broker and topic permissions, topic name, the topic itself (created
/// from TBW102 when allowed) and the queue id (negative: pick one at random).
fn msg_check(
    c: &BrokerController,
    request: &RemotingCommand,
    h: &SendMessageRequestHeader,
) -> Result<(TopicConfig, i32), RemotingCommand> {
    let err = |code, remark: String| error_response(request, code, remark);
    if !perm::is_writeable(c.config.broker_permission) {
        return Err(err(
            ResponseCode::NO_PERMISSION,
            format!("the broker[{}] sending message is forbidden", c.config.broker_name),
        ));
    }
    if let Err(remark) = tv::validate_topic(&h.topic) {
        return Err(err(ResponseCode::INVALID_PARAMETER, remark));
    }
    if tv::is_not_allowed_send_topic(&h.topic) {
        return Err(err(
            ResponseCode::NO_PERMISSION,
            format!("Sending message to topic[{}] is forbidden.", h.topic),
        ));
    }
    let tcm = &c.topic_config_manager;
    let created = if h.topic.starts_with(tv::RETRY_GROUP_TOPIC_PREFIX) {
        tcm.create_topic_in_send_message_back_method(
            &h.topic,
            RETRY_DLQ_QUEUE_NUMS,
            perm::READ | perm::WRITE,
        )
        .map(Some)
    } else {
        tcm.create_topic_in_send_message_method(
            &h.topic,
            &h.default_topic,
            h.default_topic_queue_nums,
            0,
        )
    };
    let config = match created {
        Ok(Some((config, fresh))) => {
            if fresh {
                c.register_broker_all_soon();
            }
            config
        }
        Ok(None) => {
            return Err(err(
                ResponseCode::TOPIC_NOT_EXIST,
                format!("topic[{}] not exist, apply first please!", h.topic),
            ))
        }
        Err(CreateTopicError::TableFull(max)) => {
            return Err(err(
                ResponseCode::SYSTEM_ERROR,
                format!("cannot create topic[{}]: the broker holds {max} topics", h.topic),
            ))
        }
        Err(CreateTopicError::Persist(e)) => {
            return Err(err(
                ResponseCode::SYSTEM_ERROR,
                format!("cannot create topic[{}]: {e}", h.topic),
            ))
        }
    };
    if !perm::is_writeable(config.perm) {
        return Err(err(
            ResponseCode::NO_PERMISSION,
            format!("the topic[{}] sending message is forbidden", h.topic),
        ));
    }
    let limit = config.write_queue_nums.max(config.read_queue_nums);
    let queue_id = if h.queue_id < 0 {
        let n = config.write_queue_nums.max(1) as u64;
        (rt::rand::u64() % n) as i32
    } else if h.queue_id >= limit {
        return Err(err(
            ResponseCode::INVALID_PARAMETER,
            format!(
                "request queueId[{}] is illegal, {:?} Producer: {}",
                h.queue_id,
                config,
                request.ext_fields.get("producerGroup").unwrap_or_default()
            ),
        ));
    } else {
        h.queue_id
    };
    Ok((config, queue_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_status_codes_follow_rocketmq() {
        use PutMessageStatus as S;
        let table = [
            (S::PutOk, 0),
            (S::FlushDiskTimeout, 10),
            (S::SlaveNotAvailable, 11),
            (S::FlushSlaveTimeout, 12),
            (S::MessageIllegal, 13),
            (S::PropertiesSizeExceeded, 13),
            (S::ServiceNotAvailable, 14),
            (S::CreateMappedFileFailed, 1),
            (S::OsPageCacheBusy, 1),
            (S::UnknownError, 1),
        ];
        for (status, code) in table {
            assert_eq!(put_status_to_response(status).0, code, "{status:?}");
        }
        assert!(is_send_ok(10) && is_send_ok(0) && !is_send_ok(13));
    }
}
