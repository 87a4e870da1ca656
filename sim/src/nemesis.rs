//! The nemesis: faults drawn from the seed (swarm testing), injected during the safety phase and
//! all healed before the liveness phase.
//!
//! Swarm testing (as TigerBeetle's VOPR and FoundationDB's simulation do): a seed first decides
//! *which* fault kinds this run has and how often they strike, then when and where each one
//! lands. Runs with few fault kinds reach states a run with all of them at once rarely reaches
//! (a long quiet stretch with only fsync errors, say).
//!
//! Every action goes into the trace with its simulated time and into the history as a nemesis
//! op. Faults that end (restart after kill, resume after pause, unclog, network config back to
//! normal, fsync knob off) end by themselves after a drawn duration; [`Nemesis::heal`] ends all
//! of them at once and restarts any broker whose store an fsync error poisoned.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use madsim::net::NetSim;
use madsim::runtime::Handle;
use madsim::task::NodeId;
use rt::disk::SimDiskConfig;
use tokio::time::Instant;

use crate::cluster::{Cluster, Role};
use crate::trace::Recorder;

/// How often the nemesis considers injecting a fault.
pub const TICK: Duration = Duration::from_millis(250);
/// How much data an ASYNC_FLUSH broker may lose to a power cut: what it acknowledged within the
/// flush interval (500 ms) before the cut, with slack for a slow flush and for the ack's travel.
pub const ASYNC_LOSS_WINDOW_MS: u64 = 2_000;

/// The fault kinds a nemesis can draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// Kill a broker node (power cut: its disk loses unsynced pages, tearing some), restart it
    /// later.
    KillBroker,
    /// Kill a name server node, restart it later (it starts empty).
    KillNamesrv,
    /// Pause a server node (a silent, hung process), resume it later.
    Pause,
    /// Cut a node off the network both ways.
    Isolate,
    /// Clog one direction of one link.
    LinkOneWay,
    /// Clog both directions of one link.
    LinkTwoWay,
    /// Two halves that only a bridge node joins.
    Bridge,
    /// Every node sees a majority, no two the same one.
    MajoritiesRing,
    /// Drop a fraction of packets (established TCP retransmits; connects fail).
    PacketLoss,
    /// Raise the per-message latency.
    Latency,
    /// Make a broker's fsyncs fail with EIO (its store must poison and stop acknowledging).
    FsyncErrors,
    /// Skew a node's wall clock and make it drift.
    ClockSkew,
    /// Step a node's wall clock forwards or backwards.
    ClockJump,
    /// Not a strike but a condition of the whole run: a broker's power cut may garble the page
    /// its disk was writing (a run of random bytes inside unsynced data, with the record headers
    /// around it intact) instead of tearing it, so only the CRC keeps such a record from being
    /// served.
    GarbledWrites,
}

impl Fault {
    /// Every kind.
    pub const ALL: [Fault; 14] = [
        Fault::KillBroker,
        Fault::KillNamesrv,
        Fault::Pause,
        Fault::Isolate,
        Fault::LinkOneWay,
        Fault::LinkTwoWay,
        Fault::Bridge,
        Fault::MajoritiesRing,
        Fault::PacketLoss,
        Fault::Latency,
        Fault::FsyncErrors,
        Fault::ClockSkew,
        Fault::ClockJump,
        Fault::GarbledWrites,
    ];

    /// True for the kinds the nemesis injects at its ticks; false for conditions that hold for
    /// the whole run once the plan enables them.
    pub fn strikes(self) -> bool {
        self != Fault::GarbledWrites
    }
}

/// What this seed's nemesis does: the enabled kinds, how likely a fault is per tick and how long
/// a fault lasts at most.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    /// The kinds this run draws from.
    pub enabled: Vec<Fault>,
    /// Chance per [`TICK`] of a new fault.
    pub per_tick: f64,
    /// Longest outage, in milliseconds.
    pub max_outage_ms: u64,
}

