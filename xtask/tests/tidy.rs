//! The tidy check, run by `cargo test --workspace`: once against the real tree, and against
//! planted violations in throwaway trees to show each rule fires where it should and only there.

use std::fs;
use std::path::Path;

use xtask::tidy::{check, Violation, MAX_LINES};

/// Writes `files` (path relative to the tree, contents) into a fresh temporary tree.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("create a temporary tree");
    for (rel, text) in files {
        let path = dir.path().join(rel);
        fs::create_dir_all(path.parent().expect("files live in folders")).expect("mkdir");
        fs::write(&path, text).expect("write a planted file");
    }
    dir
}

fn violations(files: &[(&str, &str)]) -> Vec<Violation> {
    let dir = tree(files);
    check(dir.path()).expect("scan the tree").violations
}

/// `(file:line, rule)` pairs, the part of a report the tests pin down.
fn places(files: &[(&str, &str)]) -> Vec<(String, &'static str)> {
    violations(files).into_iter().map(|v| (format!("{}:{}", v.path, v.line), v.rule)).collect()
}

fn place(at: &str, rule: &'static str) -> (String, &'static str) {
    (at.to_string(), rule)
}

#[test]
fn real_tree_is_tidy() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the repo");
    let report = check(root).expect("scan the repository");
    let listing: Vec<String> = report.violations.iter().map(|v| v.to_string()).collect();
    assert!(listing.is_empty(), "tidy violations:\n{}", listing.join("\n"));
}

#[test]
fn report_lines_read_file_line_rule_text() {
    let found =
        violations(&[("crates/foo/src/lib.rs", "fn f() {\n    std::thread::spawn(g);\n}\n")]);
    assert_eq!(found.len(), 1);
    let line = found[0].to_string();
    assert!(
        line.starts_with("crates/foo/src/lib.rs:2: no-thread: std::thread::spawn(g);"),
        "{line}"
    );
}

#[test]
fn seam_bypasses_are_reported_outside_rt() {
    let src = "use std::fs;\n\
               use std::{io, fs as f};\n\
               fn f() {\n\
               \x20   let t = std::time::Instant::now();\n\
               \x20   let s = SystemTime::now();\n\
               \x20   let mut r = rand::thread_rng();\n\
               \x20   let r2 = rand::rng();\n\
               \x20   tokio::task::spawn_blocking(|| ());\n\
               \x20   let (a, b) = stream.into_split();\n\
               \x20   let set = tokio::task::JoinSet::new();\n\
               \x20   std::process::Command::new(\"ls\");\n\
               \x20   std::process::exit(1);\n\
               \x20   thread::sleep(d);\n\
               \x20   tokio::fs::read(p);\n\
               }\n";
    assert_eq!(
        places(&[("crates/foo/src/lib.rs", src)]),
        vec![
            place("crates/foo/src/lib.rs:1", "no-fs"),
            place("crates/foo/src/lib.rs:2", "no-fs"),
            place("crates/foo/src/lib.rs:4", "no-ambient-time"),
            place("crates/foo/src/lib.rs:5", "no-ambient-time"),
            place("crates/foo/src/lib.rs:6", "no-ambient-rand"),
            place("crates/foo/src/lib.rs:7", "no-ambient-rand"),
            place("crates/foo/src/lib.rs:8", "no-spawn-blocking"),
            place("crates/foo/src/lib.rs:9", "no-into-split"),
            place("crates/foo/src/lib.rs:10", "no-joinset"),
            place("crates/foo/src/lib.rs:11", "no-process"),
            place("crates/foo/src/lib.rs:12", "no-exit"),
            place("crates/foo/src/lib.rs:13", "no-thread"),
            place("crates/foo/src/lib.rs:14", "no-fs"),
        ]
    );
}

#[test]
fn rt_may_use_what_it_hides() {
    let src = "use std::fs;\nuse memmap2::Mmap;\nfn f() { std::thread::spawn(g); madsim::rand::random(); }\n";
    let manifest =
        "[dependencies]\nmemmap2.workspace = true\n[target.'cfg(madsim)'.dependencies]\n\
                    madsim.workspace = true\n";
    assert_eq!(
        places(&[("crates/rt/src/disk.rs", src), ("crates/rt/Cargo.toml", manifest)]),
        vec![]
    );
}

