//! The README quickstart's producer: sends a few messages to `TopicTest` with a stock RocketMQ
//! client (`rocketmq-client-rust` from crates.io), as RocketMQ's own quickstart Producer does.
//!
//! ```text
//! cargo run -p apogee-interop --example quickstart_producer [-- COUNT]
//! ```
//! The name server comes from `NAMESRV_ADDR` (default `127.0.0.1:9876`); COUNT defaults to 10.

#[cfg(not(madsim))]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    quickstart::main()
}

// The stock client needs real tokio, so the simulated build has nothing to run.
#[cfg(madsim)]
fn main() {}

#[cfg(not(madsim))]
mod quickstart {
    use rocketmq_client_rust::{ClientRuntime, ClientRuntimeConfig, DefaultMQProducer};
    use rocketmq_model::common::message::message_single::Message;
    use rocketmq_observability::TelemetryRuntimeGuard;
    use rocketmq_runtime::{RuntimeConfig, RuntimeOwner};

    pub fn main() -> Result<(), Box<dyn std::error::Error>> {
        let namesrv = std::env::var("NAMESRV_ADDR").unwrap_or_else(|_| "127.0.0.1:9876".into());
        let count: usize = match std::env::args().nth(1) {
            Some(n) => n.parse().map_err(|e| format!("COUNT {n:?}: {e}"))?,
            None => 10,
        };
        // The client is handed the runtime it runs on; it never starts one of its own.
        let owner = RuntimeOwner::plan(RuntimeConfig::default())?.build()?;
        let telemetry = TelemetryRuntimeGuard::noop();
        let runtime = ClientRuntime::try_new(
            owner.root_context().component("quickstart"),
            ClientRuntimeConfig::default(),
            telemetry.handle(),
        )?;
        let result = owner.block_on(async {
            let mut producer = DefaultMQProducer::builder(runtime.clone())
                .producer_group("QuickstartProducerGroup")
                .name_server_addr(namesrv.as_str())
                .build();
            producer.start().await?;
            for i in 0..count {
                let message = Message::builder()
                    .topic("TopicTest")
                    .tags("TagA")
                    .body_slice(format!("Hello RocketMQ {i}").as_bytes())
                    .build()?;
                match producer.send(message).await? {
                    Some(r) => println!(
                        "SendResult [sendStatus={:?}, msgId={}, queue={:?}, queueOffset={}]",
                        r.send_status,
                        r.msg_id.as_ref().map(|m| m.as_str()).unwrap_or("-"),
                        r.message_queue.as_ref().map(|q| q.queue_id()),
                        r.queue_offset
                    ),
                    None => println!("sent, no result"),
                }
            }
            producer.shutdown().await;
            runtime.shutdown().await;
            owner.shutdown_tasks().await;
            Ok::<_, Box<dyn std::error::Error>>(())
        });
        owner.shutdown_background();
        result
    }
}
