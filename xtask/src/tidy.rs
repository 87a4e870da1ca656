//! `cargo xtask tidy`: the repository rules that rustc and clippy cannot express.
//!
//! Scanned: every `.rs` file and `Cargo.toml` under `crates/`, `sim/` and `jepsen/`, skipping
//! `target/` and `fuzz/` folders. Each violation is reported as `file:line: rule: text`.
//!
//! Rules (see ARCHITECTURE.md, "Architecture invariants"):
//! - Seam rules (`no-thread`, `no-fs`, `no-spawn-blocking`, `no-ambient-rand`, `no-ambient-time`,
//!   `no-process`, `no-joinset`, `no-into-split`): library code reaches threads, the disk, time and
//!   randomness only through `crates/rt`, so that the same code runs deterministically under
//!   madsim. They apply outside `crates/rt` to non-test code of `crates/*` and `sim/`. Test code
//!   (`tests/`, `benches/`, `examples/`, `#[cfg(test)]` items, build scripts) is exempt.
//!   `jepsen/` drives real processes on real clocks and is exempt from them. A binary's entry
//!   point may read files (its config) and exit the process. `sim/` may read the simulator's
//!   global clock and seeded RNG directly.
//! - Replay rules (`no-unbiased-select`, `no-watch`), same scope as the seam rules: tokio draws
//!   from a thread-local generator seeded by a process-wide counter to pick a `select!` branch and
//!   a `watch` waiter queue, so two runs of one seed in one process (the determinism check; tests
//!   of one binary run in parallel) would diverge. `select!` is written `biased;`, and a flag many
//!   tasks wait on is an `rt::sync::Latch`.
//! - `banned-crate`: only `crates/rt` names `memmap2`; only `crates/rt` and `sim/` name `madsim`.
//!   Checked in manifests (dev-dependencies excepted) and in non-test Rust code.
//! - `no-unwrap` / `no-panic`: no `.unwrap()`, `.expect(`, `panic!`, `unreachable!`, `todo!` or
//!   `unimplemented!` in non-test code of the [`CORE_CRATES`]. Simulation-only code (under
//!   `#[cfg(madsim)]`, directly or through its module declaration) counts as test code here.
//! - `file-length`: no `.rs` file over [`MAX_LINES`] lines.
//!
//! Escape hatch: a line comment `// tidy: allow(<rule>) <reason>` on the offending line, or alone
//! on the line before it. The reason is mandatory, so every exception explains itself.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Crates whose non-test code may not use panicking shortcuts: everything that handles bytes
/// from a socket, a file or a config. Add each new crate of that kind (ha, proxy, ...).
pub const CORE_CRATES: &[&str] =
    &["rt", "protocol", "store", "checker", "remoting", "namesrv", "broker", "client"];

/// Longest allowed `.rs` file: past this a file holds more than one concept.
pub const MAX_LINES: usize = 1000;

/// Top-level folders that tidy scans.
const SCANNED_DIRS: &[&str] = &["crates", "sim", "jepsen"];

/// Folder names never descended into: build output, and the fuzz workspace (its targets
/// legitimately panic on purpose and are not part of the build).
const SKIPPED_DIRS: &[&str] = &["target", "fuzz"];

/// Every rule name, so that an allow comment naming an unknown rule is caught as a typo.
const RULES: &[&str] = &[
    "no-thread",
    "no-fs",
    "no-spawn-blocking",
    "no-ambient-rand",
    "no-ambient-time",
    "no-process",
    "no-exit",
    "no-joinset",
    "no-into-split",
    "no-unbiased-select",
    "no-watch",
    "banned-crate",
    "no-unwrap",
    "no-panic",
    "file-length",
];

/// One broken rule at one place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Path relative to the repository root, with `/` separators.
    pub path: String,
    /// 1-based line number.
    pub line: usize,
    pub rule: &'static str,
    pub text: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}: {}", self.path, self.line, self.rule, self.text)
    }
}

/// The result of scanning a tree.
#[derive(Debug, Default)]
pub struct Report {
    pub files: usize,
    pub violations: Vec<Violation>,
}

