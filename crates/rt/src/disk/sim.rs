//! Placeholder: the simulated disk is being written; see the rt helper's work.
use super::{Disk, DiskSpace, FileRef, OpenMode};
use std::io;
use std::path::Path;

#[derive(Debug, Clone, Default)]
pub struct SimDiskConfig {}

#[derive(Debug, Default)]
pub struct SimDisk {}

impl Disk for SimDisk {
    fn open(&self, _: &Path, _: OpenMode) -> io::Result<FileRef> { Err(io::Error::other("todo")) }
    fn open_segment(&self, _: &Path, _: u64) -> io::Result<FileRef> { Err(io::Error::other("todo")) }
    fn exists(&self, _: &Path) -> io::Result<bool> { Ok(false) }
    fn list(&self, _: &Path) -> io::Result<Vec<String>> { Ok(vec![]) }
    fn create_dir_all(&self, _: &Path) -> io::Result<()> { Ok(()) }
    fn remove(&self, _: &Path) -> io::Result<()> { Ok(()) }
    fn rename(&self, _: &Path, _: &Path) -> io::Result<()> { Ok(()) }
    fn sync_dir(&self, _: &Path) -> io::Result<()> { Ok(()) }
    fn space(&self) -> io::Result<DiskSpace> { Ok(DiskSpace { total_bytes: 0, available_bytes: 0 }) }
}
