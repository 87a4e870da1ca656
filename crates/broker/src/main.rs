//! `mqbroker`: runs one broker. `mqbroker -n host:9876 -c conf/broker.conf`.
//!
//! The name server list comes from `-n`, else the `NAMESRV_ADDR` environment variable, else
//! `namesrvAddr` in the config file. SIGTERM or SIGINT stops the broker gracefully: it
//! unregisters from every name server, persists offsets and config, flushes the store and
//! writes its checkpoint.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use broker::broker_config_loader::{self, LoadedConfig};
use broker::{BrokerConfig, BrokerController};
use clap::Parser;
use remoting::Properties;
use rt::disk::{DiskRef, FsDisk};
use store::MessageStoreConfig;

#[derive(Parser, Debug)]
#[command(name = "mqbroker", version, about = "Apogee broker (RocketMQ compatible)")]
struct Args {
    /// Name server addresses, `host:port` separated by `;`.
    #[arg(short = 'n', long = "namesrv-addr", env = "NAMESRV_ADDR")]
    namesrv_addr: Option<String>,
    /// Broker config file (RocketMQ `broker.conf` keys).
    #[arg(short = 'c', long = "config-file")]
    config_file: Option<PathBuf>,
    /// Print every config item with its value and exit.
    #[arg(short = 'p', long = "print-config-item")]
    print_config_item: bool,
}

fn load_config(args: &Args) -> Result<LoadedConfig, String> {
    let mut loaded = match &args.config_file {
        Some(path) => {
            // tidy: allow(no-fs) the binary reads its own config file; the library never does
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let props =
                Properties::parse(&text, &path.display().to_string()).map_err(|e| e.to_string())?;
            broker_config_loader::load(&props).map_err(|e| e.to_string())?
        }
        None => LoadedConfig {
            broker: BrokerConfig::default(),
            store: MessageStoreConfig::default(),
            unknown_keys: Vec::new(),
            ignored_keys: Vec::new(),
        },
    };
    if let Some(n) = &args.namesrv_addr {
        loaded.broker.namesrv_addr = BrokerConfig::parse_namesrv_addr(n);
    }
    loaded.broker.validate()?;
    Ok(loaded)
}

async fn wait_for_signal() {
    // The simulator has only ctrl-c (`Handle::send_ctrl_c`), no Unix signals.
    #[cfg(all(unix, not(madsim)))]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    biased;
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "no SIGTERM handler; only SIGINT stops the broker");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(all(unix, not(madsim))))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        // Colour codes only for a person at a terminal (not a log file or a pipe), unless
        // NO_COLOR asks for none at all.
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut loaded = match load_config(&args) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("mqbroker: {e}");
            return ExitCode::from(2);
        }
    };
    let source = args.config_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
    for (line, key) in &loaded.unknown_keys {
        tracing::warn!("{source}:{line}: unknown config key {key:?} ignored");
    }
    for (line, key) in &loaded.ignored_keys {
        tracing::info!("{source}:{line}: {key} has no effect in this broker");
    }
    if args.print_config_item {
        for (k, v) in broker_config_loader::config_items(&loaded.broker, &loaded.store) {
            println!("{k}={v}");
        }
        return ExitCode::SUCCESS;
    }
    // `deleteWhen` names hours of the local day, as in RocketMQ; the store itself only sees the
    // offset, so the simulation (which never sets it) stays in UTC.
    loaded.store.utc_offset_seconds = chrono::Local::now().offset().local_minus_utc();
    let root = loaded.broker.store_path_root_dir.clone();
    let disk: DiskRef = match FsDisk::new(&root) {
        Ok(d) => Arc::new(d),
        Err(e) => {
            eprintln!("mqbroker: cannot open storePathRootDir {}: {e}", root.display());
            return ExitCode::from(1);
        }
    };
    let handle = match BrokerController::start(loaded.broker, loaded.store, disk).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("mqbroker: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    println!(
        "The broker[{}, {}] boot success.",
        handle.controller().config.broker_name,
        handle.controller().broker_addr()
    );
    wait_for_signal().await;
    tracing::info!("shutdown requested");
    match handle.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqbroker: shutdown incomplete: {e}");
            ExitCode::from(1)
        }
    }
}
