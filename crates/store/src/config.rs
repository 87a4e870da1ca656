//! The store's settings, named after RocketMQ's `MessageStoreConfig` properties so that a
//! `broker.conf` written for RocketMQ configures Apogee the same way.

use std::time::Duration;

/// Size of one ConsumeQueue entry: commitLogOffset i64 | size i32 | tagsCode i64.
pub const CQ_STORE_UNIT_SIZE: u64 = 20;

/// How the CommitLog is made durable, and therefore what an acknowledged put promises.
/// RocketMQ property `flushDiskType`, values `ASYNC_FLUSH` / `SYNC_FLUSH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlushDiskType {
    /// `ASYNC_FLUSH`: a put is acknowledged as soon as its bytes are in the CommitLog's page cache;
    /// a background task syncs every `flushIntervalCommitLog`. A crash of the process alone loses
    /// nothing (the page cache survives), a power loss may lose up to one interval of puts.
    /// Consumers may see a record before it is durable.
    #[default]
    AsyncFlush,
    /// `SYNC_FLUSH`: a put is acknowledged only after an fsync that covers its bytes has returned
    /// `Ok`. Concurrent writers share fsyncs (group commit): each fsync serves every writer that
    /// was waiting when it started. A put not covered within `syncFlushTimeout` reports
    /// `FLUSH_DISK_TIMEOUT`; a failed fsync poisons the store, so nothing is acknowledged again
    /// until a restart recovers from the disk. Consumers only see durable records.
    SyncFlush,
}

impl FlushDiskType {
    /// Parses RocketMQ's property value.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            "ASYNC_FLUSH" => Some(Self::AsyncFlush),
            "SYNC_FLUSH" => Some(Self::SyncFlush),
            _ => None,
        }
    }

    /// RocketMQ's property value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AsyncFlush => "ASYNC_FLUSH",
            Self::SyncFlush => "SYNC_FLUSH",
        }
    }
}

/// Settings of the message store. `Default` is RocketMQ's defaults. The root folder
/// (`storePathRootDir`) is not here: the caller hands the store a disk rooted there.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageStoreConfig {
    /// `mapedFileSizeCommitLog` / `mappedFileSizeCommitLog`: bytes per CommitLog segment (1 GiB).
    pub mapped_file_size_commit_log: u64,
    /// `mappedFileSizeConsumeQueue`: bytes per ConsumeQueue file (300,000 entries of 20 bytes).
    /// Rounded up to a whole number of entries.
    pub mapped_file_size_consume_queue: u64,
    /// `flushDiskType`.
    pub flush_disk_type: FlushDiskType,
    /// `flushIntervalCommitLog`: ms between background CommitLog syncs under ASYNC_FLUSH (500).
    pub flush_interval_commit_log: u64,
    /// `flushIntervalConsumeQueue`: ms between ConsumeQueue/index syncs and checkpoints (1000).
    pub flush_interval_consume_queue: u64,
    /// `syncFlushTimeout`: ms a SYNC_FLUSH put waits for its fsync (5000).
    pub sync_flush_timeout: u64,
    /// `fileReservedTime`: hours a CommitLog segment is kept after its last write (72).
    pub file_reserved_time: u64,
    /// `deleteWhen`: hours of the day (local time, as in RocketMQ: see `utc_offset_seconds`) when
    /// expired files are deleted, `"04"` or `"04;05"`.
    pub delete_when: String,
    /// The machine's offset from UTC in seconds (east positive), which makes `deleteWhen` local
    /// time. Not a config-file key: `mqbroker` sets it from the system time zone at start (a
    /// daylight-saving change takes effect at the next start). 0, the default, is UTC.
    pub utc_offset_seconds: i32,
    /// `diskMaxUsedSpaceRatio`: percent of the device in use above which the oldest segments are
    /// deleted whatever their age and the hour (75).
    pub disk_max_used_space_ratio: u32,
    /// `cleanResourceInterval`: ms between retention checks (10000).
    pub clean_resource_interval: u64,
    /// `maxMessageSize`: largest record (or batch) accepted, in bytes (4 MiB).
    pub max_message_size: u32,
    /// `maxTransferCountOnMessageInMemory`: messages per pull when the data is in memory (32).
    pub max_transfer_count_on_message_in_memory: u32,
    /// `maxTransferBytesOnMessageInMemory`: bytes per pull when the data is in memory (256 KiB).
    pub max_transfer_bytes_on_message_in_memory: u64,
    /// `maxTransferCountOnMessageInDisk`: messages per pull when the data is on disk (8).
    pub max_transfer_count_on_message_in_disk: u32,
    /// `maxTransferBytesOnMessageInDisk`: bytes per pull when the data is on disk (64 KiB).
    pub max_transfer_bytes_on_message_in_disk: u64,
    /// `accessMessageInMemoryMaxRatio`: percent of physical memory behind the CommitLog's end
    /// that counts as "in memory" for the transfer limits above (40).
    pub access_message_in_memory_max_ratio: u32,
    /// Physical memory of the host in bytes (RocketMQ reads it from the JVM; the broker passes it).
    pub total_physical_memory_size: u64,
    /// `maxHashSlotNum`: hash slots per IndexFile (5,000,000).
    pub max_hash_slot_num: u32,
    /// `maxIndexNum`: entries per IndexFile (20,000,000).
    pub max_index_num: u32,
    /// `messageIndexEnable`: build the key/UNIQ_KEY index (true).
    pub message_index_enable: bool,
    /// `messageDelayLevel`: delay levels for the schedule topic's ConsumeQueue tags code.
    pub message_delay_level: String,
    /// `enabledAppendPropCRC`: append a `__CRC32#` property holding a CRC of the whole record.
    /// RocketMQ's default is false; Apogee's is true, because the body CRC alone cannot tell a
    /// record whose topic or properties were torn by a power cut from a whole one, and recovery
    /// relies on it to never serve such a record (clients see one extra property).
    pub enabled_append_prop_crc: bool,
}

