//! NamesrvController: the running name server — its tables, the transport serving them, and the
//! expiry scan. [`run`] is the entry point the binary and the simulation share; [`start`] runs
//! it in the background and hands back the bound address, for tests.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use protocol::RequestCode;
use remoting::{Channel, RemotingServer, ServerHandle};

use crate::broker_housekeeping_service::BrokerHousekeepingService;
use crate::config::NamesrvConfig;
use crate::error::NamesrvError;
use crate::kvconfig::KvConfigManager;
use crate::processor::{ClientRequestProcessor, DefaultRequestProcessor, DEFAULT_PROCESSOR_CODES};
use crate::routeinfo::{ChannelId, RouteInfoManager};

/// The name server's state, shared by its processors, its connection listener and its expiry
/// scan. Each lock guards one table and is held for one short, non-awaiting critical section;
/// a poisoned lock is used as is, since no critical section leaves a table half updated in a
/// way a later request could not live with.
pub struct NamesrvController {
    config: NamesrvConfig,
    route_info_manager: Mutex<RouteInfoManager>,
    kv_config_manager: Mutex<KvConfigManager>,
    /// Open connections by id, so that an expired broker's connection can be closed. Bounded
    /// by the transport's connection limit: entries leave when their connection closes.
    channels: Mutex<HashMap<ChannelId, Channel>>,
}

impl NamesrvController {
    pub fn new(config: NamesrvConfig) -> Arc<Self> {
        Arc::new(Self {
            route_info_manager: Mutex::new(RouteInfoManager::new(config.route_info_options())),
            kv_config_manager: Mutex::new(KvConfigManager::new(config.kv_config_max_entries)),
            channels: Mutex::new(HashMap::new()),
            config,
        })
    }

    pub fn config(&self) -> &NamesrvConfig {
        &self.config
    }

    /// The route tables, locked.
    pub fn route_info(&self) -> MutexGuard<'_, RouteInfoManager> {
        self.route_info_manager.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The KV config, locked.
    pub fn kv_config(&self) -> MutexGuard<'_, KvConfigManager> {
        self.kv_config_manager.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn channels(&self) -> MutexGuard<'_, HashMap<ChannelId, Channel>> {
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn channel_opened(&self, channel: &Channel) {
        self.channels().insert(channel.id(), channel.clone());
    }

    /// A connection ended: forget it, and remove the broker registered on it at once.
    pub(crate) fn channel_closed(&self, channel: &Channel) {
        self.channels().remove(&channel.id());
        self.route_info().on_channel_destroy(channel.id());
    }

    /// One expiry pass at the current wall-clock time: brokers silent past their timeout are
    /// removed and their connections closed. Returns how many were removed.
    pub fn scan_not_active_broker(&self) -> usize {
        let now = rt::clock::now_millis();
        let expired = self.route_info().scan_not_active_broker(now);
        for (_, channel_id) in &expired {
            let channel = channel_id.and_then(|id| self.channels().get(&id).cloned());
            if let Some(channel) = channel {
                channel.close();
            }
        }
        expired.len()
    }

    /// Binds the listening socket and registers every processor on it.
    pub async fn bind(self: &Arc<Self>) -> Result<RemotingServer, NamesrvError> {
        let addr = self.config.listen_addr();
        let server = RemotingServer::bind(addr, self.config.server_config())
            .await
            .map_err(|source| NamesrvError::Bind { addr, source })?;
        let default_processor = Arc::new(DefaultRequestProcessor::new(self.clone()));
        for &code in DEFAULT_PROCESSOR_CODES {
            server.register(code, default_processor.clone());
        }
        server.register(
            RequestCode::GET_ROUTEINFO_BY_TOPIC,
            Arc::new(ClientRequestProcessor::new(self.clone())),
        );
        // Other codes get the transport's REQUEST_CODE_NOT_SUPPORTED.
        server.set_channel_listener(Arc::new(BrokerHousekeepingService::new(self.clone())));
        Ok(server)
    }

    /// Runs the expiry scan every `scanNotActiveBrokerInterval` until the task is aborted.
    fn spawn_scan(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let controller = self.clone();
        let period = Duration::from_millis(self.config.scan_not_active_broker_interval_millis);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(period).await;
                controller.scan_not_active_broker();
            }
        })
    }
}

/// Runs a name server until `shutdown` resolves: binds `bindAddress:listenPort`, serves, and
/// scans for expired brokers. Returns an error if it cannot listen.
pub async fn run(
    config: NamesrvConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), NamesrvError> {
    let controller = NamesrvController::new(config);
    let server = controller.bind().await?;
    tracing::info!(addr = %server.local_addr(), "name server started");
    let scan = controller.spawn_scan();
    let served = server.serve(shutdown).await;
    scan.abort();
    tracing::info!("name server stopped");
    served.map_err(NamesrvError::from)
}

/// Starts a name server in the background.
pub async fn start(config: NamesrvConfig) -> Result<NamesrvHandle, NamesrvError> {
    let controller = NamesrvController::new(config);
    let server = controller.bind().await?;
    let local_addr = server.local_addr();
    tracing::info!(addr = %local_addr, "name server started");
    let scan = controller.spawn_scan();
    Ok(NamesrvHandle { local_addr, controller, server: Some(server.spawn()), scan })
}

/// A name server running in the background. Dropping the handle stops it too (without waiting),
/// so a test that forgets [`shutdown`](Self::shutdown) leaks no task.
pub struct NamesrvHandle {
    local_addr: SocketAddr,
    controller: Arc<NamesrvController>,
    /// Taken by `shutdown`; dropping it stops the server.
    server: Option<ServerHandle>,
    scan: tokio::task::JoinHandle<()>,
}

impl NamesrvHandle {
    /// The address it listens on (with the real port when `listenPort` was 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Its state, for inspection.
    pub fn controller(&self) -> &Arc<NamesrvController> {
        &self.controller
    }

    /// Stops serving, closes every connection and the expiry scan, and waits until done.
    pub async fn shutdown(mut self) {
        self.scan.abort();
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
        tracing::info!(addr = %self.local_addr, "name server stopped");
    }
}

impl Drop for NamesrvHandle {
    fn drop(&mut self) {
        self.scan.abort();
    }
}