#[test]
fn seam_calls_through_rt_are_allowed() {
    let src =
        "fn f() {\n    rt::task::spawn_blocking(|| ());\n    let n = rt::rand::random();\n}\n";
    assert_eq!(places(&[("crates/store/src/flush.rs", src)]), vec![]);
}

#[test]
fn literals_and_comments_do_not_count() {
    let src = "//! Never call std::thread::spawn here.\n\
               /// Unlike std::fs::read, this goes through rt::disk.\n\
               fn f() -> &'static str {\n\
               \x20   // std::fs would bypass the seam\n\
               \x20   /* Instant::now() */\n\
               \x20   let c = '{';\n\
               \x20   \"std::thread::spawn and .unwrap()\"\n\
               }\n\
               fn g() -> Result<u8, E> { let r = r#\"JoinSet \"quoted\" \"#; Ok(1) }\n";
    assert_eq!(places(&[("crates/store/src/lib.rs", src)]), vec![]);
}

#[test]
fn banned_crates_are_reported_in_manifests_and_code() {
    let manifest = "[package]\nname = \"apogee-store\"\n\n[dependencies]\n\
                    memmap2.workspace = true\n\
                    sim = { package = \"madsim\", version = \"0.2\" }\n\
                    tokio.workspace = true\n\n\
                    [dev-dependencies.madsim]\nversion = \"0.2\"\n\
                    [target.'cfg(madsim)'.dependencies.madsim]\nversion = \"0.2\"\n\
                    [target.'cfg(madsim)'.dev-dependencies]\nmadsim.workspace = true\n";
    let src = "use memmap2::MmapMut;\n#[cfg(madsim)]\nfn f() { madsim::time::advance(d); }\n";
    assert_eq!(
        places(&[("crates/store/Cargo.toml", manifest), ("crates/store/src/seg.rs", src)]),
        vec![
            place("crates/store/Cargo.toml:5", "banned-crate"),
            place("crates/store/Cargo.toml:6", "banned-crate"),
            place("crates/store/Cargo.toml:11", "banned-crate"),
            place("crates/store/src/seg.rs:1", "banned-crate"),
            place("crates/store/src/seg.rs:3", "banned-crate"),
        ]
    );
}

#[test]
fn sim_control_code_may_read_the_global_clock_and_rng_but_not_spawn_threads() {
    let src = "#![cfg(madsim)]\nfn nemesis() {\n    let now = tokio::time::Instant::now();\n\
               \x20   let r = madsim::rand::thread_rng();\n    std::thread::spawn(f);\n}\n";
    assert_eq!(
        places(&[("sim/src/nemesis.rs", src)]),
        vec![place("sim/src/nemesis.rs:5", "no-thread")]
    );
}

#[test]
fn sim_may_name_madsim_but_not_memmap2() {
    let src = "#![cfg(madsim)]\nuse madsim::runtime::Handle;\nuse memmap2::Mmap;\n";
    assert_eq!(
        places(&[
            ("sim/src/cluster.rs", src),
            ("sim/Cargo.toml", "[dependencies]\nmadsim = \"0.2\"\n")
        ]),
        vec![place("sim/src/cluster.rs:3", "banned-crate")]
    );
}

#[test]
fn panicking_shortcuts_are_reported_in_core_crates_only() {
    let src = "fn f(x: Option<u8>) -> u8 {\n\
               \x20   let a = x.unwrap();\n\
               \x20   let b = x.expect(\"set\");\n\
               \x20   if a > b { panic!(\"no\") }\n\
               \x20   match a { 0 => unreachable!(), 1 => todo!(), _ => unimplemented!() }\n\
               \x20   x.unwrap_or(0)\n\
               }\n";
    assert_eq!(
        places(&[("crates/protocol/src/frame.rs", src), ("crates/cli/src/lib.rs", src)]),
        vec![
            place("crates/protocol/src/frame.rs:2", "no-unwrap"),
            place("crates/protocol/src/frame.rs:3", "no-unwrap"),
            place("crates/protocol/src/frame.rs:4", "no-panic"),
            place("crates/protocol/src/frame.rs:5", "no-panic"),
        ]
    );
}

