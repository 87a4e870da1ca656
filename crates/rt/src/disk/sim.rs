//! `SimDisk`: an in-memory disk that loses exactly what a power cut may lose.
//!
//! Modelled on FoundationDB's `AsyncFileNonDurable` and turmoil's simulated file system. It is a
//! plain synchronous data structure, usable in any build: the store's model tests drive it
//! directly, and under madsim the `sim_plugin` keeps one per node and crashes it on `kill`.
//!
//! # Fault model
//!
//! **Data.** Each file has durable bytes (with a durable length) and a page cache of dirty pages
//! (`page_size`, default 4096) over them, plus a visible length. Reads see dirty pages over durable
//! bytes. `sync` makes every dirty page and the visible length durable; `sync_range` makes the pages
//! overlapping the range and the length durable (fdatasync/msync persist the size needed to read
//! the data back). `set_len` is visible at once and durable with the file's next sync.
//!
//! **Metadata.** Creating, renaming and removing files and creating folders is visible at once and
//! durable only after `sync_dir` of the parent folder, which persists the folder's entries as they
//! are now. A folder whose own entry is not durable loses its whole subtree on a crash.
//!
//! **Crash** ([`SimDisk::crash`], a power cut):
//! 1. Metadata: the file-system journal either committed everything pending just before the cut
//!    (probability [`SimDiskConfig::journal_commit_probability`]) or nothing of it: the directory
//!    tree is then the one of the last `sync_dir`s. Un-synced creations vanish, un-synced renames
//!    and removals revert. Both outcomes are consistent trees; no mix of individual operations.
//! 2. Data, per file: writeback flushes pages in any order, so a seeded random subset of the dirty
//!    pages reaches the platter (the keep probability is itself drawn per file, so some crashes
//!    keep nearly everything and some nearly nothing). The last page written back may be torn: only
//!    a prefix of it, ending at a seeded sector boundary (`sector_size`, default 512), is new.
//! 3. The file's length is its durable length, grown to cover a page written back past it (a size
//!    update riding along with that writeback); a gap below such a page reads as zeros, as a hole.
//!    Pending truncations are forgotten (the old bytes come back).
//!
//! 4. With [`SimDiskConfig::garble_probability`], the damaged last page may instead be garbled:
//!    written back whole, but with a run of up to one sector of random bytes somewhere in the
//!    bytes this writeback changes (a write the drive mangled as the power went). Headers and
//!    tails of records around the run stay intact, so only a checksum catches it. Bytes a sync
//!    already made durable are never garbled.
//!
//! So after a crash every byte of a file is its last durable value, a value some write put there,
//! zero in a region the file was extended over, or (only with garbling on) garbage in place of
//! bytes that were never synced. Nothing that was never written appears otherwise. Handles
//! opened before a crash belong to a dead incarnation: every call on them fails.
//!
//! **Injected faults** (seeded, all off by default, see [`SimDiskConfig`]): EIO on `write_at`
//! (nothing is written); EIO on `sync`/`sync_range`/`sync_dir` (nothing is promoted; a file whose
//! sync failed fails every later sync too until a crash, as Linux after "fsyncgate"); ENOSPC when a
//! write, an extension or a new segment would take the total visible bytes past `capacity_bytes`;
//! a bit flip in the returned copy on `read_at` (the stored bytes stay intact).
//!
//! All randomness comes from one RNG seeded by [`SimDiskConfig::seed`], so the same operations give
//! the same results inside and outside the simulator.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io;
use std::path::{Component, Path};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::sim_inode::Inode;
use super::{Disk, DiskSpace, FileRef, OpenMode, SegmentFile};

/// Raw OS error numbers the simulated faults carry, so callers that look at them see Linux's.
const EIO: i32 = 5;
const ENOSPC: i32 = 28;

/// What a disk without `capacity_bytes` reports as its size.
const UNLIMITED_CAPACITY: u64 = 1 << 40;

