//! Consumer registry (RocketMQ `ConsumerManager` and `ConsumerGroupInfo`): consumer group →
//! its clients' channels and its subscriptions, from heartbeats. Pulls without the SUBSCRIPTION
//! flag filter with the subscription registered here. A change of a group's members or
//! subscriptions is reported to the caller, which tells the group's consumers to rebalance.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use protocol::body::{ConsumeFromWhere, ConsumeType, MessageModel, SubscriptionData};
use remoting::Channel;

use crate::client_channel_info::ClientChannelInfo;
use crate::producer_manager::RegisterError;

/// One consumer group's members and subscriptions.
#[derive(Debug, Clone)]
pub struct ConsumerGroupInfo {
    pub group_name: String,
    pub channels: HashMap<u64, ClientChannelInfo>,
    pub subscription_table: BTreeMap<String, SubscriptionData>,
    pub consume_type: ConsumeType,
    pub message_model: MessageModel,
    pub consume_from_where: ConsumeFromWhere,
    pub last_update_timestamp: i64,
    /// The heartbeat-v2 fingerprint of the group's subscriptions, last seen.
    pub heartbeat_fingerprint: Option<i32>,
}

impl ConsumerGroupInfo {
    fn new(group: &str) -> Self {
        Self {
            group_name: group.to_owned(),
            channels: HashMap::new(),
            subscription_table: BTreeMap::new(),
            consume_type: ConsumeType::default(),
            message_model: MessageModel::default(),
            consume_from_where: ConsumeFromWhere::default(),
            last_update_timestamp: 0,
            heartbeat_fingerprint: None,
        }
    }

    /// Client ids of the members, sorted (every consumer must see the same order to rebalance
    /// the same way).
    pub fn all_client_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.channels.values().map(|c| c.client_id.clone()).collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// The members' channels.
    pub fn all_channels(&self) -> Vec<Channel> {
        self.channels.values().map(|c| c.channel.clone()).collect()
    }

    /// RocketMQ `updateSubscription`: new topics are added, newer versions replace older ones,
    /// topics no longer subscribed are removed. True when the set of topics changed.
    fn update_subscription(&mut self, subs: &[SubscriptionData]) -> bool {
        let mut changed = false;
        for sub in subs {
            match self.subscription_table.get(&sub.topic) {
                None => {
                    self.subscription_table.insert(sub.topic.clone(), sub.clone());
                    changed = true;
                }
                Some(old) if sub.sub_version > old.sub_version => {
                    self.subscription_table.insert(sub.topic.clone(), sub.clone());
                }
                Some(_) => {}
            }
        }
        let before = self.subscription_table.len();
        self.subscription_table.retain(|topic, _| subs.iter().any(|s| &s.topic == topic));
        changed || self.subscription_table.len() != before
    }
}

/// A group whose members changed, with the channels to notify.
#[derive(Debug, Clone)]
pub struct GroupChange {
    pub group: String,
    pub channels: Vec<Channel>,
}

/// The consumer registry.
pub struct ConsumerManager {
    max_groups: usize,
    max_channels_per_group: usize,
    groups: Mutex<BTreeMap<String, ConsumerGroupInfo>>,
}

impl std::fmt::Debug for ConsumerManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumerManager").field("groups", &self.lock().len()).finish()
    }
}

/// What a consumer heartbeat registers.
#[derive(Debug, Clone)]
pub struct ConsumerRegistration<'a> {
    pub group: &'a str,
    pub consume_type: ConsumeType,
    pub message_model: MessageModel,
    pub consume_from_where: ConsumeFromWhere,
    /// `None`: a heartbeat-v2 `withoutSub` heartbeat, which refreshes the membership and keeps
    /// the registered subscriptions.
    pub subscriptions: Option<&'a [SubscriptionData]>,
    /// The heartbeat-v2 fingerprint (0: a v1 heartbeat).
    pub fingerprint: i32,
}

/// What a consumer registration changed.
#[derive(Debug, Clone, Default)]
pub struct RegisterOutcome {
    /// Members or subscriptions changed: tell the group.
    pub change: Option<GroupChange>,
    /// The client should send its subscriptions again (heartbeat-v2 `IS_SUB_CHANGE`): the
    /// fingerprint moved, or a `withoutSub` heartbeat reached a broker that has none for it.
    pub sub_change: bool,
}

