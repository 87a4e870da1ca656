//! A view of a disk below one folder, so that several roots (a store, a config folder) can share
//! one simulated node disk without their relative paths colliding.

use std::io;
use std::path::{Component, Path, PathBuf};

use super::{Disk, DiskRef, DiskSpace, FileRef, OpenMode};

/// Every path is taken relative to `prefix` inside `inner`.
#[derive(Debug, Clone)]
pub struct ScopedDisk {
    inner: DiskRef,
    prefix: PathBuf,
}

impl ScopedDisk {
    /// A view of `inner` below `root` (absolute or relative; only its plain components count, so
    /// `/home/rocketmq/store` becomes `home/rocketmq/store`). The folders are created and made
    /// durable, as an installed machine's would long have been: otherwise the first power cut
    /// could take the whole tree with it.
    pub fn new(inner: DiskRef, root: &Path) -> io::Result<Self> {
        let mut prefix = PathBuf::new();
        for part in root.components() {
            match part {
                Component::Normal(p) => prefix.push(p),
                Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
                Component::ParentDir => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("root {} must not contain `..`", root.display()),
                    ))
                }
            }
        }
        super::create_dir_all_durable(&*inner, &prefix)?;
        Ok(Self { inner, prefix })
    }

    fn path(&self, path: &Path) -> PathBuf {
        self.prefix.join(path)
    }
}

impl Disk for ScopedDisk {
    fn open(&self, path: &Path, mode: OpenMode) -> io::Result<FileRef> {
        self.inner.open(&self.path(path), mode)
    }

    fn open_segment(&self, path: &Path, len: u64) -> io::Result<FileRef> {
        self.inner.open_segment(&self.path(path), len)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.inner.exists(&self.path(path))
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.inner.list(&self.path(dir))
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.inner.create_dir_all(&self.path(dir))
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        self.inner.remove(&self.path(path))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(&self.path(from), &self.path(to))
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.inner.sync_dir(&self.path(dir))
    }

    fn space(&self) -> io::Result<DiskSpace> {
        self.inner.space()
    }
}
