//! RouteInfoManager: the name server's whole state. Brokers register (and re-register every 30 s
//! as their heartbeat) with their topic tables; clients ask which brokers serve a topic.
//!
//! The tables, as RocketMQ names them:
//! - `clusterAddrTable`: cluster name → broker names;
//! - `brokerAddrTable`: broker name → [`BrokerData`] (cluster, broker id → address; 0 = master);
//! - `topicQueueTable`: topic → broker name → [`QueueData`];
//! - `brokerLiveTable`: (cluster, address) → [`BrokerLiveInfo`];
//! - `filterServerTable`: (cluster, address) → filter server addresses.
//!
//! Every table is keyed by something a registered broker brought, so their sizes are bounded by
//! the registered brokers and their topic tables; expiry and unregistration remove the entries
//! again. The manager does no I/O and reads no clock: callers pass `now` (wall-clock millis), so
//! expiry is tested with injected time. Ordered maps keep every answer deterministic.

use std::collections::{BTreeMap, BTreeSet};

use protocol::body::{
    perm, BrokerData, ClusterInfo, DataVersion, QueueData, TopicConfig,
    TopicConfigSerializeWrapper, TopicList, TopicRouteData, MASTER_ID,
};

use crate::routeinfo::broker_live_info::{
    BrokerAddrInfo, BrokerLiveInfo, ChannelId, DEFAULT_BROKER_CHANNEL_EXPIRED_TIME_MILLIS,
};

/// Switches of the registry that come from the name server's configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouteInfoOptions {
    /// `supportActingMaster`: when a group with `enableActingMaster` lost its master, routes show
    /// its lowest-id slave as the (read-only) master.
    pub support_acting_master: bool,
    /// `deleteTopicWithBrokerRegistration`: a master's registration also removes its queues of
    /// topics missing from its topic table.
    pub delete_topic_with_broker_registration: bool,
}

/// One REGISTER_BROKER request, header and body together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrokerRegistration {
    pub cluster_name: String,
    pub broker_addr: String,
    pub broker_name: String,
    pub broker_id: i64,
    pub ha_server_addr: String,
    pub zone_name: Option<String>,
    /// The broker's own expiry; absent or non-positive means the default 120 s.
    pub heartbeat_timeout_millis: Option<i64>,
    /// Absent for brokers older than 5.0, which know nothing of acting masters.
    pub enable_acting_master: Option<bool>,
    pub topic_config_wrapper: TopicConfigSerializeWrapper,
    pub filter_server_list: Vec<String>,
    pub channel_id: Option<ChannelId>,
}

/// What a registering slave learns about its master.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisterBrokerResult {
    pub ha_server_addr: Option<String>,
    pub master_addr: Option<String>,
}

/// One UNREGISTER_BROKER request (also built for an expired or disconnected broker).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrokerUnregistration {
    pub cluster_name: String,
    pub broker_addr: String,
    pub broker_name: String,
    pub broker_id: i64,
}

/// The name server's route tables.
#[derive(Debug, Clone, Default)]
pub struct RouteInfoManager {
    options: RouteInfoOptions,
    topic_queue_table: BTreeMap<String, BTreeMap<String, QueueData>>,
    broker_addr_table: BTreeMap<String, BrokerData>,
    cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
    broker_live_table: BTreeMap<BrokerAddrInfo, BrokerLiveInfo>,
    filter_server_table: BTreeMap<BrokerAddrInfo, Vec<String>>,
}

impl RouteInfoManager {
    pub fn new(options: RouteInfoOptions) -> Self {
        Self { options, ..Self::default() }
    }

    /// Registers (or refreshes) a broker at `now`. Topic data is re-read only from a master
    /// (or, with acting masters, the lowest-id slave), and only on its first registration or
    /// when its data version moved, or for a topic the table lost meanwhile.
    /// Whether a registration from `broker_addr` in `cluster_name` would add a broker address
    /// to a table already holding `max` of them.
    pub fn would_exceed(&self, cluster_name: &str, broker_addr: &str, max: usize) -> bool {
        self.broker_live_table.len() >= max
            && !self.broker_live_table.contains_key(&BrokerAddrInfo::new(cluster_name, broker_addr))
    }

