//! A folder of fixed-size segment files named by the 20-digit offset of their first byte
//! (RocketMQ `MappedFileQueue`): the CommitLog and each ConsumeQueue are one of these.
//! Offsets are global across the files: file `n` holds `start_n .. start_n + file_size`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bytes::Bytes;
use rt::disk::{DiskRef, FileRef};

use crate::error::{IoContext, Result, StoreError};

/// Chunk used when zeroing a truncated tail.
const ZERO_CHUNK: usize = 64 * 1024;

/// RocketMQ `UtilAll.offset2FileName`.
pub fn offset_to_file_name(offset: u64) -> String {
    format!("{offset:020}")
}

/// One segment file.
#[derive(Debug)]
pub struct MappedFile {
    start: u64,
    path: PathBuf,
    file: FileRef,
}

impl MappedFile {
    /// Global offset of the file's first byte.
    pub fn start(&self) -> u64 {
        self.start
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file(&self) -> &FileRef {
        &self.file
    }

    /// Reads `len` bytes at global offset `offset` (zero-copy on a mapped segment).
    pub fn read(&self, offset: u64, len: usize) -> Result<Bytes> {
        self.file.read_at(offset - self.start, len).ctx("read", &self.path)
    }

    /// Writes at global offset `offset`.
    pub fn write(&self, offset: u64, data: &[u8]) -> Result<()> {
        self.file.write_at(offset - self.start, data).ctx("write", &self.path)
    }
}

/// The ordered files of one folder.
#[derive(Debug)]
pub struct MappedFileQueue {
    disk: DiskRef,
    dir: PathBuf,
    file_size: u64,
    files: RwLock<Vec<Arc<MappedFile>>>,
}

impl MappedFileQueue {
    /// Opens the files already in `dir` (none if it does not exist). Every file must have the
    /// configured size and the files must be contiguous; anything else is corruption, reported
    /// rather than guessed around. Names that are not 20 digits (e.g. `.tmp`) are ignored.
    pub fn load(disk: DiskRef, dir: impl Into<PathBuf>, file_size: u64) -> Result<Self> {
        let dir = dir.into();
        let mut files: Vec<Arc<MappedFile>> = Vec::new();
        for name in disk.list(&dir).ctx("list", &dir)? {
            if name.len() != 20 || !name.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let Ok(start) = name.parse::<u64>() else { continue };
            let path = dir.join(&name);
            let file = disk.open_segment(&path, file_size).ctx("open segment", &path)?;
            if file.len() != file_size {
                return Err(StoreError::Corrupt {
                    path,
                    reason: format!("length {} but the configured size is {file_size}", file.len()),
                });
            }
            if start % file_size != 0 {
                return Err(StoreError::Corrupt {
                    path,
                    reason: format!("start offset not a multiple of the file size {file_size}"),
                });
            }
            if let Some(prev) = files.last() {
                if prev.start + file_size != start {
                    return Err(StoreError::Corrupt {
                        path,
                        reason: format!("gap after the file starting at {}", prev.start),
                    });
                }
            }
            files.push(Arc::new(MappedFile { start, path, file }));
        }
        Ok(Self { disk, dir, file_size, files: RwLock::new(files) })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    fn read_files(&self) -> RwLockReadGuard<'_, Vec<Arc<MappedFile>>> {
        // A poisoned lock only means a panic elsewhere; the list itself is always consistent.
        self.files.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_files(&self) -> RwLockWriteGuard<'_, Vec<Arc<MappedFile>>> {
        self.files.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Start of the file that would hold `offset`.
    pub fn file_start_of(&self, offset: u64) -> u64 {
        offset - offset % self.file_size
    }

    /// The file holding `offset`, if it exists.
    pub fn find(&self, offset: u64) -> Option<Arc<MappedFile>> {
        let files = self.read_files();
        let first = files.first()?;
        if offset < first.start {
            return None;
        }
        let idx = usize::try_from((offset - first.start) / self.file_size).ok()?;
        files.get(idx).cloned()
    }

    pub fn first(&self) -> Option<Arc<MappedFile>> {
        self.read_files().first().cloned()
    }

    pub fn last(&self) -> Option<Arc<MappedFile>> {
        self.read_files().last().cloned()
    }

    /// A snapshot of all files, oldest first.
    pub fn files(&self) -> Vec<Arc<MappedFile>> {
        self.read_files().clone()
    }

    pub fn is_empty(&self) -> bool {
        self.read_files().is_empty()
    }

    /// Start of the oldest file, if any.
    pub fn min_offset(&self) -> Option<u64> {
        self.first().map(|f| f.start)
    }

    /// The file holding `offset`, creating it if it would be the next (or the first) file.
    /// A new file's name is made durable (folder synced) before it is returned, so a sync of its
    /// bytes is all a later flush needs.
    pub fn get_or_create(&self, offset: u64) -> Result<Arc<MappedFile>> {
        if let Some(f) = self.find(offset) {
            return Ok(f);
        }
        let start = self.file_start_of(offset);
        let mut files = self.write_files();
        if let Some(last) = files.last() {
            if last.start + self.file_size != start {
                if let Some(f) = files.iter().find(|f| f.start == start) {
                    return Ok(Arc::clone(f));
                }
                return Err(StoreError::InvalidArgument(format!(
                    "{}: file at {start} would not follow the last file at {}",
                    self.dir.display(),
                    last.start
                )));
            }
        } else {
            self.create_dir()?;
        }
        let path = self.dir.join(offset_to_file_name(start));
        let file = self.disk.open_segment(&path, self.file_size).ctx("create segment", &path)?;
        // The length must be durable too, or a crash could leave a short file under the name.
        file.sync().ctx("sync", &path)?;
        self.disk.sync_dir(&self.dir).ctx("sync dir", &self.dir)?;
        let mf = Arc::new(MappedFile { start, path, file });
        files.push(Arc::clone(&mf));
        Ok(mf)
    }

    /// Creates the folder and makes every level of it durable.
    fn create_dir(&self) -> Result<()> {
        if self.disk.exists(&self.dir).ctx("stat", &self.dir)? {
            return Ok(());
        }
        self.disk.create_dir_all(&self.dir).ctx("create dir", &self.dir)?;
        let mut dir = self.dir.as_path();
        while let Some(parent) = dir.parent() {
            self.disk.sync_dir(parent).ctx("sync dir", parent)?;
            dir = parent;
        }
        Ok(())
    }

    /// Syncs the bytes in `from..to` (global offsets) in every file they touch.
    pub fn sync_range(&self, from: u64, to: u64) -> Result<()> {
        let mut pos = from;
        while pos < to {
            let Some(f) = self.find(pos) else { break };
            let end = (f.start + self.file_size).min(to);
            f.file.sync_range(pos - f.start, end - pos).ctx("sync", &f.path)?;
            pos = end;
        }
        Ok(())
    }

    /// Makes `offset` the end of the data: zeroes the rest of the file holding it and removes every
    /// later file, durably. Stale bytes past the end must go, or a later crash could resurrect a
    /// record from this life behind new records that happen to end on its boundary.
    pub fn truncate_from(&self, offset: u64) -> Result<()> {
        let mut files = self.write_files();
        let mut removed = false;
        while let Some(last) = files.last() {
            if last.start < offset {
                break;
            }
            self.disk.remove(&last.path).ctx("remove", &last.path)?;
            files.pop();
            removed = true;
        }
        if removed {
            self.disk.sync_dir(&self.dir).ctx("sync dir", &self.dir)?;
        }
        if let Some(last) = files.last() {
            let end = last.start + self.file_size;
            if offset >= last.start && offset < end {
                zero_range(&last.file, offset - last.start, self.file_size)
                    .ctx("zero", &last.path)?;
            }
        }
        Ok(())
    }

    /// Removes the oldest file. The caller decides it may go.
    pub fn remove_first(&self) -> Result<Option<u64>> {
        let mut files = self.write_files();
        if files.is_empty() {
            return Ok(None);
        }
        let first = files.remove(0);
        self.disk.remove(&first.path).ctx("remove", &first.path)?;
        self.disk.sync_dir(&self.dir).ctx("sync dir", &self.dir)?;
        Ok(Some(first.start))
    }
}

/// Zeroes `from..to` of a file, writing only chunks that are not already zero, then syncs it.
fn zero_range(file: &FileRef, from: u64, to: u64) -> std::io::Result<()> {
    let zeros = vec![0u8; ZERO_CHUNK];
    let mut pos = from;
    let mut wrote = false;
    while pos < to {
        let len = usize::try_from((to - pos).min(ZERO_CHUNK as u64)).unwrap_or(ZERO_CHUNK);
        let cur = file.read_at(pos, len)?;
        // A slice compare is a vectorised memcmp; a byte loop here dominated recovery.
        if cur.as_ref() != &zeros[..len] {
            file.write_at(pos, &zeros[..len])?;
            wrote = true;
        }
        pos += len as u64;
    }
    if wrote {
        file.sync_range(from, to - from)?;
    }
    Ok(())
}
