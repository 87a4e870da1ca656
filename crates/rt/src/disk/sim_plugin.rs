//! The madsim plugin that gives every simulated node its own [`SimDisk`].
//!
//! A node's disk outlives the node's incarnations: `Handle::kill` makes madsim call
//! [`Simulator::reset_node`], which cuts the power of that node's disk ([`SimDisk::crash`]), and
//! the node's next incarnation (after `Handle::restart`) finds what survived. `restart` without
//! `kill` is a clean process restart and loses nothing.
//!
//! The plugin must be registered on the runtime (`Runtime::add_simulator::<DiskSim>()`), which
//! `#[madsim::test]` cannot do; [`crate::sim::runtime`] and [`crate::sim::run_test`] do it.
//!
//! Seeds: the plugin draws one base seed from madsim's seeded RNG when the runtime is built, and
//! each node's disk seed mixes it with the node id (and with any seed the harness configured), so
//! one `MADSIM_TEST_SEED` fixes every crash outcome and injected fault.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};

use madsim::plugin::{self, Simulator};
use madsim::rand::{GlobalRng, RngCore};
use madsim::task::NodeId;
use madsim::time::TimeHandle;
use madsim::Config;

use super::{DiskRef, SimDisk, SimDiskConfig};

/// The simulator plugin: one [`SimDisk`] per node, crashed when the node is killed.
pub struct DiskSim {
    base_seed: u64,
    nodes: Mutex<BTreeMap<NodeId, NodeDisk>>,
}

struct NodeDisk {
    /// The configuration the harness asked for, before seed mixing.
    config: SimDiskConfig,
    disk: SimDisk,
}

/// SplitMix64's finaliser: spreads a combination of seeds over all 64 bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Simulator for DiskSim {
    fn new(rand: &GlobalRng, _time: &TimeHandle, _config: &Config) -> Self {
        Self { base_seed: rand.clone().next_u64(), nodes: Mutex::new(BTreeMap::new()) }
    }

    // Called by madsim with its simulator table locked: must not call `plugin::simulator`.
    fn create_node(&self, id: NodeId) {
        self.entry(id);
    }

    fn reset_node(&self, id: NodeId) {
        let disk = self.entry(id);
        tracing::debug!(node = %id, "power cut: crashing the node's disk");
        disk.crash();
    }
}

impl DiskSim {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<NodeId, NodeDisk>> {
        self.nodes.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn disk_for(&self, id: NodeId, config: SimDiskConfig) -> SimDisk {
        // NodeId has no public integer accessor; its std hash is deterministic (SipHash with
        // fixed keys), which is all the mixing needs.
        let mut h = DefaultHasher::new();
        id.hash(&mut h);
        let seed = mix(self.base_seed ^ mix(h.finish()) ^ mix(config.seed.wrapping_add(1)));
        SimDisk::new(SimDiskConfig { seed, ..config.clone() })
    }

    /// The disk of node `id`, made with the default configuration on first use.
    fn entry(&self, id: NodeId) -> SimDisk {
        let mut nodes = self.lock();
        if let Some(node) = nodes.get(&id) {
            return node.disk.clone();
        }
        let config = SimDiskConfig::default();
        let disk = self.disk_for(id, config.clone());
        nodes.insert(id, NodeDisk { config, disk: disk.clone() });
        disk
    }

    /// The disk of node `id`, for the harness: inspect `stats`, change faults, crash it by hand.
    pub fn disk(&self, id: NodeId) -> SimDisk {
        self.entry(id)
    }

    /// Gives node `id` a fresh, empty disk with `config` (its `seed` is mixed with the run's
    /// seed). Call it right after building the node, before its first task runs: whatever the
    /// node's previous disk held is discarded.
    pub fn configure(&self, id: NodeId, config: SimDiskConfig) {
        let disk = self.disk_for(id, config.clone());
        self.lock().insert(id, NodeDisk { config, disk });
    }

    /// The configuration node `id`'s disk was made with (before seed mixing).
    pub fn config(&self, id: NodeId) -> SimDiskConfig {
        self.entry(id);
        self.lock().get(&id).map(|n| n.config.clone()).unwrap_or_default()
    }
}

/// The plugin of the current runtime.
///
/// # Panics
/// If the runtime was built without `add_simulator::<DiskSim>()` (madsim indexes its simulator
/// table); build runtimes with [`crate::sim::runtime`].
pub fn simulator() -> Arc<DiskSim> {
    plugin::simulator::<DiskSim>()
}

/// The disk of the node the calling task runs on. Inside a simulated node this is where every
/// persistent byte goes; it survives the node's restarts and loses what a power cut loses.
pub fn node_disk() -> DiskRef {
    simulator().disk(plugin::node()).as_disk_ref()
}

/// The disk of node `id`, for the harness (see [`DiskSim::disk`]).
pub fn disk_of(id: NodeId) -> SimDisk {
    simulator().disk(id)
}

/// Gives node `id` a fresh disk with `config`; see [`DiskSim::configure`].
pub fn configure(id: NodeId, config: SimDiskConfig) {
    simulator().configure(id, config);
}
