//! The send path (RocketMQ `DefaultMQProducerImpl`): queue choice, retries on another broker,
//! latency-fault bookkeeping and the request itself.

use std::sync::Arc;
use std::time::Duration;

use protocol::header::SendMessageRequestHeader;
use protocol::CommandHeader;
use protocol::{RemotingCommand, RequestCode, ResponseCode};
use tracing::debug;

use crate::error::{MQClientError, Result};
use crate::latency_fault_tolerance::MQFaultStrategy;
use crate::message::{Message, MessageQueue};
use crate::mq_client_api::bare_request;
use crate::mq_client_instance::MQClientInstance;
use crate::producer::outgoing::{prepare_batch, prepare_single, OutgoingMessage};
use crate::producer::selector::MessageQueueSelector;
use crate::producer::send_result::{process_send_response, SendResult, SendStatus};
use crate::producer::ProducerOptions;

/// Response codes a sync send retries on (RocketMQ `DefaultMQProducer.retryResponseCodes`).
pub const RETRY_RESPONSE_CODES: [i32; 8] = [
    ResponseCode::TOPIC_NOT_EXIST,
    ResponseCode::SERVICE_NOT_AVAILABLE,
    ResponseCode::SYSTEM_ERROR,
    ResponseCode::SYSTEM_BUSY,
    ResponseCode::NO_PERMISSION,
    ResponseCode::NO_BUYER_ID,
    ResponseCode::NOT_IN_CURRENT_UNIT,
    ResponseCode::GO_AWAY,
];

/// Whether a failed attempt is worth another (on another broker if there is one).
pub fn is_retryable(e: &MQClientError) -> bool {
    match e {
        MQClientError::Remoting(_) => true,
        MQClientError::Broker { code, .. } => RETRY_RESPONSE_CODES.contains(code),
        _ => false,
    }
}

/// A started producer's state.
pub(crate) struct ProducerImpl {
    pub group: String,
    pub options: ProducerOptions,
    pub instance: Arc<MQClientInstance>,
    pub fault: MQFaultStrategy,
}

impl ProducerImpl {
    pub fn new(group: String, options: ProducerOptions, instance: Arc<MQClientInstance>) -> Self {
        let fault = MQFaultStrategy::new(options.send_latency_fault_enable);
        Self { group, options, instance, fault }
    }

    pub fn prepare(&self, msg: Message) -> Result<OutgoingMessage> {
        prepare_single(
            msg,
            self.options.max_message_size,
            self.options.compress_msg_body_over_howmuch,
            || self.instance.create_uniq_id(),
        )
    }

    pub fn prepare_batch(&self, msgs: Vec<Message>) -> Result<OutgoingMessage> {
        prepare_batch(msgs, self.options.max_message_size, || self.instance.create_uniq_id())
    }

    /// A sync send with retries: up to `1 + retry_times_when_send_failed` attempts within
    /// `timeout`, each on a queue of another broker than the last when there is one.
    pub async fn send_default(
        &self,
        msg: OutgoingMessage,
        timeout: Duration,
    ) -> Result<SendResult> {
        let started = rt::clock::now();
        let info = self
            .instance
            .find_topic_publish_info(&msg.topic, self.options.default_topic_queue_nums)
            .await?;
        let attempts = 1 + self.options.retry_times_when_send_failed;
        let mut last_broker: Option<String> = None;
        let mut last_err = None;
        let mut last_result = None;
        let mut tried = 0;
        for _ in 0..attempts {
            let Some(mq) = self.fault.select_one_message_queue(&info, last_broker.as_deref())
            else {
                break;
            };
            let elapsed = rt::clock::now().saturating_duration_since(started);
            let Some(left) = timeout.checked_sub(elapsed).filter(|d| !d.is_zero()) else {
                last_err = Some(MQClientError::Timeout(format!(
                    "send to {} used its {} ms",
                    msg.topic,
                    timeout.as_millis()
                )));
                break;
            };
            tried += 1;
            let begin = rt::clock::now();
            let res = self.send_kernel(&msg, &mq, left).await;
            let latency = rt::clock::now().saturating_duration_since(begin);
            match res {
                Ok(r) => {
                    self.fault.update_fault_item(&mq.broker_name, latency, false);
                    if r.send_status != SendStatus::SendOk
                        && self.options.retry_another_broker_when_not_store_ok
                    {
                        last_broker = Some(mq.broker_name.clone());
                        last_result = Some(r);
                        continue;
                    }
                    return Ok(r);
                }
                Err(e) => {
                    self.fault.update_fault_item(&mq.broker_name, latency, true);
                    if !is_retryable(&e) {
                        return Err(e);
                    }
                    debug!(topic = %msg.topic, broker = %mq.broker_name, error = %e, "send failed; retrying");
                    last_broker = Some(mq.broker_name.clone());
                    last_err = Some(e);
                }
            }
        }
        if let Some(r) = last_result {
            return Ok(r);
        }
        let last = last_err.unwrap_or_else(|| MQClientError::NoRoute(msg.topic.clone()));
        if tried <= 1 {
            return Err(last);
        }
        Err(MQClientError::RetriesExhausted {
            topic: msg.topic,
            attempts: tried,
            last: Box::new(last),
        })
    }