/// Knobs of a [`SimDisk`]. `Default` is a healthy 4 KiB-page disk with seed 0.
#[derive(Debug, Clone, PartialEq)]
pub struct SimDiskConfig {
    /// Seeds every random choice (crash outcomes and injected faults).
    pub seed: u64,
    /// Page-cache granularity: the unit a crash keeps or loses. A power of two is customary.
    pub page_size: usize,
    /// Torn-write granularity inside a page; `page_size` must be a multiple of it.
    pub sector_size: usize,
    /// Probability that a crash finds all pending metadata committed by the journal.
    pub journal_commit_probability: f64,
    /// Probability that a `write_at` fails with EIO (writing nothing).
    pub write_error_probability: f64,
    /// Probability that a sync fails with EIO (promoting nothing and poisoning the file).
    pub sync_error_probability: f64,
    /// Probability that a `read_at` returns a copy with one bit flipped.
    pub read_bit_flip_probability: f64,
    /// Probability that a crash that damages its last written-back page garbles it (a run of
    /// random bytes inside the new data) instead of tearing it at a sector boundary.
    pub garble_probability: f64,
    /// Total bytes the disk holds; writes past it fail with ENOSPC. `None`: unlimited.
    pub capacity_bytes: Option<u64>,
}

impl Default for SimDiskConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            page_size: 4096,
            sector_size: 512,
            journal_commit_probability: 0.5,
            write_error_probability: 0.0,
            sync_error_probability: 0.0,
            read_bit_flip_probability: 0.0,
            garble_probability: 0.0,
            capacity_bytes: None,
        }
    }
}

impl SimDiskConfig {
    /// The default configuration with another seed.
    pub fn with_seed(seed: u64) -> Self {
        Self { seed, ..Self::default() }
    }
}

/// Counters of what a [`SimDisk`] did, for tests and simulation reports.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SimDiskStats {
    /// Successful `write_at` calls and the bytes they wrote.
    pub writes: u64,
    pub bytes_written: u64,
    /// Successful file syncs (`sync` and `sync_range`) and the bytes they made durable.
    pub syncs: u64,
    pub bytes_synced: u64,
    /// Successful `sync_dir` calls.
    pub dir_syncs: u64,
    /// Crashes, dirty pages kept and lost by them, and pages torn or garbled.
    pub crashes: u64,
    pub pages_kept: u64,
    pub pages_lost: u64,
    pub pages_torn: u64,
    pub pages_garbled: u64,
    /// Injected faults that fired.
    pub write_errors: u64,
    pub sync_errors: u64,
    pub no_space_errors: u64,
    pub bit_flips: u64,
}

/// A folder entry. Files point at an inode so renames and open handles share content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    Dir,
    File(u64),
}

/// A path below the root, as `a/b/c`; the root is the empty string.
type Key = String;

struct State {
    cfg: SimDiskConfig,
    rng: StdRng,
    /// Bumped by every crash; handles of an older incarnation are dead.
    incarnation: u64,
    next_ino: u64,
    inodes: BTreeMap<u64, Inode>,
    /// The tree as callers see it, and as it would be found after a crash.
    visible: BTreeMap<Key, Entry>,
    durable: BTreeMap<Key, Entry>,
    stats: SimDiskStats,
}

/// An in-memory disk with a crash model; see the module documentation. Cloning shares the disk.
#[derive(Clone)]
pub struct SimDisk {
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for SimDisk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimDisk").finish_non_exhaustive()
    }
}

impl Default for SimDisk {
    fn default() -> Self {
        Self::new(SimDiskConfig::default())
    }
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.into())
}

fn not_found(key: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("{key}: no such file or folder"))
}

/// Turns a relative path into a key, refusing anything that could leave the root (as `FsDisk`).
fn key_of(path: &Path) -> io::Result<Key> {
    let mut parts = Vec::new();
    for part in path.components() {
        match part {
            Component::Normal(p) => match p.to_str() {
                Some(p) => parts.push(p),
                None => return Err(invalid(format!("non-UTF-8 path {}", path.display()))),
            },
            Component::CurDir => {}
            _ => return Err(invalid(format!("path {} leaves the disk root", path.display()))),
        }
    }
    Ok(parts.join("/"))
}

