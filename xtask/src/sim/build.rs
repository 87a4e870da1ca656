//! Building the simulation tests once and finding their executables and test names.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// The same flags as the `cargo sim` alias in .cargo/config.toml: `--cfg madsim` through a
/// config-level rustflags (so RUSTFLAGS stays untouched) and a separate target dir (so the
/// simulated build never invalidates the normal one).
pub const SIM_CONFIG: &str = "target.'cfg(all())'.rustflags=['--cfg=madsim']";
pub const SIM_TARGET_DIR: &str = "target/sim";

/// One test executable cargo built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestBinary {
    /// Package name, as `-p` takes it.
    pub package: String,
    /// Target kind: "test", "lib", "bin", "example" or "bench".
    pub kind: String,
    /// Target name: `--test <name>`.
    pub target: String,
    pub executable: PathBuf,
    /// The target's root source file.
    pub src_path: PathBuf,
    /// The package's folder: cargo runs tests there, so do we.
    pub manifest_dir: PathBuf,
}

impl TestBinary {
    /// The cargo arguments that select this target, for replay commands.
    pub fn cargo_selector(&self) -> String {
        match self.kind.as_str() {
            "lib" => format!("-p {} --lib", self.package),
            kind => format!("-p {} --{kind} {}", self.package, self.target),
        }
    }
}

/// The arguments of the build: `cargo test --no-run` with the simulation flags.
pub fn build_args(packages: &[String], tests: &[String], release: bool) -> Vec<String> {
    let mut args: Vec<String> = ["test", "--no-run", "--message-format=json-render-diagnostics"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend([
        "--config".into(),
        SIM_CONFIG.into(),
        "--target-dir".into(),
        SIM_TARGET_DIR.into(),
    ]);
    if release {
        args.push("--release".into());
    }
    if packages.is_empty() {
        args.push("--workspace".into());
    }
    for p in packages {
        args.extend(["-p".into(), p.clone()]);
    }
    for t in tests {
        args.extend(["--test".into(), t.clone()]);
    }
    args
}

/// Runs the build and returns the test executables cargo reported.
pub fn build(
    root: &Path,
    packages: &[String],
    tests: &[String],
    release: bool,
) -> Result<Vec<TestBinary>, String> {
    // Cargo gives RUSTFLAGS precedence over every config rustflags, so with it set the build would
    // silently lack `--cfg madsim` and "simulation" tests would run on real tokio.
    for var in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS"] {
        if std::env::var_os(var).is_some_and(|v| !v.is_empty()) {
            return Err(format!("{var} is set; unset it (it would override --cfg madsim)"));
        }
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let args = build_args(packages, tests, release);
    eprintln!("sim: building: cargo {}", args.join(" "));
    let mut child = Command::new(cargo)
        .args(&args)
        .current_dir(root)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    let mut binaries = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| format!("reading cargo output: {e}"))?;
            if let Some(bin) = parse_artifact(&line) {
                binaries.push(bin);
            }
        }
    }
    let status = child.wait().map_err(|e| format!("waiting for cargo: {e}"))?;
    if !status.success() {
        return Err(format!("the simulation build failed ({status})"));
    }
    Ok(binaries)
}

/// Parses one line of cargo's JSON messages; returns a test executable if the line reports one.
pub fn parse_artifact(line: &str) -> Option<TestBinary> {
    let msg: Value = serde_json::from_str(line).ok()?;
    if msg["reason"] != "compiler-artifact" || msg["profile"]["test"] != true {
        return None;
    }
    let executable = PathBuf::from(msg["executable"].as_str()?);
    let kind = msg["target"]["kind"].get(0)?.as_str()?.to_string();
    let target = msg["target"]["name"].as_str()?.to_string();
    let src_path = PathBuf::from(msg["target"]["src_path"].as_str()?);
    let manifest_path = PathBuf::from(msg["manifest_path"].as_str()?);
    let manifest_dir = manifest_path.parent()?.to_path_buf();
    let package = package_name(msg["package_id"].as_str()?, &manifest_dir)?;
    Some(TestBinary { package, kind, target, executable, src_path, manifest_dir })
}

/// The package name in a package id. Cargo's current form is `path+file:///dir#name@version`,
/// shortened to `path+file:///dir#version` when the name equals the folder's name; older cargo
/// wrote `name version (path+file:///dir)`.
pub fn package_name(id: &str, manifest_dir: &Path) -> Option<String> {
    if let Some((_, fragment)) = id.rsplit_once('#') {
        if let Some((name, _)) = fragment.split_once('@') {
            return Some(name.to_string());
        }
        return manifest_dir.file_name().map(|n| n.to_string_lossy().into_owned());
    }
    id.split_whitespace().next().map(str::to_string)
}

