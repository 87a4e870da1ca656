//! Ordered sends: each producer sends under its own sharding keys through the hash selector
//! (`send_orderly`), so every key's messages go to one queue in send order. Read back by a lite
//! pull consumer assigned every queue, the group must see each queue in offset order and each
//! key in send order, with consistent offsets and monotonic reads within a tenure.

use std::net::IpAddr;
use std::time::Duration;

use checker::ProcessId;
use client::{Message, Producer};

use super::{body, producer_options, Ctx, VALUES_PER_PRODUCER};

/// Sharding keys per producer.
pub const KEYS_PER_PRODUCER: u64 = 6;

/// Producer `index`'s loop: ordered sends with a short think time until producers stop.
pub async fn producer(ctx: Ctx, ip: IpAddr, index: u64, process: ProcessId, topic: String) {
    let config = ctx.cluster.client_config(&format!("ordered-producer-{index}"), ip);
    let producer =
        Producer::with_options(format!("PG-ordered-{index}"), config, producer_options());
    while producer.start().await.is_err() {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let mut seq = 0;
    while !ctx.producers_stopped() {
        let value = index * VALUES_PER_PRODUCER + seq;
        seq += 1;
        let key = format!("p{index}-k{}", rt::rand::range(0..KEYS_PER_PRODUCER));
        let pending = ctx.rec.send(process, value, Some(&key));
        ctx.state().sends += 1;
        let result =
            producer.send_orderly(Message::new(&topic, body(value)).with_key(&key), &key).await;
        ctx.record_send(&topic, pending, &result);
        tokio::time::sleep(Duration::from_millis(rt::rand::range(10..=80))).await;
    }
    producer.shutdown().await;
}