    pub fn register_broker(&mut self, reg: BrokerRegistration, now: u64) -> RegisterBrokerResult {
        let addr_info = BrokerAddrInfo::new(&reg.cluster_name, &reg.broker_addr);
        self.cluster_addr_table
            .entry(reg.cluster_name.clone())
            .or_default()
            .insert(reg.broker_name.clone());

        let mut register_first = !self.broker_addr_table.contains_key(&reg.broker_name);
        let broker_data =
            self.broker_addr_table.entry(reg.broker_name.clone()).or_insert_with(|| BrokerData {
                broker_name: reg.broker_name.clone(),
                cluster: reg.cluster_name.clone(),
                ..BrokerData::default()
            });
        broker_data.enable_acting_master = reg.enable_acting_master.unwrap_or(false);
        broker_data.zone_name.clone_from(&reg.zone_name);

        // A slave promoted to master re-registers the same address under id 0: drop its old id
        // first so one address never appears twice.
        broker_data
            .broker_addrs
            .retain(|id, addr| *addr != reg.broker_addr || *id == reg.broker_id);

        // Another address still holds this id with a newer state: this registration is stale
        // (an old master coming back after a failover) and must not replace it.
        let new_state_version = reg.topic_config_wrapper.data_version.state_version;
        if let Some(old_addr) = broker_data.broker_addrs.get(&reg.broker_id) {
            if *old_addr != reg.broker_addr {
                let old_info = BrokerAddrInfo::new(&reg.cluster_name, old_addr.as_str());
                let newer = self
                    .broker_live_table
                    .get(&old_info)
                    .is_some_and(|old| old.data_version.state_version > new_state_version);
                if newer {
                    tracing::warn!(
                        broker = %reg.broker_name,
                        id = reg.broker_id,
                        stale = %reg.broker_addr,
                        current = %old_addr,
                        "registration refused: the id is held by a broker with a newer state"
                    );
                    self.broker_live_table.remove(&addr_info);
                    return RegisterBrokerResult::default();
                }
            }
        }

        let old_addr = broker_data.broker_addrs.insert(reg.broker_id, reg.broker_addr.clone());
        register_first |= old_addr.is_none();

        let is_master = reg.broker_id == MASTER_ID;
        let is_prime_slave = reg.enable_acting_master.is_some()
            && !is_master
            && broker_data.broker_addrs.keys().next() == Some(&reg.broker_id);
        let acting_master = is_prime_slave && broker_data.enable_acting_master;

        if is_master || is_prime_slave {
            let wrapper = &reg.topic_config_wrapper;
            let version_changed = self.is_broker_topic_config_changed(
                &reg.cluster_name,
                &reg.broker_addr,
                &wrapper.data_version,
            );
            if self.options.delete_topic_with_broker_registration
                && wrapper.topic_queue_mapping_info_map.is_empty()
            {
                self.remove_topics_not_in(&reg.broker_name, &wrapper.topic_config_table);
            }
            for (key, config) in &wrapper.topic_config_table {
                let topic = if config.topic_name.is_empty() { key } else { &config.topic_name };
                let lost = !self
                    .topic_queue_table
                    .get(topic)
                    .is_some_and(|m| m.contains_key(&reg.broker_name));
                if register_first || version_changed || lost {
                    self.create_and_update_queue_data(
                        &reg.broker_name,
                        topic,
                        config,
                        acting_master,
                    );
                }
            }
        }

        let timeout = match reg.heartbeat_timeout_millis {
            Some(t) if t > 0 => t.unsigned_abs(),
            _ => DEFAULT_BROKER_CHANNEL_EXPIRED_TIME_MILLIS,
        };
        let previous = self.broker_live_table.insert(
            addr_info.clone(),
            BrokerLiveInfo {
                last_update_timestamp: now,
                heartbeat_timeout_millis: timeout,
                data_version: reg.topic_config_wrapper.data_version,
                channel_id: reg.channel_id,
                ha_server_addr: reg.ha_server_addr.clone(),
            },
        );
        if previous.is_none() {
            tracing::info!(
                cluster = %reg.cluster_name,
                broker = %reg.broker_name,
                id = reg.broker_id,
                addr = %reg.broker_addr,
                "new broker registered"
            );
        }

        if reg.filter_server_list.is_empty() {
            self.filter_server_table.remove(&addr_info);
        } else {
            self.filter_server_table.insert(addr_info, reg.filter_server_list);
        }

        let mut result = RegisterBrokerResult::default();
        if !is_master {
            let master_addr = self
                .broker_addr_table
                .get(&reg.broker_name)
                .and_then(|b| b.master_addr().map(str::to_owned));
            if let Some(master_addr) = master_addr {
                let master_info = BrokerAddrInfo::new(&reg.cluster_name, master_addr.as_str());
                if let Some(live) = self.broker_live_table.get(&master_info) {
                    result.ha_server_addr = Some(live.ha_server_addr.clone());
                    result.master_addr = Some(master_addr);
                }
            }
        }
        result
    }