/// Whether a built target holds simulation tests: any test target of the simulation crate in
/// `sim/`, or an integration test whose source mentions `cfg(madsim)` (normally a file-wide
/// `#![cfg(madsim)]`). Plain tests gain nothing from running once per seed.
pub fn is_sim_target(bin: &TestBinary, root: &Path) -> bool {
    if bin.manifest_dir == root.join("sim") {
        return true;
    }
    bin.kind == "test"
        && std::fs::read_to_string(&bin.src_path)
            .is_ok_and(|src| crate::tidy::gated_on_madsim(&src))
}

/// Lists the tests of one executable that match the libtest filter arguments.
pub fn list_tests(bin: &TestBinary, filter: &[String]) -> Result<Vec<String>, String> {
    let output = Command::new(&bin.executable)
        .arg("--list")
        .args(filter)
        .current_dir(&bin.manifest_dir)
        .env_remove("MADSIM_TEST_NUM")
        .env_remove("MADSIM_TEST_CHECK_DETERMINISM")
        .output()
        .map_err(|e| format!("cannot list {}: {e}", bin.executable.display()))?;
    if !output.status.success() {
        return Err(format!(
            "listing {} failed: {}",
            bin.executable.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(parse_list(&String::from_utf8_lossy(&output.stdout)))
}

/// Parses libtest's `--list` output: one `name: test` line per test.
pub fn parse_list(out: &str) -> Vec<String> {
    out.lines().filter_map(|l| l.strip_suffix(": test")).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_from_ids() {
        let dir = Path::new("/repo/crates/rt");
        assert_eq!(
            package_name("path+file:///repo/crates/rt#apogee-rt@0.1.0", dir).as_deref(),
            Some("apogee-rt")
        );
        assert_eq!(
            package_name("path+file:///repo/xtask#0.1.0", Path::new("/repo/xtask")).as_deref(),
            Some("xtask")
        );
        assert_eq!(
            package_name("apogee-rt 0.1.0 (path+file:///repo/crates/rt)", dir).as_deref(),
            Some("apogee-rt")
        );
    }

    #[test]
    fn artifacts_with_executables_are_parsed() {
        let line = r#"{"reason":"compiler-artifact","package_id":"path+file:///r/crates/rt#apogee-rt@0.1.0","manifest_path":"/r/crates/rt/Cargo.toml","target":{"kind":["test"],"name":"sim_disk","src_path":"/r/crates/rt/tests/sim_disk.rs"},"profile":{"test":true},"executable":"/r/target/sim/debug/deps/sim_disk-abc","fresh":true}"#;
        let bin = parse_artifact(line).expect("a test artifact");
        assert_eq!(bin.package, "apogee-rt");
        assert_eq!(bin.target, "sim_disk");
        assert_eq!(bin.cargo_selector(), "-p apogee-rt --test sim_disk");
        assert_eq!(bin.manifest_dir, PathBuf::from("/r/crates/rt"));
        assert_eq!(bin.src_path, PathBuf::from("/r/crates/rt/tests/sim_disk.rs"));

        let lib = line.replace("\"kind\":[\"test\"]", "\"kind\":[\"lib\"]");
        let lib = parse_artifact(&lib).expect("a lib test artifact");
        assert_eq!(lib.cargo_selector(), "-p apogee-rt --lib");

        let no_exe = line.replace("\"/r/target/sim/debug/deps/sim_disk-abc\"", "null");
        assert_eq!(parse_artifact(&no_exe), None);
        assert_eq!(parse_artifact(r#"{"reason":"build-finished","success":true}"#), None);
    }

    #[test]
    fn simulation_targets_are_recognised_by_their_cfg() {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write");
            path
        };
        let bin = |kind: &str, src_path: PathBuf, manifest_dir: &str| TestBinary {
            package: "p".into(),
            kind: kind.into(),
            target: "t".into(),
            executable: PathBuf::from("/x"),
            src_path,
            manifest_dir: PathBuf::from(manifest_dir),
        };
        let sim = write("sim.rs", "#![cfg(madsim)]\n#[tokio::test]\nasync fn t() {}\n");
        let plain = write("plain.rs", "#[test]\nfn t() {}\n");
        let root = Path::new("/r");
        assert!(is_sim_target(&bin("test", sim.clone(), "/r/crates/rt"), root));
        assert!(!is_sim_target(&bin("test", plain.clone(), "/r/crates/rt"), root));
        assert!(!is_sim_target(&bin("lib", sim, "/r/crates/rt"), root));
        assert!(is_sim_target(&bin("lib", plain, "/r/sim"), root));
    }

    #[test]
    fn list_output_is_parsed() {
        let out = "a::b: test\nc: test\nbench_x: benchmark\n\n2 tests, 1 benchmark\n";
        assert_eq!(parse_list(out), vec!["a::b", "c"]);
    }
}
