//! A whole cluster inside the simulator, started through the daemons' real entry points.
//!
//! Addresses are fixed so traces read the same from run to run: name servers on
//! `10.0.0.<n>:9876`, brokers on `10.0.1.<n>:10911` (the VIP channel on 10909), clients on
//! `10.0.2.<n>`. Each server node's `init` closure is what `mqnamesrv` / `mqbroker` run
//! (`namesrv::run`, `BrokerController::start`); madsim re-runs it on every restart, and a broker
//! finds its store on the node's SimDisk (`rt::disk::node_disk`), which keeps what was synced and
//! loses unsynced pages (tearing some) when the node is killed.
//!
//! Broker groups are single masters (brokerId 0) for now; a slave would be another node with the
//! same broker name and brokerId 1 on `10.0.1.<group * 10 + id + 1>`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use broker::{BrokerConfig, BrokerController};
use client::{Admin, ClientConfig, TopicConfig};
use madsim::runtime::{Handle, NodeHandle};
use madsim::task::NodeId;
use namesrv::NamesrvConfig;
use rt::disk::SimDisk;
use store::{FlushDiskType, MessageStoreConfig};

use crate::trace::Recorder;

/// The cluster name every broker registers under.
pub const CLUSTER: &str = "DefaultCluster";
/// The name servers' port.
pub const NAMESRV_PORT: u16 = 9876;
/// The brokers' main port.
pub const BROKER_PORT: u16 = 10911;
/// CommitLog segment size: small, so a run of a few thousand messages rolls several segments.
pub const COMMIT_LOG_SEGMENT_BYTES: u64 = 64 * 1024;
/// ConsumeQueue segment size, in 20-byte entries: small for the same reason.
pub const CONSUME_QUEUE_SEGMENT_ENTRIES: u64 = 256;
/// How long a broker that failed to start waits before trying again (its disk may have been
/// faulty; the nemesis clears the knobs when healing).
const BROKER_START_RETRY: Duration = Duration::from_secs(2);

/// What to build.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    /// Name servers.
    pub namesrvs: usize,
    /// Broker groups (each a single master for now).
    pub brokers: usize,
    /// The brokers' flush mode.
    pub flush: FlushDiskType,
}

/// What kind of server a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A name server.
    Namesrv,
    /// The master of broker group `n`.
    Broker(usize),
}

/// A server node.
#[derive(Debug, Clone)]
pub struct ServerNode {
    /// The node's name (`namesrv-0`, `broker-0`).
    pub name: String,
    /// madsim's id, for kill/pause/clog.
    pub id: NodeId,
    /// Its address.
    pub ip: IpAddr,
    /// What it runs.
    pub role: Role,
}

/// The running broker of each group: how many incarnations started, and the last one (a weak
/// reference: a killed incarnation's state must not be kept alive by the harness).
type LiveBroker = Arc<Mutex<(u64, Weak<BrokerController>)>>;

/// The cluster.
pub struct Cluster {
    handle: Handle,
    spec: ClusterSpec,
    /// Name servers, then brokers.
    pub servers: Vec<ServerNode>,
    live: Vec<LiveBroker>,
    clients: Mutex<Vec<(String, NodeId)>>,
    /// Broker groups an ASYNC_FLUSH power cut took unsynced data from.
    lossy_cuts: Mutex<Vec<usize>>,
}

/// Broker group `n`'s name.
pub fn broker_name(n: usize) -> String {
    format!("broker-{n}")
}

fn namesrv_ip(n: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, n as u8 + 1))
}

fn broker_ip(n: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 1, n as u8 + 1))
}

fn client_ip(n: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 2, n as u8 + 1))
}

/// The store config of every simulated broker.
pub fn store_config(flush: FlushDiskType) -> MessageStoreConfig {
    MessageStoreConfig {
        mapped_file_size_commit_log: COMMIT_LOG_SEGMENT_BYTES,
        mapped_file_size_consume_queue: CONSUME_QUEUE_SEGMENT_ENTRIES * 20,
        max_hash_slot_num: 1000,
        max_index_num: 4000,
        flush_disk_type: flush,
        ..MessageStoreConfig::default()
    }
}

