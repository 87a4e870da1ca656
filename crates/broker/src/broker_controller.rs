//! The broker's shared state and lifecycle (RocketMQ `BrokerController`): the store, the
//! managers, the long polling service, the two listening ports, and the periodic tasks
//! (name server registration, consumer offset persistence, idle client scan), and on a master
//! the schedule service's delivery tasks.
//!
//! [`BrokerController::start`] is the one entry point, used by the `mqbroker` binary and by the
//! simulation; [`BrokerHandle::shutdown`] stops it gracefully.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use protocol::body::perm;
use rt::disk::DiskRef;
use store::{MessageStore, MessageStoreConfig};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use remoting::{RemotingServer, ServerConfig, ServerHandle};

use crate::broker_config::BrokerConfig;
use crate::broker_outer_api::{BrokerIdentity, BrokerOuterApi};
use crate::broker_stats::BrokerStats;
use crate::client_housekeeping_service::ClientHousekeepingService;
use crate::consumer_manager::ConsumerManager;
use crate::consumer_offset_manager::ConsumerOffsetManager;
use crate::error::{BrokerError, Result};
use crate::processor;
use crate::producer_manager::ProducerManager;
use crate::pull_request_hold_service::{self, PullRequestHoldService};
use crate::rebalance_lock_manager::RebalanceLockManager;
use crate::schedule::ScheduleMessageService;
use crate::subscription_group_manager::SubscriptionGroupManager;
use crate::topic_config_manager::TopicConfigManager;

/// How often idle clients are looked for (RocketMQ's ClientHousekeepingService: 10 s).
const CLIENT_SCAN_INTERVAL: Duration = Duration::from_secs(10);
/// How long each name server may take to acknowledge UNREGISTER_BROKER at shutdown.
const UNREGISTER_TIMEOUT: Duration = Duration::from_secs(3);

/// Everything the processors share.
pub struct BrokerController {
    pub config: BrokerConfig,
    pub store: Arc<MessageStore>,
    pub topic_config_manager: TopicConfigManager,
    pub consumer_offset_manager: ConsumerOffsetManager,
    pub subscription_group_manager: SubscriptionGroupManager,
    pub consumer_manager: ConsumerManager,
    pub producer_manager: ProducerManager,
    pub pull_request_hold_service: PullRequestHoldService,
    pub rebalance_lock_manager: RebalanceLockManager,
    pub broker_outer_api: BrokerOuterApi,
    /// Delay levels and delay offsets; its delivery tasks run on a master only.
    pub schedule_message_service: Arc<ScheduleMessageService>,
    /// Messages stored and delivered since start.
    pub stats: BrokerStats,
    /// `brokerIP1:listenPort`: stamped into every record and offsetMsgId.
    pub store_host: SocketAddr,
    /// When the broker started, ms since the epoch.
    pub boot_timestamp: i64,
    /// Wakes the registration task for an immediate REGISTER_BROKER (topic created).
    register_now: Notify,
}

impl std::fmt::Debug for BrokerController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerController")
            .field("broker_name", &self.config.broker_name)
            .field("store_host", &self.store_host)
            .finish_non_exhaustive()
    }
}

/// A running broker.
pub struct BrokerHandle {
    controller: Arc<BrokerController>,
    main: Option<ServerHandle>,
    vip: Option<ServerHandle>,
    stop: Arc<rt::sync::Latch>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for BrokerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerHandle")
            .field("addr", &self.addr())
            .field("vip_addr", &self.vip_addr())
            .finish_non_exhaustive()
    }
}

