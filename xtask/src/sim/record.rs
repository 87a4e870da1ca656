//! The failing-seeds file: seeds that failed, re-run first next time until they pass.
//!
//! One line per failure: `seed test commit date`, where `test` is `package/target/test_name`
//! with `@determinism` appended when the failure was a determinism check.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where the failing seeds are kept, relative to the repository root.
pub const FILE: &str = "sim/failing-seeds.txt";

const HEADER: &str =
    "# Simulation seeds that failed; `cargo xtask sim` re-runs them first and drops them \
once they pass.\n# seed test commit date\n";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub seed: u64,
    /// `package/target/test_name`, plus `@determinism` for a determinism-check failure.
    pub test: String,
    pub commit: String,
    pub date: String,
}

/// Reads the file; a missing file is an empty list, and malformed lines are skipped with a warning
/// so one bad edit does not stop a sweep.
pub fn load(path: &Path) -> io::Result<Vec<Entry>> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_line(line) {
            Some(e) => entries.push(e),
            None => eprintln!("sim: {}:{}: ignoring malformed line: {line}", path.display(), i + 1),
        }
    }
    Ok(entries)
}

fn parse_line(line: &str) -> Option<Entry> {
    let mut fields = line.split_whitespace();
    let seed = fields.next()?.parse().ok()?;
    let test = fields.next()?.to_string();
    let commit = fields.next().unwrap_or("unknown").to_string();
    let date = fields.next().unwrap_or("unknown").to_string();
    Some(Entry { seed, test, commit, date })
}

/// Writes the list; an empty list removes the file (and `sim/` if that leaves it empty), so a
/// clean sweep leaves no trace in the tree.
pub fn save(path: &Path, entries: &[Entry]) -> io::Result<()> {
    if entries.is_empty() {
        match fs::remove_file(path) {
            Ok(()) => {
                if let Some(dir) = path.parent() {
                    // Fails harmlessly when the folder holds anything else (the sim crate).
                    let _ = fs::remove_dir(dir);
                }
                return Ok(());
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    let mut text = String::from(HEADER);
    for e in entries {
        let _ = writeln!(text, "{} {} {} {}", e.seed, e.test, e.commit, e.date);
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(path, text)
}

/// The current commit, so a recorded failure says which code it was seen on.
pub fn head_commit(root: &Path) -> String {
    let out =
        std::process::Command::new("git").args(["rev-parse", "HEAD"]).current_dir(root).output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        _ => "unknown".to_string(),
    }
}

/// Now, as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    format_utc(secs)
}

/// Formats Unix seconds as a UTC timestamp (Howard Hinnant's days-to-civil algorithm), to avoid a
/// date crate for one line of output.
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_format_as_utc() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_utc(1_795_000_000), "2026-11-18T11:06:40Z");
    }

    #[test]
    fn entries_round_trip_and_empty_list_removes_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sim").join("failing-seeds.txt");
        assert_eq!(load(&path).expect("load missing"), vec![]);
        let entries = vec![Entry {
            seed: 17,
            test: "apogee-rt/sim_disk/crash@determinism".into(),
            commit: "abc".into(),
            date: "2026-01-01T00:00:00Z".into(),
        }];
        save(&path, &entries).expect("save");
        assert_eq!(load(&path).expect("load"), entries);
        save(&path, &[]).expect("save empty");
        assert!(!path.exists());
        assert!(!dir.path().join("sim").exists());
    }

    #[test]
    fn malformed_lines_are_skipped() {
        assert_eq!(parse_line("x y"), None);
        assert_eq!(parse_line("5 a/b/c").map(|e| e.seed), Some(5));
    }
}
