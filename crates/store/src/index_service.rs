//! The index files of the store (RocketMQ `IndexService`): keys and UNIQ_KEYs of every record,
//! in files under `index/` named by their creation time (`yyyyMMddHHmmssSSS`). Only the newest
//! file is written; a full file is synced and sealed before the next is created, so every file
//! but the newest is durable.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rt::disk::DiskRef;

use crate::error::{IoContext, Result, StoreError};
use crate::index_file::{index_key_hash, IndexFile, IndexPut};
use crate::record::java_hash_parts;

const INDEX_DIR: &str = "index";
/// A record's keys are separated by spaces in its KEYS property (RocketMQ `KEY_SEPARATOR`).
const KEY_SEPARATOR: char = ' ';

/// Formats ms since the epoch as `yyyyMMddHHmmssSSS` (UTC), RocketMQ's index file name.
pub fn time_to_file_name(millis: i64) -> String {
    let ms = millis.rem_euclid(1000);
    let secs = millis.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}{m:02}{d:02}{:02}{:02}{:02}{ms:03}", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Days since 1970-01-01 to a (year, month, day) date (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Hour of day (UTC) of a time in ms.
pub fn hour_of_day(millis: i64) -> u32 {
    (millis.div_euclid(1000).rem_euclid(86_400) / 3600) as u32
}

/// The store's index files.
#[derive(Debug)]
pub struct IndexService {
    disk: DiskRef,
    slots: u32,
    entries: u32,
    files: RwLock<Vec<Arc<IndexFile>>>,
    /// The newest file was damaged and removed at load: recovery must rebuild what it indexed.
    lost_newest: bool,
}

impl IndexService {
    /// Opens the files in `index/`, oldest first.
    ///
    /// The index is derived from the CommitLog, so a damaged file does not stop the store: it is
    /// removed. Only the newest file can be damaged by a crash (the others were synced when they
    /// were sealed), and recovery rebuilds it ([`IndexService::lost_newest`]). An older damaged
    /// file means the medium lost synced data; its keys stay unfindable (the messages themselves
    /// are intact), and the store says so in its log.
    pub fn load(disk: DiskRef, slots: u32, entries: u32) -> Result<Self> {
        let dir = Path::new(INDEX_DIR);
        let mut files = Vec::new();
        let names: Vec<String> = disk
            .list(dir)
            .ctx("list", dir)?
            .into_iter()
            .filter(|n| n.len() == 17 && n.bytes().all(|b| b.is_ascii_digit()))
            .collect();
        let mut lost_newest = false;
        for (i, name) in names.iter().enumerate() {
            let path = dir.join(name);
            match IndexFile::open(&disk, &path, slots, entries) {
                Ok(file) => files.push(Arc::new(file)),
                Err(StoreError::Corrupt { reason, .. }) => {
                    let newest = i + 1 == names.len();
                    tracing::warn!(
                        path = %path.display(),
                        %reason,
                        rebuilt = newest,
                        "removing a damaged index file"
                    );
                    disk.remove(&path).ctx("remove", &path)?;
                    disk.sync_dir(dir).ctx("sync dir", dir)?;
                    lost_newest |= newest;
                }
                Err(e) => return Err(e),
            }
        }
        let files = RwLock::new(files);
        Ok(Self { disk, slots: slots.max(1), entries: entries.max(2), files, lost_newest })
    }

    /// True if the newest file was damaged and removed at load, so its entries must be rebuilt
    /// even after a clean shutdown.
    pub fn lost_newest(&self) -> bool {
        self.lost_newest
    }