/// Scans the repository at `root` and returns every violation, sorted by file and line.
pub fn check(root: &Path) -> io::Result<Report> {
    let mut files = Vec::new();
    for dir in SCANNED_DIRS {
        collect(&root.join(dir), &mut files)?;
    }
    files.sort();
    let mut sources = Vec::new();
    for file in &files {
        let bytes = fs::read(file)?;
        sources.push((relative(root, file), String::from_utf8_lossy(&bytes).into_owned()));
    }
    let madsim_only = gated_modules(&sources, "#[cfg(madsim)]");
    let test_only = gated_modules(&sources, "#[cfg(test)]");
    let mut report = Report { files: files.len(), violations: Vec::new() };
    for (rel, text) in &sources {
        if rel.ends_with("Cargo.toml") {
            report.violations.extend(check_manifest(rel, text));
        } else {
            let under = |mods: &[String]| {
                mods.iter().any(|m| rel == m || rel.starts_with(&format!("{m}/")))
            };
            let gate = Gate { madsim_only: under(&madsim_only), test_only: under(&test_only) };
            report.violations.extend(check_source_gated(rel, text, gate));
        }
    }
    Ok(report)
}

/// How a file's module is declared elsewhere.
#[derive(Clone, Copy, Default)]
struct Gate {
    /// Under `#[cfg(madsim)]`: simulation-only code, which never sees production input.
    madsim_only: bool,
    /// Under `#[cfg(test)]` (`#[cfg(test)] mod tests;`): test code in a file of its own.
    test_only: bool,
}

/// Files and folders of modules declared under `attr` (`#[cfg(madsim)] mod sim;`,
/// `#[cfg(test)] mod tests;`). Paths are relative, without `.rs` for folders; a module's file is
/// returned as is.
fn gated_modules(sources: &[(String, String)], attr: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (rel, text) in sources {
        let Some(parent) = rel.strip_suffix(".rs") else { continue };
        let code = lex(text).code;
        let gated = cfg_lines(&code, attr);
        // Where a child module's files live: beside lib.rs/main.rs/mod.rs, or in a folder named
        // after any other file.
        let base = match parent.rsplit_once('/') {
            Some((dir, "lib" | "main" | "mod")) => dir.to_string(),
            _ => parent.to_string(),
        };
        for (line, is_gated) in code.iter().zip(gated) {
            if let Some(name) = is_gated.then(|| declared_module(line)).flatten() {
                out.push(format!("{base}/{name}.rs"));
                out.push(format!("{base}/{name}"));
            }
        }
    }
    out
}

/// The name in a body-less module declaration (`pub(crate) mod name;`).
fn declared_module(line: &str) -> Option<&str> {
    let at = line.find("mod ")?;
    if line[..at].chars().last().is_some_and(is_ident) {
        return None;
    }
    let (name, _) = line[at + "mod ".len()..].split_once(';')?;
    let name = name.trim();
    (!name.is_empty() && name.chars().all(is_ident)).then_some(name)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        // A scanned top-level folder that does not exist yet (sim/, jepsen/) is simply empty.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            if !name.starts_with('.') && !SKIPPED_DIRS.contains(&name.as_str()) {
                collect(&path, out)?;
            }
        } else if name.ends_with(".rs") || name == "Cargo.toml" {
            out.push(path);
        }
    }
    Ok(())
}

fn relative(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap_or(file);
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// Which part of the repository a file belongs to; the rules differ per part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Area {
    /// `crates/rt`: the seam itself, allowed everything the seam hides.
    Rt,
    /// Any other crate under `crates/`.
    Crate,
    /// `sim/`: simulation code, which may name madsim's control API.
    Sim,
    /// `jepsen/`: the real-process harness.
    Jepsen,
}

/// What a file's path says about it.
struct Scope {
    area: Area,
    /// Core crate: the no-unwrap rule applies to its non-test code.
    core: bool,
    /// Under a `tests/`, `benches/` or `examples/` folder.
    test_path: bool,
    /// A build script.
    build_script: bool,
    /// A binary's entry point (`src/main.rs`, `src/bin/**`): see [`BINARY_MAY`].
    binary: bool,
}