impl ConsumerManager {
    /// An empty registry with the given bounds.
    pub fn new(max_groups: usize, max_channels_per_group: usize) -> Self {
        Self { max_groups, max_channels_per_group, groups: Mutex::new(BTreeMap::new()) }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, ConsumerGroupInfo>> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers or refreshes a consumer (RocketMQ `registerConsumer`). `Ok(Some(change))` when
    /// the group gained a member or its subscriptions changed.
    pub fn register_consumer(
        &self,
        reg: &ConsumerRegistration<'_>,
        info: ClientChannelInfo,
    ) -> Result<RegisterOutcome, RegisterError> {
        let mut groups = self.lock();
        // A heartbeat handled after its connection closed (it was read just before the close)
        // must not register the client again: the close event has already run and will not
        // run twice, so the dead member would hold its queues until the channel expires. Under
        // the registry's lock, and the channel is marked closed before its close event runs,
        // so either this sees the close or the close event removes what this registers.
        if info.channel.is_closed() {
            return Ok(RegisterOutcome::default());
        }
        if !groups.contains_key(reg.group) && groups.len() >= self.max_groups {
            return Err(RegisterError::TooManyGroups { max: self.max_groups });
        }
        let g =
            groups.entry(reg.group.to_owned()).or_insert_with(|| ConsumerGroupInfo::new(reg.group));
        let id = info.channel.id();
        let new_member = match g.channels.get_mut(&id) {
            Some(existing) => {
                let changed_client = existing.client_id != info.client_id;
                *existing = info;
                changed_client
            }
            None => {
                if g.channels.len() >= self.max_channels_per_group {
                    return Err(RegisterError::TooManyChannels {
                        max: self.max_channels_per_group,
                    });
                }
                g.channels.insert(id, info);
                true
            }
        };
        g.consume_type = reg.consume_type;
        g.message_model = reg.message_model;
        g.consume_from_where = reg.consume_from_where;
        g.last_update_timestamp = rt::clock::now_millis() as i64;
        let mut resend = false;
        if reg.fingerprint != 0 {
            resend = g.heartbeat_fingerprint.is_some_and(|f| f != reg.fingerprint);
            g.heartbeat_fingerprint = Some(reg.fingerprint);
        }
        let sub_changed = match reg.subscriptions {
            Some(subs) => g.update_subscription(subs),
            None => {
                // Nothing to keep (e.g. this broker restarted): ask for the full heartbeat.
                resend |= g.subscription_table.is_empty();
                false
            }
        };
        let change = (new_member || sub_changed)
            .then(|| GroupChange { group: reg.group.to_owned(), channels: g.all_channels() });
        Ok(RegisterOutcome { change, sub_change: resend })
    }

    /// Removes a channel from a group (UNREGISTER_CLIENT). Returns the change to notify when
    /// members remain.
    pub fn unregister_consumer(&self, group: &str, channel: &Channel) -> Option<GroupChange> {
        let mut groups = self.lock();
        let g = groups.get_mut(group)?;
        g.channels.remove(&channel.id())?;
        if g.channels.is_empty() {
            groups.remove(group);
            return None;
        }
        Some(GroupChange { group: group.to_owned(), channels: g.all_channels() })
    }

    /// Removes a closed channel from every group; returns the groups left with members to
    /// notify.
    pub fn do_channel_close_event(&self, channel: &Channel) -> Vec<GroupChange> {
        self.remove_channels(|info| info.channel.id() == channel.id())
    }

    /// Drops channels whose last heartbeat is before `deadline_ms`, closing them; returns the
    /// groups to notify.
    pub fn scan_not_active_channel(&self, deadline_ms: i64) -> Vec<GroupChange> {
        self.remove_channels(|info| {
            let expired = info.last_update_timestamp < deadline_ms;
            if expired {
                tracing::info!(remote = %info.channel.remote_addr(), client = %info.client_id,
                    "consumer channel expired");
                info.channel.close();
            }
            expired
        })
    }

    fn remove_channels(
        &self,
        mut remove: impl FnMut(&ClientChannelInfo) -> bool,
    ) -> Vec<GroupChange> {
        let mut changes = Vec::new();
        let mut groups = self.lock();
        groups.retain(|name, g| {
            let before = g.channels.len();
            g.channels.retain(|_, info| !remove(info));
            if g.channels.is_empty() {
                return false;
            }
            if g.channels.len() != before {
                changes.push(GroupChange { group: name.clone(), channels: g.all_channels() });
            }
            true
        });
        changes
    }

    /// A group's members and subscriptions.
    pub fn get_consumer_group_info(&self, group: &str) -> Option<ConsumerGroupInfo> {
        self.lock().get(group).cloned()
    }

    /// The subscription a group registered for a topic.
    pub fn find_subscription_data(&self, group: &str, topic: &str) -> Option<SubscriptionData> {
        self.lock().get(group).and_then(|g| g.subscription_table.get(topic).cloned())
    }

    /// Groups subscribed to `topic`.
    pub fn query_topic_consume_by_who(&self, topic: &str) -> Vec<String> {
        self.lock()
            .values()
            .filter(|g| g.subscription_table.contains_key(topic))
            .map(|g| g.group_name.clone())
            .collect()
    }

    /// Number of groups tracked.
    pub fn group_count(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::Loopback;

    fn info(channel: &Channel, id: &str, at: i64) -> ClientChannelInfo {
        ClientChannelInfo {
            channel: channel.clone(),
            client_id: id.into(),
            language: protocol::LanguageCode::Java,
            version: 479,
            last_update_timestamp: at,
        }
    }

    fn sub(topic: &str, version: i64) -> SubscriptionData {
        SubscriptionData { topic: topic.into(), sub_version: version, ..Default::default() }
    }

    fn reg<'a>(subs: Option<&'a [SubscriptionData]>) -> ConsumerRegistration<'a> {
        ConsumerRegistration {
            group: "G",
            consume_type: ConsumeType::ConsumePassively,
            message_model: MessageModel::Clustering,
            consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
            subscriptions: subs,
            fingerprint: 0,
        }
    }

