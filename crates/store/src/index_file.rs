//! One IndexFile (RocketMQ `IndexFile`/`IndexHeader`, remoting-protocol §5): a hash index from
//! `topic#key` to CommitLog offsets, with store times, so that messages can be found by key or
//! UNIQ_KEY. Layout: a 40-byte header (beginTimestamp, endTimestamp, beginPhyOffset, endPhyOffset
//! i64; hashSlotCount, indexCount i32), `slots` 4-byte slots holding the newest entry of their
//! bucket, then `entries` 20-byte entries `keyHash i32 | phyOffset i64 | timeDiff i32 (s) |
//! prevIndex i32` chained newest to oldest. Entry 0 is never used (indexCount starts at 1).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rt::disk::{DiskRef, FileRef};

use crate::error::{IoContext, Result, StoreError};
use crate::record::{read_i32, read_i64};

pub const INDEX_HEADER_SIZE: u64 = 40;
const SLOT_SIZE: u64 = 4;
const ENTRY_SIZE: u64 = 20;
/// Index number that means "no entry".
const INVALID_INDEX: i32 = 0;

/// The header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IndexHeader {
    pub begin_timestamp: i64,
    pub end_timestamp: i64,
    pub begin_phy_offset: i64,
    pub end_phy_offset: i64,
    pub hash_slot_count: i32,
    pub index_count: i32,
}

impl IndexHeader {
    fn parse(b: &[u8]) -> Option<Self> {
        Some(Self {
            begin_timestamp: read_i64(b, 0)?,
            end_timestamp: read_i64(b, 8)?,
            begin_phy_offset: read_i64(b, 16)?,
            end_phy_offset: read_i64(b, 24)?,
            hash_slot_count: read_i32(b, 32)?,
            index_count: read_i32(b, 36)?,
        })
    }

    fn encode(&self) -> [u8; INDEX_HEADER_SIZE as usize] {
        let mut out = [0u8; INDEX_HEADER_SIZE as usize];
        out[0..8].copy_from_slice(&self.begin_timestamp.to_be_bytes());
        out[8..16].copy_from_slice(&self.end_timestamp.to_be_bytes());
        out[16..24].copy_from_slice(&self.begin_phy_offset.to_be_bytes());
        out[24..32].copy_from_slice(&self.end_phy_offset.to_be_bytes());
        out[32..36].copy_from_slice(&self.hash_slot_count.to_be_bytes());
        out[36..40].copy_from_slice(&self.index_count.to_be_bytes());
        out
    }
}

/// RocketMQ's key hash: `abs(String.hashCode)`, with `i32::MIN` mapped to 0.
pub fn index_key_hash(h: i32) -> i32 {
    h.checked_abs().unwrap_or(0)
}

/// Result of a put.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexPut {
    Added,
    /// No room: the caller seals this file and starts another.
    Full,
}

/// One index file.
#[derive(Debug)]
pub struct IndexFile {
    path: PathBuf,
    file: FileRef,
    slots: u32,
    entries: u32,
    header: Mutex<IndexHeader>,
}

impl IndexFile {
    /// Bytes of a file with these dimensions.
    pub fn file_size(slots: u32, entries: u32) -> u64 {
        INDEX_HEADER_SIZE + u64::from(slots) * SLOT_SIZE + u64::from(entries) * ENTRY_SIZE
    }