fn scope_of(rel: &str) -> Scope {
    let parts: Vec<&str> = rel.split('/').collect();
    let (area, core, inner) = match parts.as_slice() {
        ["crates", name, inner @ ..] => {
            let area = if *name == "rt" { Area::Rt } else { Area::Crate };
            (area, CORE_CRATES.contains(name), inner)
        }
        ["sim", inner @ ..] => (Area::Sim, false, inner),
        [_, inner @ ..] => (Area::Jepsen, false, inner),
        [] => (Area::Jepsen, false, &[][..]),
    };
    let dirs = inner.split_last().map(|(_, dirs)| dirs).unwrap_or(&[]);
    let test_path = dirs.iter().any(|d| matches!(*d, "tests" | "benches" | "examples"));
    let build_script = inner == ["build.rs"];
    let binary = inner == ["src", "main.rs"] || inner.starts_with(&["src", "bin"]);
    Scope { area, core, test_path, build_script, binary }
}

fn crate_banned(name: &str, area: Area) -> bool {
    match name {
        "memmap2" => area != Area::Rt,
        "madsim" => !matches!(area, Area::Rt | Area::Sim),
        _ => false,
    }
}

/// Checks one `Cargo.toml`: dependency keys, dotted dependency tables and `package = "..."`
/// renames are matched against the banned crates.
pub fn check_manifest(rel: &str, text: &str) -> Vec<Violation> {
    let area = scope_of(rel).area;
    let mut out = Vec::new();
    let mut in_deps = false;
    for (idx, raw) in text.lines().enumerate() {
        let line = strip_toml_comment(raw).trim();
        let mut names = Vec::new();
        if line.starts_with('[') {
            let section = line.trim_matches(|c| c == '[' || c == ']').trim();
            // Dev-dependencies reach only tests, which may drive the simulator directly.
            let deps = section.ends_with("dependencies") || section.contains("dependencies.");
            in_deps = deps && !section.contains("dev-dependencies");
            if let Some(pos) = section.rfind("dependencies.").filter(|_| in_deps) {
                names.push(section[pos + "dependencies.".len()..].trim_matches('"'));
            }
        } else if in_deps {
            if let Some((key, value)) = line.split_once('=') {
                names.push(key.trim().split('.').next().unwrap_or("").trim().trim_matches('"'));
                names.extend(package_rename(key, value));
            }
        }
        for name in names {
            if crate_banned(name, area) {
                let text = format!("`{name}` may only be used by {}", allowed_users(name));
                out.push(violation(rel, idx, "banned-crate", &text, raw));
            }
        }
    }
    out
}

fn allowed_users(name: &str) -> &'static str {
    if name == "madsim" {
        "crates/rt and sim/"
    } else {
        "crates/rt"
    }
}

/// The real crate name of a renamed dependency: `package = "x"` as a key, or inside an inline
/// table (`foo = { package = "x", ... }`).
fn package_rename<'a>(key: &'a str, value: &'a str) -> Option<&'a str> {
    if key.trim() == "package" {
        return Some(value.trim().trim_matches('"'));
    }
    let after = value.split("package").nth(1)?;
    let after = after.trim_start().strip_prefix('=')?.trim_start().strip_prefix('"')?;
    after.split('"').next()
}

fn strip_toml_comment(line: &str) -> &str {
    let mut in_string = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' | '\'' => in_string = !in_string,
            '#' if !in_string => return &line[..i],
            _ => {}
        }
    }
    line
}

/// Seam rules waived in a binary's entry point (`src/main.rs`, `src/bin/**`). A binary is the
/// production wrapper around library code and never runs in the simulator: it reads its config
/// file once at startup and exits with a status. Everything it drives still goes through the seam.
const BINARY_MAY: &[&str] = &["no-fs", "no-exit"];

/// Seam rules waived in `sim/`. The simulation's control plane (nemesis, scenario clocks, trace)
/// runs on the simulator's one global clock and its seeded RNG, which is exactly what it must use;
/// per-node skew through rt::clock is for the nodes it drives, not for the controller.
const SIM_MAY: &[&str] = &["no-ambient-time", "no-ambient-rand"];

/// A forbidden spelling and the rule it breaks.
struct Pattern {
    needle: &'static str,
    rule: &'static str,
    why: &'static str,
    /// Text that, immediately before the needle, makes the use legitimate.
    allowed_after: Option<&'static str>,
}

const fn pat(needle: &'static str, rule: &'static str, why: &'static str) -> Pattern {
    Pattern { needle, rule, why, allowed_after: None }
}

const THREAD: &str = "OS threads escape the simulator; use tokio tasks or rt::task";
const FS: &str = "persistent bytes go through rt::disk";
const TIME: &str = "read time through rt::clock";
const RAND: &str = "draw randomness from rt::rand";
const MADSIM_LACKS: &str = "madsim does not provide it";