    fn create_and_update_queue_data(
        &mut self,
        broker_name: &str,
        topic: &str,
        config: &TopicConfig,
        acting_master: bool,
    ) {
        // An acting master is a slave: it serves reads only.
        let perm = if acting_master { config.perm & !perm::WRITE } else { config.perm };
        let queue_data = QueueData {
            broker_name: broker_name.to_owned(),
            perm,
            read_queue_nums: config.read_queue_nums,
            topic_sys_flag: config.topic_sys_flag,
            write_queue_nums: config.write_queue_nums,
        };
        let queues = self.topic_queue_table.entry(topic.to_owned()).or_default();
        if queues.get(broker_name) != Some(&queue_data) {
            if queues.contains_key(broker_name) {
                tracing::info!(topic, broker = broker_name, ?queue_data, "topic queues changed");
            } else {
                tracing::info!(topic, broker = broker_name, ?queue_data, "new topic registered");
            }
            queues.insert(broker_name.to_owned(), queue_data);
        }
    }

    fn remove_topics_not_in(&mut self, broker_name: &str, keep: &BTreeMap<String, TopicConfig>) {
        let keep: BTreeSet<&str> = keep
            .iter()
            .map(|(k, c)| if c.topic_name.is_empty() { k.as_str() } else { c.topic_name.as_str() })
            .collect();
        self.topic_queue_table.retain(|topic, queues| {
            if !keep.contains(topic.as_str()) && queues.remove(broker_name).is_some() {
                tracing::info!(topic, broker = broker_name, "topic dropped by registration");
            }
            !queues.is_empty()
        });
    }

    /// Whether `data_version` differs from what this broker registered last (or it never did).
    pub fn is_broker_topic_config_changed(
        &self,
        cluster_name: &str,
        broker_addr: &str,
        data_version: &DataVersion,
    ) -> bool {
        self.query_broker_topic_config(cluster_name, broker_addr) != Some(data_version)
    }

    /// The data version this broker registered last.
    pub fn query_broker_topic_config(
        &self,
        cluster_name: &str,
        broker_addr: &str,
    ) -> Option<&DataVersion> {
        self.broker_live_table
            .get(&BrokerAddrInfo::new(cluster_name, broker_addr))
            .map(|live| &live.data_version)
    }

    /// Refreshes a registered broker's liveness (BROKER_HEARTBEAT, QUERY_DATA_VERSION). Returns
    /// whether the broker was registered; an unknown one stays unknown.
    pub fn update_broker_info_update_timestamp(
        &mut self,
        cluster_name: &str,
        broker_addr: &str,
        heartbeat_timeout_millis: Option<i64>,
        now: u64,
    ) -> bool {
        match self.broker_live_table.get_mut(&BrokerAddrInfo::new(cluster_name, broker_addr)) {
            Some(live) => {
                live.last_update_timestamp = now;
                if let Some(t) = heartbeat_timeout_millis.filter(|t| *t > 0) {
                    live.heartbeat_timeout_millis = t.unsigned_abs();
                }
                true
            }
            None => false,
        }
    }

    /// Removes one broker address. A broker name with no address left disappears from its
    /// cluster, and its queues from every topic; a topic left without queues vanishes.
    pub fn unregister_broker(&mut self, req: &BrokerUnregistration) {
        let addr_info = BrokerAddrInfo::new(&req.cluster_name, &req.broker_addr);
        let was_live = self.broker_live_table.remove(&addr_info).is_some();
        self.filter_server_table.remove(&addr_info);
        tracing::info!(
            cluster = %req.cluster_name,
            broker = %req.broker_name,
            id = req.broker_id,
            addr = %req.broker_addr,
            was_live,
            "broker unregistered"
        );

        let mut remove_broker_name = false;
        let mut lost_master = false;
        if let Some(broker_data) = self.broker_addr_table.get_mut(&req.broker_name) {
            // By address, as RocketMQ does: the id may have changed with a role switch.
            broker_data.broker_addrs.retain(|_, addr| *addr != req.broker_addr);
            if broker_data.broker_addrs.is_empty() {
                self.broker_addr_table.remove(&req.broker_name);
                remove_broker_name = true;
            } else {
                lost_master = broker_data.enable_acting_master
                    && !broker_data.broker_addrs.contains_key(&MASTER_ID);
            }
        }

        if remove_broker_name {
            if let Some(names) = self.cluster_addr_table.get_mut(&req.cluster_name) {
                names.remove(&req.broker_name);
                if names.is_empty() {
                    self.cluster_addr_table.remove(&req.cluster_name);
                }
            }
            self.remove_topic_by_broker_name(&req.broker_name);
        } else if lost_master {
            // The group's remaining slaves serve reads only until a master is back.
            for queues in self.topic_queue_table.values_mut() {
                if let Some(q) = queues.get_mut(&req.broker_name) {
                    q.perm &= !perm::WRITE;
                }
            }
        }
    }

