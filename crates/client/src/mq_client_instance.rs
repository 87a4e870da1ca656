//! [`MQClientInstance`]: what the producers and consumers of one [`ClientConfig`] share (RocketMQ
//! `MQClientInstance` and `MQClientManager`): the transport, the route and broker address
//! tables, the client id and message-id generator, and the background tasks (route refresh,
//! heartbeat, rebalance, offset persistence).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use protocol::body::{ConsumerData, HeartbeatData, ProducerData, TopicRouteData, MASTER_ID};
use protocol::message::msg_id::month_start_utc;
use protocol::message::UniqKeyPrefix;
use protocol::{RemotingCommand, RequestCode, ResponseCode};
use remoting::{processor_fn, RemotingClient};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::client_config::ClientConfig;
use crate::error::{MQClientError, Result};
use crate::message::MessageQueue;
use crate::mq_client_api::MQClientAPI;
use crate::topic_publish_info::{default_topic_route, subscribe_queues, TopicPublishInfo};

/// The topic whose route a producer borrows for topics the name servers do not know yet.
pub const AUTO_CREATE_TOPIC_KEY: &str = "TBW102";
/// The producer group a consumer's internal resends use.
pub const CLIENT_INNER_PRODUCER_GROUP: &str = "CLIENT_INNER_PRODUCER";

/// A boxed future, for the consumer callbacks the instance drives.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What the instance needs from a consumer: its heartbeat data, its topics, and the periodic
/// rebalance and offset persistence.
pub(crate) trait ConsumerInner: Send + Sync + 'static {
    fn consumer_data(&self) -> ConsumerData;
    fn subscribed_topics(&self) -> Vec<String>;
    fn do_rebalance(self: Arc<Self>) -> BoxFuture<()>;
    fn persist_consumer_offset(self: Arc<Self>) -> BoxFuture<()>;
}

#[derive(Default)]
struct Tables {
    routes: HashMap<String, TopicRouteData>,
    /// brokerName -> brokerId -> address.
    broker_addrs: HashMap<String, BTreeMap<i64, String>>,
    publish: HashMap<String, Arc<TopicPublishInfo>>,
    subscribe: HashMap<String, BTreeSet<MessageQueue>>,
    /// Producer group -> how many producers of this instance use it.
    producers: BTreeMap<String, usize>,
    consumers: BTreeMap<String, Weak<dyn ConsumerInner>>,
}

/// The shared client runtime of one config. Obtained by producers and consumers when they
/// start; stopped when the last of them shuts down.
pub struct MQClientInstance {
    config: ClientConfig,
    key: String,
    client_id: String,
    client_ip: IpAddr,
    api: MQClientAPI,
    uniq_prefix: UniqKeyPrefix,
    uniq_counter: AtomicU16,
    tables: Mutex<Tables>,
    /// One route update at a time, so concurrent senders of a new topic ask once.
    route_lock: tokio::sync::Mutex<()>,
    rebalance_notify: Notify,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    started: AtomicBool,
    users: AtomicUsize,
}

/// The process's running instances by instance key (one per simulated node under simulation).
#[derive(Default)]
struct Registry(tokio::sync::Mutex<HashMap<String, Weak<MQClientInstance>>>);