    #[tokio::test]
    async fn membership_subscriptions_and_bounds() {
        let lo = Loopback::start().await;
        let (a, b, c) = (lo.channel().await, lo.channel().await, lo.channel().await);
        let m = ConsumerManager::new(1, 2);
        let subs = [sub("T", 1)];
        let first = m.register_consumer(&reg(Some(&subs)), info(&a, "a", 10)).unwrap();
        assert_eq!(first.change.map(|c| c.channels.len()), Some(1));
        // Same member, same subscriptions: nothing to tell.
        assert!(m
            .register_consumer(&reg(Some(&subs)), info(&a, "a", 20))
            .unwrap()
            .change
            .is_none());
        // A newer version replaces without counting as a change; a new topic counts.
        let newer = [sub("T", 2)];
        assert!(m
            .register_consumer(&reg(Some(&newer)), info(&a, "a", 20))
            .unwrap()
            .change
            .is_none());
        assert_eq!(m.find_subscription_data("G", "T").map(|s| s.sub_version), Some(2));
        let two = [sub("T", 2), sub("U", 1)];
        assert!(m.register_consumer(&reg(Some(&two)), info(&a, "a", 20)).unwrap().change.is_some());
        // withoutSub keeps them.
        m.register_consumer(&reg(None), info(&a, "a", 30)).unwrap();
        assert!(m.find_subscription_data("G", "U").is_some());
        // A second member joins; a third does not fit; another group does not fit.
        assert!(m.register_consumer(&reg(Some(&two)), info(&b, "b", 30)).unwrap().change.is_some());
        assert_eq!(
            m.register_consumer(&reg(Some(&two)), info(&c, "c", 30)).unwrap_err(),
            RegisterError::TooManyChannels { max: 2 }
        );
        let other = ConsumerRegistration { group: "H", ..reg(Some(&two)) };
        assert_eq!(
            m.register_consumer(&other, info(&c, "c", 30)).unwrap_err(),
            RegisterError::TooManyGroups { max: 1 }
        );
        let ids = m.get_consumer_group_info("G").unwrap().all_client_ids();
        assert_eq!(ids, vec!["a".to_owned(), "b".to_owned()]);
        // b closes: a is told. a goes silent: the group disappears.
        let changes = m.do_channel_close_event(&b);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].channels.len(), 1);
        assert!(m.scan_not_active_channel(31).is_empty());
        assert!(m.get_consumer_group_info("G").is_none());
        assert_eq!(m.group_count(), 0);
    }

    /// A heartbeat processed after its channel's close event (it was read before the close)
    /// registers nothing: otherwise the dead member would keep its share of the queues until
    /// the channel expired, 120 s later.
    #[tokio::test]
    async fn a_heartbeat_on_a_closed_channel_registers_nothing() {
        let lo = Loopback::start().await;
        let (a, b) = (lo.channel().await, lo.channel().await);
        let m = ConsumerManager::new(4, 4);
        let subs = [sub("T", 1)];
        m.register_consumer(&reg(Some(&subs)), info(&a, "a", 10)).unwrap();
        b.close();
        let late = m.register_consumer(&reg(Some(&subs)), info(&b, "b", 20)).unwrap();
        assert!(late.change.is_none());
        let ids = m.get_consumer_group_info("G").unwrap().all_client_ids();
        assert_eq!(ids, vec!["a".to_owned()]);
    }
}
