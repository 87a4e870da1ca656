//! Concurrent consumption (RocketMQ `ConsumeMessageConcurrentlyService`): pulled messages are
//! cut into batches, each consumed on its own task (at most `consume_thread_max` at once);
//! the offset then moves to the lowest message still in flight. Batches the listener asks to
//! reconsume go back to the broker's retry queue; if that fails too they are consumed again
//! locally a little later, and their offsets hold until they succeed.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Weak};
use std::time::Duration;

use protocol::header::ConsumerSendMsgBackRequestHeader;
use protocol::message::properties as prop;
use tokio::sync::Semaphore;
use tracing::{debug, warn};

use crate::consumer::listener::{
    ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, MessageListener,
};
use crate::consumer::offset_store::OffsetStore;
use crate::consumer::process_queue::ProcessQueue;
use crate::consumer::push_consumer::{PushConsumerImpl, PushConsumerOptions};
use crate::consumer::MessageModel;
use crate::error::Result;
use crate::message::{retry_topic, Message, MessageExt, MessageQueue};
use crate::mq_client_instance::{MQClientInstance, CLIENT_INNER_PRODUCER_GROUP};
use crate::producer::{ProducerImpl, ProducerOptions};

/// How long a batch that could not be sent back waits before it is consumed again.
const LOCAL_RETRY_DELAY: Duration = Duration::from_secs(5);
/// Reconsume attempts the broker allows when the consumer leaves it at -1.
const DEFAULT_MAX_RECONSUME_TIMES: i32 = 16;

pub(crate) struct ConsumeMessageConcurrentlyService {
    group: String,
    listener: MessageListener,
    permits: Arc<Semaphore>,
    batch_max: usize,
    model: MessageModel,
    max_reconsume_times: i32,
    instance: Arc<MQClientInstance>,
    offset_store: Arc<OffsetStore>,
    /// Sends a message back to the retry topic when CONSUMER_SEND_MSG_BACK fails.
    inner_producer: ProducerImpl,
    consumer: Weak<PushConsumerImpl>,
}

impl ConsumeMessageConcurrentlyService {
    pub fn new(
        group: String,
        listener: MessageListener,
        options: &PushConsumerOptions,
        instance: Arc<MQClientInstance>,
        offset_store: Arc<OffsetStore>,
        consumer: Weak<PushConsumerImpl>,
    ) -> Self {
        let inner_producer = ProducerImpl::new(
            CLIENT_INNER_PRODUCER_GROUP.to_owned(),
            ProducerOptions::default(),
            instance.clone(),
        );
        Self {
            group,
            listener,
            permits: Arc::new(Semaphore::new(options.consume_thread_max.max(1))),
            batch_max: options.consume_message_batch_max_size.max(1),
            model: options.message_model,
            max_reconsume_times: options.max_reconsume_times,
            instance,
            offset_store,
            inner_producer,
            consumer,
        }
    }

    /// Consumes `msgs` (already in `pq`) in batches on spawned tasks.
    pub fn submit(&self, msgs: Vec<MessageExt>, pq: Arc<ProcessQueue>, mq: MessageQueue) {
        for batch in msgs.chunks(self.batch_max) {
            self.spawn_batch(batch.to_vec(), pq.clone(), mq.clone(), Duration::ZERO);
        }
    }

