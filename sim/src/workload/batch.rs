//! Batch sends: each producer sends batches of one to [`MAX_BATCH`] messages; a batch lands in
//! one queue at consecutive offsets, all or nothing. Read back by a lite pull consumer assigned
//! every queue.

use std::net::IpAddr;
use std::time::Duration;

use checker::ProcessId;
use client::{Message, Producer};

use super::{body, producer_options, Ctx, VALUES_PER_PRODUCER};

/// The largest batch sent.
pub const MAX_BATCH: u64 = 8;

/// Producer `index`'s loop: batch sends until producers stop. It records under process ids
/// `process .. process + MAX_BATCH`.
pub async fn producer(ctx: Ctx, ip: IpAddr, index: u64, process: ProcessId, topic: String) {
    let config = ctx.cluster.client_config(&format!("batch-producer-{index}"), ip);
    let producer = Producer::with_options(format!("PG-batch-{index}"), config, producer_options());
    while producer.start().await.is_err() {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let mut seq = 0;
    while !ctx.producers_stopped() {
        let size = rt::rand::range(1..=MAX_BATCH);
        let values: Vec<u64> = (seq..seq + size).map(|s| index * VALUES_PER_PRODUCER + s).collect();
        seq += size;
        // The checker reads a process as one thread with one send in flight, so the messages of
        // a batch are sent by consecutive process ids starting at `process`.
        let pendings: Vec<_> =
            (0..).zip(&values).map(|(i, &v)| ctx.rec.send(process + i, v, None)).collect();
        ctx.state().sends += size;
        let msgs = values.iter().map(|&v| Message::new(&topic, body(v))).collect();
        match producer.send_batch(msgs).await {
            Ok(r) => {
                for (i, pending) in pendings.into_iter().enumerate() {
                    ctx.record_batch_item(&topic, pending, &r, i);
                }
            }
            Err(e) => {
                for pending in pendings {
                    ctx.record_error(pending, &e);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(rt::rand::range(20..=120))).await;
    }
    producer.shutdown().await;
}
