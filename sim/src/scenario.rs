//! A scenario: a cluster, a workload, a nemesis drawn from the seed, the safety phase, healing,
//! the liveness phase and the verdict.
//!
//! Phases (TigerBeetle VOPR's pattern):
//! 1. setup: servers start, the topic is created, consumers then producers start;
//! 2. safety: the nemesis injects faults for [`Scenario::safety`] while producers send and
//!    consumers read (push-consumer groups also change membership);
//! 3. healing: every fault ends (brokers poisoned or unable to start are power-cycled);
//!    producers keep sending for [`POST_HEAL_SENDS`] and at least one send must be
//!    acknowledged (producers resume);
//! 4. drain: producers stop, the drain marker is recorded, and every acknowledged message must
//!    reach the group within [`LIVENESS_BOUND`] of the heal;
//! 5. verdict: the history checker, the run-time invariants and the durability contract.
//!
//! A failure panics with the seed, the one command that replays it, what failed (the checker's
//! smallest counter-example first) and the tail of the trace. Every run ends by printing the
//! trace hash and the simulated time it covered.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use checker::{AnomalyKind, CheckOptions, Verdict};
use madsim::runtime::Handle;
use store::FlushDiskType;
use tokio::time::Instant;

use crate::cluster::{Cluster, ClusterSpec};
use crate::nemesis::{Crash, Fault, FaultPlan, Nemesis};
use crate::trace::Recorder;
use crate::workload::queue::Group;
use crate::workload::{
    self, consumer, Ctx, CONSUMER_PROCESS_BASE, HARNESS_PROCESS, PRODUCER_PROCESS_BASE,
};

/// Every acknowledged message must be consumed within this much simulated time after the
/// nemesis healed the cluster.
pub const LIVENESS_BOUND: Duration = Duration::from_secs(120);
/// How long producers keep sending after the heal.
pub const POST_HEAL_SENDS: Duration = Duration::from_secs(10);
/// How long after the drain the consumers keep running before their last commit: a commit sent
/// on a connection given up during a fault is delivered by then (the simulated network retries
/// a segment at most 10 s apart), so it cannot land after the last commit.
pub const STRAY_COMMIT_QUIET: Duration = Duration::from_secs(5);
/// How long the last commit may take.
const FINAL_COMMIT_BOUND: Duration = Duration::from_secs(30);
/// The topic every workload uses, and its queues per broker.
pub const TOPIC: &str = "SimTopic";
/// Queues per broker.
pub const QUEUES: i32 = 4;
/// The consumer group that is checked.
pub const GROUP: &str = "CG-sim";

/// What a scenario runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// Ordered sends by sharding key, read by a lite pull consumer.
    Ordered,
    /// Plain sends, read by a rebalancing group of push consumers.
    Queue,
    /// Batch sends, read by a lite pull consumer.
    Batch,
}

/// A scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The test function's name.
    pub name: &'static str,
    /// The test target (file in sim/tests) that runs it.
    pub test: &'static str,
    /// The workload.
    pub workload: Workload,
    /// The brokers' flush mode.
    pub flush: FlushDiskType,
    /// Name servers.
    pub namesrvs: usize,
    /// Broker groups.
    pub brokers: usize,
    /// Producers.
    pub producers: u64,
    /// Fault kinds the seed may enable.
    pub faults: &'static [Fault],
    /// Length of the safety phase.
    pub safety: Duration,
}

/// What a passing run reports; its `Debug` form is also what the determinism check compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The seed.
    pub seed: u64,
    /// The hash of the ordered event trace.
    pub trace_hash: u64,
    /// Trace lines.
    pub trace_lines: u64,
    /// Simulated time the run covered, in milliseconds.
    pub simulated_ms: u64,
    /// Sends invoked, acknowledged, and acknowledged values received.
    pub sends: u64,
    /// Acknowledged values.
    pub acked: usize,
    /// Distinct values received.
    pub received: usize,
    /// Faults injected.
    pub faults: u64,
    /// Acknowledged values an ASYNC_FLUSH power cut was allowed to lose and did.
    pub lost_to_power_cuts: usize,
}

impl Scenario {
    /// The command that replays this scenario at `seed`.
    pub fn replay(&self, seed: u64) -> String {
        format!(
            "MADSIM_TEST_SEED={seed} cargo sim -p apogee-sim --test {} -- {} --exact",
            self.test, self.name
        )
    }
}

/// Prints tracing events that pass `filter` (`target=level,...`). A `Targets` filter, not an
/// `EnvFilter`: the latter builds `HashMap`s, whose random keys would shift every later map's
/// keys in the simulation, so the seed would no longer replay the run being followed.
fn install_log(filter: &str) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let targets: tracing_subscriber::filter::Targets = match filter.parse() {
        Ok(t) => t,
        Err(e) => panic!("SIM_LOG={filter}: {e}"),
    };
    let layer = tracing_subscriber::fmt::layer().without_time().with_ansi(false);
    let _ = tracing_subscriber::registry().with(layer).with(targets).try_init();
}