#[test]
fn cfg_test_code_is_exempt_and_the_exemption_ends_with_the_item() {
    let src = "fn f() -> u8 { 1 }\n\
               \n\
               #[cfg(test)]\n\
               mod tests {\n\
               \x20   use super::*;\n\
               \x20   fn helper() { let s = \"}\"; }\n\
               \x20   #[test]\n\
               \x20   fn t() {\n\
               \x20       Some(f()).unwrap();\n\
               \x20       std::fs::write(\"x\", b\"y\").expect(\"write\");\n\
               \x20   }\n\
               }\n\
               \n\
               fn after(x: Option<u8>) -> u8 { x.unwrap() }\n";
    assert_eq!(
        places(&[("crates/store/src/lib.rs", src)]),
        vec![place("crates/store/src/lib.rs:14", "no-unwrap")]
    );
}

#[test]
fn test_code_may_drive_the_simulator_and_the_real_world() {
    let plain = "#[test]\nfn t() { std::fs::write(p, b).unwrap(); std::thread::sleep(d); }\n";
    let simulated = "#![cfg(madsim)]\nuse madsim::rand::{thread_rng, Rng};\n\
                     #[tokio::test]\nasync fn t() { let t = Instant::now(); }\n";
    let unit = "fn f() {}\n#[cfg(test)]\nmod tests {\n    use madsim::runtime::Handle;\n}\n";
    assert_eq!(
        places(&[
            ("crates/store/tests/recovery.rs", plain),
            ("crates/store/benches/append.rs", plain),
            ("crates/store/tests/sim_crash.rs", simulated),
            ("crates/store/src/lib.rs", unit),
        ]),
        vec![]
    );
}

#[test]
fn simulation_only_code_may_panic_but_not_bypass_the_seam() {
    let lib = "#[cfg(madsim)]\npub mod sim;\nmod other;\n\
               #[cfg(madsim)]\nfn knob() -> u8 { env().unwrap() }\n\
               fn prod() -> u8 { env().unwrap() }\n";
    let sim = "pub fn seed() -> u64 { var().parse().expect(\"a number\") }\n";
    let nested = "pub fn f() { todo!() }\n";
    let other = "pub fn g() { x.unwrap(); }\n";
    let gated = "#![cfg(madsim)]\nfn h() { panic!(\"sim only\"); std::thread::spawn(f); }\n";
    assert_eq!(
        places(&[
            ("crates/store/src/lib.rs", lib),
            ("crates/store/src/sim.rs", sim),
            ("crates/store/src/sim/plugin.rs", nested),
            ("crates/store/src/other.rs", other),
            ("crates/store/src/gated.rs", gated),
        ]),
        vec![
            place("crates/store/src/gated.rs:2", "no-thread"),
            place("crates/store/src/lib.rs:6", "no-unwrap"),
            place("crates/store/src/other.rs:1", "no-unwrap"),
        ]
    );
}

#[test]
fn binaries_may_read_their_config_and_exit_but_not_spawn_processes() {
    let src = "fn main() {\n    std::process::exit(2);\n    std::process::Command::new(\"x\");\n\
               \x20   let conf = std::fs::read_to_string(path);\n}\n";
    assert_eq!(
        places(&[("crates/broker/src/main.rs", src), ("crates/cli/src/bin/mqadmin.rs", src)]),
        vec![
            place("crates/broker/src/main.rs:3", "no-process"),
            place("crates/cli/src/bin/mqadmin.rs:3", "no-process"),
        ]
    );
}

#[test]
fn jepsen_drives_real_processes_but_may_not_name_madsim() {
    let src =
        "fn f() {\n    std::process::Command::new(\"mqbroker\");\n    std::thread::sleep(d);\n}\n\
               use madsim::net;\n";
    assert_eq!(
        places(&[("jepsen/src/nemesis.rs", src)]),
        vec![place("jepsen/src/nemesis.rs:5", "banned-crate")]
    );
}

#[test]
fn allow_comment_with_reason_waives_one_rule() {
    let src = "fn f(x: Option<u8>) -> u8 {\n\
               \x20   // tidy: allow(no-unwrap) x is Some: checked by the caller's match\n\
               \x20   let a = x.unwrap();\n\
               \x20   let b = x.unwrap(); // tidy: allow(no-unwrap) same invariant as above\n\
               \x20   let c = x.unwrap(); // tidy: allow(no-panic) wrong rule named\n\
               \x20   let d = x.unwrap();\n\
               \x20   a + b + c + d\n\
               }\n";
    assert_eq!(
        places(&[("crates/checker/src/lib.rs", src)]),
        vec![
            place("crates/checker/src/lib.rs:5", "no-unwrap"),
            place("crates/checker/src/lib.rs:6", "no-unwrap"),
        ]
    );
}

