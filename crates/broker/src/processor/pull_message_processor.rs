//! PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361) (RocketMQ `PullMessageProcessor` and
//! `DefaultPullMessageResultHandler`): checks, the subscription to filter with, the read from
//! the store, the status → code mapping of reference §6.1, the exact tag match before delivery,
//! the COMMIT_OFFSET side effect, and parking in long polling.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use protocol::body::perm;
use protocol::header::{PullMessageRequestHeader, PullMessageResponseHeader};
use protocol::message::sysflag::pull;
use protocol::message::{decode_message, TagFilter};
use protocol::{RemotingCommand, ResponseCode};
use remoting::{Channel, ProcessFuture, RequestProcessor};
use store::{GetMessageResult, GetMessageStatus, MessageFilter};

use super::{decode_header, error_response, join_records};
use crate::broker_controller::BrokerController;
use crate::pull_request_hold_service::PullRequest;

/// The pull processor.
pub struct PullMessageProcessor {
    c: Arc<BrokerController>,
}

impl PullMessageProcessor {
    /// A processor for `c`.
    pub fn new(c: Arc<BrokerController>) -> Self {
        Self { c }
    }
}

impl RequestProcessor for PullMessageProcessor {
    fn process(&self, channel: &Channel, request: RemotingCommand) -> ProcessFuture {
        let c = self.c.clone();
        let channel = channel.clone();
        Box::pin(async move { process_pull(&c, &channel, &request, true) })
    }
}

/// The store-side filter: a ConsumeQueue tags code must be one of the subscription's.
struct TagCodeFilter<'a>(&'a TagFilter);

impl MessageFilter for TagCodeFilter<'_> {
    fn is_matched_by_tags_code(&self, tags_code: i64) -> bool {
        self.0.matches_code(tags_code)
    }
}

/// The response code for a store status (reference §6.1); `request_offset` decides between
/// OFFSET_MOVED and NOT_FOUND for an empty or unknown queue.
pub fn status_to_code(status: GetMessageStatus, request_offset: i64) -> i32 {
    use GetMessageStatus as S;
    match status {
        S::Found => ResponseCode::SUCCESS,
        S::NoMatchedMessage | S::MessageWasRemoving => ResponseCode::PULL_RETRY_IMMEDIATELY,
        S::NoMatchedLogicQueue | S::NoMessageInQueue => {
            if request_offset != 0 {
                ResponseCode::PULL_OFFSET_MOVED
            } else {
                ResponseCode::PULL_NOT_FOUND
            }
        }
        S::OffsetFoundNull | S::OffsetOverflowOne => ResponseCode::PULL_NOT_FOUND,
        S::OffsetOverflowBadly | S::OffsetTooSmall => ResponseCode::PULL_OFFSET_MOVED,
    }
}

/// Runs one pull. `None`: the request was parked (its response comes later, from the hold
/// service). A re-run of a parked pull passes `allow_suspend = false`, so it answers whatever
/// it finds and never commits the offset twice.
pub fn process_pull(
    c: &BrokerController,
    channel: &Channel,
    request: &RemotingCommand,
    allow_suspend: bool,
) -> Option<RemotingCommand> {
    let h: PullMessageRequestHeader = match decode_header(request) {
        Ok(h) => h,
        Err(resp) => return Some(resp),
    };
    let filter = match check_and_subscription(c, request, &h) {
        Ok(f) => f,
        Err(resp) => return Some(resp),
    };
    let max_nums = h.max_msg_nums.clamp(1, c.config.max_pull_msg_nums.max(1)) as usize;
    let max_bytes = h.max_msg_bytes.filter(|b| *b > 0).map_or(usize::MAX, |b| b as usize);
    let store_filter = TagCodeFilter(&filter);
    let store_filter: Option<&dyn MessageFilter> =
        if matches!(*filter, TagFilter::All) { None } else { Some(&store_filter) };
    let mut result = c.store.get_message(
        &h.topic,
        h.queue_id,
        h.queue_offset,
        max_nums,
        max_bytes,
        store_filter,
    );
    exact_tag_match(&filter, &mut result);

    let code = status_to_code(result.status, h.queue_offset);
    if allow_suspend
        && h.sys_flag & pull::COMMIT_OFFSET != 0
        && c.config.is_master()
        && h.commit_offset >= 0
    {
        if let Err(e) = c.consumer_offset_manager.commit_offset(
            &h.consumer_group,
            &h.topic,
            h.queue_id,
            h.commit_offset,
        ) {
            tracing::warn!(group = %h.consumer_group, error = ?e, "pull commit offset refused");
        }
    }
    if code == ResponseCode::PULL_NOT_FOUND && allow_suspend && h.sys_flag & pull::SUSPEND != 0 {
        let timeout = if c.config.long_polling_enable {
            Duration::from_millis(h.suspend_timeout_millis.max(0) as u64)
        } else {
            Duration::from_millis(c.config.short_polling_time_mills)
        };
        let parked = PullRequest {
            request: request.clone(),
            channel: channel.clone(),
            suspend_at: rt::clock::now(),
            timeout,
            pull_from_this_offset: h.queue_offset,
            filter,
        };
        let hold = &c.pull_request_hold_service;
        return match hold.suspend_pull_request(&h.topic, h.queue_id, parked) {
            Ok(()) => {
                // A message dispatched between the read and the parking would not wake it.
                let max = c.store.max_offset_in_queue(&h.topic, h.queue_id);
                if max > h.queue_offset {
                    hold.notify_message_arriving(&h.topic, h.queue_id, max, None);
                }
                None
            }
            Err(_) => Some(error_response(
                request,
                ResponseCode::SYSTEM_BUSY,
                "[POLLING_FULL] too many pull requests held, try again later",
            )),
        };
    }
    let mut response = RemotingCommand::response_to(request, code)
        .with_remark(result.status.as_str())
        .with_header(&PullMessageResponseHeader {
            suggest_which_broker_id: 0,
            next_begin_offset: result.next_begin_offset,
            min_offset: result.min_offset,
            max_offset: result.max_offset,
            offset_delta: None,
            topic_sys_flag: None,
            group_sys_flag: None,
            forbidden_type: None,
        });
    if code == ResponseCode::SUCCESS {
        c.stats.inc_get(result.messages.len() as u64);
        response.body = Some(join_records(&result.messages));
    }
    Some(response)
}