/// Calls and paths that bypass the runtime seam.
const SEAM_PATTERNS: &[Pattern] = &[
    pat("std::thread", "no-thread", THREAD),
    pat("thread::spawn", "no-thread", THREAD),
    pat("thread::sleep", "no-thread", THREAD),
    pat("thread::scope", "no-thread", THREAD),
    pat("thread::Builder", "no-thread", THREAD),
    pat("std::fs", "no-fs", FS),
    pat("tokio::fs", "no-fs", FS),
    Pattern {
        needle: "spawn_blocking",
        rule: "no-spawn-blocking",
        why: "only rt::task::spawn_blocking is allowed",
        allowed_after: Some("rt::task::"),
    },
    pat("thread_rng", "no-ambient-rand", RAND),
    pat("rand::rng()", "no-ambient-rand", RAND),
    Pattern {
        needle: "rand::random",
        rule: "no-ambient-rand",
        why: RAND,
        allowed_after: Some("rt::"),
    },
    pat("SystemTime::now", "no-ambient-time", TIME),
    pat("Instant::now", "no-ambient-time", TIME),
    pat("process::Command", "no-process", "library code does not start processes"),
    pat("process::id", "no-process", "read the process id through rt::process_local::pid"),
    pat("process::exit", "no-exit", "only a binary's main may exit the process"),
    pat("JoinSet", "no-joinset", MADSIM_LACKS),
    pat("into_split", "no-into-split", "madsim lacks it; use tokio::io::split"),
];

/// Names of crates that only the seam (and sim/ for madsim) may name.
const CRATE_PATTERNS: &[Pattern] = &[
    pat("madsim::", "banned-crate", "`madsim` may only be used by crates/rt and sim/"),
    pat("use madsim", "banned-crate", "`madsim` may only be used by crates/rt and sim/"),
    pat("crate madsim", "banned-crate", "`madsim` may only be used by crates/rt and sim/"),
    pat("memmap2", "banned-crate", "`memmap2` may only be used by crates/rt"),
];

/// Panicking shortcuts that have no place in code handling external input.
const PANIC_PATTERNS: &[Pattern] = &[
    pat(".unwrap()", "no-unwrap", "return an error instead"),
    pat(".expect(", "no-unwrap", "return an error instead"),
    pat("panic!", "no-panic", "return an error instead"),
    pat("unreachable!", "no-panic", "return an error instead"),
    pat("todo!", "no-panic", "finish it or return an error"),
    pat("unimplemented!", "no-panic", "finish it or return an error"),
];

/// Checks one Rust source file; `rel` decides which rules apply.
pub fn check_source(rel: &str, text: &str) -> Vec<Violation> {
    check_source_gated(rel, text, Gate::default())
}