#[test]
fn allow_comment_needs_a_reason_and_a_known_rule() {
    let src = "fn f(x: Option<u8>) -> u8 {\n\
               \x20   x.unwrap() // tidy: allow(no-unwrap)\n\
               }\n\
               // tidy: allow(no-unwarp) typo\n\
               fn g() {}\n";
    assert_eq!(
        places(&[("crates/checker/src/lib.rs", src)]),
        vec![
            place("crates/checker/src/lib.rs:2", "no-unwrap"),
            place("crates/checker/src/lib.rs:2", "tidy-allow"),
            place("crates/checker/src/lib.rs:4", "tidy-allow"),
        ]
    );
}

#[test]
fn long_files_fail_anywhere() {
    let long = "// filler\n".repeat(MAX_LINES + 1);
    let limit = "// filler\n".repeat(MAX_LINES);
    assert_eq!(
        places(&[
            ("crates/store/tests/big.rs", long.as_str()),
            ("crates/store/src/ok.rs", limit.as_str()),
        ]),
        vec![place("crates/store/tests/big.rs:1", "file-length")]
    );
}

#[test]
fn target_and_fuzz_folders_are_skipped() {
    let bad = "fn f() { std::thread::spawn(g); Some(1).unwrap(); }\n";
    assert_eq!(
        places(&[
            ("crates/store/target/debug/build/out.rs", bad),
            ("crates/protocol/fuzz/fuzz_targets/frame.rs", bad),
            ("xtask/src/main.rs", bad),
            ("benches/src/lib.rs", bad),
        ]),
        vec![]
    );
}

#[test]
fn clean_code_passes() {
    let src = "//! A clean module.\n\
               use std::io;\n\
               pub fn read(d: &rt::disk::DiskRef) -> io::Result<u64> {\n\
               \x20   let now = rt::clock::now_millis();\n\
               \x20   let v = d.list(std::path::Path::new(\"x\"))?.len() as u64;\n\
               \x20   Ok(v.checked_add(now).unwrap_or(u64::MAX))\n\
               }\n";
    let manifest = "[package]\nname = \"apogee-store\"\n[dependencies]\ntokio.workspace = true\n\
                    apogee-rt.workspace = true\n";
    assert_eq!(
        places(&[("crates/store/src/lib.rs", src), ("crates/store/Cargo.toml", manifest)]),
        vec![]
    );
}

#[test]
fn unbiased_select_and_watch_are_reported_outside_rt() {
    let src = "async fn f() {\n\
               \x20   tokio::select! {\n\
               \x20       _ = a() => {}\n\
               \x20       _ = b() => {}\n\
               \x20   }\n\
               \x20   tokio::select! {\n\
               \x20       biased;\n\
               \x20       _ = a() => {}\n\
               \x20   }\n\
               \x20   tokio::select! { biased; _ = a() => {} }\n\
               \x20   let (tx, _) = tokio::sync::watch::channel(0);\n\
               \x20   let w = stopwatch::start();\n\
               }\n";
    assert_eq!(
        places(&[("crates/foo/src/lib.rs", src), ("crates/rt/src/lib.rs", src)]),
        vec![
            place("crates/foo/src/lib.rs:2", "no-unbiased-select"),
            place("crates/foo/src/lib.rs:11", "no-watch")
        ]
    );
    // Test code may use them: it is not replayed inside another run's process state.
    assert!(places(&[("crates/foo/tests/t.rs", src)]).is_empty());
}

#[test]
fn a_test_module_in_its_own_file_is_test_code() {
    let body = "fn t() {\n    x.unwrap();\n}\n";
    let gated = places(&[
        ("crates/store/src/lib.rs", "#[cfg(test)]\nmod tests;\n"),
        ("crates/store/src/tests.rs", body),
    ]);
    assert!(gated.is_empty(), "{gated:?}");
    let plain =
        places(&[("crates/store/src/lib.rs", "mod tests;\n"), ("crates/store/src/tests.rs", body)]);
    assert_eq!(plain, vec![place("crates/store/src/tests.rs:2", "no-unwrap")]);
}