/// Drops records whose TAGS only collide with a subscribed tag's hash. If none is left, the
/// pull becomes NO_MATCHED_MESSAGE (retry at once from the advanced next offset).
fn exact_tag_match(filter: &TagFilter, result: &mut GetMessageResult) {
    if matches!(filter, TagFilter::All) || result.status != GetMessageStatus::Found {
        return;
    }
    let keep = |record: &Bytes| match decode_message(record, false) {
        Ok(m) => filter.matches_tag(m.tags()),
        // The store checked the record; one the codec cannot read goes to the client, which
        // skips what it cannot decode.
        Err(_) => true,
    };
    let before = result.messages.len();
    let mut kept_offsets = Vec::with_capacity(before);
    let mut kept = Vec::with_capacity(before);
    for (record, offset) in result.messages.drain(..).zip(result.message_queue_offsets.drain(..)) {
        if keep(&record) {
            kept.push(record);
            kept_offsets.push(offset);
        }
    }
    result.buffer_total_size = kept.iter().map(Bytes::len).sum();
    result.messages = kept;
    result.message_queue_offsets = kept_offsets;
    if result.messages.is_empty() {
        result.status = GetMessageStatus::NoMatchedMessage;
    }
}

/// Permissions, group, topic and queue checks, then the subscription's tag filter.
fn check_and_subscription(
    c: &BrokerController,
    request: &RemotingCommand,
    h: &PullMessageRequestHeader,
) -> Result<Arc<TagFilter>, RemotingCommand> {
    let err = |code, remark: String| error_response(request, code, remark);
    if !perm::is_readable(c.config.broker_permission) {
        return Err(err(
            ResponseCode::NO_PERMISSION,
            format!("the broker[{}] pulling message is forbidden", c.config.broker_name),
        ));
    }
    let Some(group) =
        c.subscription_group_manager.find_subscription_group_config(&h.consumer_group)
    else {
        return Err(err(
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("subscription group [{}] does not exist", h.consumer_group),
        ));
    };
    if !group.consume_enable {
        return Err(err(
            ResponseCode::NO_PERMISSION,
            format!("subscription group no permission, {}", h.consumer_group),
        ));
    }
    let Some(topic) = c.topic_config_manager.select(&h.topic) else {
        return Err(err(
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist, apply first please!", h.topic),
        ));
    };
    if !perm::is_readable(topic.perm) {
        return Err(err(
            ResponseCode::NO_PERMISSION,
            format!("the topic[{}] pulling message is forbidden", h.topic),
        ));
    }
    if h.queue_id < 0 || h.queue_id >= topic.read_queue_nums {
        return Err(err(
            ResponseCode::SYSTEM_ERROR,
            format!(
                "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}] consumer:[{}]",
                h.queue_id,
                h.topic,
                topic.read_queue_nums,
                request.ext_fields.get("consumerGroup").unwrap_or_default()
            ),
        ));
    }
    let (expression, expression_type) = if h.sys_flag & pull::SUBSCRIPTION != 0 {
        (
            h.subscription.clone().unwrap_or_default(),
            h.expression_type.clone().unwrap_or_else(|| "TAG".to_owned()),
        )
    } else {
        let Some(info) = c.consumer_manager.get_consumer_group_info(&h.consumer_group) else {
            return Err(err(
                ResponseCode::SUBSCRIPTION_NOT_EXIST,
                format!("the consumer's group info not exist, group: {}", h.consumer_group),
            ));
        };
        let Some(sub) = info.subscription_table.get(&h.topic) else {
            return Err(err(
                ResponseCode::SUBSCRIPTION_NOT_EXIST,
                format!("the consumer's subscription not exist, topic: {}", h.topic),
            ));
        };
        if sub.sub_version < h.sub_version {
            return Err(err(
                ResponseCode::SUBSCRIPTION_NOT_LATEST,
                format!("the consumer's subscription not latest, topic: {}", h.topic),
            ));
        }
        (sub.sub_string.clone(), sub.expression_type.clone())
    };
    if !expression_type.is_empty() && !expression_type.eq_ignore_ascii_case("TAG") {
        return Err(err(
            ResponseCode::SYSTEM_ERROR,
            format!("The broker does not support consumer to filter message by {expression_type}"),
        ));
    }
    Ok(Arc::new(TagFilter::parse(&expression)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_follow_reference() {
        use GetMessageStatus as S;
        let table = [
            (S::Found, 5, 0),
            (S::NoMatchedMessage, 5, 20),
            (S::MessageWasRemoving, 5, 20),
            (S::NoMessageInQueue, 0, 19),
            (S::NoMessageInQueue, 3, 21),
            (S::NoMatchedLogicQueue, 0, 19),
            (S::NoMatchedLogicQueue, 3, 21),
            (S::OffsetFoundNull, 3, 19),
            (S::OffsetOverflowOne, 3, 19),
            (S::OffsetOverflowBadly, 9, 21),
            (S::OffsetTooSmall, 0, 21),
        ];
        for (status, offset, code) in table {
            assert_eq!(status_to_code(status, offset), code, "{status:?} at {offset}");
        }
    }
}