/// Checks one Rust source file; `gate` says how its module is declared elsewhere.
fn check_source_gated(rel: &str, text: &str, gate: Gate) -> Vec<Violation> {
    let mut scope = scope_of(rel);
    // A test module in a file of its own is test code, like one inline under `#[cfg(test)]`.
    scope.test_path |= gate.test_only;
    let lexed = lex(text);
    let raw: Vec<&str> = text.lines().collect();
    let raw_line = |idx: usize| raw.get(idx).copied().unwrap_or("");
    let test_lines = cfg_lines(&lexed.code, "#[cfg(test)]");
    // Simulation-only code is test infrastructure: it never handles production input, so it may
    // panic like a test does. The seam and crate rules still apply to it.
    let madsim_lines = cfg_lines(&lexed.code, "#[cfg(madsim)]");
    let madsim_only = gate.madsim_only || file_gated(&lexed.code, "#![cfg(madsim)]");

    let mut out = Vec::new();
    let line_count = raw.len();
    if line_count > MAX_LINES {
        let text = format!("{line_count} lines (max {MAX_LINES}); split it, one concept per file");
        out.push(Violation { path: rel.to_string(), line: 1, rule: "file-length", text });
    }

    let seam_applies =
        matches!(scope.area, Area::Crate | Area::Sim) && !scope.build_script && !scope.test_path;
    let crate_applies = !scope.test_path;
    let panic_applies = scope.core && !scope.test_path && !scope.build_script && !madsim_only;

    for (idx, code) in lexed.code.iter().enumerate() {
        let mut hits: Vec<(&'static str, &'static str)> = Vec::new();
        let in_test = test_lines.get(idx).copied().unwrap_or(false);
        let in_madsim = madsim_lines.get(idx).copied().unwrap_or(false);
        if seam_applies && !in_test {
            for p in SEAM_PATTERNS {
                let waived = (scope.binary && BINARY_MAY.contains(&p.rule))
                    || (scope.area == Area::Sim && SIM_MAY.contains(&p.rule));
                if waived {
                    continue;
                }
                if matches_pattern(code, p) {
                    hits.push((p.rule, p.why));
                }
            }
            if code.contains("select!") && !biased_select(&lexed.code, idx) {
                hits.push(("no-unbiased-select", UNBIASED_SELECT));
            }
            if matches_pattern(code, &pat("watch::", "no-watch", WATCH)) {
                hits.push(("no-watch", WATCH));
            }
            if let Some(what) = braced_std_use(code) {
                let rule = if what == "fs" { "no-fs" } else { "no-thread" };
                if !(scope.binary && BINARY_MAY.contains(&rule)) {
                    hits.push((rule, if what == "fs" { FS } else { THREAD }));
                }
            }
        }
        for p in CRATE_PATTERNS {
            let banned = match p.needle {
                "memmap2" => crate_banned("memmap2", scope.area),
                _ => crate_banned("madsim", scope.area),
            };
            if crate_applies && !in_test && banned && matches_pattern(code, p) {
                hits.push((p.rule, p.why));
            }
        }
        if panic_applies && !in_test && !in_madsim {
            for p in PANIC_PATTERNS {
                if matches_pattern(code, p) {
                    hits.push((p.rule, p.why));
                }
            }
        }
        // One report per rule per line is enough to find it.
        let mut seen: Vec<&str> = Vec::new();
        for (rule, why) in hits {
            if seen.contains(&rule) || allowed(&lexed, idx, rule) {
                continue;
            }
            seen.push(rule);
            let text = format!("{} ({why})", shorten(raw_line(idx).trim()));
            out.push(Violation { path: rel.to_string(), line: idx + 1, rule, text });
        }
    }
    out.extend(check_allow_comments(rel, &lexed));
    // Stable, so rules found on one line keep their order.
    out.sort_by_key(|v| v.line);
    out
}

const UNBIASED_SELECT: &str =
    "tokio picks the first branch from a process-seeded generator; write `biased;` first";
const WATCH: &str = "its waiters wake in a process-seeded order; use rt::sync::Latch";

/// Whether the `select!` on line `idx` starts with `biased;` (on its line or the next non-empty
/// one).
fn biased_select(code: &[String], idx: usize) -> bool {
    let Some(line) = code.get(idx) else { return true };
    let after = line.split_once("select!").map_or("", |(_, rest)| rest);
    let after = after.trim_start().trim_start_matches(['{', '(']).trim_start();
    if !after.is_empty() {
        return after.starts_with("biased;");
    }
    code[idx + 1..]
        .iter()
        .map(|l| l.trim())
        .find(|l| !l.is_empty())
        .is_some_and(|l| l.starts_with("biased;"))
}

fn violation(rel: &str, idx: usize, rule: &'static str, why: &str, raw: &str) -> Violation {
    let text = format!("{} ({why})", shorten(raw.trim()));
    Violation { path: rel.to_string(), line: idx + 1, rule, text }
}

fn shorten(s: &str) -> String {
    const MAX: usize = 100;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}...")
    }
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Finds `p.needle` in `code` as a whole token: an identifier character at either edge of the
/// needle must not continue into the surrounding text (`JoinSet` does not match `MyJoinSetX`).
fn matches_pattern(code: &str, p: &Pattern) -> bool {
    let needle_starts_ident = p.needle.chars().next().is_some_and(is_ident);
    let needle_ends_ident = p.needle.chars().last().is_some_and(is_ident);
    let mut from = 0;
    while let Some(pos) = code[from..].find(p.needle) {
        let start = from + pos;
        let end = start + p.needle.len();
        from = end;
        let before = &code[..start];
        if needle_starts_ident && before.chars().last().is_some_and(is_ident) {
            continue;
        }
        if needle_ends_ident && code[end..].chars().next().is_some_and(is_ident) {
            continue;
        }
        if p.allowed_after.is_some_and(|prefix| before.ends_with(prefix)) {
            continue;
        }
        return true;
    }
    false
}