/// The parent key and the name of a non-root key.
fn split(key: &str) -> (&str, &str) {
    match key.rfind('/') {
        Some(i) => (&key[..i], &key[i + 1..]),
        None => ("", key),
    }
}

/// The direct children of `dir` in `tree`, in name order.
fn children<'a>(
    tree: &'a BTreeMap<Key, Entry>,
    dir: &str,
) -> impl Iterator<Item = (&'a str, Entry)> + 'a {
    let prefix = if dir.is_empty() { String::new() } else { format!("{dir}/") };
    let skip = prefix.len();
    tree.range(prefix.clone()..).take_while(move |(k, _)| k.starts_with(&prefix)).filter_map(
        move |(k, e)| {
            let rest = &k[skip..];
            (!rest.is_empty() && !rest.contains('/')).then_some((rest, *e))
        },
    )
}

impl State {
    fn page_size(&self) -> u64 {
        self.cfg.page_size as u64
    }

    /// True if `key` names a folder in the visible tree (the root always exists).
    fn is_dir(&self, key: &str) -> bool {
        key.is_empty() || self.visible.get(key) == Some(&Entry::Dir)
    }

    fn check_parent(&self, key: &str) -> io::Result<()> {
        let (parent, _) = split(key);
        if self.is_dir(parent) {
            Ok(())
        } else {
            Err(not_found(parent))
        }
    }

    /// Draws a fault with probability `p`; draws nothing when the knob is off, so turning one
    /// knob on does not change the outcomes of the others' draws for a seed.
    fn fault(&mut self, p: f64) -> bool {
        p > 0.0 && self.rng.random_bool(p.min(1.0))
    }

    fn used_bytes(&self) -> u64 {
        self.inodes.values().map(Inode::used_bytes).sum()
    }

    /// Fails with ENOSPC if growing a file from `old_len` to `new_len` does not fit.
    fn reserve(&mut self, old_len: u64, new_len: u64) -> io::Result<()> {
        let Some(capacity) = self.cfg.capacity_bytes else { return Ok(()) };
        let grow = new_len.saturating_sub(old_len);
        if grow > 0 && self.used_bytes().saturating_add(grow) > capacity {
            self.stats.no_space_errors += 1;
            return Err(io::Error::from_raw_os_error(ENOSPC));
        }
        Ok(())
    }

    /// Drops inodes that no tree names and no live handle holds.
    fn collect_garbage(&mut self) {
        let mut named = BTreeSet::new();
        for tree in [&self.visible, &self.durable] {
            named.extend(tree.values().filter_map(|e| match e {
                Entry::File(ino) => Some(*ino),
                Entry::Dir => None,
            }));
        }
        self.inodes.retain(|ino, inode| inode.handles > 0 || named.contains(ino));
    }

    fn inode(&mut self, handle: &SimFile) -> io::Result<&mut Inode> {
        if handle.incarnation != self.incarnation {
            return Err(io::Error::other("file handle from before a crash is dead"));
        }
        self.inodes.get_mut(&handle.ino).ok_or_else(|| io::Error::other("file handle is dead"))
    }

    fn crash(&mut self) {
        self.incarnation += 1;
        self.stats.crashes += 1;
        if self.rng.random_bool(self.cfg.journal_commit_probability.clamp(0.0, 1.0)) {
            self.durable = self.visible.clone();
        }
        // A folder that was never made durable takes its subtree with it.
        let mut tree = std::mem::take(&mut self.durable);
        let keys: Vec<Key> = tree.keys().cloned().collect();
        for key in keys {
            let (parent, _) = split(&key);
            if !parent.is_empty() && tree.get(parent) != Some(&Entry::Dir) {
                tree.remove(&key);
            }
        }
        self.durable = tree;
        self.visible = self.durable.clone();
        for inode in self.inodes.values_mut() {
            inode.handles = 0;
        }
        self.collect_garbage();
        let (page, sector) = (self.page_size(), self.cfg.sector_size as u64);
        let garble = self.cfg.garble_probability;
        for inode in self.inodes.values_mut() {
            let outcome = inode.crash(page, sector, garble, &mut self.rng);
            self.stats.pages_kept += outcome.pages_kept;
            self.stats.pages_lost += outcome.pages_lost;
            self.stats.pages_torn += u64::from(outcome.torn);
            self.stats.pages_garbled += u64::from(outcome.garbled);
        }
    }
}

impl SimDisk {
    /// A fresh, empty disk. Page and sector sizes are sanitised so the model stays well-formed:
    /// both at least 1 and the page a multiple of the sector.
    pub fn new(mut cfg: SimDiskConfig) -> Self {
        cfg.sector_size = cfg.sector_size.max(1);
        cfg.page_size = cfg.page_size.max(cfg.sector_size).next_multiple_of(cfg.sector_size);
        let rng = StdRng::seed_from_u64(cfg.seed);
        let state = State {
            cfg,
            rng,
            incarnation: 0,
            next_ino: 1,
            inodes: BTreeMap::new(),
            visible: BTreeMap::new(),
            durable: BTreeMap::new(),
            stats: SimDiskStats::default(),
        };
        Self { state: Arc::new(Mutex::new(state)) }
    }

    /// The configuration in force.
    pub fn config(&self) -> SimDiskConfig {
        self.lock().cfg.clone()
    }

    /// Replaces the fault knobs (probabilities and capacity) without touching contents or the
    /// RNG; page and sector sizes and the seed stay as they were.
    pub fn set_faults(&self, faults: &SimDiskConfig) {
        let mut st = self.lock();
        st.cfg.journal_commit_probability = faults.journal_commit_probability;
        st.cfg.write_error_probability = faults.write_error_probability;
        st.cfg.sync_error_probability = faults.sync_error_probability;
        st.cfg.read_bit_flip_probability = faults.read_bit_flip_probability;
        st.cfg.garble_probability = faults.garble_probability;
        st.cfg.capacity_bytes = faults.capacity_bytes;
    }

    /// A power cut; see the module documentation for what survives. Handles opened before it
    /// are dead afterwards.
    pub fn crash(&self) {
        self.lock().crash();
    }

    /// Counters since the disk was made.
    pub fn stats(&self) -> SimDiskStats {
        self.lock().stats
    }

    /// True if some written byte or some metadata change is not durable yet.
    pub fn has_unsynced(&self) -> bool {
        let st = self.lock();
        st.visible != st.durable || st.inodes.values().any(Inode::is_dirty)
    }

    /// The disk as a shared trait object.
    pub fn as_disk_ref(&self) -> super::DiskRef {
        Arc::new(self.clone())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock can only come from a bug in this file; the state is
        // still structurally sound, so keep going rather than cascade the panic.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn open_inner(
        &self,
        path: &Path,
        create_len: Option<u64>,
        segment: bool,
    ) -> io::Result<FileRef> {
        let key = key_of(path)?;
        let mut st = self.lock();
        let ino = match st.visible.get(&key) {
            Some(Entry::File(ino)) => *ino,
            Some(Entry::Dir) => {
                return Err(io::Error::new(
                    io::ErrorKind::IsADirectory,
                    format!("{key} is a folder"),
                ))
            }
            None if key.is_empty() => {
                return Err(io::Error::new(io::ErrorKind::IsADirectory, "the root is a folder"))
            }
            None => {
                let Some(len) = create_len else { return Err(not_found(&key)) };
                st.check_parent(&key)?;
                st.reserve(0, len)?;
                let ino = st.next_ino;
                st.next_ino += 1;
                st.inodes.insert(ino, Inode::new(len));
                st.visible.insert(key.clone(), Entry::File(ino));
                ino
            }
        };
        let page_size = st.page_size();
        let incarnation = st.incarnation;
        let inode = st.inodes.get_mut(&ino).ok_or_else(|| not_found(&key))?;
        if segment && inode.len() == 0 {
            // Mirrors FsDisk: an empty segment (created but never sized) is sized now.
            let want = create_len.unwrap_or(0);
            if want == 0 {
                return Err(invalid(format!("empty segment file {key}")));
            }
            let old = inode.len();
            st.reserve(old, want)?;
            if let Some(inode) = st.inodes.get_mut(&ino) {
                inode.set_len(page_size, want);
            }
        }
        if let Some(inode) = st.inodes.get_mut(&ino) {
            inode.handles += 1;
        }
        Ok(Arc::new(SimFile { disk: self.clone(), ino, incarnation, segment }))
    }
}

impl Disk for SimDisk {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<FileRef> {
        let create = (mode == OpenMode::CreateIfMissing).then_some(0);
        self.open_inner(path, create, false)
    }

    fn open_segment(&self, path: &Path, len: u64) -> io::Result<FileRef> {
        if len == 0 && !self.exists(path)? {
            return Err(invalid("a new segment needs a length"));
        }
        self.open_inner(path, Some(len), true)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        let key = key_of(path)?;
        let st = self.lock();
        Ok(key.is_empty() || st.visible.contains_key(&key))
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let key = key_of(dir)?;
        let st = self.lock();
        match st.visible.get(&key) {
            Some(Entry::File(_)) => {
                Err(io::Error::new(io::ErrorKind::NotADirectory, format!("{key} is not a folder")))
            }
            // Keys with a common prefix sort by their rest, so the names come out sorted.
            _ => Ok(children(&st.visible, &key).map(|(n, _)| n.to_owned()).collect()),
        }
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let key = key_of(dir)?;
        let mut st = self.lock();
        let mut prefix = String::new();
        for part in key.split('/').filter(|p| !p.is_empty()) {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            match st.visible.get(&prefix) {
                Some(Entry::Dir) => {}
                Some(Entry::File(_)) => {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!("{prefix} is a file"),
                    ))
                }
                None => {
                    st.visible.insert(prefix.clone(), Entry::Dir);
                }
            }
        }
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let key = key_of(path)?;
        let mut st = self.lock();
        match st.visible.get(&key) {
            None if key.is_empty() => Err(invalid("cannot remove the root")),
            None => Err(not_found(&key)),
            Some(Entry::Dir) if children(&st.visible, &key).next().is_some() => {
                Err(io::Error::new(io::ErrorKind::DirectoryNotEmpty, format!("{key} is not empty")))
            }
            Some(_) => {
                st.visible.remove(&key);
                st.collect_garbage();
                Ok(())
            }
        }
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let (from, to) = (key_of(from)?, key_of(to)?);
        let mut st = self.lock();
        let ino = match st.visible.get(&from) {
            Some(Entry::File(ino)) => *ino,
            Some(Entry::Dir) => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "the simulated disk renames files only",
                ))
            }
            None => return Err(not_found(&from)),
        };
        if to.is_empty() || st.visible.get(&to) == Some(&Entry::Dir) {
            return Err(io::Error::new(io::ErrorKind::IsADirectory, format!("{to} is a folder")));
        }
        st.check_parent(&to)?;
        if from != to {
            st.visible.remove(&from);
            st.visible.insert(to, Entry::File(ino));
            st.collect_garbage();
        }
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let key = key_of(dir)?;
        let mut st = self.lock();
        if !st.is_dir(&key) {
            return Err(not_found(&key));
        }
        let p = st.cfg.sync_error_probability;
        if st.fault(p) {
            st.stats.sync_errors += 1;
            return Err(io::Error::from_raw_os_error(EIO));
        }
        let stale: Vec<Key> = children(&st.durable, &key)
            .map(|(name, _)| if key.is_empty() { name.to_owned() } else { format!("{key}/{name}") })
            .collect();
        for k in stale {
            st.durable.remove(&k);
        }
        let fresh: Vec<(Key, Entry)> = children(&st.visible, &key)
            .map(|(name, e)| {
                (if key.is_empty() { name.to_owned() } else { format!("{key}/{name}") }, e)
            })
            .collect();
        st.durable.extend(fresh);
        st.stats.dir_syncs += 1;
        st.collect_garbage();
        Ok(())
    }

    fn space(&self) -> io::Result<DiskSpace> {
        let st = self.lock();
        let total = st.cfg.capacity_bytes.unwrap_or(UNLIMITED_CAPACITY);
        Ok(DiskSpace { total_bytes: total, available_bytes: total.saturating_sub(st.used_bytes()) })
    }
}

