//! How far each delay level has delivered (RocketMQ `ScheduleMessageService.offsetTable`): level
//! → the next queue offset of `SCHEDULE_TOPIC_XXXX` queue level - 1 to deliver. Persisted to
//! `config/delayOffset.json` in RocketMQ's shape (`DelayOffsetSerializeWrapper`:
//! `{"offsetTable":{1:12,...}}`), so a broker's files move between the two.
//!
//! An offset only moves after the message before it has been re-put to its real topic, and the
//! file lags the table by up to one persist interval, so after a crash a level redelivers what
//! it re-put since the last persist (at-least-once), and never skips a message.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use rt::disk::DiskRef;
use serde::{Deserialize, Serialize};

use crate::config_file::{config_path, load_json, persist_json};
use crate::error::Result;

/// File name of the table under `config/`.
pub const DELAY_OFFSET_FILE: &str = "delayOffset.json";

/// The JSON form (RocketMQ `DelayOffsetSerializeWrapper`). RocketMQ 5 adds a `dataVersion`,
/// which is ignored on load and not written: nothing reads it back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DelayOffsetSerializeWrapper {
    #[serde(default)]
    pub offset_table: BTreeMap<i32, i64>,
}

/// The table and its file.
pub struct DelayOffsetTable {
    disk: DiskRef,
    path: PathBuf,
    offset_table: Mutex<BTreeMap<i32, i64>>,
    dirty: AtomicBool,
}

impl std::fmt::Debug for DelayOffsetTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DelayOffsetTable").field("offset_table", &*self.lock()).finish()
    }
}

impl DelayOffsetTable {
    /// Loads `config/delayOffset.json` (an empty table if there is none yet).
    pub fn load(disk: DiskRef) -> Result<Self> {
        let path = config_path(DELAY_OFFSET_FILE);
        let stored: Option<DelayOffsetSerializeWrapper> = load_json(disk.as_ref(), &path)?;
        let table = stored.map(|w| w.offset_table).unwrap_or_default();
        Ok(Self { disk, path, offset_table: Mutex::new(table), dirty: AtomicBool::new(false) })
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<i32, i64>> {
        self.offset_table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next queue offset of `level` (0 if it never delivered).
    pub fn offset(&self, level: i32) -> i64 {
        self.lock().get(&level).copied().unwrap_or(0)
    }

    /// Records that `level` delivered everything before `offset`.
    pub fn update_offset(&self, level: i32, offset: i64) {
        let previous = self.lock().insert(level, offset);
        if previous != Some(offset) {
            self.dirty.store(true, Ordering::Release);
        }
    }

    /// The table in its JSON shape (GET_ALL_DELAY_OFFSET, and the file).
    pub fn wrapper(&self) -> DelayOffsetSerializeWrapper {
        DelayOffsetSerializeWrapper { offset_table: self.lock().clone() }
    }

    /// Writes the file if the table changed since the last write.
    pub fn persist(&self) -> Result<()> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let result = persist_json(self.disk.as_ref(), &self.path, &self.wrapper());
        if result.is_err() {
            // Try again next time rather than believe the file is current.
            self.dirty.store(true, Ordering::Release);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use protocol::body::{fastjson, JsonStyle};
    use rt::disk::{SimDisk, SimDiskConfig};

    use super::*;

    #[test]
    fn json_shape_is_rocketmqs() {
        let mut w = DelayOffsetSerializeWrapper::default();
        w.offset_table.insert(1, 12);
        w.offset_table.insert(18, 0);
        let json = fastjson::to_json(&w, JsonStyle::Legacy).unwrap();
        assert_eq!(std::str::from_utf8(&json).unwrap(), r#"{"offsetTable":{"1":12,"18":0}}"#);
        // A Java broker writes fastjson's unquoted keys and, in 5.x, a dataVersion.
        let java = br#"{"dataVersion":{"counter":3,"timestamp":1},"offsetTable":{1:12,18:0}}"#;
        let back: DelayOffsetSerializeWrapper = fastjson::parse(java).unwrap();
        assert_eq!(back, w);
        let empty: DelayOffsetSerializeWrapper = fastjson::parse(b"{}").unwrap();
        assert!(empty.offset_table.is_empty());
    }

    #[test]
    fn persists_and_reloads() {
        let disk = SimDisk::new(SimDiskConfig::with_seed(1)).as_disk_ref();
        let t = DelayOffsetTable::load(disk.clone()).unwrap();
        assert_eq!(t.offset(3), 0);
        t.update_offset(3, 7);
        t.update_offset(1, 2);
        t.persist().unwrap();
        assert!(!t.dirty.load(Ordering::Acquire));
        let again = DelayOffsetTable::load(disk).unwrap();
        assert_eq!(again.offset(3), 7);
        assert_eq!(again.offset(1), 2);
        assert_eq!(again.wrapper(), t.wrapper());
    }
}