/// `use std::{fs, io}` names `std::fs` without spelling it; returns "fs" or "thread" if a braced
/// `std` import on this line brings one of them in.
fn braced_std_use(code: &str) -> Option<&'static str> {
    let pos = code.find("std::{")?;
    let inside = &code[pos + "std::{".len()..];
    let inside = inside.split('}').next().unwrap_or(inside);
    let names = inside.split(|c: char| !is_ident(c)).filter(|s| !s.is_empty());
    let mut found = None;
    for name in names {
        match name {
            "fs" => return Some("fs"),
            "thread" => found = Some("thread"),
            _ => {}
        }
    }
    found
}

/// The allow comment on a line, if any: `tidy: allow(rule, ...) reason`.
struct Allow<'a> {
    rules: Vec<&'a str>,
    reason: &'a str,
}

fn parse_allow(comment: &str) -> Option<Allow<'_>> {
    let body = comment.trim_start_matches(['/', '!']).trim_start();
    let rest = body.strip_prefix("tidy: allow(")?;
    let (rules, reason) = rest.split_once(')')?;
    let rules = rules.split(',').map(str::trim).filter(|r| !r.is_empty()).collect();
    Some(Allow { rules, reason: reason.trim() })
}

/// Whether `rule` is waived at line `idx`: an allow comment with a reason on the same line, or on
/// the line before when that line holds nothing but the comment.
fn allowed(lexed: &Lexed, idx: usize, rule: &str) -> bool {
    let waives = |i: usize| {
        lexed
            .comments
            .get(i)
            .and_then(|c| parse_allow(c))
            .is_some_and(|a| !a.reason.is_empty() && a.rules.contains(&rule))
    };
    if waives(idx) {
        return true;
    }
    idx > 0 && lexed.code.get(idx - 1).is_some_and(|c| c.trim().is_empty()) && waives(idx - 1)
}

/// An allow comment without a reason or naming no known rule waives nothing and is reported.
fn check_allow_comments(rel: &str, lexed: &Lexed) -> Vec<Violation> {
    let mut out = Vec::new();
    for (idx, comment) in lexed.comments.iter().enumerate() {
        let Some(allow) = parse_allow(comment) else { continue };
        let problem = if allow.reason.is_empty() {
            Some("an allow comment needs a reason after the rule".to_string())
        } else {
            allow
                .rules
                .iter()
                .find(|r| !RULES.contains(r))
                .map(|r| format!("unknown rule `{r}` in allow comment"))
        };
        if let Some(text) = problem {
            out.push(Violation { path: rel.to_string(), line: idx + 1, rule: "tidy-allow", text });
        }
    }
    out
}

/// Whether the file carries the inner attribute `inner` (e.g. `#![cfg(test)]`) on a line of its
/// own.
fn file_gated(code: &[String], inner: &str) -> bool {
    code.iter().any(|l| l.trim_start().starts_with(inner))
}

/// Marks the lines that belong to an item annotated with `attr` (`#[cfg(test)]`): from the
/// attribute to the `}` closing the item's body (or the `;` ending a body-less item). A file with
/// the inner form (`#![cfg(test)]`) is marked throughout. Works on lexed code, so braces in
/// strings, chars and comments do not count.
fn cfg_lines(code: &[String], attr: &str) -> Vec<bool> {
    let mut marks = vec![false; code.len()];
    if file_gated(code, &attr.replacen("#[", "#![", 1)) {
        return vec![true; code.len()];
    }
    let mut depth: i64 = 0;
    let mut nest: i64 = 0;
    // Attribute seen, item body not yet opened: (line, bracket nesting at the attribute).
    let mut pending: Option<(usize, i64)> = None;
    // Item body open: (first line, brace depth outside the body).
    let mut region: Option<(usize, i64)> = None;
    let mark = |marks: &mut Vec<bool>, from: usize, to: usize| {
        for m in marks.iter_mut().take(to + 1).skip(from) {
            *m = true;
        }
    };
    for (idx, line) in code.iter().enumerate() {
        let mut rest = line.as_str();
        while let Some(c) = rest.chars().next() {
            if pending.is_none() && region.is_none() && rest.starts_with(attr) {
                pending = Some((idx, nest));
                rest = &rest[attr.len()..];
                continue;
            }
            match c {
                '(' | '[' => nest += 1,
                ')' | ']' => nest -= 1,
                '{' => {
                    if let Some((start, _)) = pending.take() {
                        region = Some((start, depth));
                    }
                    depth += 1;
                }
                '}' => {
                    depth -= 1;
                    if let Some((start, outer)) = region {
                        if depth == outer {
                            mark(&mut marks, start, idx);
                            region = None;
                        }
                    }
                }
                ';' => {
                    if let Some((start, at)) = pending {
                        if nest == at {
                            mark(&mut marks, start, idx);
                            pending = None;
                        }
                    }
                }
                _ => {}
            }
            rest = &rest[c.len_utf8()..];
        }
    }
    if let Some((start, _)) = region.or(pending) {
        let last = code.len().saturating_sub(1);
        mark(&mut marks, start, last);
    }
    marks
}

