//! Long polling (RocketMQ `PullRequestHoldService`): a pull that finds nothing new and carries
//! the SUSPEND flag is parked here instead of being answered. It is re-run (once, without
//! suspension) when the store's dispatcher reports a message for its queue beyond the requested
//! offset whose tags code matches its filter, or when it has waited `suspendTimeoutMillis`, and
//! the answer then goes out on its connection. A periodic check catches both expiry and
//! messages whose arrival raced with the parking.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use protocol::message::TagFilter;
use protocol::RemotingCommand;
use remoting::Channel;
use store::MessageArrivingListener;
use tokio::sync::mpsc;

use crate::broker_controller::BrokerController;
use crate::processor::pull_message_processor;

/// How often held requests are checked for expiry and missed arrivals. RocketMQ checks every
/// 5 s; checking more often answers expired polls closer to their deadline.
pub const HOLD_CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// A parked pull.
pub struct PullRequest {
    pub request: RemotingCommand,
    pub channel: Channel,
    /// When the pull was parked (monotonic).
    pub suspend_at: tokio::time::Instant,
    pub timeout: Duration,
    /// The queue offset the pull asked for.
    pub pull_from_this_offset: i64,
    /// The subscription's tag filter, to match arriving messages' tags codes.
    pub filter: Arc<TagFilter>,
}

impl PullRequest {
    fn expired(&self, now: tokio::time::Instant) -> bool {
        now.saturating_duration_since(self.suspend_at) >= self.timeout
    }
}

/// The hold service is at its bound; the pull is answered SYSTEM_BUSY instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldFull {
    pub max: usize,
}

/// Parked pulls by topic, then queue id (nested so the per-record arrival check looks the topic
/// up by `&str` without allocating).
#[derive(Default)]
struct HoldTable {
    by_topic: HashMap<String, HashMap<i32, Vec<PullRequest>>>,
    count: usize,
}

/// The parked pulls, bounded by `maxHeldPullRequests` in total.
pub struct PullRequestHoldService {
    max: usize,
    table: Mutex<HoldTable>,
    /// Woken requests go to the worker task. Unbounded, but each parked request is sent at
    /// most once, so it never holds more than `max` entries.
    wake: mpsc::UnboundedSender<PullRequest>,
}

impl std::fmt::Debug for PullRequestHoldService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullRequestHoldService").field("held", &self.held()).finish()
    }
}

impl PullRequestHoldService {
    /// A service holding at most `max` pulls, and the receiver its worker reads woken ones from.
    pub fn new(max: usize) -> (Self, mpsc::UnboundedReceiver<PullRequest>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { max, table: Mutex::new(HoldTable::default()), wake: tx }, rx)
    }

    fn lock(&self) -> MutexGuard<'_, HoldTable> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of pulls parked now.
    pub fn held(&self) -> usize {
        self.lock().count
    }

    /// Parks a pull; refuses when `max` pulls are parked already.
    pub fn suspend_pull_request(
        &self,
        topic: &str,
        queue_id: i32,
        request: PullRequest,
    ) -> Result<(), HoldFull> {
        let mut t = self.lock();
        if t.count >= self.max {
            return Err(HoldFull { max: self.max });
        }
        t.count += 1;
        t.by_topic.entry(topic.to_owned()).or_default().entry(queue_id).or_default().push(request);
        Ok(())
    }

    /// A queue grew to `max_offset`: wakes the pulls waiting below it whose filter matches
    /// `tags_code` (`None`: match without looking, as the periodic check does; the re-run
    /// filters properly) and those that expired or whose connection closed.
    pub fn notify_message_arriving(
        &self,
        topic: &str,
        queue_id: i32,
        max_offset: i64,
        tags_code: Option<i64>,
    ) {
        let now = rt::clock::now();
        let mut woken = Vec::new();
        {
            let mut t = self.lock();
            // Called for every dispatched record: nothing held is the common, cheap case.
            if t.count == 0 {
                return;
            }
            let Some(queues) = t.by_topic.get_mut(topic) else { return };
            let Some(list) = queues.remove(&queue_id) else { return };
            if queues.is_empty() {
                t.by_topic.remove(topic);
            }
            let before = list.len();
            let mut keep = Vec::with_capacity(list.len());
            for r in list {
                let arrived = max_offset > r.pull_from_this_offset
                    && tags_code.is_none_or(|code| r.filter.matches_code(code));
                if r.channel.is_closed() {
                    continue;
                }
                if arrived || r.expired(now) {
                    woken.push(r);
                } else {
                    keep.push(r);
                }
            }
            // Woken and closed-channel requests leave the table.
            t.count = t.count.saturating_sub(before - keep.len());
            if !keep.is_empty() {
                t.by_topic.entry(topic.to_owned()).or_default().insert(queue_id, keep);
            }
        }
        for r in woken {
            // The worker is gone only at shutdown; the client then re-pulls elsewhere.
            let _ = self.wake.send(r);
        }
    }

    /// The queues with parked pulls.
    fn held_queues(&self) -> Vec<(String, i32)> {
        let t = self.lock();
        t.by_topic
            .iter()
            .flat_map(|(topic, queues)| queues.keys().map(move |q| (topic.clone(), *q)))
            .collect()
    }
}