    pub fn files(&self) -> Vec<Arc<IndexFile>> {
        self.files.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Removes the newest file: after a crash its slots may point at entries that never reached
    /// the disk. Returns the CommitLog offset of the last record the remaining files index, so
    /// the caller re-indexes everything after it.
    pub fn drop_unsealed(&self) -> Result<Option<i64>> {
        let mut files = self.files.write().unwrap_or_else(|e| e.into_inner());
        if let Some(last) = files.pop() {
            self.disk.remove(last.path()).ctx("remove", last.path())?;
            let dir = Path::new(INDEX_DIR);
            self.disk.sync_dir(dir).ctx("sync dir", dir)?;
        }
        Ok(files.last().map(|f| f.header().end_phy_offset))
    }

    /// Indexes one record's keys. `keys` is the KEYS property, `uniq_key` the UNIQ_KEY.
    pub fn build_index(
        &self,
        topic: &str,
        keys: Option<&str>,
        uniq_key: Option<&str>,
        phy_offset: i64,
        store_timestamp: i64,
        now_millis: i64,
    ) -> Result<()> {
        if let Some(k) = uniq_key.filter(|k| !k.is_empty()) {
            self.put_key(topic, k, phy_offset, store_timestamp, now_millis)?;
        }
        if let Some(keys) = keys {
            for k in keys.split(KEY_SEPARATOR).filter(|k| !k.is_empty()) {
                self.put_key(topic, k, phy_offset, store_timestamp, now_millis)?;
            }
        }
        Ok(())
    }

    fn put_key(&self, topic: &str, key: &str, phy: i64, ts: i64, now: i64) -> Result<()> {
        let hash = index_key_hash(java_hash_parts(&[topic, "#", key]));
        let file = self.writable_file(now)?;
        if file.put(hash, phy, ts)? == IndexPut::Full {
            // Sealed between our check and the put: seal it and use a new one.
            let file = self.roll(now, Some(&file))?;
            file.put(hash, phy, ts)?;
        }
        Ok(())
    }

    fn writable_file(&self, now: i64) -> Result<Arc<IndexFile>> {
        let last = self.files.read().unwrap_or_else(|e| e.into_inner()).last().cloned();
        match last {
            Some(f) if !f.is_full() => Ok(f),
            other => self.roll(now, other.as_ref()),
        }
    }

    /// Seals `full` (syncs it) and creates the next file, named after `now` but always sorting
    /// after the newest existing name.
    fn roll(&self, now: i64, full: Option<&Arc<IndexFile>>) -> Result<Arc<IndexFile>> {
        if let Some(f) = full {
            f.flush()?;
        }
        let dir = Path::new(INDEX_DIR);
        let mut files = self.files.write().unwrap_or_else(|e| e.into_inner());
        let mut millis = now;
        let newest = files.last().and_then(|f| f.path().file_name()).map(|n| n.to_owned());
        let mut name = time_to_file_name(millis);
        while newest.as_deref().is_some_and(|n| n >= std::ffi::OsStr::new(&name)) {
            millis += 1;
            name = time_to_file_name(millis);
        }
        let path: PathBuf = dir.join(name);
        if files.is_empty() {
            self.disk.create_dir_all(dir).ctx("create dir", dir)?;
            self.disk.sync_dir(Path::new("")).ctx("sync dir", "")?;
        }
        let file = Arc::new(IndexFile::open(&self.disk, &path, self.slots, self.entries)?);
        file.flush()?;
        self.disk.sync_dir(dir).ctx("sync dir", dir)?;
        files.push(Arc::clone(&file));
        Ok(file)
    }

    /// CommitLog offsets of records with `key` on `topic` stored in `begin..=end`, newest first.
    pub fn query(
        &self,
        topic: &str,
        key: &str,
        max: usize,
        begin: i64,
        end: i64,
    ) -> Result<(Vec<i64>, i64, i64)> {
        let hash = index_key_hash(java_hash_parts(&[topic, "#", key]));
        let mut out = Vec::new();
        let files = self.files();
        let (mut last_ts, mut last_phy) = (0, 0);
        if let Some(f) = files.last() {
            let h = f.header();
            (last_ts, last_phy) = (h.end_timestamp, h.end_phy_offset);
        }
        for f in files.iter().rev() {
            if out.len() >= max {
                break;
            }
            if f.overlaps(begin, end) {
                f.select(hash, begin, end, max, &mut out)?;
            }
        }
        Ok((out, last_ts, last_phy))
    }

    /// Syncs the newest file (the others are sealed).
    pub fn flush(&self) -> Result<()> {
        if let Some(f) = self.files().last() {
            f.flush()?;
        }
        Ok(())
    }

    /// Removes files (never the newest) whose every entry points below `min_phy`.
    pub fn delete_expired(&self, min_phy: i64) -> Result<usize> {
        let mut removed = 0;
        let dir = Path::new(INDEX_DIR);
        let mut files = self.files.write().unwrap_or_else(|e| e.into_inner());
        while files.len() > 1 && files.first().is_some_and(|f| f.header().end_phy_offset < min_phy)
        {
            let f = files.remove(0);
            self.disk.remove(f.path()).ctx("remove", f.path())?;
            removed += 1;
        }
        if removed > 0 {
            self.disk.sync_dir(dir).ctx("sync dir", dir)?;
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(time_to_file_name(0), "19700101000000000");
        // 2021-03-04 05:06:07.089 UTC
        assert_eq!(time_to_file_name(1_614_834_367_089), "20210304050607089");
        assert_eq!(hour_of_day(1_614_834_367_089), 5);
    }
}
