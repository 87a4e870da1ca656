//! ClientRequestProcessor: GET_ROUTEINFO_BY_TOPIC, the one request every producer and consumer
//! sends (at start and every 30 s per topic).
//!
//! The body's JSON form depends on the asker. Clients from V4_9_4 on (or any that sets
//! `acceptStandardJsonOnly=true`) get standard JSON: quoted, sorted map keys, non-ASCII escaped.
//! Older ones get fastjson's default form, whose `brokerAddrs` keys are unquoted numbers. Both
//! are compact: the Go client splits `brokerAddrs` by hand and breaks on whitespace.

use std::sync::Arc;

use protocol::body::{JsonBody, JsonStyle};
use protocol::code::version;
use protocol::header::GetRouteInfoRequestHeader;
use protocol::{ProtocolError, RemotingCommand, ResponseCode};
use remoting::{Channel, ProcessFuture, RequestProcessor};

use crate::controller::NamesrvController;
use crate::kvconfig::NAMESPACE_ORDER_TOPIC_CONFIG;
use crate::processor::{bad_request, success};
use crate::routeinfo::legacy_json::to_legacy_json;

/// Serves GET_ROUTEINFO_BY_TOPIC.
pub struct ClientRequestProcessor {
    controller: Arc<NamesrvController>,
}

impl RequestProcessor for ClientRequestProcessor {
    fn process(&self, _channel: &Channel, request: RemotingCommand) -> ProcessFuture {
        let response = self.process_request(&request);
        Box::pin(std::future::ready(Some(response)))
    }
}

impl ClientRequestProcessor {
    pub fn new(controller: Arc<NamesrvController>) -> Self {
        Self { controller }
    }

    /// Answers one GET_ROUTEINFO_BY_TOPIC request.
    pub fn process_request(&self, request: &RemotingCommand) -> RemotingCommand {
        self.get_route_info_by_topic(request).unwrap_or_else(|e| bad_request(request, &e))
    }

    fn get_route_info_by_topic(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProtocolError> {
        let h: GetRouteInfoRequestHeader = request.decode_header()?;
        let Some(mut route) = self.controller.route_info().pickup_topic_route_data(&h.topic) else {
            return Ok(RemotingCommand::response_to(request, ResponseCode::TOPIC_NOT_EXIST)
                .with_remark(format!(
                    "No topic route info in name server for the topic: {}",
                    h.topic
                )));
        };
        if self.controller.config().order_message_enable {
            route.order_topic_conf = self
                .controller
                .kv_config()
                .get_kv_config(NAMESPACE_ORDER_TOPIC_CONFIG, &h.topic)
                .map(str::to_owned);
        }
        let standard =
            request.version >= version::V4_9_4 || h.accept_standard_json_only.unwrap_or(false);
        let body = if standard {
            route.encode_with(JsonStyle::Standard)?
        } else {
            to_legacy_json(&route)?
        };
        Ok(success(request).with_body(body))
    }
}
