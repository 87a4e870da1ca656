//! `mqbench`: RocketMQ's benchmark producer and consumer. Both run for a bounded duration and
//! print one line of throughput and latency per second, then a summary.

pub mod consumer;
pub mod producer;
pub mod stats;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use clap::{Parser, Subcommand};
use client::ClientConfig;

use crate::error::{CliError, Result};
use stats::Window;

/// Longest run accepted, so a typo cannot start a benchmark that never ends.
pub const MAX_DURATION_SECS: u64 = 24 * 3600;

/// Benchmark tool.
#[derive(Debug, Parser)]
#[command(name = "mqbench", version, about = "Apogee benchmark producer and consumer")]
pub struct BenchCli {
    #[command(subcommand)]
    pub command: BenchCommand,
}

/// Which side to run.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Send as fast as the tasks can, reporting TPS and latency percentiles.
    Producer(producer::ProducerArgs),
    /// Consume a topic, reporting TPS and end-to-end latency.
    Consumer(consumer::ConsumerArgs),
}

/// Runs the chosen benchmark.
pub async fn run(cli: BenchCli) -> Result<()> {
    match cli.command {
        BenchCommand::Producer(a) => producer::run(&a).await.map(|_| ()),
        BenchCommand::Consumer(a) => consumer::run(&a).await.map(|_| ()),
    }
}

/// A client config for `namesrv` (`None`: NAMESRV_ADDR), failing early without one.
pub fn client_config(namesrv: Option<&str>) -> Result<ClientConfig> {
    let config =
        ClientConfig { namesrv_addr: namesrv.map(str::to_owned), ..ClientConfig::default() };
    if config.namesrv_addrs().is_empty() {
        return Err(CliError::usage(
            "no name server address: pass -n host:9876 or set NAMESRV_ADDR",
        ));
    }
    Ok(config)
}

/// Checks a `-d` value.
pub fn duration(secs: u64) -> Result<Duration> {
    if secs == 0 || secs > MAX_DURATION_SECS {
        return Err(CliError::usage(format!("duration must be 1..={MAX_DURATION_SECS} seconds")));
    }
    Ok(Duration::from_secs(secs))
}

/// The window the workers record into; the reporter swaps it out every second.
#[derive(Clone, Default)]
pub struct Recorder {
    current: Arc<Mutex<Window>>,
}

impl Recorder {
    /// Records under the lock.
    pub fn with<R>(&self, f: impl FnOnce(&mut Window) -> R) -> R {
        let mut w = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut w)
    }

    /// Takes what was recorded since the last call.
    pub fn take(&self) -> Window {
        self.with(std::mem::take)
    }
}
