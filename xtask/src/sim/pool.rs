//! Running test processes N at a time, each with its own seed and a deadline.

use std::fmt;
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::TestCase;

/// Lines of a failing run's output shown in the report.
const TAIL_LINES: usize = 40;
/// At most this much of the end of a log is read to find those lines.
const TAIL_BYTES: u64 = 64 * 1024;

/// One process to run: a test at a seed.
#[derive(Clone, Debug)]
pub struct Job {
    pub case: TestCase,
    pub seed: u64,
    /// Run with `MADSIM_TEST_CHECK_DETERMINISM=1`.
    pub determinism: bool,
    /// Came from the failing-seeds file.
    pub recorded: bool,
}

/// How a run ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    Passed { secs: f64 },
    Failed { status: String, secs: f64, tail: String },
    TimedOut { secs: f64, tail: String },
    NotStarted { error: String },
}

impl Outcome {
    pub fn passed(&self) -> bool {
        matches!(self, Outcome::Passed { .. })
    }

    /// The end of the run's output, for a failure report.
    pub fn tail(&self) -> &str {
        match self {
            Outcome::Failed { tail, .. } | Outcome::TimedOut { tail, .. } => tail,
            _ => "",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Passed { secs } => write!(f, "passed in {secs:.1}s"),
            Outcome::Failed { status, secs, .. } => write!(f, "{status} after {secs:.1}s"),
            Outcome::TimedOut { secs, .. } => write!(f, "timed out after {secs:.0}s"),
            Outcome::NotStarted { error } => write!(f, "could not start: {error}"),
        }
    }
}

/// Runs every job, `parallel` at a time, calling `on_failure` as failures arrive and printing a
/// progress line every tenth of the way. Returns the outcomes in job order.
pub fn run_all(
    jobs: &[Job],
    parallel: usize,
    timeout: Duration,
    log_dir: &Path,
    on_failure: &dyn Fn(&Job, &Outcome),
) -> Vec<(Job, Outcome)> {
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel();
    let mut outcomes: Vec<Option<Outcome>> = vec![None; jobs.len()];
    let start = Instant::now();
    thread::scope(|s| {
        for _ in 0..parallel.max(1).min(jobs.len()) {
            let tx = tx.clone();
            let next = &next;
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(i) else { break };
                if tx.send((i, run_one(job, timeout, log_dir))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let step = (jobs.len() / 10).max(1);
        let (mut done, mut failed) = (0, 0);
        for (i, outcome) in rx {
            done += 1;
            if !outcome.passed() {
                failed += 1;
                on_failure(&jobs[i], &outcome);
            }
            if done % step == 0 || done == jobs.len() {
                println!(
                    "sim: [{done}/{}] {} passed, {failed} failed ({:.0}s)",
                    jobs.len(),
                    done - failed,
                    start.elapsed().as_secs_f64()
                );
            }
            outcomes[i] = Some(outcome);
        }
    });
    jobs.iter()
        .cloned()
        .zip(outcomes)
        .map(|(job, o)| {
            let o = o.unwrap_or(Outcome::NotStarted { error: "worker stopped".into() });
            (job, o)
        })
        .collect()
}

fn log_path(job: &Job, log_dir: &Path) -> PathBuf {
    let id: String = job
        .case
        .id()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
        .collect();
    let det = if job.determinism { "-determinism" } else { "" };
    log_dir.join(format!("{}-{id}{det}.log", job.seed))
}

/// Runs one test process at one seed, its output (stdout and stderr interleaved) going to a log
/// file so that a chatty test cannot block on a full pipe.
fn run_one(job: &Job, timeout: Duration, log_dir: &Path) -> Outcome {
    let log = log_path(job, log_dir);
    let started = Instant::now();
    let secs = || started.elapsed().as_secs_f64();
    let spawned = File::create(&log).and_then(|out| {
        let err = out.try_clone()?;
        let mut cmd = Command::new(&job.case.bin.executable);
        cmd.args([job.case.name.as_str(), "--exact", "--nocapture", "--test-threads=1"])
            .current_dir(&job.case.bin.manifest_dir)
            .env("CARGO_MANIFEST_DIR", &job.case.bin.manifest_dir)
            .env("MADSIM_TEST_SEED", job.seed.to_string())
            // One seed per process: a seed count or in-process parallelism would share statics.
            .env_remove("MADSIM_TEST_NUM")
            .env_remove("MADSIM_TEST_JOBS")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        if job.determinism {
            cmd.env("MADSIM_TEST_CHECK_DETERMINISM", "1");
        } else {
            cmd.env_remove("MADSIM_TEST_CHECK_DETERMINISM");
        }
        cmd.spawn()
    });
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => return Outcome::NotStarted { error: e.to_string() },
    };
    let mut poll = Duration::from_millis(2);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(());
            }
            Ok(None) => {
                thread::sleep(poll);
                poll = (poll * 2).min(Duration::from_millis(50));
            }
            Err(e) => return Outcome::NotStarted { error: e.to_string() },
        }
    };
    match status {
        Ok(status) if status.success() => {
            let _ = fs::remove_file(&log);
            Outcome::Passed { secs: secs() }
        }
        Ok(status) => {
            Outcome::Failed { status: status.to_string(), secs: secs(), tail: tail(&log) }
        }
        Err(()) => Outcome::TimedOut { secs: secs(), tail: tail(&log) },
    }
}

/// The last lines of a log, reading only its end (a failing simulation can log a lot).
fn tail(path: &Path) -> String {
    let read = || -> std::io::Result<String> {
        let mut f = File::open(path)?;
        let len = f.metadata()?.len();
        f.seek(SeekFrom::Start(len.saturating_sub(TAIL_BYTES)))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    };
    match read() {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            let from = lines.len().saturating_sub(TAIL_LINES);
            let mut out = String::new();
            // A backtrace can push the panic message out of the tail; show it first.
            if let Some(p) = lines[..from].iter().position(|l| l.contains("panicked at")) {
                let end = (p + 3).min(from);
                out.push_str(&lines[p..end].join("\n"));
                out.push_str("\n...\n");
            }
            out.push_str(&lines[from..].join("\n"));
            out.push_str(&format!("\n(full output: {})", path.display()));
            out
        }
        Err(e) => format!("(output unavailable: {e})"),
    }
}
