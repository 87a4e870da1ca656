//! Latency-fault avoidance (RocketMQ `MQFaultStrategy` and `LatencyFaultToleranceImpl`): a
//! broker whose last send was slow or failed is avoided for a back-off period that grows with
//! the latency, so retries and later sends go elsewhere while it recovers.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::message::MessageQueue;
use crate::topic_publish_info::TopicPublishInfo;

/// Latency thresholds in ms ...
const LATENCY_MAX: [u64; 7] = [50, 100, 550, 1_000, 2_000, 3_000, 15_000];
/// ... and the back-off each one earns, in ms.
const NOT_AVAILABLE_DURATION: [u64; 7] = [0, 0, 30_000, 60_000, 120_000, 180_000, 600_000];
/// The latency charged for a failed send (isolation).
const ISOLATION_LATENCY_MS: u64 = 30_000;

#[derive(Debug, Clone, Copy)]
struct FaultItem {
    current_latency_ms: u64,
    available_at: Instant,
}

/// Per-broker fault records and the queue choice that avoids faulty brokers.
#[derive(Debug)]
pub struct MQFaultStrategy {
    enabled: bool,
    items: Mutex<HashMap<String, FaultItem>>,
}

impl MQFaultStrategy {
    /// A strategy; disabled, it only avoids the broker that just failed (RocketMQ's default
    /// `sendLatencyFaultEnable=false` behaviour).
    pub fn new(enabled: bool) -> Self {
        Self { enabled, items: Mutex::default() }
    }

    /// Whether latency-fault avoidance is on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Picks the queue for the next attempt. With avoidance on: round robin over the queues of
    /// available brokers other than `last_broker`, then of any available broker, then of any
    /// broker but `last_broker`, then any queue. Off: skip `last_broker` if possible.
    pub fn select_one_message_queue(
        &self,
        info: &TopicPublishInfo,
        last_broker: Option<&str>,
    ) -> Option<MessageQueue> {
        self.select_at(info, last_broker, rt::clock::now())
    }

    fn select_at(
        &self,
        info: &TopicPublishInfo,
        last_broker: Option<&str>,
        now: Instant,
    ) -> Option<MessageQueue> {
        let not_last = |mq: &MessageQueue| Some(mq.broker_name.as_str()) != last_broker;
        if self.enabled {
            let items = self.lock();
            let available = |mq: &MessageQueue| {
                items.get(&mq.broker_name).is_none_or(|item| now >= item.available_at)
            };
            if let Some(mq) = info.next_queue_where(|mq| available(mq) && not_last(mq)) {
                return Some(mq.clone());
            }
            if let Some(mq) = info.next_queue_where(available) {
                return Some(mq.clone());
            }
        }
        if last_broker.is_some() {
            if let Some(mq) = info.next_queue_where(not_last) {
                return Some(mq.clone());
            }
        }
        info.next_queue().cloned()
    }

    /// Records a send to `broker` that took `latency` (`isolation`: it failed, charge the
    /// isolation latency).
    pub fn update_fault_item(&self, broker: &str, latency: Duration, isolation: bool) {
        if !self.enabled {
            return;
        }
        let latency_ms = if isolation {
            ISOLATION_LATENCY_MS
        } else {
            u64::try_from(latency.as_millis()).unwrap_or(u64::MAX)
        };
        self.record_at(broker, latency_ms, rt::clock::now());
    }

    fn record_at(&self, broker: &str, latency_ms: u64, now: Instant) {
        let back_off = Duration::from_millis(compute_not_available_duration(latency_ms));
        let item = FaultItem { current_latency_ms: latency_ms, available_at: now + back_off };
        self.lock().insert(broker.to_owned(), item);
    }

    /// Whether `broker` is outside its back-off period.
    pub fn is_available(&self, broker: &str) -> bool {
        let now = rt::clock::now();
        self.lock().get(broker).is_none_or(|item| now >= item.available_at)
    }

    /// The last latency recorded for `broker`, in ms.
    pub fn current_latency_ms(&self, broker: &str) -> Option<u64> {
        self.lock().get(broker).map(|i| i.current_latency_ms)
    }

    /// Forgets `broker` (it left the route).
    pub fn remove(&self, broker: &str) {
        self.lock().remove(broker);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, FaultItem>> {
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The back-off earned by a latency: that of the largest threshold it reaches.
pub fn compute_not_available_duration(latency_ms: u64) -> u64 {
    LATENCY_MAX
        .iter()
        .zip(NOT_AVAILABLE_DURATION)
        .rev()
        .find(|(max, _)| latency_ms >= **max)
        .map_or(0, |(_, d)| d)
}

#[cfg(test)]
mod tests {
    use protocol::body::{BrokerData, QueueData, TopicRouteData};

    use super::*;

    fn info() -> TopicPublishInfo {
        let route = TopicRouteData {
            queue_datas: ["a", "b"]
                .iter()
                .map(|b| QueueData {
                    broker_name: (*b).into(),
                    perm: 6,
                    read_queue_nums: 2,
                    write_queue_nums: 2,
                    topic_sys_flag: 0,
                })
                .collect(),
            broker_datas: ["a", "b"]
                .iter()
                .map(|b| BrokerData {
                    broker_addrs: [(0, format!("{b}:1"))].into(),
                    broker_name: (*b).into(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        TopicPublishInfo::from_route("T", &route)
    }

    #[test]
    fn back_off_grows_with_latency() {
        assert_eq!(compute_not_available_duration(10), 0);
        assert_eq!(compute_not_available_duration(549), 0);
        assert_eq!(compute_not_available_duration(550), 30_000);
        assert_eq!(compute_not_available_duration(2_500), 120_000);
        assert_eq!(compute_not_available_duration(30_000), 600_000);
    }

    #[test]
    fn faulty_broker_is_avoided_until_its_back_off_ends() {
        let s = MQFaultStrategy::new(true);
        let info = info();
        let now = Instant::now();
        s.record_at("a", ISOLATION_LATENCY_MS, now);
        for _ in 0..10 {
            assert_eq!(s.select_at(&info, None, now).unwrap().broker_name, "b");
        }
        // Every broker faulty: still answers (the last resort is any queue).
        s.record_at("b", ISOLATION_LATENCY_MS, now);
        assert!(s.select_at(&info, Some("b"), now).is_some());
        assert_eq!(s.select_at(&info, Some("b"), now).unwrap().broker_name, "a");
        // After the back-off both are usable again; the last broker is still skipped.
        let later = now + Duration::from_millis(600_001);
        for _ in 0..4 {
            assert_eq!(s.select_at(&info, Some("a"), later).unwrap().broker_name, "b");
        }
        // A fast send earns no back-off.
        s.record_at("a", 20, now);
        assert!(s.lock().get("a").is_some_and(|i| i.available_at <= now));
    }

    #[test]
    fn disabled_only_skips_the_last_broker() {
        let s = MQFaultStrategy::new(false);
        s.update_fault_item("a", Duration::from_secs(5), true);
        assert!(s.is_available("a"));
        let info = info();
        for _ in 0..4 {
            assert_eq!(s.select_one_message_queue(&info, Some("a")).unwrap().broker_name, "b");
        }
    }
}
