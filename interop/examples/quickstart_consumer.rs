//! The README quickstart's consumer: a push consumer on `TopicTest` (every tag, from the first
//! offset) with a stock RocketMQ client (`rocketmq-client-rust` from crates.io), printing each
//! message as RocketMQ's own quickstart Consumer does.
//!
//! ```text
//! cargo run -p apogee-interop --example quickstart_consumer [-- COUNT]
//! ```
//! The name server comes from `NAMESRV_ADDR` (default `127.0.0.1:9876`). It runs until Ctrl-C,
//! or until COUNT messages have arrived when COUNT is given (then it exits 0; 1 if they do not
//! arrive within a minute).

#[cfg(not(madsim))]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    quickstart::main()
}

// The stock client needs real tokio, so the simulated build has nothing to run.
#[cfg(madsim)]
fn main() {}

#[cfg(not(madsim))]
mod quickstart {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use rocketmq_client_rust::{
        ClientRuntime, ClientRuntimeConfig, ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus,
        DefaultMQPushConsumer, MQPushConsumer,
    };
    use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
    use rocketmq_model::common::message::message_ext::MessageExt;
    use rocketmq_model::common::message::MessageTrait;
    use rocketmq_observability::TelemetryRuntimeGuard;
    use rocketmq_runtime::{RuntimeConfig, RuntimeOwner};

    pub fn main() -> Result<(), Box<dyn std::error::Error>> {
        let namesrv = std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
        let count: Option<usize> = match std::env::args().nth(1) {
            Some(n) => Some(n.parse().map_err(|e| format!("COUNT {n:?}: {e}"))?),
            None => None,
        };
        let owner = RuntimeOwner::plan(RuntimeConfig::default())?.build()?;
        let telemetry = TelemetryRuntimeGuard::noop();
        let runtime = ClientRuntime::try_new(
            owner.root_context().component("quickstart"),
            ClientRuntimeConfig::default(),
            telemetry.handle(),
        )?;
        let result = owner.block_on(async {
            let received = Arc::new(AtomicUsize::new(0));
            let mut consumer = DefaultMQPushConsumer::builder(runtime.clone())
                .consumer_group("QuickstartConsumerGroup")
                .name_server_addr(namesrv.as_str())
                .consume_from_where(ConsumeFromWhere::ConsumeFromFirstOffset)
                .build();
            consumer.subscribe("TopicTest", "*").await?;
            let seen = received.clone();
            consumer.register_message_listener_concurrently(
                move |msgs: &[&MessageExt], _: &ConsumeConcurrentlyContext| {
                    for m in msgs {
                        let body = m.body().unwrap_or_default();
                        println!(
                            "Receive New Message: topic={} tags={} queueId={} queueOffset={} \
                             msgId={} body={:?}",
                            m.topic(),
                            m.tags().map(|t| t.to_string()).unwrap_or_default(),
                            m.queue_id(),
                            m.queue_offset(),
                            m.property(&"UNIQ_KEY".into())
                                .map(|k| k.to_string())
                                .unwrap_or_default(),
                            String::from_utf8_lossy(&body)
                        );
                    }
                    seen.fetch_add(msgs.len(), Ordering::SeqCst);
                    Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
                },
            );
            consumer.start().await?;
            println!("Consumer Started.");
            let outcome = match count {
                None => {
                    let _ = real_tokio::signal::ctrl_c().await;
                    Ok(())
                }
                Some(n) => {
                    let wait = async {
                        while received.load(Ordering::SeqCst) < n {
                            real_tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    };
                    match real_tokio::time::timeout(Duration::from_secs(60), wait).await {
                        Ok(()) => Ok(()),
                        Err(_) => Err(format!(
                            "only {} of {n} messages arrived within 60 s",
                            received.load(Ordering::SeqCst)
                        )),
                    }
                }
            };
            consumer.shutdown().await;
            runtime.shutdown().await;
            owner.shutdown_tasks().await;
            outcome.map_err(Box::<dyn std::error::Error>::from)
        });
        owner.shutdown_background();
        result
    }
}