impl Default for MessageStoreConfig {
    fn default() -> Self {
        Self {
            mapped_file_size_commit_log: 1024 * 1024 * 1024,
            mapped_file_size_consume_queue: 300_000 * CQ_STORE_UNIT_SIZE,
            flush_disk_type: FlushDiskType::AsyncFlush,
            flush_interval_commit_log: 500,
            flush_interval_consume_queue: 1000,
            sync_flush_timeout: 5000,
            file_reserved_time: 72,
            delete_when: "04".to_owned(),
            utc_offset_seconds: 0,
            disk_max_used_space_ratio: 75,
            clean_resource_interval: 10_000,
            max_message_size: 4 * 1024 * 1024,
            max_transfer_count_on_message_in_memory: 32,
            max_transfer_bytes_on_message_in_memory: 256 * 1024,
            max_transfer_count_on_message_in_disk: 8,
            max_transfer_bytes_on_message_in_disk: 64 * 1024,
            access_message_in_memory_max_ratio: 40,
            total_physical_memory_size: 16 * 1024 * 1024 * 1024,
            max_hash_slot_num: 5_000_000,
            max_index_num: 5_000_000 * 4,
            message_index_enable: true,
            message_delay_level: "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"
                .to_owned(),
            enabled_append_prop_crc: true,
        }
    }
}

impl MessageStoreConfig {
    /// ConsumeQueue file size rounded up to whole entries, as RocketMQ does.
    pub fn consume_queue_file_size(&self) -> u64 {
        let units = self.mapped_file_size_consume_queue.div_ceil(CQ_STORE_UNIT_SIZE).max(1);
        units * CQ_STORE_UNIT_SIZE
    }

    pub(crate) fn sync_flush_timeout(&self) -> Duration {
        Duration::from_millis(self.sync_flush_timeout)
    }

    /// Hours of the day listed in `deleteWhen`; unparsable parts are ignored.
    pub fn delete_hours(&self) -> Vec<u32> {
        self.delete_when.split(';').filter_map(|h| h.trim().parse::<u32>().ok()).collect()
    }

    /// Delay of each `messageDelayLevel` level in ms (level 1 is index 0).
    pub fn delay_level_millis(&self) -> Vec<i64> {
        self.message_delay_level
            .split_whitespace()
            .filter_map(|level| {
                let (num, unit) = level.split_at(level.len().saturating_sub(1));
                let n: i64 = num.parse().ok()?;
                let ms = match unit {
                    "s" => 1000,
                    "m" => 60_000,
                    "h" => 3_600_000,
                    "d" => 86_400_000,
                    _ => return None,
                };
                Some(n * ms)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_rocketmq() {
        let c = MessageStoreConfig::default();
        assert_eq!(c.consume_queue_file_size(), 6_000_000);
        assert_eq!(c.delete_hours(), vec![4]);
        assert_eq!(c.delay_level_millis().len(), 18);
        assert_eq!(c.delay_level_millis()[17], 7_200_000);
        assert_eq!(FlushDiskType::parse("SYNC_FLUSH"), Some(FlushDiskType::SyncFlush));
        let c = MessageStoreConfig { mapped_file_size_consume_queue: 33, ..c };
        assert_eq!(c.consume_queue_file_size(), 40);
    }
}
