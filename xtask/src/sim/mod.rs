//! `cargo xtask sim`: sweep the simulation tests over a range of seeds.
//!
//! The tests are built once (as `cargo sim` builds them), then every (seed, test) pair runs in its
//! own process with `MADSIM_TEST_SEED` set. One process per seed matters: madsim resets its own
//! state between seeds but not the program's statics (`OnceLock`s, global counters, hasher
//! seeds), so seeds sharing a process would not replay alone.
//!
//! Seeds that failed are recorded in `sim/failing-seeds.txt` and run first next time. A sample of
//! passing seeds is re-run with `MADSIM_TEST_CHECK_DETERMINISM=1`, under which madsim runs the seed
//! twice and panics at the first divergence.

mod build;
mod pool;
mod record;

use std::collections::HashSet;
use std::ops::RangeInclusive;
use std::path::Path;
use std::time::Duration;

use clap::Args;

pub use build::{is_sim_target, package_name, parse_artifact, parse_list, TestBinary};
pub use pool::{Job, Outcome};

/// Suffix of a recorded test id whose failure was a determinism check.
const DETERMINISM: &str = "@determinism";

#[derive(Args, Debug, Clone)]
pub struct SimArgs {
    /// Seeds to run: `A..B` (B excluded, as in Rust), `A..=B`, or a single seed.
    #[arg(long, value_parser = parse_seeds)]
    pub seeds: RangeInclusive<u64>,
    /// Processes run at once.
    #[arg(long, short = 'j', default_value_t = 2)]
    pub jobs: usize,
    /// Only this package's tests (repeatable); default: the whole workspace.
    #[arg(long = "package", short = 'p')]
    pub packages: Vec<String>,
    /// Only this test target (repeatable); default: every simulation test target (integration
    /// tests whose source is gated on `cfg(madsim)`, and every test of the sim/ crate).
    #[arg(long = "test")]
    pub tests: Vec<String>,
    /// Re-run this many passing seeds with madsim's determinism check.
    #[arg(long, default_value_t = 3)]
    pub check_determinism: usize,
    /// Build and run with the release profile.
    #[arg(long)]
    pub release: bool,
    /// Seconds one process may run before it counts as a failure (a hang).
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// libtest filter arguments, passed to each test executable (e.g. a test name).
    #[arg(last = true)]
    pub filter: Vec<String>,
}

/// Parses `A..B`, `A..=B` or `N` into an inclusive range.
pub fn parse_seeds(s: &str) -> Result<RangeInclusive<u64>, String> {
    let num = |t: &str| t.trim().parse::<u64>().map_err(|e| format!("bad seed `{t}`: {e}"));
    let range = if let Some((a, b)) = s.split_once("..=") {
        num(a)?..=num(b)?
    } else if let Some((a, b)) = s.split_once("..") {
        let end = num(b)?.checked_sub(1).ok_or("empty seed range")?;
        num(a)?..=end
    } else {
        let n = num(s)?;
        n..=n
    };
    if range.is_empty() {
        return Err(format!("empty seed range `{s}`"));
    }
    Ok(range)
}

/// One test of one executable.
#[derive(Clone, Debug)]
pub struct TestCase {
    pub bin: TestBinary,
    pub name: String,
}

impl TestCase {
    /// Stable id used in the failing-seeds file: `package/target/test_name`.
    pub fn id(&self) -> String {
        format!("{}/{}/{}", self.bin.package, self.bin.target, self.name)
    }

    /// The one command that replays this test at `seed` exactly as the sweep ran it.
    pub fn replay(&self, seed: u64, determinism: bool, release: bool) -> String {
        let check = if determinism { "MADSIM_TEST_CHECK_DETERMINISM=1 " } else { "" };
        let release = if release { " --release" } else { "" };
        format!(
            "{check}MADSIM_TEST_SEED={seed} cargo sim {}{release} -- {} --exact",
            self.bin.cargo_selector(),
            self.name
        )
    }
}

