//! `mqbench`: RocketMQ's benchmark producer and consumer.
//! `mqbench producer -n host:9876 -t BenchmarkTest -w 64 -s 128 --mode sync -d 60`;
//! `mqbench consumer -n host:9876 -t BenchmarkTest -g group -d 60`.

use std::process::ExitCode;

use clap::Parser;
use cli::bench::{self, BenchCli};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = BenchCli::parse();
    match bench::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqbench: {e}");
            ExitCode::FAILURE
        }
    }
}