    /// Opens or creates the file at `path`.
    pub fn open(disk: &DiskRef, path: &Path, slots: u32, entries: u32) -> Result<Self> {
        let size = Self::file_size(slots, entries);
        let file = disk.open_segment(path, size).ctx("open index", path)?;
        if file.len() != size {
            return Err(StoreError::Corrupt {
                path: path.to_owned(),
                reason: format!("length {} but the configured size is {size}", file.len()),
            });
        }
        let head = file.read_at(0, INDEX_HEADER_SIZE as usize).ctx("read index header", path)?;
        let mut header = IndexHeader::parse(&head).unwrap_or_default();
        if header.index_count < 1 {
            header.index_count = 1;
        }
        if header.index_count as u64 > u64::from(entries) || header.hash_slot_count < 0 {
            return Err(StoreError::Corrupt {
                path: path.to_owned(),
                reason: format!("header {header:?} does not fit {slots} slots / {entries} entries"),
            });
        }
        Ok(Self { path: path.to_owned(), file, slots, entries, header: Mutex::new(header) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn header(&self) -> IndexHeader {
        *self.header.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn is_full(&self) -> bool {
        self.header().index_count as u64 >= u64::from(self.entries)
    }

    fn slot_pos(&self, key_hash: i32) -> u64 {
        INDEX_HEADER_SIZE + (key_hash as u32 % self.slots) as u64 * SLOT_SIZE
    }

    fn entry_pos(&self, index: i32) -> u64 {
        INDEX_HEADER_SIZE + u64::from(self.slots) * SLOT_SIZE + index as u64 * ENTRY_SIZE
    }

    fn read_slot(&self, key_hash: i32) -> Result<i32> {
        let pos = self.slot_pos(key_hash);
        let b = self.file.read_at(pos, SLOT_SIZE as usize).ctx("read index slot", &self.path)?;
        Ok(read_i32(&b, 0).unwrap_or(INVALID_INDEX))
    }

    /// Adds `key_hash -> phy_offset` stored at `store_timestamp`.
    pub fn put(&self, key_hash: i32, phy_offset: i64, store_timestamp: i64) -> Result<IndexPut> {
        let mut h = self.header.lock().unwrap_or_else(|e| e.into_inner());
        if h.index_count as u64 >= u64::from(self.entries) {
            return Ok(IndexPut::Full);
        }
        let mut slot_value = self.read_slot(key_hash)?;
        if slot_value <= INVALID_INDEX || slot_value > h.index_count {
            slot_value = INVALID_INDEX;
        }
        if h.index_count <= 1 {
            h.begin_timestamp = store_timestamp;
            h.begin_phy_offset = phy_offset;
        }
        let time_diff =
            ((store_timestamp - h.begin_timestamp) / 1000).clamp(0, i64::from(i32::MAX));
        let mut entry = [0u8; ENTRY_SIZE as usize];
        entry[0..4].copy_from_slice(&key_hash.to_be_bytes());
        entry[4..12].copy_from_slice(&phy_offset.to_be_bytes());
        entry[12..16].copy_from_slice(&(time_diff as i32).to_be_bytes());
        entry[16..20].copy_from_slice(&slot_value.to_be_bytes());
        self.file.write_at(self.entry_pos(h.index_count), &entry).ctx("write index", &self.path)?;
        self.file
            .write_at(self.slot_pos(key_hash), &h.index_count.to_be_bytes())
            .ctx("write index slot", &self.path)?;
        if slot_value == INVALID_INDEX {
            h.hash_slot_count += 1;
        }
        h.index_count += 1;
        h.end_phy_offset = phy_offset;
        h.end_timestamp = store_timestamp;
        self.file.write_at(0, &h.encode()).ctx("write index header", &self.path)?;
        Ok(IndexPut::Added)
    }

    /// Whether the file covers any time in `begin..=end`.
    pub fn overlaps(&self, begin: i64, end: i64) -> bool {
        let h = self.header();
        h.index_count > 1 && h.begin_timestamp <= end && begin <= h.end_timestamp
    }

    /// CommitLog offsets of entries for `key_hash` stored in `begin..=end`, newest first, at most
    /// `max` of them added to `out`.
    pub fn select(
        &self,
        key_hash: i32,
        begin: i64,
        end: i64,
        max: usize,
        out: &mut Vec<i64>,
    ) -> Result<()> {
        let h = self.header();
        let mut next = self.read_slot(key_hash)?;
        // Each hop strictly decreases the index, so the walk ends within index_count steps even
        // on a damaged file.
        while next > INVALID_INDEX && next < h.index_count && out.len() < max {
            let b = self
                .file
                .read_at(self.entry_pos(next), ENTRY_SIZE as usize)
                .ctx("read index", &self.path)?;
            let (Some(hash), Some(phy), Some(diff), Some(prev)) =
                (read_i32(&b, 0), read_i64(&b, 4), read_i32(&b, 12), read_i32(&b, 16))
            else {
                break;
            };
            let time = h.begin_timestamp + i64::from(diff) * 1000;
            if hash == key_hash && time >= begin && time <= end {
                out.push(phy);
            }
            if time < begin || prev >= next {
                break;
            }
            next = prev;
        }
        Ok(())
    }

    /// Syncs the file.
    pub fn flush(&self) -> Result<()> {
        self.file.sync().ctx("sync index", &self.path)
    }
}