impl Cluster {
    /// Builds and starts every server node.
    pub fn start(spec: ClusterSpec) -> Self {
        let handle = Handle::current();
        let namesrv_addrs: Vec<String> = (0..spec.namesrvs)
            .map(|n| SocketAddr::new(namesrv_ip(n), NAMESRV_PORT).to_string())
            .collect();
        let mut servers = Vec::new();
        for n in 0..spec.namesrvs {
            let name = format!("namesrv-{n}");
            let node = handle
                .create_node()
                .name(name.clone())
                .ip(namesrv_ip(n))
                .init(|| async {
                    // The name server keeps nothing on disk: a restart starts it empty, and the
                    // brokers' next registrations fill it again.
                    if let Err(e) =
                        namesrv::run(NamesrvConfig::default(), std::future::pending()).await
                    {
                        panic!("name server failed to serve: {e}");
                    }
                })
                .build();
            servers.push(ServerNode {
                name,
                id: node.id(),
                ip: namesrv_ip(n),
                role: Role::Namesrv,
            });
        }
        let mut live = Vec::new();
        for n in 0..spec.brokers {
            let slot: LiveBroker = Arc::new(Mutex::new((0, Weak::new())));
            let config = BrokerConfig {
                broker_cluster_name: CLUSTER.into(),
                broker_name: broker_name(n),
                broker_id: 0,
                listen_port: BROKER_PORT,
                broker_ip1: broker_ip(n),
                namesrv_addr: namesrv_addrs.clone(),
                // Register often so a restarted name server learns routes quickly.
                register_name_server_period: 10_000,
                ..BrokerConfig::default()
            };
            let store = store_config(spec.flush);
            let name = broker_name(n);
            let init_slot = slot.clone();
            let node = handle
                .create_node()
                .name(name.clone())
                .ip(broker_ip(n))
                .init(move || broker_main(config.clone(), store.clone(), init_slot.clone()))
                .build();
            servers.push(ServerNode {
                name,
                id: node.id(),
                ip: broker_ip(n),
                role: Role::Broker(n),
            });
            live.push(slot);
        }
        Self {
            handle,
            spec,
            servers,
            live,
            clients: Mutex::new(Vec::new()),
            lossy_cuts: Mutex::new(Vec::new()),
        }
    }

    /// The spec it was built from.
    pub fn spec(&self) -> &ClusterSpec {
        &self.spec
    }

    /// `host:port;host:port` of every name server.
    pub fn namesrv_addr(&self) -> String {
        let addrs: Vec<String> = (0..self.spec.namesrvs)
            .map(|n| SocketAddr::new(namesrv_ip(n), NAMESRV_PORT).to_string())
            .collect();
        addrs.join(";")
    }

    /// A client config for this cluster with a fixed instance name (random ones would make
    /// client ids, and so rebalance order, depend on draw order elsewhere).
    ///
    /// The client's instance registry is process-wide: a run must not find a client of another
    /// run in the same process (`MADSIM_TEST_NUM` runs several seeds in one process), so the
    /// name carries the seed, and [`Cluster::stop_clients`] ends every client node when a run
    /// ends.
    pub fn client_config(&self, instance: &str, ip: IpAddr) -> ClientConfig {
        ClientConfig {
            instance_name: format!("{instance}-s{}", self.handle.seed()),
            client_ip: Some(ip),
            ..ClientConfig::new(self.namesrv_addr())
        }
    }

    /// A new client node (no init: the workload spawns its tasks on it) and its address.
    pub fn client_node(&self, name: &str) -> (NodeHandle, IpAddr) {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        let ip = client_ip(clients.len());
        let node = self.handle.create_node().name(name.to_owned()).ip(ip).build();
        clients.push((name.to_owned(), node.id()));
        (node, ip)
    }

    /// Kills every client node, dropping its tasks and with them its client instances.
    pub fn stop_clients(&self) {
        for id in self.client_ids() {
            self.handle.kill(id);
        }
    }