impl MQClientInstance {
    /// The instance of `config` (by instance and unit name), made if none is running. The
    /// client IP defaults to the local address of a connection to a name server.
    ///
    /// The registry is process-wide, as RocketMQ's `MQClientManager` is; under simulation it is
    /// per simulated node (see `rt::process_local`).
    pub async fn get_or_create(config: &ClientConfig) -> Result<Arc<Self>> {
        let key =
            format!("{}@{}", config.instance_name, config.unit_name.as_deref().unwrap_or_default());
        let registry = rt::process_local::get::<Registry>();
        let mut reg = registry.0.lock().await;
        if let Some(existing) = reg.get(&key).and_then(Weak::upgrade) {
            return Ok(existing);
        }
        reg.retain(|_, w| w.strong_count() > 0);
        let namesrv_addrs = config.namesrv_addrs();
        if namesrv_addrs.is_empty() {
            return Err(MQClientError::NoNameServer);
        }
        let remoting = RemotingClient::new(config.remoting.clone());
        let client_ip = match config.client_ip {
            Some(ip) => ip,
            None => local_ip(&remoting, &namesrv_addrs).await,
        };
        let api = MQClientAPI::new(remoting, namesrv_addrs, config.mq_client_api_timeout);
        let pid = rt::process_local::pid() as i16;
        let instance = Arc::new(Self {
            config: config.clone(),
            key: key.clone(),
            client_id: config.build_client_id(client_ip),
            client_ip,
            api,
            uniq_prefix: UniqKeyPrefix::new(client_ip, pid, rt::rand::u32() as i32),
            uniq_counter: AtomicU16::new(rt::rand::u32() as u16),
            tables: Mutex::default(),
            route_lock: tokio::sync::Mutex::new(()),
            rebalance_notify: Notify::new(),
            tasks: Mutex::default(),
            started: AtomicBool::new(false),
            users: AtomicUsize::new(0),
        });
        reg.insert(key, Arc::downgrade(&instance));
        Ok(instance)
    }

    /// `ip@instance[@unit]`.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The IP in the client id and message ids.
    pub fn client_ip(&self) -> IpAddr {
        self.client_ip
    }

    /// The config this instance was made from.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The request layer.
    pub fn api(&self) -> &MQClientAPI {
        &self.api
    }

    fn tables(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A fresh UNIQ_KEY: this client's IP, pid and hash, the ms since the month began and a
    /// counter.
    pub fn create_uniq_id(&self) -> String {
        let now = rt::clock::now_millis() as i64;
        let elapsed = (now - month_start_utc(now)) as i32;
        let counter = self.uniq_counter.fetch_add(1, Ordering::Relaxed) as i16;
        self.uniq_prefix.create(elapsed, counter)
    }

    /// Counts a producer or consumer in; starts the background tasks with the first.
    pub(crate) fn acquire(self: &Arc<Self>) {
        self.users.fetch_add(1, Ordering::SeqCst);
        if !self.started.swap(true, Ordering::SeqCst) {
            self.start_tasks();
        }
    }

    /// Counts a producer or consumer out; the last one stops the tasks and the connections.
    pub(crate) async fn release(self: &Arc<Self>) {
        if self.users.fetch_sub(1, Ordering::SeqCst) != 1 {
            return;
        }
        for task in self.tasks.lock().unwrap_or_else(PoisonError::into_inner).drain(..) {
            task.abort();
        }
        self.started.store(false, Ordering::SeqCst);
        self.api.remoting().close_all();
        let registry = rt::process_local::get::<Registry>();
        let mut reg = registry.0.lock().await;
        if reg.get(&self.key).is_some_and(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(self))) {
            reg.remove(&self.key);
        }
        info!(client_id = %self.client_id, "client instance stopped");
    }

