//! The production disk: std files under a root folder.
//!
//! Segment files (fixed length: CommitLog, ConsumeQueue, IndexFile) are memory-mapped with
//! `memmap2::MmapRaw`: a write is a copy into the page cache, a read hands out a [`Bytes`] that
//! owns an `Arc` of the mapping, so stored records travel to the socket without a copy. Plain
//! files (configs, checkpoints) use positioned reads and writes.
//!
//! Why `MmapRaw` and not `MmapMut`: readers hold `&[u8]` views of already-written, immutable
//! regions while the single appender writes further on through a raw pointer; `MmapMut` would
//! need `&mut` access to the whole map for every write.

#![allow(unsafe_code)] // The one audited place that touches a memory map; see SAFETY notes.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use memmap2::MmapRaw;

use super::{Disk, DiskSpace, FileRef, OpenMode, SegmentFile};

/// Std files under `root`.
#[derive(Debug, Clone)]
pub struct FsDisk {
    root: PathBuf,
}

impl FsDisk {
    /// A disk rooted at `root`, which is created if missing.
    pub fn new(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        Ok(Self { root })
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Resolves a relative path below the root, refusing absolute paths and `..` so that a
    /// topic or group name from a client can never address a file outside the store.
    fn resolve(&self, path: &Path) -> io::Result<PathBuf> {
        let mut out = self.root.clone();
        for part in path.components() {
            match part {
                Component::Normal(p) => out.push(p),
                Component::CurDir => {}
                _ => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("path {} leaves the disk root", path.display()),
                    ))
                }
            }
        }
        Ok(out)
    }
}

impl Disk for FsDisk {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<FileRef> {
        let full = self.resolve(path)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(mode == OpenMode::CreateIfMissing)
            .truncate(false)
            .open(&full)?;
        Ok(Arc::new(PlainFile { file }))
    }

    fn open_segment(&self, path: &Path, len: u64) -> io::Result<FileRef> {
        let full = self.resolve(path)?;
        let file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&full)?;
        let current = file.metadata()?.len();
        if current == 0 && len > 0 {
            file.set_len(len)?;
        }
        let len = file.metadata()?.len();
        if len == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty segment file"));
        }
        let map = MmapRaw::map_raw(&file)?;
        Ok(Arc::new(MappedSegment { map: Arc::new(map), len, _file: file }))
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.resolve(path)?.try_exists()
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let full = self.resolve(dir)?;
        let entries = match std::fs::read_dir(&full) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut names = Vec::new();
        for entry in entries {
            let name = entry?.file_name();
            match name.into_string() {
                Ok(name) => names.push(name),
                Err(name) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("non-UTF-8 file name {name:?} in {}", full.display()),
                    ))
                }
            }
        }
        names.sort();
        Ok(names)
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(self.resolve(dir)?)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let full = self.resolve(path)?;
        if full.is_dir() {
            std::fs::remove_dir(full)
        } else {
            std::fs::remove_file(full)
        }
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(self.resolve(from)?, self.resolve(to)?)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(self.resolve(dir)?)?.sync_all()
    }

    fn space(&self) -> io::Result<DiskSpace> {
        statvfs_space(&self.root)
    }
}

/// Space of the file system holding `root`, from statvfs(3): total is the file system's size,
/// available is what an unprivileged writer may still use (`f_bavail`, excluding the blocks
/// reserved for root), both in units of the fragment size.
fn statvfs_space(root: &Path) -> io::Result<DiskSpace> {
    let st = rustix::fs::statvfs(root)?;
    let unit = st.f_frsize;
    Ok(DiskSpace {
        total_bytes: st.f_blocks.saturating_mul(unit),
        available_bytes: st.f_bavail.saturating_mul(unit),
    })
}

/// A plain file with positioned I/O.
#[derive(Debug)]
struct PlainFile {
    file: File,
}

impl SegmentFile for PlainFile {
    fn read_at(&self, offset: u64, len: usize) -> io::Result<Bytes> {
        let mut buf = vec![0u8; len];
        self.file.read_exact_at(&mut buf, offset)?;
        Ok(Bytes::from(buf))
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.file.write_all_at(data, offset)
    }

    fn sync(&self) -> io::Result<()> {
        self.file.sync_all()
    }

    fn sync_range(&self, _offset: u64, _len: u64) -> io::Result<()> {
        self.file.sync_data()
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }

    fn len(&self) -> u64 {
        self.file.metadata().map(|m| m.len()).unwrap_or(0)
    }
}

/// A fixed-length, memory-mapped segment.
#[derive(Debug)]
struct MappedSegment {
    map: Arc<MmapRaw>,
    len: u64,
    // Kept open for the life of the mapping; closing it is harmless on Linux but keeps intent clear.
    _file: File,
}

impl MappedSegment {
    fn check_range(&self, offset: u64, len: usize) -> io::Result<usize> {
        let end = offset.checked_add(len as u64);
        match end {
            Some(end) if end <= self.len => Ok(offset as usize),
            _ => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("range {offset}+{len} past segment end {}", self.len),
            )),
        }
    }
}

/// A read-only view of part of a mapping, owning the mapping so the `Bytes` outlives any handle.
struct MapSlice {
    map: Arc<MmapRaw>,
    start: usize,
    len: usize,
}

impl AsRef<[u8]> for MapSlice {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `start + len <= map.len()` was checked when the slice was made, and the mapping
        // lives as long as `self.map`. The region was fully written before it was handed out and
        // the appender never rewrites bytes below its write position, so no writer races this view
        // (recovery truncation zeroes only a tail that was never served).
        unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(self.start), self.len) }
    }
}

impl SegmentFile for MappedSegment {
    fn read_at(&self, offset: u64, len: usize) -> io::Result<Bytes> {
        let start = self.check_range(offset, len)?;
        Ok(Bytes::from_owner(MapSlice { map: Arc::clone(&self.map), start, len }))
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let start = self.check_range(offset, data.len()).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, "write past the end of a segment")
        })?;
        // SAFETY: the range is inside the mapping (checked above); the mapping is writable; the
        // caller (a single appender per segment) never writes a region that readers were given.
        unsafe {
            std::ptr::copy_nonoverlapping(
                data.as_ptr(),
                self.map.as_mut_ptr().add(start),
                data.len(),
            );
        }
        Ok(())
    }

    fn sync(&self) -> io::Result<()> {
        self.map.flush()
    }

    fn sync_range(&self, offset: u64, len: u64) -> io::Result<()> {
        let start = self.check_range(offset, len as usize)?;
        self.map.flush_range(start, len as usize)
    }

    fn set_len(&self, _len: u64) -> io::Result<()> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "segments have a fixed length"))
    }

    fn prefault(&self, offset: u64, len: u64) -> io::Result<()> {
        let start = self.check_range(offset, len as usize)?;
        // MADV_POPULATE_WRITE (Linux 5.14+) takes the write faults now without touching the bytes,
        // so it may run beside the appender writing the same pages.
        #[cfg(target_os = "linux")]
        {
            self.map.advise_range(memmap2::Advice::PopulateWrite, start, len as usize)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = start;
            Ok(())
        }
    }

    fn len(&self) -> u64 {
        self.len
    }
}