    fn remove_topic_by_broker_name(&mut self, broker_name: &str) {
        self.topic_queue_table.retain(|topic, queues| {
            if queues.remove(broker_name).is_some() {
                tracing::info!(topic, broker = broker_name, "topic queues removed with broker");
            }
            if queues.is_empty() {
                tracing::info!(topic, "topic removed: no broker serves it");
            }
            !queues.is_empty()
        });
    }

    /// Removes every broker that stayed silent past its timeout at `now`, and returns them with
    /// the connection each registered on (which the caller closes).
    pub fn scan_not_active_broker(&mut self, now: u64) -> Vec<(BrokerAddrInfo, Option<ChannelId>)> {
        let expired: Vec<(BrokerAddrInfo, Option<ChannelId>, u64)> = self
            .broker_live_table
            .iter()
            .filter(|(_, live)| live.is_expired(now))
            .map(|(k, live)| (k.clone(), live.channel_id, live.last_update_timestamp))
            .collect();
        expired
            .into_iter()
            .map(|(addr_info, channel, last)| {
                tracing::warn!(
                    cluster = %addr_info.cluster_name,
                    addr = %addr_info.broker_addr,
                    silent_ms = now.saturating_sub(last),
                    "broker expired: no registration within its heartbeat timeout"
                );
                self.on_broker_destroy(&addr_info);
                (addr_info, channel)
            })
            .collect()
    }

    /// A connection closed: every broker that registered on it is removed at once. (RocketMQ
    /// removes the first one only; brokers sharing a connection all lost their heartbeat path.)
    pub fn on_channel_destroy(&mut self, channel_id: ChannelId) -> Vec<BrokerAddrInfo> {
        let gone: Vec<BrokerAddrInfo> = self
            .broker_live_table
            .iter()
            .filter(|(_, live)| live.channel_id == Some(channel_id))
            .map(|(k, _)| k.clone())
            .collect();
        for addr_info in &gone {
            tracing::info!(
                cluster = %addr_info.cluster_name,
                addr = %addr_info.broker_addr,
                channel_id,
                "broker connection closed; removing the broker"
            );
            self.on_broker_destroy(addr_info);
        }
        gone
    }

    fn on_broker_destroy(&mut self, addr_info: &BrokerAddrInfo) {
        let found = self.broker_addr_table.values().find_map(|b| {
            if b.cluster != addr_info.cluster_name {
                return None;
            }
            b.broker_addrs
                .iter()
                .find(|(_, addr)| **addr == addr_info.broker_addr)
                .map(|(id, _)| (b.broker_name.clone(), *id))
        });
        match found {
            Some((broker_name, broker_id)) => self.unregister_broker(&BrokerUnregistration {
                cluster_name: addr_info.cluster_name.clone(),
                broker_addr: addr_info.broker_addr.clone(),
                broker_name,
                broker_id,
            }),
            None => {
                self.broker_live_table.remove(addr_info);
                self.filter_server_table.remove(addr_info);
            }
        }
    }

    /// The route of `topic`: its queues and the brokers serving them; None if no broker does.
    pub fn pickup_topic_route_data(&self, topic: &str) -> Option<TopicRouteData> {
        let queues = self.topic_queue_table.get(topic)?;
        let mut route = TopicRouteData {
            queue_datas: queues.values().cloned().collect(),
            ..TopicRouteData::default()
        };
        for broker_name in queues.keys() {
            let Some(broker_data) = self.broker_addr_table.get(broker_name) else { continue };
            for addr in broker_data.broker_addrs.values() {
                let key = BrokerAddrInfo::new(&broker_data.cluster, addr.as_str());
                if let Some(filters) = self.filter_server_table.get(&key) {
                    route.filter_server_table.insert(addr.clone(), filters.clone());
                }
            }
            route.broker_datas.push(broker_data.clone());
        }
        if route.broker_datas.is_empty() || route.queue_datas.is_empty() {
            return None;
        }
        if self.options.support_acting_master {
            Self::show_acting_masters(&mut route);
        }
        Some(route)
    }

