//! `mqadmin`: RocketMQ's admin commands against Apogee (or any RocketMQ) name servers and
//! brokers. `mqadmin <command> -n host:9876 [options]`; `mqadmin help <command>`.

use std::process::ExitCode;

use cli::commands::{self, Ctx};

#[tokio::main]
async fn main() -> ExitCode {
    let parsed = match commands::parse(std::env::args_os()) {
        Ok(p) => p,
        // Help and version are "errors" to clap but succeed; exit() prints and picks the code.
        Err(e) => e.exit(),
    };
    let ctx = match Ctx::new(parsed.namesrv_addr.clone()) {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("mqadmin: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = commands::run(&ctx, &parsed.command).await;
    ctx.shutdown().await;
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mqadmin: {e}");
            ExitCode::FAILURE
        }
    }
}
