use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Project jobs that a cargo alias cannot do")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check the repository rules (banned calls outside crates/rt, no unwrap in core crates,
    /// file length).
    Tidy,
    /// Sweep simulation tests over a seed range, one process per seed.
    Sim(xtask::sim::SimArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = xtask::repo_root();
    let ok = match cli.command {
        Command::Tidy => tidy(&root),
        Command::Sim(args) => xtask::sim::run(&root, &args),
    };
    match ok {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::from(2)
        }
    }
}

fn tidy(root: &std::path::Path) -> Result<bool, String> {
    let report = xtask::tidy::check(root).map_err(|e| format!("tidy: {e}"))?;
    for v in &report.violations {
        println!("{v}");
    }
    if report.violations.is_empty() {
        println!("tidy: ok ({} files)", report.files);
        Ok(true)
    } else {
        println!("tidy: {} violations in {} files", report.violations.len(), report.files);
        Ok(false)
    }
}