struct ArrivingListener {
    controller: Weak<BrokerController>,
}

impl MessageArrivingListener for ArrivingListener {
    fn arriving(&self, topic: &str, queue_id: i32, next: i64, tags_code: i64, _store_ts: i64) {
        if let Some(c) = self.controller.upgrade() {
            c.pull_request_hold_service.notify_message_arriving(
                topic,
                queue_id,
                next,
                Some(tags_code),
            );
        }
    }
}

/// The store's arriving hook, feeding the hold service of `controller`.
pub fn arriving_listener(controller: &Arc<BrokerController>) -> Arc<dyn MessageArrivingListener> {
    Arc::new(ArrivingListener { controller: Arc::downgrade(controller) })
}

/// Re-runs woken pulls (never suspending again) and sends their responses.
pub async fn run_wake_worker(
    c: Arc<BrokerController>,
    mut rx: mpsc::UnboundedReceiver<PullRequest>,
    stop: Arc<rt::sync::Latch>,
) {
    loop {
        let r = tokio::select! {
            biased;
            _ = stop.wait() => return,
            r = rx.recv() => match r { Some(r) => r, None => return },
        };
        let response = pull_message_processor::process_pull(&c, &r.channel, &r.request, false);
        if let Some(mut response) = response {
            response.opaque = r.request.opaque;
            response.mark_response();
            if let Err(e) = r.channel.send(response) {
                tracing::debug!(remote = %r.channel.remote_addr(), error = %e,
                    "cannot deliver a held pull's response");
            }
        }
    }
}

/// Periodically wakes expired pulls and pulls whose message arrived before they were parked.
pub async fn run_check_loop(c: Arc<BrokerController>, stop: Arc<rt::sync::Latch>) {
    loop {
        tokio::select! {
            biased;
            _ = stop.wait() => return,
            _ = tokio::time::sleep(HOLD_CHECK_INTERVAL) => {}
        }
        let hold = &c.pull_request_hold_service;
        for (topic, queue_id) in hold.held_queues() {
            let max = c.store.max_offset_in_queue(&topic, queue_id);
            hold.notify_message_arriving(&topic, queue_id, max, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::Loopback;
    use protocol::RequestCode;

    fn parked(channel: &Channel, offset: i64, expr: &str, timeout_ms: u64) -> PullRequest {
        PullRequest {
            request: RemotingCommand::new_request(RequestCode::PULL_MESSAGE),
            channel: channel.clone(),
            suspend_at: rt::clock::now(),
            timeout: Duration::from_millis(timeout_ms),
            pull_from_this_offset: offset,
            filter: Arc::new(TagFilter::parse(expr)),
        }
    }

    #[tokio::test]
    async fn wakes_on_matching_arrival_expiry_and_is_bounded() {
        let lo = Loopback::start().await;
        let ch = lo.channel().await;
        let (hold, mut rx) = PullRequestHoldService::new(2);
        hold.suspend_pull_request("T", 0, parked(&ch, 5, "TagA", 60_000)).unwrap();
        hold.suspend_pull_request("T", 1, parked(&ch, 0, "*", 0)).unwrap();
        assert_eq!(
            hold.suspend_pull_request("T", 2, parked(&ch, 0, "*", 0)),
            Err(HoldFull { max: 2 })
        );
        // Not beyond the requested offset, or another tag: stays parked.
        hold.notify_message_arriving(
            "T",
            0,
            5,
            Some(i64::from(protocol::message::java_string_hash("TagA"))),
        );
        hold.notify_message_arriving("T", 0, 6, Some(1));
        hold.notify_message_arriving("Other", 0, 99, None);
        assert_eq!(hold.held(), 2);
        assert!(rx.try_recv().is_err());
        // The matching tag beyond the offset wakes it.
        let code = i64::from(protocol::message::java_string_hash("TagA"));
        hold.notify_message_arriving("T", 0, 6, Some(code));
        assert_eq!(rx.try_recv().unwrap().pull_from_this_offset, 5);
        // Expired (timeout 0) is woken by any look at its queue.
        hold.notify_message_arriving("T", 1, 0, None);
        assert!(rx.try_recv().is_ok());
        assert_eq!(hold.held(), 0);
        assert!(hold.held_queues().is_empty());
    }
}