/// Runs the sweep; `Ok(true)` when every seed passed.
pub fn run(root: &Path, args: &SimArgs) -> Result<bool, String> {
    let binaries = build::build(root, &args.packages, &args.tests, args.release)?;
    let selected: Vec<TestBinary> =
        binaries.into_iter().filter(|b| !args.tests.is_empty() || is_sim_target(b, root)).collect();
    let mut cases = Vec::new();
    for bin in &selected {
        for name in build::list_tests(bin, &args.filter)? {
            cases.push(TestCase { bin: bin.clone(), name });
        }
    }
    if cases.is_empty() {
        println!("sim: no simulation tests found (cfg(madsim) test targets or the sim/ crate)");
        println!("sim: 0 passed, 0 failed");
        return Ok(true);
    }

    let record_path = root.join(record::FILE);
    let recorded =
        record::load(&record_path).map_err(|e| format!("{}: {e}", record_path.display()))?;
    let jobs = plan(&cases, &args.seeds, &recorded);
    let replayed = jobs.iter().take_while(|j| j.recorded).count();
    println!(
        "sim: {} tests x seeds {}..={} = {} runs ({replayed} recorded failures first), {} at a time",
        cases.len(),
        args.seeds.start(),
        args.seeds.end(),
        jobs.len(),
        args.jobs.max(1)
    );

    let timeout = Duration::from_secs(args.timeout);
    let log_dir = root.join(build::SIM_TARGET_DIR).join("xtask-sim");
    std::fs::create_dir_all(&log_dir).map_err(|e| format!("{}: {e}", log_dir.display()))?;
    let report = |job: &Job, outcome: &Outcome| print_failure(job, outcome, args.release);
    let mut results = pool::run_all(&jobs, args.jobs, timeout, &log_dir, &report);

    // Determinism: a spread-out sample of passing seeds, each run twice by madsim itself.
    let passing: Vec<&Job> = results.iter().filter(|(_, o)| o.passed()).map(|(j, _)| j).collect();
    let sample = spread(&passing, args.check_determinism);
    if !sample.is_empty() {
        println!("sim: checking determinism of {} passing runs", sample.len());
        let det_jobs: Vec<Job> =
            sample.into_iter().map(|j| Job { determinism: true, ..j.clone() }).collect();
        results.extend(pool::run_all(&det_jobs, args.jobs, timeout, &log_dir, &report));
    }

    let failed: Vec<&(Job, Outcome)> = results.iter().filter(|(_, o)| !o.passed()).collect();
    update_record(root, &record_path, &recorded, &results)?;
    if !failed.is_empty() {
        println!("sim: failing seeds (recorded in {}):", record::FILE);
        for (job, outcome) in &failed {
            println!(
                "  {}  # {}",
                job.case.replay(job.seed, job.determinism, args.release),
                outcome
            );
        }
    }
    println!("sim: {} passed, {} failed", results.len() - failed.len(), failed.len());
    Ok(failed.is_empty())
}

/// The run order: recorded failures that match the selected tests first, then every seed of the
/// range for every test (seed-major, so an early stop still covers all tests).
fn plan(cases: &[TestCase], seeds: &RangeInclusive<u64>, recorded: &[record::Entry]) -> Vec<Job> {
    let mut jobs = Vec::new();
    let mut seen = HashSet::new();
    for entry in recorded {
        let (id, determinism) = match entry.test.strip_suffix(DETERMINISM) {
            Some(id) => (id, true),
            None => (entry.test.as_str(), false),
        };
        if let Some(case) = cases.iter().find(|c| c.id() == id) {
            if seen.insert((entry.seed, id.to_string(), determinism)) {
                jobs.push(Job {
                    case: case.clone(),
                    seed: entry.seed,
                    determinism,
                    recorded: true,
                });
            }
        }
    }
    for seed in seeds.clone() {
        for case in cases {
            if seen.insert((seed, case.id(), false)) {
                jobs.push(Job { case: case.clone(), seed, determinism: false, recorded: false });
            }
        }
    }
    jobs
}

/// Up to `k` items spread evenly over `items`, so the sample covers the whole seed range.
fn spread<T: Copy>(items: &[T], k: usize) -> Vec<T> {
    if k == 0 || items.is_empty() {
        return Vec::new();
    }
    let k = k.min(items.len());
    (0..k).map(|i| items[i * items.len() / k]).collect()
}

