//! QUERY_MESSAGE (12) and VIEW_MESSAGE_BY_ID (33) (RocketMQ `QueryMessageProcessor`): messages
//! by key from the index, and one message by its CommitLog offset (from an offsetMsgId).

use std::sync::Arc;

use protocol::header::{
    QueryMessageRequestHeader, QueryMessageResponseHeader, ViewMessageRequestHeader,
};
use protocol::{RemotingCommand, RequestCode, ResponseCode};
use remoting::{Channel, ProcessFuture, RequestProcessor};

use super::{decode_header, error_response, join_records, success};
use crate::broker_controller::BrokerController;

/// The query processor.
pub struct QueryMessageProcessor {
    c: Arc<BrokerController>,
}

impl QueryMessageProcessor {
    /// A processor for `c`.
    pub fn new(c: Arc<BrokerController>) -> Self {
        Self { c }
    }
}

impl RequestProcessor for QueryMessageProcessor {
    fn process(&self, _channel: &Channel, request: RemotingCommand) -> ProcessFuture {
        let c = self.c.clone();
        Box::pin(async move {
            Some(match request.code {
                RequestCode::QUERY_MESSAGE => query_message(&c, &request),
                _ => view_message_by_id(&c, &request),
            })
        })
    }
}

fn query_message(c: &BrokerController, request: &RemotingCommand) -> RemotingCommand {
    let h: QueryMessageRequestHeader = match decode_header(request) {
        Ok(h) => h,
        Err(resp) => return resp,
    };
    // A UNIQ_KEY names one message (or a few copies); a key query is capped by the config.
    let max = if h.unique_key_query == Some(true) {
        c.config.default_query_max_num
    } else {
        h.max_num.clamp(1, c.config.default_query_max_num.max(1))
    };
    match c.store.query_message(&h.topic, &h.key, max as usize, h.begin_timestamp, h.end_timestamp)
    {
        Ok(result) if !result.messages.is_empty() => success(request)
            .with_header(&QueryMessageResponseHeader {
                index_last_update_timestamp: result.index_last_update_timestamp,
                index_last_update_phyoffset: result.index_last_update_phyoffset,
            })
            .with_body(join_records(&result.messages)),
        Ok(_) => error_response(
            request,
            ResponseCode::QUERY_NOT_FOUND,
            "can not find message, maybe time range not correct",
        ),
        Err(e) => error_response(request, ResponseCode::SYSTEM_ERROR, e.to_string()),
    }
}

fn view_message_by_id(c: &BrokerController, request: &RemotingCommand) -> RemotingCommand {
    let h: ViewMessageRequestHeader = match decode_header(request) {
        Ok(h) => h,
        Err(resp) => return resp,
    };
    match c.store.look_message_by_offset(h.offset) {
        Some(record) => success(request).with_body(record),
        None => error_response(
            request,
            ResponseCode::SYSTEM_ERROR,
            format!("can not find message by the offset, {}", h.offset),
        ),
    }
}