impl BrokerController {
    /// Opens the store and the config files under `disk` (rooted at `storePathRootDir`),
    /// binds listenPort and the VIP port, and starts serving and registering.
    pub async fn start(
        config: BrokerConfig,
        store_config: MessageStoreConfig,
        disk: DiskRef,
    ) -> Result<BrokerHandle> {
        config.validate().map_err(BrokerError::Config)?;
        let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        let main =
            RemotingServer::bind(SocketAddr::new(any, config.listen_port), server_config()).await?;
        let port = main.local_addr().port();
        // The VIP channel (listenPort - 2); an ephemeral main port gets an ephemeral VIP port.
        let vip_port = if config.listen_port == 0 { 0 } else { config.listen_port - 2 };
        let vip = RemotingServer::bind_with_table(
            SocketAddr::new(any, vip_port),
            server_config(),
            main.processors(),
        )
        .await?;
        let store_host = SocketAddr::new(config.broker_ip1, port);

        // Before the store takes its config: the levels must parse, or the broker does not start.
        let schedule_message_service = Arc::new(ScheduleMessageService::load(
            disk.clone(),
            &store_config.message_delay_level,
        )?);
        let store = MessageStore::open(disk.clone(), store_config)?;
        let topic_config_manager = TopicConfigManager::load(disk.clone(), &config)?;
        topic_config_manager.persist()?;
        let consumer_offset_manager =
            ConsumerOffsetManager::load(disk.clone(), config.max_consumer_offset_entries)?;
        let subscription_group_manager = SubscriptionGroupManager::load(
            disk,
            config.auto_create_subscription_group,
            config.max_subscription_groups,
        )?;
        let (hold, wake_rx) = PullRequestHoldService::new(config.max_held_pull_requests);
        let controller = Arc::new(BrokerController {
            consumer_manager: ConsumerManager::new(
                config.max_client_groups,
                config.max_channels_per_group,
            ),
            producer_manager: ProducerManager::new(
                config.max_client_groups,
                config.max_channels_per_group,
            ),
            rebalance_lock_manager: RebalanceLockManager::new(config.max_queue_locks),
            config,
            store,
            topic_config_manager,
            consumer_offset_manager,
            subscription_group_manager,
            pull_request_hold_service: hold,
            broker_outer_api: BrokerOuterApi::new(),
            schedule_message_service,
            stats: BrokerStats::default(),
            store_host,
            boot_timestamp: rt::clock::now_millis() as i64,
            register_now: Notify::new(),
        });
        controller
            .store
            .set_arriving_listener(pull_request_hold_service::arriving_listener(&controller));
        controller.store.start()?;

        processor::register_all(&main, &controller);
        main.set_channel_listener(Arc::new(ClientHousekeepingService::new(&controller)));
        let main = main.spawn();
        let vip = vip.spawn();
        tracing::info!(
            broker = %controller.config.broker_name,
            addr = %controller.broker_addr(),
            listen = %main.local_addr(),
            vip = %vip.local_addr(),
            "broker started"
        );

        let stop = Arc::new(rt::sync::Latch::new());
        let mut tasks = vec![
            tokio::spawn(pull_request_hold_service::run_wake_worker(
                controller.clone(),
                wake_rx,
                stop.clone(),
            )),
            tokio::spawn(pull_request_hold_service::run_check_loop(
                controller.clone(),
                stop.clone(),
            )),
            tokio::spawn(persist_offsets_loop(controller.clone(), stop.clone())),
            tokio::spawn(scan_clients_loop(controller.clone(), stop.clone())),
            tokio::spawn(register_loop(controller.clone(), stop.clone())),
        ];
        // RocketMQ runs the schedule service on the master only: a slave's copy of the schedule
        // queues is delivered by its master, and a slave cannot put.
        if controller.config.is_master() {
            tasks.extend(controller.schedule_message_service.start(
                &controller.store,
                Duration::from_millis(controller.config.flush_delay_offset_interval.max(100)),
                &stop,
            ));
        }
        Ok(BrokerHandle { controller, main: Some(main), vip: Some(vip), stop, tasks })
    }

    /// `brokerIP1:listenPort`, the address registered with the name servers.
    pub fn broker_addr(&self) -> String {
        self.store_host.to_string()
    }

    /// Who this broker is, for the name servers.
    pub fn identity(&self) -> BrokerIdentity {
        let ha = SocketAddr::new(self.config.broker_ip1, self.store_host.port().wrapping_add(1));
        BrokerIdentity {
            cluster_name: self.config.broker_cluster_name.clone(),
            broker_name: self.config.broker_name.clone(),
            broker_addr: self.broker_addr(),
            broker_id: self.config.broker_id,
            ha_server_addr: ha.to_string(),
        }
    }

    /// Asks the registration task to register with every name server now (a topic changed).
    pub fn register_broker_all_soon(&self) {
        self.register_now.notify_one();
    }