impl FaultPlan {
    /// Draws a plan from the seed: each allowed kind is on with probability 1/2 (at least one
    /// is on), a fault every 2 to 20 s on average, outages up to 3 to 20 s.
    pub fn draw(allowed: &[Fault]) -> Self {
        let mut enabled: Vec<Fault> =
            allowed.iter().copied().filter(|_| rt::rand::chance(0.5)).collect();
        if enabled.is_empty() && !allowed.is_empty() {
            enabled.push(allowed[rt::rand::range(0..allowed.len())]);
        }
        let mean_gap_ms: u64 = rt::rand::range(2_000..=20_000);
        let per_tick = TICK.as_millis() as f64 / mean_gap_ms as f64;
        let max_outage_ms = rt::rand::range(3_000..=20_000);
        Self { enabled, per_tick, max_outage_ms }
    }
}

/// A power cut of a broker's node, for judging ASYNC_FLUSH losses.
#[derive(Debug, Clone)]
pub struct Crash {
    /// The broker group.
    pub broker: String,
    /// When, in simulated milliseconds since the run began.
    pub at_ms: u64,
    /// Acknowledgements from this time on may have been lost (the flush window before the cut,
    /// or since an fsync error left unsynced data that no later fsync could cover).
    pub vulnerable_from_ms: u64,
    /// Whether the disk held anything unsynced when the power went.
    pub had_unsynced: bool,
    /// Each watched queue's end (its max offset) just before the cut: a consumer may have read
    /// that far, so after a cut that takes back the tail, messages acknowledged later at offsets
    /// below it reuse offsets the group had already passed.
    pub ends: BTreeMap<(String, i32), i64>,
}

/// The nemesis and the faults in force.
pub struct Nemesis {
    cluster: Arc<Cluster>,
    rec: Recorder,
    plan: FaultPlan,
    handle: Handle,
    net: Arc<NetSim>,
    /// Server index -> when to restart it.
    killed: BTreeMap<usize, Instant>,
    /// Server index -> when to resume it.
    paused: BTreeMap<usize, Instant>,
    /// Node -> when to unclog it.
    isolated: BTreeMap<NodeId, Instant>,
    /// Clogged directed links -> when to unclog them.
    links: BTreeMap<(NodeId, NodeId), Instant>,
    /// When the packet loss / latency change ends.
    net_until: Option<Instant>,
    /// Broker -> when its fsync errors stop.
    fsync: BTreeMap<usize, Instant>,
    /// Broker -> since when (ms) an fsync error may have left acknowledged data unsynced.
    vulnerable_since: BTreeMap<usize, u64>,
    /// Nodes whose clocks were skewed.
    skewed: BTreeSet<NodeId>,
    /// Every broker power cut so far.
    pub crashes: Vec<Crash>,
    /// Broker -> how many times it had started when it was last killed.
    starts_at_kill: BTreeMap<usize, u64>,
    /// The (topic, queue id) pairs whose ends a power cut records.
    pub watched: Vec<(String, i32)>,
    /// How many faults were injected.
    pub injected: u64,
}