    /// A group that lost its master and whose queues were made read-only shows its lowest-id
    /// slave under id 0, so clients can read from it.
    fn show_acting_masters(route: &mut TopicRouteData) {
        for broker_data in &mut route.broker_datas {
            let addrs = &mut broker_data.broker_addrs;
            if addrs.is_empty()
                || addrs.contains_key(&MASTER_ID)
                || !broker_data.enable_acting_master
            {
                continue;
            }
            let read_only = route
                .queue_datas
                .iter()
                .find(|q| q.broker_name == broker_data.broker_name)
                .is_some_and(|q| !perm::is_writeable(q.perm));
            if read_only {
                if let Some((_, addr)) = addrs.pop_first() {
                    addrs.insert(MASTER_ID, addr);
                }
            }
        }
    }

    /// Every broker and cluster (GET_BROKER_CLUSTER_INFO).
    pub fn get_all_cluster_info(&self) -> ClusterInfo {
        ClusterInfo {
            broker_addr_table: self.broker_addr_table.clone(),
            cluster_addr_table: self.cluster_addr_table.clone(),
        }
    }

    /// Every topic some broker serves.
    pub fn get_all_topic_list(&self) -> TopicList {
        TopicList {
            broker_addr: None,
            topic_list: self.topic_queue_table.keys().cloned().collect(),
        }
    }

    /// The topics served by at least one broker of `cluster`.
    pub fn get_topics_by_cluster(&self, cluster: &str) -> TopicList {
        let mut list = TopicList::default();
        if let Some(names) = self.cluster_addr_table.get(cluster) {
            for (topic, queues) in &self.topic_queue_table {
                if names.iter().any(|name| queues.contains_key(name)) {
                    list.topic_list.insert(topic.clone());
                }
            }
        }
        list
    }

    /// RocketMQ's "system topics": the cluster names and broker names (each broker has a topic
    /// of its own name and one per cluster), with some broker address to ask.
    pub fn get_system_topic_list(&self) -> TopicList {
        let mut list = TopicList::default();
        for (cluster, names) in &self.cluster_addr_table {
            list.topic_list.insert(cluster.clone());
            list.topic_list.extend(names.iter().cloned());
        }
        list.broker_addr =
            self.broker_addr_table.values().find_map(|b| b.broker_addrs.values().next().cloned());
        list
    }

    /// Removes a topic's queues: those of `cluster`'s brokers, or all of them.
    pub fn delete_topic(&mut self, topic: &str, cluster: Option<&str>) {
        match cluster.filter(|c| !c.is_empty()) {
            Some(cluster) => {
                let Some(names) = self.cluster_addr_table.get(cluster) else { return };
                if let Some(queues) = self.topic_queue_table.get_mut(topic) {
                    queues.retain(|name, _| !names.contains(name));
                    if queues.is_empty() {
                        self.topic_queue_table.remove(topic);
                    }
                }
            }
            None => {
                self.topic_queue_table.remove(topic);
            }
        }
        tracing::info!(topic, cluster, "topic deleted");
    }

    /// Adds queues of a topic by hand (REGISTER_TOPIC_IN_NAMESRV); only for known brokers.
    pub fn register_topic(&mut self, topic: &str, queue_datas: &[QueueData]) {
        for q in queue_datas {
            if self.broker_addr_table.contains_key(&q.broker_name) {
                self.topic_queue_table
                    .entry(topic.to_owned())
                    .or_default()
                    .insert(q.broker_name.clone(), q.clone());
            }
        }
    }

    /// Clears (`wipe`) or sets the write permission of every queue of one broker name; returns
    /// how many topics were touched.
    pub fn operate_write_perm_of_broker(&mut self, broker_name: &str, wipe: bool) -> i32 {
        let mut count = 0;
        for queues in self.topic_queue_table.values_mut() {
            if let Some(q) = queues.get_mut(broker_name) {
                q.perm = if wipe { q.perm & !perm::WRITE } else { perm::READ | perm::WRITE };
                count += 1;
            }
        }
        count
    }

    /// The live record of a broker address.
    pub fn broker_live_info(
        &self,
        cluster_name: &str,
        broker_addr: &str,
    ) -> Option<&BrokerLiveInfo> {
        self.broker_live_table.get(&BrokerAddrInfo::new(cluster_name, broker_addr))
    }

    /// How many broker addresses are registered.
    pub fn live_broker_count(&self) -> usize {
        self.broker_live_table.len()
    }
}

#[cfg(test)]
mod tests;
