//! Plain sends read by push consumers of one group whose membership changes during the run:
//! members join, leave cleanly, or die (their node killed), and the group rebalances each time.
//! A concurrent push consumer promises at-least-once delivery of every acknowledged message,
//! not order, so the group is judged by total-queue with duplicates allowed.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use checker::ProcessId;
use client::{Message, Producer};
use madsim::runtime::{Handle, NodeHandle};
use tokio::sync::oneshot;

use super::consumer::{check_group, push_consumer};
use super::{body, producer_options, Ctx, CONSUMER_PROCESS_BASE, VALUES_PER_PRODUCER};

/// Most members the group has at once.
pub const MAX_MEMBERS: usize = 3;

/// Producer `index`'s loop: plain sends (the producer picks queues round-robin).
pub async fn producer(ctx: Ctx, ip: IpAddr, index: u64, process: ProcessId, topic: String) {
    let config = ctx.cluster.client_config(&format!("queue-producer-{index}"), ip);
    let producer = Producer::with_options(format!("PG-queue-{index}"), config, producer_options());
    while producer.start().await.is_err() {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let mut seq = 0;
    while !ctx.producers_stopped() {
        let value = index * VALUES_PER_PRODUCER + seq;
        seq += 1;
        let pending = ctx.rec.send(process, value, None);
        ctx.state().sends += 1;
        let result = producer.send(Message::new(&topic, body(value))).await;
        ctx.record_send(&topic, pending, &result);
        tokio::time::sleep(Duration::from_millis(rt::rand::range(10..=80))).await;
    }
    producer.shutdown().await;
}

/// A running member of the group.
pub struct Member {
    process: ProcessId,
    node: NodeHandle,
    leave: oneshot::Sender<()>,
}

/// The group's membership, changed by [`Group::churn`].
pub struct Group {
    ctx: Ctx,
    group: String,
    topic: String,
    queues: i32,
    next_process: ProcessId,
    /// Running members.
    pub members: Vec<Member>,
}

impl Group {
    /// A group with no members yet.
    pub fn new(ctx: Ctx, group: &str, topic: &str, queues: i32) -> Self {
        let (group, topic) = (group.to_owned(), topic.to_owned());
        Self { ctx, group, topic, queues, next_process: CONSUMER_PROCESS_BASE, members: Vec::new() }
    }

    /// Starts a new member on a new client node.
    pub fn join(&mut self) {
        let process = self.next_process;
        self.next_process += 1;
        let (node, ip) = self.ctx.cluster.client_node(&format!("consumer-{process}"));
        let (leave, stop) = oneshot::channel();
        let fut = push_consumer(
            self.ctx.clone(),
            ip,
            process,
            self.group.clone(),
            self.topic.clone(),
            stop,
        );
        drop(node.spawn(fut));
        self.ctx.rec.note(&format!("group {}: p{process} joins", self.group));
        self.members.push(Member { process, node, leave });
    }

    /// Removes a random member: a clean leave or its node killed.
    fn remove_one(&mut self) {
        let i = rt::rand::range(0..self.members.len());
        let m = self.members.remove(i);
        if rt::rand::chance(0.5) {
            self.ctx.rec.note(&format!("group {}: p{} leaves", self.group, m.process));
            let _ = m.leave.send(());
        } else {
            self.ctx.rec.note(&format!("group {}: p{} dies (node killed)", self.group, m.process));
            Handle::current().kill(m.node.id());
        }
    }

    /// Changes membership every 5 to 15 simulated seconds until `stop` is set, keeping at
    /// least one member.
    pub async fn churn(&mut self, stop: Arc<AtomicBool>) {
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(rt::rand::range(5_000..=15_000))).await;
            if stop.load(Ordering::Relaxed) {
                break;
            }
            check_group(&self.ctx, &self.group, &self.topic, self.queues);
            let grow = self.members.len() < MAX_MEMBERS && rt::rand::chance(0.5);
            if grow || self.members.len() <= 1 {
                self.join();
            } else {
                self.remove_one();
            }
        }
    }

    /// Asks every member to leave cleanly.
    pub fn stop_all(&mut self) {
        for m in self.members.drain(..) {
            let _ = m.leave.send(());
        }
    }
}
