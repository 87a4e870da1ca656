//! The disk seam: every persistent byte Apogee writes goes through a [`Disk`].
//!
//! Two implementations share this contract:
//! - [`FsDisk`]: the production disk, std files under a root folder, with fixed-size segments
//!   memory-mapped so that reads of stored records are handed out as zero-copy [`Bytes`].
//! - [`SimDisk`]: an in-memory disk with a crash model (volatile unsynced pages, pending metadata,
//!   torn writes, injected EIO/ENOSPC/bit flips). Under `--cfg madsim` it is installed per node by
//!   the simulator plugin in `sim_plugin`, so a node kill loses exactly what a power cut would.
//!
//! Durability contract (what every caller may rely on, and nothing more):
//! - Bytes written with [`SegmentFile::write_at`] are visible to reads at once but durable only
//!   after a [`SegmentFile::sync`] (or a `sync_range` covering them) has returned `Ok`.
//! - Creating, renaming or removing a file or folder is durable only after [`Disk::sync_dir`] of
//!   the parent folder has returned `Ok` (POSIX: fsync of a file does not persist its name).
//! - A file's length (`set_len`, growth by writes) is durable with the file's next successful
//!   `sync` (fsync persists the inode's size; fdatasync and msync persist it when reads need it).
//! - A failed `sync` may have lost any unsynced byte of that file; callers must treat it as fatal
//!   for the data involved ("fsyncgate") and never acknowledge what it covered.
//!
//! All paths are relative to the disk's root and use `/` separators.

use std::fmt::Debug;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

mod fs;
mod scoped;
mod sim;
mod sim_inode;
#[cfg(madsim)]
pub mod sim_plugin;

pub use fs::FsDisk;
pub use scoped::ScopedDisk;
pub use sim::{SimDisk, SimDiskConfig, SimDiskStats};
#[cfg(madsim)]
pub use sim_plugin::node_disk;

/// A shared handle to a disk.
pub type DiskRef = Arc<dyn Disk>;
/// A shared handle to one open file.
pub type FileRef = Arc<dyn SegmentFile>;

/// How [`Disk::open`] treats a missing file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Fail with `NotFound` if the file does not exist.
    Existing,
    /// Create an empty file if it does not exist (the new name is durable after `sync_dir`).
    CreateIfMissing,
}

/// Space figures of the device a disk lives on, for the retention policy's usage ratio.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskSpace {
    pub total_bytes: u64,
    pub available_bytes: u64,
}

impl DiskSpace {
    /// Fraction of the device in use, 0.0..=1.0.
    pub fn used_ratio(&self) -> f64 {
        if self.total_bytes == 0 {
            return 0.0;
        }
        let used = self.total_bytes.saturating_sub(self.available_bytes);
        used as f64 / self.total_bytes as f64
    }
}

/// A folder of files. Implementations are cheap to share (`Arc<dyn Disk>`) and thread-safe.
pub trait Disk: Send + Sync + Debug {
    /// Opens a plain file for reading and writing (configs, checkpoints, offsets).
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<FileRef>;

    /// Opens a fixed-size segment file (CommitLog, ConsumeQueue, IndexFile), creating it with
    /// exactly `len` zero bytes if missing. An existing file keeps its own length, which the caller
    /// checks. Production memory-maps it; `set_len` on a segment is refused.
    fn open_segment(&self, path: &Path, len: u64) -> io::Result<FileRef>;

    /// True if a file or folder exists at `path` (as currently visible, durable or not).
    fn exists(&self, path: &Path) -> io::Result<bool>;

    /// Names (not paths) of the entries directly inside `dir`, sorted; empty if `dir` is missing.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;

    /// Creates `dir` and its parents. Durable after `sync_dir` of each new folder's parent.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;

    /// Removes a file, or an empty folder.
    fn remove(&self, path: &Path) -> io::Result<()>;

    /// Renames a file, replacing any file at `to` (atomic, as POSIX rename).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;

    /// Makes the entries of `dir` (creations, renames, removals) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;

    /// Space on the device.
    fn space(&self) -> io::Result<DiskSpace>;
}