    /// Registers with every name server and waits for the answers.
    pub async fn register_broker_all(&self) -> usize {
        if self.config.namesrv_addr.is_empty() {
            return 0;
        }
        let mut topics = self.topic_config_manager.serialize_wrapper();
        // A broker that may not be written or read says so in every topic's perm, so producers
        // and consumers route around it (RocketMQ does the same in registerBrokerAll).
        if !perm::is_writeable(self.config.broker_permission)
            || !perm::is_readable(self.config.broker_permission)
        {
            for t in topics.topic_config_table.values_mut() {
                t.perm &= self.config.broker_permission;
            }
        }
        let timeout = Duration::from_millis(self.config.register_broker_timeout_mills);
        self.broker_outer_api
            .register_broker_all(&self.config.namesrv_addr, &self.identity(), topics, timeout)
            .await
    }

    /// Persists the topic table, the groups, the consumer offsets and the delay offsets.
    pub fn persist_all(&self) -> Result<()> {
        self.consumer_offset_manager.persist()?;
        self.topic_config_manager.persist()?;
        self.subscription_group_manager.persist()?;
        self.schedule_message_service.persist()
    }
}

fn server_config() -> ServerConfig {
    ServerConfig::default()
}

async fn register_loop(c: Arc<BrokerController>, stop: Arc<rt::sync::Latch>) {
    loop {
        // A name server that does not answer must not hold up shutdown for its timeout.
        tokio::select! {
            biased;
            _ = stop.wait() => return,
            n = c.register_broker_all() => {
                if n > 0 {
                    tracing::debug!(acknowledged = n, "registered with the name servers");
                }
            }
        }
        tokio::select! {
            biased;
            _ = stop.wait() => return,
            _ = c.register_now.notified() => {}
            _ = tokio::time::sleep(c.config.register_period()) => {}
        }
    }
}

async fn persist_offsets_loop(c: Arc<BrokerController>, stop: Arc<rt::sync::Latch>) {
    let period = Duration::from_millis(c.config.flush_consumer_offset_interval.max(100));
    loop {
        tokio::select! {
            biased;
            _ = stop.wait() => return,
            _ = tokio::time::sleep(period) => {}
        }
        if let Err(e) = c.consumer_offset_manager.persist() {
            tracing::error!(error = %e, "persisting consumer offsets failed");
        }
    }
}

async fn scan_clients_loop(c: Arc<BrokerController>, stop: Arc<rt::sync::Latch>) {
    loop {
        tokio::select! {
            biased;
            _ = stop.wait() => return,
            _ = tokio::time::sleep(CLIENT_SCAN_INTERVAL) => {}
        }
        let deadline = rt::clock::now_millis() as i64 - c.config.channel_expired_timeout as i64;
        c.producer_manager.scan_not_active_channel(deadline);
        for change in c.consumer_manager.scan_not_active_channel(deadline) {
            crate::broker2client::notify_consumer_ids_changed(&c, &change);
        }
    }
}

impl BrokerHandle {
    /// The main port's bound address (0.0.0.0:listenPort).
    pub fn addr(&self) -> Option<SocketAddr> {
        self.main.as_ref().map(ServerHandle::local_addr)
    }

    /// The VIP port's bound address.
    pub fn vip_addr(&self) -> Option<SocketAddr> {
        self.vip.as_ref().map(ServerHandle::local_addr)
    }

    /// The shared state (for tests and the simulation).
    pub fn controller(&self) -> &Arc<BrokerController> {
        &self.controller
    }

    /// Graceful stop: stop the periodic tasks (the schedule service's too), unregister from
    /// every name server, close the ports, persist offsets/topics/groups/delay offsets, then
    /// flush the store and write its checkpoint.
    pub async fn shutdown(mut self) -> Result<()> {
        let c = self.controller.clone();
        self.stop.set();
        for t in std::mem::take(&mut self.tasks) {
            if let Err(e) = t.await {
                tracing::warn!(error = %e, "broker task ended abnormally");
            }
        }
        if !c.config.namesrv_addr.is_empty() {
            let n = c
                .broker_outer_api
                .unregister_broker_all(&c.config.namesrv_addr, &c.identity(), UNREGISTER_TIMEOUT)
                .await;
            tracing::info!(acknowledged = n, "unregistered from the name servers");
        }
        c.broker_outer_api.shutdown();
        if let Some(s) = self.main.take() {
            s.shutdown().await;
        }
        if let Some(s) = self.vip.take() {
            s.shutdown().await;
        }
        let persisted = c.persist_all();
        let stored = c.store.shutdown().await;
        tracing::info!("broker stopped");
        persisted?;
        stored.map_err(BrokerError::from)
    }
}
