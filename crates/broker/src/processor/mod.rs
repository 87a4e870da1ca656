//! Request processors, one per RocketMQ processor, and their registration on the ports.
//!
//! Every processor answers bad input with a RocketMQ response code and a remark; none panics
//! or changes state on a request it rejects.

pub mod admin_broker_processor;
pub mod client_manage_processor;
pub mod consumer_manage_processor;
pub mod consumer_send_msg_back;
pub mod pull_message_processor;
pub mod query_message_processor;
pub mod send_message_processor;

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use protocol::{CommandHeader, RemotingCommand, RequestCode, ResponseCode};
use remoting::{RemotingServer, RequestProcessor};

use crate::broker_controller::BrokerController;

/// Registers every processor on `server` (whose table the VIP port shares).
pub fn register_all(server: &RemotingServer, c: &Arc<BrokerController>) {
    let send: Arc<dyn RequestProcessor> =
        Arc::new(send_message_processor::SendMessageProcessor::new(c.clone()));
    for code in [
        RequestCode::SEND_MESSAGE,
        RequestCode::SEND_MESSAGE_V2,
        RequestCode::SEND_BATCH_MESSAGE,
        RequestCode::CONSUMER_SEND_MSG_BACK,
    ] {
        server.register(code, send.clone());
    }
    let pull: Arc<dyn RequestProcessor> =
        Arc::new(pull_message_processor::PullMessageProcessor::new(c.clone()));
    server.register(RequestCode::PULL_MESSAGE, pull.clone());
    server.register(RequestCode::LITE_PULL_MESSAGE, pull);
    let query: Arc<dyn RequestProcessor> =
        Arc::new(query_message_processor::QueryMessageProcessor::new(c.clone()));
    server.register(RequestCode::QUERY_MESSAGE, query.clone());
    server.register(RequestCode::VIEW_MESSAGE_BY_ID, query);
    let client: Arc<dyn RequestProcessor> =
        Arc::new(client_manage_processor::ClientManageProcessor::new(c.clone()));
    for code in
        [RequestCode::HEART_BEAT, RequestCode::UNREGISTER_CLIENT, RequestCode::CHECK_CLIENT_CONFIG]
    {
        server.register(code, client.clone());
    }
    let consumer: Arc<dyn RequestProcessor> =
        Arc::new(consumer_manage_processor::ConsumerManageProcessor::new(c.clone()));
    for code in [
        RequestCode::GET_CONSUMER_LIST_BY_GROUP,
        RequestCode::QUERY_CONSUMER_OFFSET,
        RequestCode::UPDATE_CONSUMER_OFFSET,
    ] {
        server.register(code, consumer.clone());
    }
    // Everything else, including codes this broker does not know, goes to the admin processor.
    server.register_default(Arc::new(admin_broker_processor::AdminBrokerProcessor::new(c.clone())));
}

/// A response to `request` with `code` and `remark`.
pub(crate) fn error_response(
    request: &RemotingCommand,
    code: i32,
    remark: impl Into<String>,
) -> RemotingCommand {
    RemotingCommand::response_to(request, code).with_remark(remark)
}

/// A SUCCESS response to `request`.
pub(crate) fn success(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(request, ResponseCode::SUCCESS)
}

/// Decodes the request's typed header, or the SYSTEM_ERROR response naming what is wrong (as
/// a Java broker answers a RemotingCommandException).
pub(crate) fn decode_header<H: CommandHeader>(
    request: &RemotingCommand,
) -> Result<H, RemotingCommand> {
    request.decode_header::<H>().map_err(|e| {
        error_response(
            request,
            ResponseCode::SYSTEM_ERROR,
            format!("decode request header failed: {e}"),
        )
    })
}

/// The stored records as one body. A single record is passed on as is (zero copy); several
/// are joined with one copy each into one buffer, because a command carries one body.
pub(crate) fn join_records(records: &[Bytes]) -> Bytes {
    match records {
        [] => Bytes::new(),
        [one] => one.clone(),
        many => {
            let total = many.iter().map(Bytes::len).sum();
            let mut out = BytesMut::with_capacity(total);
            for r in many {
                out.extend_from_slice(r);
            }
            out.freeze()
        }
    }
}

/// Serializes a JSON body, or the SYSTEM_ERROR response if that fails.
pub(crate) fn json_body<T: serde::Serialize>(
    request: &RemotingCommand,
    value: &T,
) -> Result<Bytes, RemotingCommand> {
    protocol::body::to_json(value, protocol::body::JsonStyle::Legacy).map(Bytes::from).map_err(
        |e| error_response(request, ResponseCode::SYSTEM_ERROR, format!("encode body: {e}")),
    )
}
