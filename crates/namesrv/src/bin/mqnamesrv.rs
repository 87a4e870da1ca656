//! `mqnamesrv`: the name server daemon, with RocketMQ's options.
//!
//! ```text
//! mqnamesrv [-c conf/namesrv.conf] [--listen-port 9876] [-p]
//! ```
//! `-p` prints the effective configuration and exits. Unknown keys in the config file are
//! warned about with file and line; a malformed value stops startup with file, line and key.
//! Logging follows `RUST_LOG` (default `info`). SIGTERM or SIGINT stops it cleanly.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use namesrv::config::NamesrvConfig;
use remoting::Properties;
use tracing_subscriber::EnvFilter;

/// RocketMQ-compatible name server.
#[derive(Debug, Parser)]
#[command(name = "mqnamesrv", version)]
struct Cli {
    /// Name server config file (RocketMQ properties format).
    #[arg(short = 'c', long = "config-file", value_name = "FILE")]
    config_file: Option<PathBuf>,
    /// Print the effective configuration and exit.
    #[arg(short = 'p', long = "print-config-item")]
    print_config_item: bool,
    /// Listen port, overriding `listenPort` of the config file.
    #[arg(long = "listen-port", value_name = "PORT")]
    listen_port: Option<u16>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        // Colour codes only for a person at a terminal (not a log file or a pipe), unless
        // NO_COLOR asks for none at all.
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        )
        .with_writer(std::io::stderr)
        .init();

    let mut config = match load_config(cli.config_file.as_ref()) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("mqnamesrv: {message}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(port) = cli.listen_port {
        config.listen_port = port;
    }
    if cli.print_config_item {
        print!("{}", config.to_properties_string());
        return ExitCode::SUCCESS;
    }

    match namesrv::run(config, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("mqnamesrv: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Reads and checks the config file; the defaults without one.
fn load_config(path: Option<&PathBuf>) -> Result<NamesrvConfig, String> {
    let Some(path) = path else { return Ok(NamesrvConfig::default()) };
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {name}: {e}"))?;
    let props = Properties::parse(&text, &name).map_err(|e| e.to_string())?;
    for (line, key) in NamesrvConfig::unknown_keys(&props) {
        tracing::warn!("{name}:{line}: {key}: unknown key, ignored");
    }
    for (line, key) in NamesrvConfig::ignored_keys(&props) {
        tracing::info!("{name}:{line}: {key}: accepted for compatibility, has no effect here");
    }
    let config = NamesrvConfig::from_properties(&props).map_err(|e| e.to_string())?;
    tracing::info!(file = %name, "configuration loaded");
    Ok(config)
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    #[cfg(all(unix, not(madsim)))]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    biased;
                    _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
                    _ = ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                ctrl_c().await;
            }
        }
    }
    #[cfg(any(not(unix), madsim))]
    ctrl_c().await;
}

async fn ctrl_c() {
    match tokio::signal::ctrl_c().await {
        Ok(()) => tracing::info!("SIGINT received, shutting down"),
        // Without a signal handler, run until killed.
        Err(e) => {
            tracing::warn!("cannot listen for SIGINT: {e}");
            std::future::pending::<()>().await;
        }
    }
}
