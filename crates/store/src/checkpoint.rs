//! The checkpoint (RocketMQ `StoreCheckpoint`): how far each derived structure is known durable,
//! so recovery re-checks and rebuilds only what lies beyond. Besides RocketMQ's three timestamps
//! it records CommitLog offsets, which recovery can act on exactly:
//! - `physic_offset`: every CommitLog byte below it was synced.
//! - `logics_offset`: every ConsumeQueue entry for a record below it was synced (with its file
//!   and folder names).
//! - `index_offset`: every index entry for a record below it was synced.
//!
//! The file is replaced atomically (`write_file_atomic`) and carries a CRC, so a crash leaves the
//! old or the new checkpoint, and a damaged one is treated as absent (recovery then rebuilds from
//! the start of the CommitLog, which is slow but correct).
//!
//! The `abort` marker exists while the store runs; finding it at start means the last run did
//! not shut down cleanly.

use std::path::Path;

use rt::disk::{read_file, write_file_atomic, Disk, OpenMode};

use crate::error::{IoContext, Result};
use crate::record::{read_i32, read_i64};

pub const CHECKPOINT_FILE: &str = "checkpoint";
pub const ABORT_FILE: &str = "abort";
const MAGIC: i32 = 0x4150_434B; // "APCK"
const VERSION: i32 = 1;
const LEN: usize = 4 + 4 + 6 * 8 + 4;

/// The durable watermarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoreCheckpoint {
    pub physic_msg_timestamp: i64,
    pub logics_msg_timestamp: i64,
    pub index_msg_timestamp: i64,
    pub physic_offset: i64,
    pub logics_offset: i64,
    pub index_offset: i64,
}

impl StoreCheckpoint {
    fn encode(&self) -> [u8; LEN] {
        let mut out = [0u8; LEN];
        out[0..4].copy_from_slice(&MAGIC.to_be_bytes());
        out[4..8].copy_from_slice(&VERSION.to_be_bytes());
        let fields = [
            self.physic_msg_timestamp,
            self.logics_msg_timestamp,
            self.index_msg_timestamp,
            self.physic_offset,
            self.logics_offset,
            self.index_offset,
        ];
        for (i, v) in fields.iter().enumerate() {
            out[8 + i * 8..16 + i * 8].copy_from_slice(&v.to_be_bytes());
        }
        let crc = crc32fast::hash(&out[..LEN - 4]);
        out[LEN - 4..].copy_from_slice(&crc.to_be_bytes());
        out
    }

    fn parse(b: &[u8]) -> Option<Self> {
        if b.len() != LEN || read_i32(b, 0)? != MAGIC || read_i32(b, 4)? != VERSION {
            return None;
        }
        if crc32fast::hash(&b[..LEN - 4]) as i32 != read_i32(b, LEN - 4)? {
            return None;
        }
        Some(Self {
            physic_msg_timestamp: read_i64(b, 8)?,
            logics_msg_timestamp: read_i64(b, 16)?,
            index_msg_timestamp: read_i64(b, 24)?,
            physic_offset: read_i64(b, 32)?,
            logics_offset: read_i64(b, 40)?,
            index_offset: read_i64(b, 48)?,
        })
    }

    /// Reads the checkpoint; `None` if missing or damaged.
    pub fn load(disk: &dyn Disk) -> Result<Option<Self>> {
        let path = Path::new(CHECKPOINT_FILE);
        let data = read_file(disk, path).ctx("read", path)?;
        Ok(data.and_then(|b| Self::parse(&b)))
    }

    /// Replaces the checkpoint durably.
    pub fn store(&self, disk: &dyn Disk) -> Result<()> {
        let path = Path::new(CHECKPOINT_FILE);
        write_file_atomic(disk, path, &self.encode()).ctx("write", path)
    }
}

/// True if the abort marker is present (the previous run crashed).
pub fn abort_file_exists(disk: &dyn Disk) -> Result<bool> {
    disk.exists(Path::new(ABORT_FILE)).ctx("stat", ABORT_FILE)
}

/// Creates the abort marker durably.
pub fn create_abort_file(disk: &dyn Disk) -> Result<()> {
    let path = Path::new(ABORT_FILE);
    let f = disk.open(path, OpenMode::CreateIfMissing).ctx("create", path)?;
    f.sync().ctx("sync", path)?;
    disk.sync_dir(Path::new("")).ctx("sync dir", "")
}

/// Removes the abort marker durably (clean shutdown).
pub fn remove_abort_file(disk: &dyn Disk) -> Result<()> {
    let path = Path::new(ABORT_FILE);
    if disk.exists(path).ctx("stat", path)? {
        disk.remove(path).ctx("remove", path)?;
        disk.sync_dir(Path::new("")).ctx("sync dir", "")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let c = StoreCheckpoint {
            physic_offset: 7,
            logics_offset: 5,
            index_offset: 3,
            ..Default::default()
        };
        let mut b = c.encode();
        assert_eq!(StoreCheckpoint::parse(&b), Some(c));
        b[40] ^= 1;
        assert_eq!(StoreCheckpoint::parse(&b), None);
    }
}
