//! What a topic's route means to producers ([`TopicPublishInfo`]: the writable queues) and to
//! consumers (the readable queues), derived from the name server's TopicRouteData.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use protocol::body::{perm, TopicRouteData};

use crate::message::MessageQueue;

/// The queues a producer may write to for one topic, with the round-robin position.
#[derive(Debug)]
pub struct TopicPublishInfo {
    /// Whether the topic is ordered (its route carries an orderTopicConf).
    pub order_topic: bool,
    pub message_queues: Vec<MessageQueue>,
    /// Round-robin position; starts at a random queue so that producers spread out.
    send_which_queue: AtomicUsize,
}

impl TopicPublishInfo {
    /// The write queues of `route` for `topic`: from orderTopicConf if present, else one queue
    /// per writeQueueNums of every writable queue data whose broker has a master.
    pub fn from_route(topic: &str, route: &TopicRouteData) -> Self {
        let mut message_queues = Vec::new();
        let order_conf = route.order_topic_conf.as_deref().filter(|c| !c.is_empty());
        if let Some(conf) = order_conf {
            for item in conf.split(';') {
                let Some((broker, nums)) = item.split_once(':') else { continue };
                let nums: i32 = nums.trim().parse().unwrap_or(0);
                for queue_id in 0..nums {
                    message_queues.push(mq(topic, broker, queue_id));
                }
            }
        } else {
            let mut datas = route.queue_datas.clone();
            datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
            for qd in datas.iter().filter(|qd| perm::is_writeable(qd.perm)) {
                let has_master = route
                    .broker_datas
                    .iter()
                    .any(|bd| bd.broker_name == qd.broker_name && bd.master_addr().is_some());
                if !has_master {
                    continue;
                }
                for queue_id in 0..qd.write_queue_nums {
                    message_queues.push(mq(topic, &qd.broker_name, queue_id));
                }
            }
        }
        let start = if message_queues.is_empty() { 0 } else { rt::rand::u32() as usize };
        Self {
            order_topic: order_conf.is_some(),
            message_queues,
            send_which_queue: AtomicUsize::new(start),
        }
    }

    /// Whether there is any queue to write to.
    pub fn ok(&self) -> bool {
        !self.message_queues.is_empty()
    }

    /// The next queue round robin.
    pub fn next_queue(&self) -> Option<&MessageQueue> {
        if self.message_queues.is_empty() {
            return None;
        }
        let i = self.send_which_queue.fetch_add(1, Ordering::Relaxed);
        self.message_queues.get(i % self.message_queues.len())
    }

    /// The next queue round robin whose broker passes `accept`, trying each queue once.
    pub fn next_queue_where(
        &self,
        accept: impl Fn(&MessageQueue) -> bool,
    ) -> Option<&MessageQueue> {
        for _ in 0..self.message_queues.len() {
            let mq = self.next_queue()?;
            if accept(mq) {
                return Some(mq);
            }
        }
        None
    }
}

/// The readable queues of `route` for `topic` (what consumers rebalance over).
pub fn subscribe_queues(topic: &str, route: &TopicRouteData) -> BTreeSet<MessageQueue> {
    route
        .queue_datas
        .iter()
        .filter(|qd| perm::is_readable(qd.perm))
        .flat_map(|qd| (0..qd.read_queue_nums).map(move |i| mq(topic, &qd.broker_name, i)))
        .collect()
}

/// A route derived from TBW102's for a topic no name server knows yet: at most
/// `default_queue_nums` queues per broker, so the broker auto-creates it on the first send.
pub fn default_topic_route(tbw: &TopicRouteData, default_queue_nums: i32) -> TopicRouteData {
    let mut route = tbw.clone();
    for qd in &mut route.queue_datas {
        let n = default_queue_nums.min(qd.read_queue_nums);
        qd.read_queue_nums = n;
        qd.write_queue_nums = n;
    }
    route
}

fn mq(topic: &str, broker: &str, queue_id: i32) -> MessageQueue {
    MessageQueue { topic: topic.to_owned(), broker_name: broker.to_owned(), queue_id }
}

#[cfg(test)]
mod tests {
    use protocol::body::{BrokerData, QueueData};

    use super::*;

    fn route() -> TopicRouteData {
        let qd = |b: &str, perm| QueueData {
            broker_name: b.into(),
            perm,
            read_queue_nums: 4,
            write_queue_nums: 2,
            topic_sys_flag: 0,
        };
        let bd = |b: &str, master: bool| BrokerData {
            broker_addrs: if master {
                [(0, format!("{b}:1"))].into()
            } else {
                [(1, "s".into())].into()
            },
            broker_name: b.into(),
            ..Default::default()
        };
        TopicRouteData {
            queue_datas: vec![qd("b2", 6), qd("b1", 6), qd("b3", 4), qd("b4", 6)],
            broker_datas: vec![bd("b1", true), bd("b2", true), bd("b3", true), bd("b4", false)],
            ..Default::default()
        }
    }

    #[test]
    fn publish_queues_skip_read_only_and_masterless() {
        let info = TopicPublishInfo::from_route("T", &route());
        let names: Vec<_> =
            info.message_queues.iter().map(|m| (m.broker_name.as_str(), m.queue_id)).collect();
        assert_eq!(names, vec![("b1", 0), ("b1", 1), ("b2", 0), ("b2", 1)]);
        let first = info.next_queue().unwrap().clone();
        let second = info.next_queue().unwrap().clone();
        assert_ne!(first, second);
        assert_eq!(subscribe_queues("T", &route()).len(), 16);
        let mut r = route();
        r.order_topic_conf = Some("b1:3;b2:1".into());
        let info = TopicPublishInfo::from_route("T", &r);
        assert!(info.order_topic);
        assert_eq!(info.message_queues.len(), 4);
        let d = default_topic_route(&route(), 3);
        assert!(d.queue_datas.iter().all(|q| q.write_queue_nums == 3 && q.read_queue_nums == 3));
    }
}