    fn spawn_batch(
        &self,
        batch: Vec<MessageExt>,
        pq: Arc<ProcessQueue>,
        mq: MessageQueue,
        delay: Duration,
    ) {
        let consumer = self.consumer.clone();
        tokio::spawn(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if let Some(consumer) = consumer.upgrade() {
                consumer.consume_service.consume(batch, pq, mq).await;
            }
        });
    }

    async fn consume(&self, mut msgs: Vec<MessageExt>, pq: Arc<ProcessQueue>, mq: MessageQueue) {
        let Ok(_permit) = self.permits.clone().acquire_owned().await else { return };
        if pq.is_dropped() {
            return;
        }
        let retry = retry_topic(&self.group);
        let now = rt::clock::now_millis().to_string();
        for m in &mut msgs {
            // Messages of the retry queue are shown under the topic they were first sent to.
            if m.topic == retry {
                if let Some(original) = m.properties.get(prop::RETRY_TOPIC) {
                    m.topic = original.clone();
                }
            }
            m.properties.insert(prop::CONSUME_START_TIME.to_owned(), now.clone());
        }
        let ctx = ConsumeConcurrentlyContext {
            message_queue: mq.clone(),
            delay_level_when_next_consume: 0,
        };
        let status = match &self.listener {
            // A panicking listener is a failed batch, not a dead consumer.
            MessageListener::Sync(f) => catch_unwind(AssertUnwindSafe(|| f(&msgs, &ctx)))
                .unwrap_or_else(|_| {
                    warn!(group = %self.group, ?mq, "listener panicked; reconsuming later");
                    ConsumeConcurrentlyStatus::ReconsumeLater
                }),
            listener => listener.consume(msgs.clone(), ctx.clone()).await,
        };
        if pq.is_dropped() {
            return;
        }
        let mut failed = Vec::new();
        if status == ConsumeConcurrentlyStatus::ReconsumeLater {
            if self.model == MessageModel::Broadcasting {
                warn!(group = %self.group, ?mq, "broadcast messages are not retried");
            } else {
                for m in &msgs {
                    if let Err(e) =
                        self.send_message_back(m, &mq, ctx.delay_level_when_next_consume).await
                    {
                        warn!(group = %self.group, offset = m.queue_offset, error = %e, "send back failed; retrying locally");
                        failed.push(m.clone());
                    }
                }
            }
        }
        let done = msgs
            .iter()
            .map(|m| m.queue_offset)
            .filter(|o| !failed.iter().any(|f| f.queue_offset == *o));
        if let Some(offset) = pq.remove_messages(done) {
            if !pq.is_dropped() {
                self.offset_store.update_offset(&mq, offset, true);
            }
        }
        if !failed.is_empty() {
            self.spawn_batch(failed, pq, mq, LOCAL_RETRY_DELAY);
        }
    }

    /// CONSUMER_SEND_MSG_BACK to the queue's broker; failing that, a resend to the group's
    /// retry topic with the reconsume count and delay the broker would have set.
    async fn send_message_back(
        &self,
        m: &MessageExt,
        mq: &MessageQueue,
        delay_level: i32,
    ) -> Result<()> {
        let origin_msg_id = m.uniq_key().map(str::to_owned).unwrap_or_else(|| m.msg_id());
        let header = ConsumerSendMsgBackRequestHeader {
            offset: m.commit_log_offset,
            group: self.group.clone(),
            delay_level,
            origin_msg_id: Some(origin_msg_id.clone()),
            origin_topic: Some(m.topic.clone()),
            unit_mode: Some(false),
            max_reconsume_times: Some(self.max_reconsume_times()),
            broker_name: Some(mq.broker_name.clone()),
        };
        let back = async {
            let addr =
                self.instance.find_broker_address_refreshing(&mq.broker_name, &mq.topic).await?;
            self.instance.api().consumer_send_message_back(&addr, &header).await
        }
        .await;
        let Err(e) = back else { return Ok(()) };
        debug!(group = %self.group, error = %e, "send back failed; resending to the retry topic");
        let mut resend = Message::new(retry_topic(&self.group), m.body.clone()).with_flag(m.flag);
        resend.properties = m.properties.clone();
        resend.properties.remove(prop::MIN_OFFSET);
        resend.properties.remove(prop::MAX_OFFSET);
        resend.properties.remove(prop::CONSUME_START_TIME);
        resend.properties.remove(prop::TRAN_MSG);
        resend.properties.entry(prop::ORIGIN_MESSAGE_ID.to_owned()).or_insert(origin_msg_id);
        resend.put_property(prop::RETRY_TOPIC, m.topic.clone());
        resend.put_property(prop::RECONSUME_TIME, (m.reconsume_times + 1).to_string());
        resend.put_property(prop::MAX_RECONSUME_TIMES, self.max_reconsume_times().to_string());
        resend.set_delay_time_level(3 + m.reconsume_times);
        let out = self.inner_producer.prepare(resend)?;
        let timeout = self.inner_producer.options.send_msg_timeout;
        self.inner_producer.send_default(out, timeout).await.map(|_| ())
    }

    fn max_reconsume_times(&self) -> i32 {
        if self.max_reconsume_times < 0 {
            DEFAULT_MAX_RECONSUME_TIMES
        } else {
            self.max_reconsume_times
        }
    }
}