/// A handle on one simulated file, bound to the incarnation that opened it.
struct SimFile {
    disk: SimDisk,
    ino: u64,
    incarnation: u64,
    /// Opened with `open_segment`: fixed length.
    segment: bool,
}

impl fmt::Debug for SimFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimFile")
            .field("ino", &self.ino)
            .field("incarnation", &self.incarnation)
            .field("segment", &self.segment)
            .finish()
    }
}

impl Drop for SimFile {
    fn drop(&mut self) {
        let mut st = self.disk.lock();
        if self.incarnation == st.incarnation {
            if let Some(inode) = st.inodes.get_mut(&self.ino) {
                inode.handles = inode.handles.saturating_sub(1);
            }
            st.collect_garbage();
        }
    }
}

impl SimFile {
    fn sync_with(&self, first_page: u64, last_page: u64) -> io::Result<()> {
        let mut st = self.disk.lock();
        let page_size = st.page_size();
        let failed = st.inode(self)?.failed;
        let p = st.cfg.sync_error_probability;
        if failed || st.fault(p) {
            st.stats.sync_errors += 1;
            st.inode(self)?.failed = true;
            return Err(io::Error::from_raw_os_error(EIO));
        }
        let synced = st.inode(self)?.sync_pages(page_size, first_page, last_page);
        st.stats.syncs += 1;
        st.stats.bytes_synced += synced;
        Ok(())
    }
}