    fn start_tasks(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        self.api.remoting().set_request_processor(processor_fn(move |_channel, req| {
            let weak = weak.clone();
            async move { process_server_request(&weak, req) }
        }));
        let c = &self.config;
        let mut tasks = Vec::new();
        tasks.push(self.every(c.poll_name_server_interval, |i| async move {
            i.update_topic_route_info_from_name_server().await;
        }));
        tasks.push(self.every(c.heartbeat_broker_interval, |i| async move {
            i.send_heartbeat_to_all_brokers().await;
        }));
        tasks.push(self.every(c.persist_consumer_offset_interval, |i| async move {
            i.persist_all_consumer_offset().await;
        }));
        let weak = Arc::downgrade(self);
        let interval = c.rebalance_interval;
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(notify) = weak.upgrade() else { return };
                // Wait without keeping the instance alive.
                let notified = async move {
                    let _ =
                        tokio::time::timeout(interval, notify.rebalance_notify.notified()).await;
                };
                notified.await;
                let Some(instance) = weak.upgrade() else { return };
                instance.do_rebalance().await;
            }
        }));
        self.tasks.lock().unwrap_or_else(PoisonError::into_inner).extend(tasks);
        info!(client_id = %self.client_id, "client instance started");
    }

    fn every<F, Fut>(self: &Arc<Self>, period: Duration, f: F) -> JoinHandle<()>
    where
        F: Fn(Arc<Self>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(period).await;
                let Some(instance) = weak.upgrade() else { return };
                f(instance).await;
            }
        })
    }

    /// Wakes the rebalance task now (NOTIFY_CONSUMER_IDS_CHANGED, a consumer starting).
    pub fn rebalance_immediately(&self) {
        self.rebalance_notify.notify_one();
    }

    async fn do_rebalance(&self) {
        for consumer in self.consumers() {
            consumer.do_rebalance().await;
        }
    }

    async fn persist_all_consumer_offset(&self) {
        for consumer in self.consumers() {
            consumer.persist_consumer_offset().await;
        }
    }

    fn consumers(&self) -> Vec<Arc<dyn ConsumerInner>> {
        self.tables().consumers.values().filter_map(Weak::upgrade).collect()
    }

    // ---- producer and consumer registration ----

    pub(crate) fn register_producer(&self, group: &str) {
        *self.tables().producers.entry(group.to_owned()).or_default() += 1;
    }

    pub(crate) fn register_consumer(
        &self,
        group: &str,
        consumer: Weak<dyn ConsumerInner>,
    ) -> Result<()> {
        let mut t = self.tables();
        if t.consumers.get(group).is_some_and(|w| w.strong_count() > 0) {
            return Err(MQClientError::InvalidArgument(format!(
                "consumer group {group} already runs on client {}",
                self.client_id
            )));
        }
        t.consumers.insert(group.to_owned(), consumer);
        Ok(())
    }

    /// Forgets a producer group and tells the brokers, if it was the group's last producer.
    pub(crate) async fn unregister_producer(&self, group: &str) {
        let last = {
            let mut t = self.tables();
            match t.producers.get_mut(group) {
                Some(n) if *n > 1 => {
                    *n -= 1;
                    false
                }
                Some(_) => {
                    t.producers.remove(group);
                    true
                }
                None => false,
            }
        };
        if last {
            self.unregister_client(Some(group), None).await;
        }
    }

    /// Forgets a consumer group and tells the brokers.
    pub(crate) async fn unregister_consumer(&self, group: &str) {
        self.tables().consumers.remove(group);
        self.unregister_client(None, Some(group)).await;
    }

    async fn unregister_client(&self, producer: Option<&str>, consumer: Option<&str>) {
        for addr in self.broker_addrs(false) {
            if let Err(e) =
                self.api.unregister_client(&addr, &self.client_id, producer, consumer).await
            {
                debug!(addr, error = %e, "unregister client failed");
            }
        }
    }

    // ---- heartbeat ----

    fn heartbeat_data(&self) -> HeartbeatData {
        let consumers = self.consumers();
        let t = self.tables();
        let mut producer_data_set: Vec<ProducerData> =
            t.producers.keys().map(|g| ProducerData { group_name: g.clone() }).collect();
        drop(t);
        if !consumers.is_empty() {
            producer_data_set
                .push(ProducerData { group_name: CLIENT_INNER_PRODUCER_GROUP.to_owned() });
        }
        HeartbeatData {
            client_id: self.client_id.clone(),
            consumer_data_set: consumers.iter().map(|c| c.consumer_data()).collect(),
            heartbeat_fingerprint: 0,
            producer_data_set,
            without_sub: false,
        }
    }

    /// HEART_BEAT with every producer and consumer group to every master (and, when consumers
    /// run, every slave too, which they may pull from).
    pub async fn send_heartbeat_to_all_brokers(&self) {
        let data = self.heartbeat_data();
        if data.producer_data_set.is_empty() && data.consumer_data_set.is_empty() {
            return;
        }
        let masters_only = data.consumer_data_set.is_empty();
        for addr in self.broker_addrs(masters_only) {
            if let Err(e) = self.api.send_heartbeat(&addr, &data).await {
                warn!(addr, error = %e, "heartbeat failed");
            }
        }
    }

    // ---- routes ----

    /// Refreshes the routes of every topic in use and forgets brokers no route names.
    pub async fn update_topic_route_info_from_name_server(&self) {
        let mut topics: BTreeSet<String> = self.tables().routes.keys().cloned().collect();
        for consumer in self.consumers() {
            topics.extend(consumer.subscribed_topics());
        }
        for topic in topics {
            if let Err(e) = self.update_topic_route(&topic).await {
                debug!(topic, error = %e, "route refresh failed");
            }
        }
        self.clean_offline_brokers();
    }

    /// Fetches `topic`'s route; `Ok(false)` if no name server knows it.
    pub async fn update_topic_route(&self, topic: &str) -> Result<bool> {
        let _guard = self.route_lock.lock().await;
        match self.api.get_topic_route_info(topic).await? {
            Some(route) => {
                self.apply_route(topic, route);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn apply_route(&self, topic: &str, route: TopicRouteData) {
        let mut t = self.tables();
        for bd in &route.broker_datas {
            t.broker_addrs.insert(bd.broker_name.clone(), bd.broker_addrs.clone());
        }
        if t.routes.get(topic) == Some(&route) {
            return;
        }
        debug!(topic, ?route, "route changed");
        t.publish.insert(topic.to_owned(), Arc::new(TopicPublishInfo::from_route(topic, &route)));
        t.subscribe.insert(topic.to_owned(), subscribe_queues(topic, &route));
        t.routes.insert(topic.to_owned(), route);
    }

    fn clean_offline_brokers(&self) {
        let mut t = self.tables();
        let live: BTreeSet<String> = t
            .routes
            .values()
            .flat_map(|r| r.broker_datas.iter().map(|b| b.broker_name.clone()))
            .collect();
        t.broker_addrs.retain(|name, _| live.contains(name));
    }

    /// The publish info of `topic`: cached, else fetched, else derived from TBW102's route
    /// with at most `default_queue_nums` queues per broker so the broker auto-creates it.
    pub async fn find_topic_publish_info(
        &self,
        topic: &str,
        default_queue_nums: i32,
    ) -> Result<Arc<TopicPublishInfo>> {
        if let Some(info) = self.cached_publish_info(topic) {
            return Ok(info);
        }
        let known = self.update_topic_route(topic).await;
        if let Some(info) = self.cached_publish_info(topic) {
            return Ok(info);
        }
        known?;
        let tbw = {
            let _guard = self.route_lock.lock().await;
            self.api.get_topic_route_info(AUTO_CREATE_TOPIC_KEY).await?
        };
        if let Some(tbw) = tbw {
            self.apply_route(topic, default_topic_route(&tbw, default_queue_nums));
        }
        self.cached_publish_info(topic).ok_or_else(|| MQClientError::NoRoute(topic.to_owned()))
    }

    fn cached_publish_info(&self, topic: &str) -> Option<Arc<TopicPublishInfo>> {
        self.tables().publish.get(topic).filter(|i| i.ok()).cloned()
    }

    /// The readable queues of `topic`, fetching the route if it is not known yet.
    pub async fn topic_subscribe_info(&self, topic: &str) -> Result<BTreeSet<MessageQueue>> {
        if let Some(set) = self.tables().subscribe.get(topic) {
            return Ok(set.clone());
        }
        if !self.update_topic_route(topic).await? {
            return Err(MQClientError::NoRoute(topic.to_owned()));
        }
        Ok(self.tables().subscribe.get(topic).cloned().unwrap_or_default())
    }

    /// The cached route of `topic`.
    pub fn topic_route(&self, topic: &str) -> Option<TopicRouteData> {
        self.tables().routes.get(topic).cloned()
    }

    /// The master address of `broker_name` (where sends, offsets and send-backs go).
    pub fn find_broker_address_in_publish(&self, broker_name: &str) -> Option<String> {
        self.tables().broker_addrs.get(broker_name).and_then(|a| a.get(&MASTER_ID)).cloned()
    }

    /// Where to pull from `broker_name`: the master, else any replica.
    pub fn find_broker_address_in_subscribe(&self, broker_name: &str) -> Option<String> {
        let t = self.tables();
        let addrs = t.broker_addrs.get(broker_name)?;
        addrs.get(&MASTER_ID).or_else(|| addrs.values().next()).cloned()
    }

    /// Like [`Self::find_broker_address_in_publish`], refreshing `topic`'s route once if the
    /// broker is unknown.
    pub async fn find_broker_address_refreshing(
        &self,
        broker_name: &str,
        topic: &str,
    ) -> Result<String> {
        if let Some(addr) = self.find_broker_address_in_publish(broker_name) {
            return Ok(addr);
        }
        self.update_topic_route(topic).await?;
        self.find_broker_address_in_publish(broker_name)
            .ok_or_else(|| MQClientError::BrokerNotFound(broker_name.to_owned()))
    }

    /// Some broker of `topic` (a random one, spreading the load), for group-wide questions
    /// like the consumer id list.
    pub fn find_broker_addr_by_topic(&self, topic: &str) -> Option<String> {
        let t = self.tables();
        let route = t.routes.get(topic)?;
        let n = route.broker_datas.len();
        if n == 0 {
            return None;
        }
        let start = rt::rand::u32() as usize % n;
        (0..n)
            .find_map(|i| {
                let bd = route.broker_datas.get((start + i) % n)?;
                bd.master_addr().or_else(|| bd.broker_addrs.values().next().map(String::as_str))
            })
            .map(str::to_owned)
    }

    /// Every known broker address (masters only if asked).
    pub fn broker_addrs(&self, masters_only: bool) -> Vec<String> {
        let t = self.tables();
        let mut out: Vec<String> = t
            .broker_addrs
            .values()
            .flat_map(|a| a.iter().filter(|(id, _)| !masters_only || **id == MASTER_ID))
            .map(|(_, addr)| addr.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The consumer ids of `group` as a broker of `topic` knows them.
    pub async fn find_consumer_id_list(&self, topic: &str, group: &str) -> Result<Vec<String>> {
        let addr = match self.find_broker_addr_by_topic(topic) {
            Some(a) => a,
            None => {
                self.update_topic_route(topic).await?;
                self.find_broker_addr_by_topic(topic)
                    .ok_or_else(|| MQClientError::NoRoute(topic.to_owned()))?
            }
        };
        self.api.get_consumer_id_list(&addr, group).await
    }
}

/// Requests brokers send on this client's connections.
fn process_server_request(
    weak: &Weak<MQClientInstance>,
    req: RemotingCommand,
) -> Option<RemotingCommand> {
    match req.code {
        RequestCode::NOTIFY_CONSUMER_IDS_CHANGED => {
            if let Some(instance) = weak.upgrade() {
                debug!(client_id = %instance.client_id, "consumer ids changed; rebalancing");
                instance.rebalance_immediately();
            }
            None
        }
        code if req.is_oneway() => {
            debug!(code, "ignoring one-way request from a broker");
            None
        }
        code => Some(RemotingCommand::response(
            ResponseCode::REQUEST_CODE_NOT_SUPPORTED,
            Some(format!("request code {code} not supported by this client")),
        )),
    }
}

/// The local address of a connection to the first reachable name server, else 127.0.0.1.
async fn local_ip(remoting: &RemotingClient, namesrv_addrs: &[String]) -> IpAddr {
    for addr in namesrv_addrs {
        if let Ok(channel) = remoting.channel(addr).await {
            let ip = channel.local_addr().ip();
            if !ip.is_unspecified() {
                return ip;
            }
        }
    }
    IpAddr::V4(Ipv4Addr::LOCALHOST)
}

#[cfg(test)]
mod tests {
    use protocol::header::NotifyConsumerIdsChangedRequestHeader;

    use super::*;

    #[test]
    fn server_requests() {
        let none = Weak::new();
        let h = NotifyConsumerIdsChangedRequestHeader { consumer_group: "G".into() };
        let mut notify = RemotingCommand::request(RequestCode::NOTIFY_CONSUMER_IDS_CHANGED, &h);
        notify.mark_oneway();
        assert!(process_server_request(&none, notify).is_none());
        let other = RemotingCommand::new_request(RequestCode::GET_CONSUMER_RUNNING_INFO);
        let resp = process_server_request(&none, other).unwrap();
        assert_eq!(resp.code, ResponseCode::REQUEST_CODE_NOT_SUPPORTED);
        let mut oneway = RemotingCommand::new_request(RequestCode::CHECK_TRANSACTION_STATE);
        oneway.mark_oneway();
        assert!(process_server_request(&none, oneway).is_none());
    }
}