/// Rewrites the failing-seeds file: entries run this time are replaced by this run's verdict
/// (dropped if they passed), entries not run (other tests, other filters) are kept.
fn update_record(
    root: &Path,
    path: &Path,
    recorded: &[record::Entry],
    results: &[(Job, Outcome)],
) -> Result<(), String> {
    let key = |j: &Job| {
        let suffix = if j.determinism { DETERMINISM } else { "" };
        (j.seed, format!("{}{suffix}", j.case.id()))
    };
    let ran: HashSet<(u64, String)> = results.iter().map(|(j, _)| key(j)).collect();
    let mut entries: Vec<record::Entry> =
        recorded.iter().filter(|e| !ran.contains(&(e.seed, e.test.clone()))).cloned().collect();
    let failures: Vec<&Job> = results.iter().filter(|(_, o)| !o.passed()).map(|(j, _)| j).collect();
    if !failures.is_empty() {
        let commit = record::head_commit(root);
        let date = record::utc_now();
        for job in failures {
            let (seed, test) = key(job);
            entries.push(record::Entry { seed, test, commit: commit.clone(), date: date.clone() });
        }
    }
    if entries.as_slice() == recorded {
        return Ok(());
    }
    record::save(path, &entries).map_err(|e| format!("{}: {e}", path.display()))
}

fn print_failure(job: &Job, outcome: &Outcome, release: bool) {
    let kind = if job.determinism { " (determinism check)" } else { "" };
    println!("sim: FAILED seed {} {}{kind}: {outcome}", job.seed, job.case.id());
    println!("sim:   replay: {}", job.case.replay(job.seed, job.determinism, release));
    let tail = outcome.tail();
    if !tail.is_empty() {
        println!("sim:   --- last lines of its output ---");
        for line in tail.lines() {
            println!("  | {line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn case(target: &str, name: &str) -> TestCase {
        TestCase {
            bin: TestBinary {
                package: "apogee-rt".into(),
                kind: "test".into(),
                target: target.into(),
                executable: PathBuf::from("/x"),
                src_path: PathBuf::from("/r/crates/rt/tests/sim_disk.rs"),
                manifest_dir: PathBuf::from("/r/crates/rt"),
            },
            name: name.into(),
        }
    }

    #[test]
    fn seed_ranges_parse() {
        assert_eq!(parse_seeds("1..50"), Ok(1..=49));
        assert_eq!(parse_seeds("1..=50"), Ok(1..=50));
        assert_eq!(parse_seeds("7"), Ok(7..=7));
        assert!(parse_seeds("5..5").is_err());
        assert!(parse_seeds("0..0").is_err());
        assert!(parse_seeds("a..3").is_err());
    }

    #[test]
    fn replay_command_names_seed_target_and_test() {
        let c = case("sim_disk", "crash::loses_unsynced");
        assert_eq!(
            c.replay(123, false, false),
            "MADSIM_TEST_SEED=123 cargo sim -p apogee-rt --test sim_disk -- \
             crash::loses_unsynced --exact"
        );
        assert!(c.replay(5, true, true).starts_with("MADSIM_TEST_CHECK_DETERMINISM=1 "));
        assert!(c.replay(5, true, true).contains("--test sim_disk --release --"));
    }

    #[test]
    fn recorded_failures_run_first_and_once() {
        let cases = vec![case("sim_disk", "a"), case("sim_disk", "b")];
        let recorded = vec![
            record::Entry {
                seed: 3,
                test: "apogee-rt/sim_disk/b".into(),
                commit: "c".into(),
                date: "d".into(),
            },
            record::Entry {
                seed: 99,
                test: "gone/sim_x/a".into(),
                commit: "c".into(),
                date: "d".into(),
            },
        ];
        let jobs = plan(&cases, &(1..=3), &recorded);
        let order: Vec<(u64, &str)> = jobs.iter().map(|j| (j.seed, j.case.name.as_str())).collect();
        assert_eq!(order, vec![(3, "b"), (1, "a"), (1, "b"), (2, "a"), (2, "b"), (3, "a")]);
        assert!(jobs[0].recorded);
    }

    #[test]
    fn spread_samples_evenly() {
        assert_eq!(spread(&[1, 2, 3, 4, 5, 6], 3), vec![1, 3, 5]);
        assert_eq!(spread(&[1, 2], 5), vec![1, 2]);
        assert!(spread(&[1, 2], 0).is_empty());
    }
}