impl SegmentFile for SimFile {
    fn read_at(&self, offset: u64, len: usize) -> io::Result<Bytes> {
        let mut st = self.disk.lock();
        let page_size = st.page_size();
        let inode = st.inode(self)?;
        match offset.checked_add(len as u64) {
            Some(end) if end <= inode.len() => {}
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("range {offset}+{len} past file end {}", inode.len()),
                ))
            }
        }
        let mut buf = vec![0u8; len];
        inode.read(page_size, offset, &mut buf);
        let p = st.cfg.read_bit_flip_probability;
        if len > 0 && st.fault(p) {
            let bit = st.rng.random_range(0..len * 8);
            buf[bit / 8] ^= 1 << (bit % 8);
            st.stats.bit_flips += 1;
        }
        Ok(Bytes::from(buf))
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut st = self.disk.lock();
        let page_size = st.page_size();
        let old_len = st.inode(self)?.len();
        let end =
            offset.checked_add(data.len() as u64).ok_or_else(|| invalid("offset overflow"))?;
        if self.segment && end > old_len {
            return Err(invalid("write past the end of a segment"));
        }
        st.reserve(old_len, end)?;
        let p = st.cfg.write_error_probability;
        if st.fault(p) {
            st.stats.write_errors += 1;
            return Err(io::Error::from_raw_os_error(EIO));
        }
        st.inode(self)?.write(page_size, offset, data);
        st.stats.writes += 1;
        st.stats.bytes_written += data.len() as u64;
        Ok(())
    }

    fn sync(&self) -> io::Result<()> {
        self.sync_with(0, u64::MAX)
    }

    fn sync_range(&self, offset: u64, len: u64) -> io::Result<()> {
        let page_size = self.disk.lock().page_size();
        let first = offset / page_size;
        let last = offset.saturating_add(len.max(1) - 1) / page_size;
        self.sync_with(first, last)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        if self.segment {
            return Err(io::Error::new(io::ErrorKind::Unsupported, "segments have a fixed length"));
        }
        let mut st = self.disk.lock();
        let page_size = st.page_size();
        let old_len = st.inode(self)?.len();
        st.reserve(old_len, len)?;
        st.inode(self)?.set_len(page_size, len);
        Ok(())
    }

    fn len(&self) -> u64 {
        let mut st = self.disk.lock();
        st.inode(self).map(|inode| inode.len()).unwrap_or(0)
    }
}