    /// Every client node made so far.
    pub fn client_ids(&self) -> Vec<NodeId> {
        self.clients.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|c| c.1).collect()
    }

    /// Broker group `n`'s node.
    pub fn broker(&self, n: usize) -> &ServerNode {
        &self.servers[self.spec.namesrvs + n]
    }

    /// The running incarnation of broker group `n`, if it is up.
    pub fn controller(&self, n: usize) -> Option<Arc<BrokerController>> {
        self.incarnation(n).map(|(_, c)| c)
    }

    /// The running incarnation of broker group `n` and its number (1 for the first start).
    pub fn incarnation(&self, n: usize) -> Option<(u64, Arc<BrokerController>)> {
        let slot = self.live[n].lock().unwrap_or_else(|e| e.into_inner());
        slot.1.upgrade().map(|c| (slot.0, c))
    }

    /// Records that a power cut took unsynced data from ASYNC_FLUSH broker group `n`.
    pub fn mark_lossy_cut(&self, n: usize) {
        self.lossy_cuts.lock().unwrap_or_else(|e| e.into_inner()).push(n);
    }

    /// Whether a power cut took unsynced data from ASYNC_FLUSH broker group `n`.
    pub fn had_lossy_cut(&self, n: usize) -> bool {
        self.lossy_cuts.lock().unwrap_or_else(|e| e.into_inner()).contains(&n)
    }

    /// How many times broker group `n` has started (its incarnation number once it is up).
    /// Unlike [`Cluster::incarnation`], this does not depend on whether the last incarnation's
    /// controller is still alive somewhere.
    pub fn starts(&self, n: usize) -> u64 {
        self.live[n].lock().unwrap_or_else(|e| e.into_inner()).0
    }

    /// Broker group `n`'s disk.
    pub fn broker_disk(&self, n: usize) -> SimDisk {
        rt::disk::sim_plugin::disk_of(self.broker(n).id)
    }

    /// The broker group a record's store host names (`brokerIP1:listenPort`).
    pub fn broker_of_store_host(&self, host: &SocketAddr) -> Option<String> {
        (0..self.spec.brokers).find(|&n| broker_ip(n) == host.ip()).map(broker_name)
    }

    /// Creates `topic` with `queues` queues on every broker and waits until a client sees the
    /// route; runs on `node` (a client node), retrying through startup.
    pub async fn create_topic(&self, node: &(NodeHandle, IpAddr), topic: &str, queues: i32) {
        let config = self.client_config(&format!("admin-{topic}"), node.1);
        let node = &node.0;
        let brokers = self.spec.brokers;
        let topic = topic.to_owned();
        let task = node.spawn(async move {
            let admin = Admin::new(config);
            let cfg = TopicConfig {
                topic_name: topic.clone(),
                read_queue_nums: queues,
                write_queue_nums: queues,
                ..TopicConfig::default()
            };
            loop {
                let created = admin.create_topic(CLUSTER, &cfg).await.map(|v| v.len());
                let routed =
                    admin.topic_route(&topic).await.is_ok_and(|r| r.queue_datas.len() == brokers);
                if matches!(created, Ok(n) if n == brokers) && routed {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            admin.shutdown().await;
        });
        if let Err(e) = task.await {
            panic!("creating a topic failed: {e}");
        }
    }

    /// Waits until every broker is up and registered with every name server.
    pub async fn wait_ready(&self, rec: &Recorder) {
        loop {
            let up = (0..self.spec.brokers).all(|n| self.controller(n).is_some());
            if up {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        rec.note("cluster: every broker up");
    }
}

/// A broker node's main: start the broker on the node's disk and serve until killed. A start
/// that fails (a disk fault the nemesis injected) is retried, as a supervisor would restart
/// `mqbroker`.
async fn broker_main(config: BrokerConfig, store: MessageStoreConfig, slot: LiveBroker) {
    loop {
        let disk = rt::disk::node_disk();
        match BrokerController::start(config.clone(), store.clone(), disk).await {
            Ok(handle) => {
                {
                    let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
                    slot.0 += 1;
                    slot.1 = Arc::downgrade(handle.controller());
                }
                std::future::pending::<()>().await;
                drop(handle);
            }
            Err(_) => {
                tokio::time::sleep(BROKER_START_RETRY).await;
            }
        }
    }
}