fn ms(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

impl Nemesis {
    /// A nemesis over `cluster` following `plan`.
    pub fn new(cluster: Arc<Cluster>, rec: Recorder, plan: FaultPlan) -> Self {
        rec.note(&format!(
            "nemesis plan: {:?} per_tick={:.3} max_outage={}ms",
            plan.enabled, plan.per_tick, plan.max_outage_ms
        ));
        if plan.enabled.contains(&Fault::GarbledWrites) {
            for b in 0..cluster.spec().brokers {
                let disk = cluster.broker_disk(b);
                let p = rt::rand::range(25..=100) as f64 / 100.0;
                disk.set_faults(&SimDiskConfig { garble_probability: p, ..disk.config() });
                rec.note(&format!("garbled writes p={p:.2} on {}", cluster.broker(b).name));
            }
        }
        Self {
            cluster,
            rec,
            plan,
            handle: Handle::current(),
            net: NetSim::current(),
            killed: BTreeMap::new(),
            paused: BTreeMap::new(),
            isolated: BTreeMap::new(),
            links: BTreeMap::new(),
            net_until: None,
            fsync: BTreeMap::new(),
            vulnerable_since: BTreeMap::new(),
            skewed: BTreeSet::new(),
            crashes: Vec::new(),
            starts_at_kill: BTreeMap::new(),
            watched: Vec::new(),
            injected: 0,
        }
    }

    /// Injects and ends faults for `duration` of simulated time.
    pub async fn run_safety(&mut self, duration: Duration) {
        let end = Instant::now() + duration;
        let strikes: Vec<Fault> =
            self.plan.enabled.iter().copied().filter(|f| f.strikes()).collect();
        while Instant::now() < end {
            tokio::time::sleep(TICK).await;
            self.end_due_faults();
            if !strikes.is_empty() && rt::rand::chance(self.plan.per_tick) {
                let fault = strikes[rt::rand::range(0..strikes.len())];
                self.inject(fault);
            }
        }
    }

    fn outage(&self) -> Duration {
        Duration::from_millis(rt::rand::range(200..=self.plan.max_outage_ms))
    }

    /// Server indexes no process-level fault is holding (not killed, not paused).
    fn healthy_servers(&self, want: impl Fn(Role) -> bool) -> Vec<usize> {
        (0..self.cluster.servers.len())
            .filter(|i| !self.killed.contains_key(i) && !self.paused.contains_key(i))
            .filter(|&i| want(self.cluster.servers[i].role))
            .collect()
    }

    /// Every node on the network: servers and clients.
    fn all_nodes(&self) -> Vec<NodeId> {
        let mut nodes: Vec<NodeId> = self.cluster.servers.iter().map(|s| s.id).collect();
        nodes.extend(self.cluster.client_ids());
        nodes
    }

    fn pick<T: Copy>(items: &[T]) -> Option<T> {
        (!items.is_empty()).then(|| items[rt::rand::range(0..items.len())])
    }

    fn node_name(&self, id: NodeId) -> String {
        self.cluster
            .servers
            .iter()
            .find(|s| s.id == id)
            .map_or_else(|| format!("client#{id}"), |s| s.name.clone())
    }

    fn inject(&mut self, fault: Fault) {
        let now = Instant::now();
        let until = now + self.outage();
        let injected = match fault {
            Fault::KillBroker | Fault::KillNamesrv => {
                let want_broker = fault == Fault::KillBroker;
                let target = Self::pick(
                    &self.healthy_servers(|r| matches!(r, Role::Broker(_)) == want_broker),
                );
                target.map(|i| {
                    self.kill(i, "kill");
                    self.killed.insert(i, until);
                })
            }
            Fault::Pause => Self::pick(&self.healthy_servers(|_| true)).map(|i| {
                self.handle.pause(self.cluster.servers[i].id);
                self.rec.nemesis(&format!(
                    "pause {} for {}",
                    self.cluster.servers[i].name,
                    ms(until - now)
                ));
                self.paused.insert(i, until);
            }),
            Fault::Isolate => Self::pick(&self.all_nodes()).map(|id| {
                self.net.clog_node(id);
                self.rec.nemesis(&format!(
                    "isolate {} for {}",
                    self.node_name(id),
                    ms(until - now)
                ));
                self.isolated.insert(id, until);
            }),
            Fault::LinkOneWay | Fault::LinkTwoWay => {
                let nodes = self.all_nodes();
                let (a, b) = (Self::pick(&nodes), Self::pick(&nodes));
                match (a, b) {
                    (Some(a), Some(b)) if a != b => {
                        let both = fault == Fault::LinkTwoWay;
                        self.clog(a, b, until);
                        if both {
                            self.clog(b, a, until);
                        }
                        let arrow = if both { "<->" } else { "->" };
                        let (na, nb) = (self.node_name(a), self.node_name(b));
                        self.rec
                            .nemesis(&format!("clog {na} {arrow} {nb} for {}", ms(until - now)));
                        Some(())
                    }
                    _ => None,
                }
            }
            Fault::Bridge => self.bridge(until),
            Fault::MajoritiesRing => self.ring(until),
            Fault::PacketLoss | Fault::Latency => {
                if fault == Fault::PacketLoss {
                    let rate = rt::rand::range(1..=20) as f64 / 100.0;
                    self.net.update_config(|c| c.packet_loss_rate = rate);
                    self.rec.nemesis(&format!("packet loss {rate:.2} for {}", ms(until - now)));
                } else {
                    let hi = Duration::from_millis(rt::rand::range(20..=400));
                    self.net.update_config(|c| c.send_latency = Duration::from_millis(1)..hi);
                    self.rec.nemesis(&format!("latency 1..{} for {}", ms(hi), ms(until - now)));
                }
                self.net_until = Some(self.net_until.map_or(until, |u| u.max(until)));
                Some(())
            }
            Fault::FsyncErrors => {
                let brokers: Vec<usize> = (0..self.cluster.spec().brokers)
                    .filter(|b| !self.fsync.contains_key(b))
                    .collect();
                Self::pick(&brokers).map(|b| {
                    let p = rt::rand::range(5..=60) as f64 / 100.0;
                    let knobs = SimDiskConfig {
                        sync_error_probability: p,
                        ..self.cluster.broker_disk(b).config()
                    };
                    self.cluster.broker_disk(b).set_faults(&knobs);
                    let name = self.cluster.broker(b).name.clone();
                    self.rec.nemesis(&format!(
                        "fsync errors p={p:.2} on {name} for {}",
                        ms(until - now)
                    ));
                    // What was acknowledged since the last good flush is at risk too: the
                    // first failing fsync may come up to a flush interval after it.
                    let since = self.rec.now_ms().saturating_sub(ASYNC_LOSS_WINDOW_MS);
                    self.vulnerable_since.entry(b).or_insert(since);
                    self.fsync.insert(b, until);
                })
            }
            Fault::ClockSkew | Fault::ClockJump => Self::pick(&self.all_nodes()).map(|id| {
                if fault == Fault::ClockSkew {
                    let (offset, drift) = rt::clock::sim::randomize(id, 60_000, 2_000);
                    self.rec.nemesis(&format!(
                        "clock of {} off by {offset}ms drift {drift}ppm",
                        self.node_name(id)
                    ));
                } else {
                    let delta: i64 = rt::rand::range(-120_000..=120_000);
                    rt::clock::sim::jump(id, delta);
                    self.rec.nemesis(&format!("clock of {} jumps {delta}ms", self.node_name(id)));
                }
                self.skewed.insert(id);
            }),
            // A condition set up in `new`, never struck at a tick.
            Fault::GarbledWrites => None,
        };
        if injected.is_some() {
            self.injected += 1;
        }
    }

    fn clog(&mut self, a: NodeId, b: NodeId, until: Instant) {
        self.net.clog_link(a, b);
        let e = self.links.entry((a, b)).or_insert(until);
        *e = (*e).max(until);
    }

    /// Splits the nodes in two halves joined only through one bridge node.
    fn bridge(&mut self, until: Instant) -> Option<()> {
        let mut nodes = self.all_nodes();
        if nodes.len() < 3 {
            return None;
        }
        shuffle(&mut nodes);
        let bridge = nodes[0];
        let half = nodes.len() / 2;
        let (left, right) = nodes[1..].split_at(half);
        for &a in left {
            for &b in right {
                self.clog(a, b, until);
                self.clog(b, a, until);
            }
        }
        let now = Instant::now();
        let names =
            |v: &[NodeId]| v.iter().map(|&n| self.node_name(n)).collect::<Vec<_>>().join(",");
        let text = format!(
            "bridge {} | {} | {} for {}",
            names(left),
            self.node_name(bridge),
            names(right),
            ms(until - now)
        );
        self.rec.nemesis(&text);
        Some(())
    }

    /// A ring where every node sees its nearest neighbours, a majority, and no two nodes see
    /// the same majority (Jepsen's majorities-ring).
    fn ring(&mut self, until: Instant) -> Option<()> {
        let mut nodes = self.all_nodes();
        let n = nodes.len();
        if n < 4 {
            return None;
        }
        shuffle(&mut nodes);
        let reach = (n / 2).div_ceil(2);
        for i in 0..n {
            for j in 0..n {
                let d = i.abs_diff(j).min(n - i.abs_diff(j));
                if d > reach {
                    self.clog(nodes[i], nodes[j], until);
                }
            }
        }
        let order = nodes.iter().map(|&x| self.node_name(x)).collect::<Vec<_>>().join(",");
        let now = Instant::now();
        self.rec
            .nemesis(&format!("majorities ring [{order}] reach {reach} for {}", ms(until - now)));
        Some(())
    }

    /// Kills server `i` (a power cut for a broker), recording what its disk held.
    fn kill(&mut self, i: usize, why: &str) {
        let server = self.cluster.servers[i].clone();
        let before = match server.role {
            Role::Broker(b) => {
                let disk = self.cluster.broker_disk(b);
                let ends: BTreeMap<(String, i32), i64> = match self.cluster.controller(b) {
                    Some(c) => self
                        .watched
                        .iter()
                        .map(|(t, q)| ((t.clone(), *q), c.store.max_offset_in_queue(t, *q)))
                        .collect(),
                    None => BTreeMap::new(),
                };
                self.starts_at_kill.insert(b, self.cluster.starts(b));
                Some((b, disk.has_unsynced(), disk.stats(), ends))
            }
            Role::Namesrv => None,
        };
        self.handle.kill(server.id);
        let now_ms = self.rec.now_ms();
        let mut text = format!("{why} {}", server.name);
        if let Some((b, had_unsynced, s0, ends)) = before {
            let s1 = self.cluster.broker_disk(b).stats();
            text.push_str(&format!(
                " (unsynced={had_unsynced} pages lost={} kept={} torn={} garbled={})",
                s1.pages_lost - s0.pages_lost,
                s1.pages_kept - s0.pages_kept,
                s1.pages_torn - s0.pages_torn,
                s1.pages_garbled - s0.pages_garbled
            ));
            let window_start = now_ms.saturating_sub(ASYNC_LOSS_WINDOW_MS);
            let since =
                self.vulnerable_since.remove(&b).map_or(window_start, |s| s.min(window_start));
            if had_unsynced && self.cluster.spec().flush == store::FlushDiskType::AsyncFlush {
                self.cluster.mark_lossy_cut(b);
            }
            self.crashes.push(Crash {
                broker: server.name.clone(),
                at_ms: now_ms,
                vulnerable_from_ms: since,
                had_unsynced,
                ends,
            });
        }
        self.rec.nemesis(&text);
    }

    fn restart(&mut self, i: usize) {
        let server = &self.cluster.servers[i];
        self.handle.restart(server.id);
        self.rec.nemesis(&format!("restart {}", server.name));
    }

    /// Ends every fault whose time is up.
    fn end_due_faults(&mut self) {
        let now = Instant::now();
        let due = |m: &BTreeMap<usize, Instant>| {
            m.iter().filter(|(_, t)| **t <= now).map(|(k, _)| *k).collect::<Vec<_>>()
        };
        for i in due(&self.killed) {
            self.killed.remove(&i);
            self.restart(i);
        }
        for i in due(&self.paused) {
            self.paused.remove(&i);
            self.handle.resume(self.cluster.servers[i].id);
            self.rec.nemesis(&format!("resume {}", self.cluster.servers[i].name));
        }
        let isolated: Vec<NodeId> =
            self.isolated.iter().filter(|(_, t)| **t <= now).map(|(k, _)| *k).collect();
        for id in isolated {
            self.isolated.remove(&id);
            self.net.unclog_node(id);
            self.rec.nemesis(&format!("unisolate {}", self.node_name(id)));
        }
        let links: Vec<(NodeId, NodeId)> =
            self.links.iter().filter(|(_, t)| **t <= now).map(|(k, _)| *k).collect();
        if !links.is_empty() {
            for (a, b) in &links {
                self.links.remove(&(*a, *b));
                self.net.unclog_link(*a, *b);
            }
            self.rec.nemesis(&format!("unclog {} links", links.len()));
        }
        if self.net_until.is_some_and(|t| t <= now) {
            self.net_until = None;
            self.net.update_config(|c| *c = madsim::net::Config::default());
            self.rec.nemesis("network config back to normal");
        }
        for b in due(&self.fsync) {
            self.fsync.remove(&b);
            self.clear_disk_faults(b);
        }
    }

    fn clear_disk_faults(&self, b: usize) {
        let disk = self.cluster.broker_disk(b);
        disk.set_faults(&SimDiskConfig { sync_error_probability: 0.0, ..disk.config() });
        self.rec.nemesis(&format!("fsync errors off on {}", self.cluster.broker(b).name));
    }

    /// Ends every fault now: network whole again, paused nodes resumed, killed nodes restarted,
    /// disks healthy, clocks exact. Then restarts every broker whose store is poisoned (only a
    /// restart recovers it) and waits until every broker is up.
    pub async fn heal(&mut self) {
        self.rec.note("heal: all faults stop");
        self.net.update_config(|c| *c = madsim::net::Config::default());
        self.net_until = None;
        for ((a, b), _) in std::mem::take(&mut self.links) {
            self.net.unclog_link(a, b);
        }
        for (id, _) in std::mem::take(&mut self.isolated) {
            self.net.unclog_node(id);
        }
        for (i, _) in std::mem::take(&mut self.paused) {
            self.handle.resume(self.cluster.servers[i].id);
        }
        for (b, _) in std::mem::take(&mut self.fsync) {
            self.clear_disk_faults(b);
        }
        for (i, _) in std::mem::take(&mut self.killed) {
            self.restart(i);
        }
        rt::clock::sim::reset_all();
        self.skewed.clear();
        self.rec.nemesis("healed: network, pauses, kills, disks, clocks");
        // Let in-flight flushes finish and restarted brokers come up, then power-cycle every
        // broker whose store is poisoned or that cannot start: a file whose fsync failed keeps
        // failing every fsync until the machine restarts (as Linux after "fsyncgate"), so a
        // broker restarted while fsync errors were on fails its recovery until then.
        tokio::time::sleep(Duration::from_secs(1)).await;
        for b in 0..self.cluster.spec().brokers {
            // Up means started since it was last killed: the controller of the incarnation
            // before a kill can outlive it, so its presence proves nothing.
            let started =
                self.cluster.starts(b) > self.starts_at_kill.get(&b).copied().unwrap_or(0);
            let why = match self.cluster.controller(b) {
                Some(c) if started => c.store.poison_reason().map(|r| format!("poisoned ({r})")),
                _ => Some("not up (its start keeps failing)".to_owned()),
            };
            if let Some(why) = why {
                let i = self.cluster.spec().namesrvs + b;
                self.rec.note(&format!("heal: {} {why}", self.cluster.broker(b).name));
                self.kill(i, "power-cycle");
                self.restart(i);
            }
        }
    }
}

/// Fisher-Yates with the seeded RNG.
fn shuffle<T>(items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = rt::rand::range(0..=i);
        items.swap(i, j);
    }
}
