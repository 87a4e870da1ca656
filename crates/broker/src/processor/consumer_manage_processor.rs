//! GET_CONSUMER_LIST_BY_GROUP (38), QUERY_CONSUMER_OFFSET (14) and UPDATE_CONSUMER_OFFSET (15)
//! (RocketMQ `ConsumerManageProcessor`).

use std::sync::Arc;

use protocol::body::ConsumerListByGroupResponseBody;
use protocol::header::{
    GetConsumerListByGroupRequestHeader, QueryConsumerOffsetRequestHeader,
    QueryConsumerOffsetResponseHeader, UpdateConsumerOffsetRequestHeader,
};
use protocol::{RemotingCommand, RequestCode, ResponseCode};
use remoting::{Channel, ProcessFuture, RequestProcessor};

use super::{decode_header, error_response, json_body, success};
use crate::broker_controller::BrokerController;

/// The consumer offset and membership processor.
pub struct ConsumerManageProcessor {
    c: Arc<BrokerController>,
}

impl ConsumerManageProcessor {
    /// A processor for `c`.
    pub fn new(c: Arc<BrokerController>) -> Self {
        Self { c }
    }
}

impl RequestProcessor for ConsumerManageProcessor {
    fn process(&self, _channel: &Channel, request: RemotingCommand) -> ProcessFuture {
        let c = self.c.clone();
        Box::pin(async move {
            Some(match request.code {
                RequestCode::GET_CONSUMER_LIST_BY_GROUP => consumer_list(&c, &request),
                RequestCode::QUERY_CONSUMER_OFFSET => query_consumer_offset(&c, &request),
                _ => update_consumer_offset(&c, &request),
            })
        })
    }
}

fn consumer_list(c: &BrokerController, request: &RemotingCommand) -> RemotingCommand {
    let h: GetConsumerListByGroupRequestHeader = match decode_header(request) {
        Ok(h) => h,
        Err(resp) => return resp,
    };
    let ids = c
        .consumer_manager
        .get_consumer_group_info(&h.consumer_group)
        .map(|g| g.all_client_ids())
        .unwrap_or_default();
    if ids.is_empty() {
        return error_response(
            request,
            ResponseCode::SYSTEM_ERROR,
            format!("no consumer for this group, {}", h.consumer_group),
        );
    }
    match json_body(request, &ConsumerListByGroupResponseBody { consumer_id_list: ids }) {
        Ok(body) => success(request).with_body(body),
        Err(resp) => resp,
    }
}

fn query_consumer_offset(c: &BrokerController, request: &RemotingCommand) -> RemotingCommand {
    let h: QueryConsumerOffsetRequestHeader = match decode_header(request) {
        Ok(h) => h,
        Err(resp) => return resp,
    };
    let offset = c.consumer_offset_manager.query_offset(&h.consumer_group, &h.topic, h.queue_id);
    let offset = if offset >= 0 {
        Some(offset)
    } else if h.set_zero_if_not_found == Some(false) {
        None
    } else {
        // A group new to this queue starts at 0 only if nothing was ever deleted from it: the
        // queue starts at 0 and its first message is still readable (or it is still empty).
        let min = c.store.min_offset_in_queue(&h.topic, h.queue_id);
        let max = c.store.max_offset_in_queue(&h.topic, h.queue_id);
        let first_present = max == 0
            || c.store
                .consume_queue_entry(&h.topic, h.queue_id, 0)
                .and_then(|e| c.store.look_message_by_offset(e.commit_log_offset))
                .is_some();
        (min <= 0 && first_present).then_some(0)
    };
    match offset {
        Some(offset) => success(request).with_header(&QueryConsumerOffsetResponseHeader { offset }),
        None => error_response(
            request,
            ResponseCode::QUERY_NOT_FOUND,
            "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first",
        ),
    }
}

fn update_consumer_offset(c: &BrokerController, request: &RemotingCommand) -> RemotingCommand {
    let h: UpdateConsumerOffsetRequestHeader = match decode_header(request) {
        Ok(h) => h,
        Err(resp) => return resp,
    };
    if c.topic_config_manager.select(&h.topic).is_none() {
        return error_response(
            request,
            ResponseCode::TOPIC_NOT_EXIST,
            format!("Topic {} not exist!", h.topic),
        );
    }
    match c.consumer_offset_manager.commit_offset(
        &h.consumer_group,
        &h.topic,
        h.queue_id,
        h.commit_offset,
    ) {
        Ok(()) => success(request),
        Err(e) => error_response(request, ResponseCode::SYSTEM_BUSY, format!("{e:?}")),
    }
}