/// One open file. Offsets are absolute within the file.
pub trait SegmentFile: Send + Sync + Debug {
    /// Reads exactly `len` bytes at `offset`; `UnexpectedEof` if that runs past the end.
    /// Segment reads are zero-copy: the `Bytes` keeps the mapping alive.
    fn read_at(&self, offset: u64, len: usize) -> io::Result<Bytes>;

    /// Writes `data` at `offset`. Plain files grow as needed; segments refuse writes past their
    /// end with `InvalidInput`. Visible at once, durable after a covering sync.
    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()>;

    /// Makes every byte written so far (and the length) durable.
    fn sync(&self) -> io::Result<()>;

    /// Makes the bytes in `offset..offset+len` durable (msync of a range for segments).
    fn sync_range(&self, offset: u64, len: u64) -> io::Result<()>;

    /// Truncates or extends a plain file (the new length is durable after `sync`).
    fn set_len(&self, len: u64) -> io::Result<()>;

    /// Hints that `offset..offset+len` will be written soon: a mapped segment faults those pages
    /// in writable now (allocating blocks of a sparse file), so that the writes later find them
    /// resident. Changes no byte and no durability; callers run it off their hot path because it
    /// blocks for as long as the faults take. A no-op where there is nothing to fault (plain
    /// files, `SimDisk`).
    fn prefault(&self, offset: u64, len: u64) -> io::Result<()> {
        let _ = (offset, len);
        Ok(())
    }

    /// Current visible length in bytes.
    fn len(&self) -> u64;

    /// True when the file is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The disk a daemon keeps its files on, rooted at `root` (its `storePathRootDir`).
///
/// Production: std files under `root` ([`FsDisk`]). Simulation: the calling node's [`SimDisk`]
/// (see `sim_plugin`), viewed below `root`, which survives the node's restarts and loses what a
/// power cut loses. Code that opens its disk this way needs no simulation-specific path.
pub fn open_root(root: &Path) -> io::Result<DiskRef> {
    #[cfg(madsim)]
    {
        Ok(Arc::new(ScopedDisk::new(sim_plugin::node_disk(), root)?))
    }
    #[cfg(not(madsim))]
    {
        Ok(Arc::new(FsDisk::new(root)?))
    }
}

/// Reads a whole plain file, or `None` if it does not exist.
pub fn read_file(disk: &dyn Disk, path: &Path) -> io::Result<Option<Bytes>> {
    match disk.open(path, OpenMode::Existing) {
        Ok(file) => {
            let len = usize::try_from(file.len())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "file too large"))?;
            file.read_at(0, len).map(Some)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Creates `dir` and its missing parents, syncing each new folder's parent so that the whole chain
/// is durable when this returns `Ok` (`create_dir_all` alone makes none of it durable).
pub fn create_dir_all_durable(disk: &dyn Disk, dir: &Path) -> io::Result<()> {
    let mut prefix = PathBuf::new();
    for part in dir.components() {
        match part {
            Component::Normal(name) => {
                let parent = prefix.clone();
                prefix.push(name);
                if !disk.exists(&prefix)? {
                    disk.create_dir_all(&prefix)?;
                    disk.sync_dir(&parent)?;
                }
            }
            Component::CurDir => {}
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("path {} leaves the disk root", dir.display()),
                ))
            }
        }
    }
    Ok(())
}

/// Replaces the file at `path` with `data` atomically and durably: write a temporary sibling,
/// sync it, rename it over `path`, sync the folder. After a crash the file holds either the old
/// or the new content, never a mix; after `Ok` it holds the new content.
pub fn write_file_atomic(disk: &dyn Disk, path: &Path, data: &[u8]) -> io::Result<()> {
    let parent = path.parent().unwrap_or_else(|| Path::new(""));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let mut tmp_name = name.to_os_string();
    tmp_name.push(".tmp");
    let tmp = parent.join(tmp_name);
    if !parent.as_os_str().is_empty() {
        // A folder made here must be durable too, or a crash takes the new file with it.
        create_dir_all_durable(disk, parent)?;
    }
    let file = disk.open(&tmp, OpenMode::CreateIfMissing)?;
    file.set_len(0)?;
    file.write_at(0, data)?;
    file.sync()?;
    disk.rename(&tmp, path)?;
    disk.sync_dir(parent)
}