/// Whether Rust source gates any code on `cfg(madsim)` (in code, not in comments or strings):
/// such a file holds simulation tests.
pub fn gated_on_madsim(src: &str) -> bool {
    lex(src).code.iter().any(|line| line.replace(' ', "").contains("cfg(madsim)"))
}

/// A source file split into lines of code, with string/char literal contents and comments blanked
/// out, and the text of each line's `//` comment.
#[derive(Debug, Default)]
struct Lexed {
    code: Vec<String>,
    comments: Vec<String>,
}

impl Lexed {
    fn newline(&mut self, code: &mut String, comment: &mut String) {
        self.code.push(std::mem::take(code));
        self.comments.push(std::mem::take(comment));
    }
}

/// A small Rust lexer, just enough to keep literals and comments from matching patterns:
/// line and (nested) block comments, strings with escapes, raw strings `r#"..."#`, byte and C
/// strings, char literals (told apart from lifetimes).
fn lex(src: &str) -> Lexed {
    let chars: Vec<char> = src.chars().collect();
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    let mut out = Lexed::default();
    let mut code = String::new();
    let mut comment = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            out.newline(&mut code, &mut comment);
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            i += 2;
            while i < chars.len() && chars[i] != '\n' {
                comment.push(chars[i]);
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 1;
            i += 2;
            while i < chars.len() && depth > 0 {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                } else {
                    if chars[i] == '\n' {
                        out.newline(&mut code, &mut comment);
                    }
                    i += 1;
                }
            }
            code.push(' ');
        } else if c == '"' {
            i = skip_string(&chars, i + 1, &mut out, &mut code, &mut comment);
        } else if c == '\'' {
            i = skip_char_or_lifetime(&chars, i, &mut code);
        } else if is_ident(c) {
            let start = i;
            while i < chars.len() && is_ident(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let raw_prefix = matches!(word.as_str(), "r" | "br" | "cr");
            if raw_prefix && (at(i) == '"' || (at(i) == '#' && raw_string_follows(&chars, i))) {
                i = skip_raw_string(&chars, i, &mut out, &mut code, &mut comment);
            } else if matches!(word.as_str(), "b" | "c") && at(i) == '"' {
                i = skip_string(&chars, i + 1, &mut out, &mut code, &mut comment);
            } else if word == "b" && at(i) == '\'' {
                i = skip_char_or_lifetime(&chars, i, &mut code);
            } else {
                code.push_str(&word);
            }
        } else {
            code.push(c);
            i += 1;
        }
    }
    out.newline(&mut code, &mut comment);
    out
}

/// Skips a string body starting after its opening quote; returns the index after the closing one.
fn skip_string(
    chars: &[char],
    mut i: usize,
    out: &mut Lexed,
    code: &mut String,
    comment: &mut String,
) -> usize {
    code.push('"');
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                if chars.get(i + 1) == Some(&'\n') {
                    out.newline(code, comment);
                }
                i += 2;
            }
            '"' => {
                code.push('"');
                return i + 1;
            }
            '\n' => {
                out.newline(code, comment);
                i += 1;
            }
            _ => i += 1,
        }
    }
    i
}

/// `#` after `r` starts a raw string only if the hashes end in a quote (else it is `r#ident`).
fn raw_string_follows(chars: &[char], mut i: usize) -> bool {
    while chars.get(i) == Some(&'#') {
        i += 1;
    }
    chars.get(i) == Some(&'"')
}