    /// One attempt to one queue.
    pub async fn send_kernel(
        &self,
        msg: &OutgoingMessage,
        mq: &MessageQueue,
        timeout: Duration,
    ) -> Result<SendResult> {
        let addr = self.instance.find_broker_address_refreshing(&mq.broker_name, &mq.topic).await?;
        let req = self.build_request(msg, mq);
        let resp = self.instance.api().invoke(&addr, req, timeout).await?;
        process_send_response(&addr, &mq.broker_name, &msg.topic, &msg.msg_id, &resp)
    }

    /// A one-way send to the next queue round robin.
    pub async fn send_oneway(&self, msg: OutgoingMessage) -> Result<()> {
        let info = self
            .instance
            .find_topic_publish_info(&msg.topic, self.options.default_topic_queue_nums)
            .await?;
        let mq = self
            .fault
            .select_one_message_queue(&info, None)
            .ok_or_else(|| MQClientError::NoRoute(msg.topic.clone()))?;
        let addr = self.instance.find_broker_address_refreshing(&mq.broker_name, &mq.topic).await?;
        self.instance.api().invoke_oneway(&addr, self.build_request(&msg, &mq)).await
    }

    /// A single attempt to the queue `selector` picks (ordered sends never move to another
    /// queue: that would break their order).
    pub async fn send_select<A: ?Sized, S: MessageQueueSelector<A> + ?Sized>(
        &self,
        msg: Message,
        selector: &S,
        arg: &A,
        timeout: Duration,
    ) -> Result<SendResult> {
        let info = self
            .instance
            .find_topic_publish_info(&msg.topic, self.options.default_topic_queue_nums)
            .await?;
        let mq = selector.select(&info.message_queues, &msg, arg).ok_or_else(|| {
            MQClientError::InvalidArgument(format!("the selector chose no queue of {}", msg.topic))
        })?;
        let out = self.prepare(msg)?;
        self.send_kernel(&out, &mq, timeout).await
    }

    fn build_request(&self, msg: &OutgoingMessage, mq: &MessageQueue) -> RemotingCommand {
        let header = SendMessageRequestHeader {
            producer_group: self.group.clone(),
            topic: msg.topic.clone(),
            default_topic: self.options.create_topic_key.clone(),
            default_topic_queue_nums: self.options.default_topic_queue_nums,
            queue_id: mq.queue_id,
            sys_flag: msg.sys_flag,
            born_timestamp: rt::clock::now_millis() as i64,
            flag: msg.flag,
            properties: Some(msg.properties.clone()),
            reconsume_times: Some(msg.reconsume_times.unwrap_or(0)),
            unit_mode: Some(false),
            batch: Some(msg.batch),
            max_reconsume_times: msg.max_reconsume_times,
            broker_name: Some(mq.broker_name.clone()),
        };
        let code = if msg.batch {
            RequestCode::SEND_BATCH_MESSAGE
        } else if self.options.send_message_v1 {
            RequestCode::SEND_MESSAGE
        } else {
            RequestCode::SEND_MESSAGE_V2
        };
        let mut req = bare_request(code);
        if code == RequestCode::SEND_MESSAGE {
            header.to_ext(&mut req.ext_fields);
        } else {
            header.to_ext_v2(&mut req.ext_fields);
        }
        req.body = Some(msg.body.clone());
        req
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_codes() {
        let broker = |code| MQClientError::Broker { code, remark: String::new(), addr: "a".into() };
        for code in [17, 14, 1, 2, 16, 204, 205, 1500] {
            assert!(is_retryable(&broker(code)), "{code}");
        }
        for code in [13, 29, 3] {
            assert!(!is_retryable(&broker(code)), "{code}");
        }
        assert!(is_retryable(&MQClientError::Remoting(remoting::RemotingError::ConnectionClosed)));
        assert!(!is_retryable(&MQClientError::InvalidArgument("x".into())));
    }
}