/// Runs `scenario` for the current seed; panics with a report on failure.
pub async fn run(scenario: Scenario) -> Outcome {
    let seed = Handle::current().seed();
    // `SIM_LOG=<filter>` (`target=level` pairs, e.g. `info,client=debug`) prints the daemons'
    // and clients' logs, each line with the simulated node it ran on, for following a failing
    // seed (with `--nocapture`). Without it nothing is installed.
    if let Some(filter) = std::env::var_os("SIM_LOG") {
        install_log(&filter.to_string_lossy());
    }
    let rec = Recorder::new();
    let start = Instant::now();
    rec.note(&format!("scenario {} seed {seed}", scenario.name));
    let spec = ClusterSpec {
        namesrvs: scenario.namesrvs,
        brokers: scenario.brokers,
        flush: scenario.flush,
    };
    let cluster = Arc::new(Cluster::start(spec));
    let ctx = Ctx::new(cluster.clone(), rec.clone());
    let plan = FaultPlan::draw(scenario.faults);

    // Setup.
    let admin = cluster.client_node("admin");
    cluster.wait_ready(&rec).await;
    cluster.create_topic(&admin, TOPIC, QUEUES).await;
    rec.note("topic ready");
    let mut group = None;
    let mut pull = None;
    match scenario.workload {
        Workload::Ordered | Workload::Batch => {
            let (node, ip) = cluster.client_node("pull-consumer");
            let fut = consumer::pull_consumer(
                ctx.clone(),
                ip,
                CONSUMER_PROCESS_BASE,
                GROUP.into(),
                TOPIC.into(),
                QUEUES,
            );
            pull = Some(node.spawn(fut));
        }
        Workload::Queue => {
            let mut g = Group::new(ctx.clone(), GROUP, TOPIC, QUEUES);
            g.join();
            g.join();
            group = Some(g);
        }
    }
    let mut producers = Vec::new();
    for i in 0..scenario.producers {
        let (node, ip) = cluster.client_node(&format!("producer-{i}"));
        // Batch producers use MAX_BATCH process ids each.
        let p = PRODUCER_PROCESS_BASE + i * workload::batch::MAX_BATCH;
        let (c, t) = (ctx.clone(), TOPIC.to_owned());
        producers.push(match scenario.workload {
            Workload::Ordered => node.spawn(workload::ordered::producer(c, ip, i, p, t)),
            Workload::Queue => node.spawn(workload::queue::producer(c, ip, i, p, t)),
            Workload::Batch => node.spawn(workload::batch::producer(c, ip, i, p, t)),
        });
    }

    // Safety.
    let mut nemesis = Nemesis::new(cluster.clone(), rec.clone(), plan);
    nemesis.watched = (0..QUEUES).map(|q| (TOPIC.to_owned(), q)).collect();
    let churn_stop = Arc::new(AtomicBool::new(false));
    tokio::join!(
        async {
            nemesis.run_safety(scenario.safety).await;
            churn_stop.store(true, Ordering::Relaxed);
        },
        async {
            if let Some(g) = group.as_mut() {
                g.churn(churn_stop.clone()).await;
            }
        }
    );

    // Healing; producers must resume.
    nemesis.heal().await;
    let healed_at = Instant::now();
    ctx.healed.store(true, Ordering::Relaxed);
    tokio::time::sleep(POST_HEAL_SENDS).await;
    ctx.stop_producers.store(true, Ordering::Relaxed);
    for p in producers {
        let _ = p.await;
    }

    // Drain.
    rec.drain(HARNESS_PROCESS, GROUP);
    let allowed_loss = |ctx: &Ctx| allowed_losses(ctx, scenario.flush, &nemesis.crashes);
    loop {
        let missing = ctx.missing();
        let waiting =
            missing.len() - allowed_loss(&ctx).iter().filter(|v| missing.contains(v)).count();
        if waiting == 0 || healed_at.elapsed() >= LIVENESS_BOUND {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let missing = ctx.missing();
    let allowed = allowed_loss(&ctx);
    rec.note(&format!("drain over: {} acknowledged values missing", missing.len()));
    if pull.is_some() {
        tokio::time::sleep(STRAY_COMMIT_QUIET).await;
    }
    ctx.stop_consumers.store(true, Ordering::Relaxed);
    if let Some(g) = group.as_mut() {
        g.stop_all();
    }
    if let Some(task) = pull {
        if tokio::time::timeout(FINAL_COMMIT_BOUND, task).await.is_err() {
            ctx.violation(format!(
                "the pull consumer did not finish its last commit within {}s",
                FINAL_COMMIT_BOUND.as_secs()
            ));
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    cluster.stop_clients();

    // Verdict.
    let history = rec.take_history();
    let options = check_options(&scenario, &nemesis.crashes);
    let verdict = checker::check(&history, &options);
    let mut failures = Vec::new();
    if !verdict.valid {
        failures.push(verdict_failure(&verdict));
    }
    let (sends, acked, received, acked_after_heal, violations) = {
        let st = ctx.state();
        (st.sends, st.acked.len(), st.received.len(), st.acked_after_heal, st.violations.clone())
    };
    for v in violations.iter().take(10) {
        failures.push(format!("invariant: {v}"));
    }
    let unexcused: Vec<u64> = missing.iter().copied().filter(|v| !allowed.contains(v)).collect();
    if !unexcused.is_empty() {
        failures.push(format!(
            "liveness/durability: {} acknowledged values not consumed within {}s of healing \
             (and not excused by an ASYNC_FLUSH power cut), e.g. {:?}",
            unexcused.len(),
            LIVENESS_BOUND.as_secs(),
            &unexcused[..unexcused.len().min(10)]
        ));
    }
    if acked_after_heal == 0 {
        failures.push(format!(
            "liveness: producers did not resume: no send acknowledged in the {}s after healing",
            POST_HEAL_SENDS.as_secs()
        ));
    }
    let outcome = Outcome {
        seed,
        trace_hash: rec.hash(),
        trace_lines: rec.lines(),
        simulated_ms: start.elapsed().as_millis() as u64,
        sends,
        acked,
        received,
        faults: nemesis.injected,
        lost_to_power_cuts: missing.len() - unexcused.len(),
    };
    println!(
        "sim: {} seed {seed}: trace hash {:016x} ({} lines), simulated {:.1}s, {} sends, {} acked, \
         {} received, {} faults, {} lost to ASYNC power cuts",
        scenario.name,
        outcome.trace_hash,
        outcome.trace_lines,
        outcome.simulated_ms as f64 / 1000.0,
        sends,
        acked,
        received,
        outcome.faults,
        outcome.lost_to_power_cuts
    );
    // `SIM_EVENTS=1` shows what a passing run went through (a failure always shows it).
    if std::env::var_os("SIM_EVENTS").is_some() {
        println!("--- nemesis and notes ---\n{}", rec.events());
    }
    if !failures.is_empty() {
        panic!(
            "scenario {} failed at seed {seed}\nreplay: {}\n{}\n--- nemesis and notes ---\n{}\
             --- last trace lines ---\n{}",
            scenario.name,
            scenario.replay(seed),
            failures.join("\n"),
            rec.events(),
            rec.tail()
        );
    }
    outcome
}

/// How the scenario's group is judged. ASYNC_FLUSH after a power cut that found unsynced data:
/// the cut may take back the log's tail, so losses and what follows from reusing the lost
/// offsets are tolerated here; which values may be lost is then judged by [`allowed_losses`].
fn check_options(scenario: &Scenario, crashes: &[Crash]) -> CheckOptions {
    let mut options = match scenario.workload {
        Workload::Ordered | Workload::Batch => CheckOptions::default(),
        Workload::Queue => CheckOptions::concurrent_consumer(),
    };
    let lossy = crashes.iter().any(|c| c.had_unsynced);
    if scenario.flush == FlushDiskType::AsyncFlush && lossy {
        for kind in [
            AnomalyKind::LostPrefix,
            AnomalyKind::LostMiddle,
            AnomalyKind::LostPostfix,
            AnomalyKind::LostWrite,
            AnomalyKind::InconsistentOffset,
            AnomalyKind::QueueSendOrder,
            AnomalyKind::NonmonotonicPoll,
            AnomalyKind::PollSkip,
            AnomalyKind::CommitRegression,
        ] {
            options = options.allow(kind);
        }
    }
    options
}

/// Acknowledged values the durability contract lets the run lose: none under SYNC_FLUSH. Under
/// ASYNC_FLUSH, for each power cut of a broker that took unsynced data:
/// - lost: those it acknowledged inside the window before the cut (see
///   [`Crash::vulnerable_from_ms`]);
/// - skipped: those it acknowledged after the cut at an offset below the queue's end before the
///   cut. The cut took back the queue's tail, so later messages reuse offsets the group may
///   already have read past; the consumer continues from its own offset (RocketMQ corrects it
///   only when it lies beyond the queue's end) and never sees them.
fn allowed_losses(ctx: &Ctx, flush: FlushDiskType, crashes: &[Crash]) -> Vec<u64> {
    if flush == FlushDiskType::SyncFlush {
        return Vec::new();
    }
    let st = ctx.state();
    st.acked
        .iter()
        .filter(|(_, ack)| {
            crashes.iter().any(|c| {
                let lost = ack.at_ms >= c.vulnerable_from_ms
                    && ack.at_ms <= c.at_ms + crate::nemesis::ASYNC_LOSS_WINDOW_MS;
                let end = c.ends.get(&(ack.queue.topic.clone(), ack.queue.queue_id));
                let reused = ack.at_ms > c.at_ms && end.is_some_and(|&end| ack.offset < end);
                c.had_unsynced && c.broker == ack.broker && (lost || reused)
            })
        })
        .map(|(v, _)| *v)
        .collect()
}

fn verdict_failure(verdict: &Verdict) -> String {
    let smallest =
        verdict.smallest_counterexample().map_or_else(|| "(none)".to_owned(), |a| format!("{a:?}"));
    let full = verdict.to_string();
    let full: String = full.lines().take(40).collect::<Vec<_>>().join("\n");
    format!("checker: smallest counter-example: {smallest}\n{full}")
}