/// Skips a raw string starting at its hashes or opening quote.
fn skip_raw_string(
    chars: &[char],
    mut i: usize,
    out: &mut Lexed,
    code: &mut String,
    comment: &mut String,
) -> usize {
    let mut hashes = 0;
    while chars.get(i) == Some(&'#') {
        hashes += 1;
        i += 1;
    }
    i += 1; // the opening quote
    code.push('"');
    while i < chars.len() {
        if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
            code.push('"');
            return i + 1 + hashes;
        }
        if chars[i] == '\n' {
            out.newline(code, comment);
        }
        i += 1;
    }
    i
}

/// At a `'`: skips a char literal (`'a'`, `'\n'`, `'\u{1F600}'`) or emits a lifetime's quote.
fn skip_char_or_lifetime(chars: &[char], i: usize, code: &mut String) -> usize {
    let next = chars.get(i + 1).copied();
    if next == Some('\\') {
        let mut j = i + 3; // past the quote, the backslash and the escaped char
        while j < chars.len() && chars[j] != '\'' && chars[j] != '\n' {
            j += 1;
        }
        code.push_str("' '");
        return j + 1;
    }
    if next.is_some() && next != Some('\n') && chars.get(i + 2) == Some(&'\'') {
        code.push_str("' '");
        return i + 3;
    }
    code.push('\'');
    i + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexer_blanks_literals_and_comments() {
        let src = "let s = \"std::fs\"; // std::fs\nlet r = r#\"a\"b\"#; let c = '{'; x<'a>";
        let lexed = lex(src);
        assert_eq!(lexed.code[0], "let s = \"\"; ");
        assert_eq!(lexed.comments[0], " std::fs");
        assert_eq!(lexed.code[1], "let r = \"\"; let c = ' '; x<'a>");
    }

    #[test]
    fn lexer_keeps_line_numbers_through_multiline_literals() {
        let src = "let s = \"a\nb\";\n/* x\ny */ std::fs";
        let lexed = lex(src);
        assert_eq!(lexed.code.len(), 4);
        assert_eq!(lexed.code[3].trim(), "std::fs");
    }

    #[test]
    fn madsim_gates_are_found_in_code_only() {
        assert!(gated_on_madsim("//! Simulated.\n#![cfg(madsim)]\n"));
        assert!(gated_on_madsim("#[cfg(madsim)]\nmod sim;\n"));
        assert!(!gated_on_madsim("// cfg(madsim)\nlet s = \"#![cfg(madsim)]\";\n"));
    }

    #[test]
    fn raw_identifiers_are_not_strings() {
        let lexed = lex("let r#type = 1; std::fs");
        assert!(lexed.code[0].contains("std::fs"));
    }

    #[test]
    fn scope_classifies_paths() {
        assert_eq!(scope_of("crates/rt/src/lib.rs").area, Area::Rt);
        assert!(scope_of("crates/store/tests/recovery.rs").test_path);
        assert!(!scope_of("crates/store/src/tests.rs").test_path);
        assert!(scope_of("crates/broker/src/main.rs").binary);
        assert!(scope_of("crates/cli/src/bin/mqadmin.rs").binary);
        assert!(scope_of("crates/store/build.rs").build_script);
        assert!(scope_of("crates/checker/src/lib.rs").core);
        assert_eq!(scope_of("sim/src/lib.rs").area, Area::Sim);
        assert_eq!(scope_of("jepsen/src/main.rs").area, Area::Jepsen);
    }

    #[test]
    fn cfg_test_region_ends_with_its_item() {
        let code: Vec<String> =
            ["fn a() {}", "#[cfg(test)]", "mod t {", "  fn x() { }", "}", "fn b() {}"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        assert_eq!(cfg_lines(&code, "#[cfg(test)]"), vec![false, true, true, true, true, false]);
    }

    #[test]
    fn cfg_test_on_a_bodiless_item_ends_at_its_semicolon() {
        let code: Vec<String> =
            ["#[cfg(test)]", "use x::[y; 2];", "fn b() {}"].iter().map(|s| s.to_string()).collect();
        assert_eq!(cfg_lines(&code, "#[cfg(test)]"), vec![true, true, false]);
    }
}
