//! HEART_BEAT (34), UNREGISTER_CLIENT (35) and CHECK_CLIENT_CONFIG (46) (RocketMQ
//! `ClientManageProcessor`): the producer and consumer registries, subscription groups and
//! retry topics follow the clients' heartbeats.

use std::sync::Arc;

use protocol::body::{perm, HeartbeatData, JsonBody, SubscriptionData};
use protocol::header::{HeartbeatResponseHeader, UnregisterClientRequestHeader};
use protocol::{RemotingCommand, RequestCode, ResponseCode};
use remoting::{Channel, ProcessFuture, RequestProcessor};
use serde::Deserialize;

use super::{decode_header, error_response, success};
use crate::broker2client::notify_consumer_ids_changed;
use crate::broker_controller::BrokerController;
use crate::client_channel_info::ClientChannelInfo;
use crate::consumer_manager::ConsumerRegistration;
use crate::producer_manager::RegisterError;
use crate::topic_validator::{self as tv, retry_topic};

/// The client management processor.
pub struct ClientManageProcessor {
    c: Arc<BrokerController>,
}

impl ClientManageProcessor {
    /// A processor for `c`.
    pub fn new(c: Arc<BrokerController>) -> Self {
        Self { c }
    }
}

impl RequestProcessor for ClientManageProcessor {
    fn process(&self, channel: &Channel, request: RemotingCommand) -> ProcessFuture {
        let c = self.c.clone();
        let channel = channel.clone();
        Box::pin(async move {
            Some(match request.code {
                RequestCode::HEART_BEAT => heart_beat(&c, &channel, &request),
                RequestCode::UNREGISTER_CLIENT => unregister_client(&c, &channel, &request),
                _ => check_client_config(&request),
            })
        })
    }
}

fn busy(request: &RemotingCommand, e: RegisterError) -> RemotingCommand {
    error_response(request, ResponseCode::SYSTEM_BUSY, format!("client registry full: {e:?}"))
}

fn heart_beat(
    c: &BrokerController,
    channel: &Channel,
    request: &RemotingCommand,
) -> RemotingCommand {
    let data = match HeartbeatData::decode(request.body_bytes()) {
        Ok(d) => d,
        Err(e) => {
            return error_response(
                request,
                ResponseCode::SYSTEM_ERROR,
                format!("decode heartbeat body failed: {e}"),
            )
        }
    };
    let info = ClientChannelInfo {
        channel: channel.clone(),
        client_id: data.client_id.clone(),
        language: request.language,
        version: request.version,
        last_update_timestamp: rt::clock::now_millis() as i64,
    };
    let mut sub_change = false;
    // Heartbeat v2 (fingerprint != 0) may leave the subscriptions out when they did not change.
    let v2 = data.heartbeat_fingerprint != 0;
    for consumer in &data.consumer_data_set {
        if let Err(remark) = tv::validate_group(&consumer.group_name) {
            return error_response(request, ResponseCode::INVALID_PARAMETER, remark);
        }
        if let Some(group) =
            c.subscription_group_manager.find_subscription_group_config(&consumer.group_name)
        {
            // The retry topic must exist (and be routable) before the consumer pulls from it.
            let topic = retry_topic(&consumer.group_name);
            match c.topic_config_manager.create_topic_in_send_message_back_method(
                &topic,
                group.retry_queue_nums.max(1),
                perm::READ | perm::WRITE,
            ) {
                Ok((_, true)) => c.register_broker_all_soon(),
                Ok((_, false)) => {}
                Err(e) => tracing::warn!(%topic, error = ?e, "cannot create retry topic"),
            }
        }
        let reg = ConsumerRegistration {
            group: &consumer.group_name,
            consume_type: consumer.consume_type,
            message_model: consumer.message_model,
            consume_from_where: consumer.consume_from_where,
            subscriptions: if v2 && data.without_sub {
                None
            } else {
                Some(&consumer.subscription_data_set)
            },
            fingerprint: data.heartbeat_fingerprint,
        };
        match c.consumer_manager.register_consumer(&reg, info.clone()) {
            Ok(outcome) => {
                sub_change |= outcome.sub_change;
                if let Some(change) = outcome.change {
                    notify_consumer_ids_changed(c, &change);
                }
            }
            Err(e) => return busy(request, e),
        }
    }
    for producer in &data.producer_data_set {
        if let Err(e) = c.producer_manager.register_producer(&producer.group_name, info.clone()) {
            return busy(request, e);
        }
    }
    tracing::debug!(client = %data.client_id, v2, sub_change, "heartbeat");
    success(request).with_header(&HeartbeatResponseHeader {
        is_support_heart_beat_v2: Some(true),
        // A v1 heartbeat always carries everything, and RocketMQ answers it with true.
        is_sub_change: Some(!v2 || sub_change),
    })
}

fn unregister_client(
    c: &BrokerController,
    channel: &Channel,
    request: &RemotingCommand,
) -> RemotingCommand {
    let h: UnregisterClientRequestHeader = match decode_header(request) {
        Ok(h) => h,
        Err(resp) => return resp,
    };
    if let Some(group) = h.producer_group.as_deref().filter(|g| !g.is_empty()) {
        c.producer_manager.unregister_producer(group, channel);
    }
    if let Some(group) = h.consumer_group.as_deref().filter(|g| !g.is_empty()) {
        if let Some(change) = c.consumer_manager.unregister_consumer(group, channel) {
            notify_consumer_ids_changed(c, &change);
        }
    }
    success(request)
}

/// CHECK_CLIENT_CONFIG body: `{"group":..,"subscriptionData":{..}}`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct CheckClientRequestBody {
    #[allow(dead_code)]
    group: String,
    subscription_data: Option<SubscriptionData>,
}

/// Only TAG filtering is supported; anything else is refused before the client relies on it.
fn check_client_config(request: &RemotingCommand) -> RemotingCommand {
    let body: CheckClientRequestBody = match protocol::body::parse(request.body_bytes()) {
        Ok(b) => b,
        Err(e) => {
            return error_response(request, ResponseCode::SYSTEM_ERROR, format!("bad body: {e}"))
        }
    };
    match body.subscription_data {
        Some(s)
            if !s.expression_type.is_empty() && !s.expression_type.eq_ignore_ascii_case("TAG") =>
        {
            error_response(
                request,
                ResponseCode::SYSTEM_ERROR,
                format!(
                    "The broker does not support consumer to filter message by {}",
                    s.expression_type
                ),
            )
        }
        _ => success(request),
    }
}
