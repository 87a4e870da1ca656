//! Reads `broker.conf` (RocketMQ's property keys) into a [`BrokerConfig`] and a
//! [`MessageStoreConfig`]. A malformed value is an error naming the file, line and key; an
//! unknown key is a warning with its line, not a silent no-op.

use std::net::IpAddr;
use std::path::PathBuf;

use remoting::{ConfigError, Properties};
use store::{FlushDiskType, MessageStoreConfig};

use crate::broker_config::{BrokerConfig, BrokerRole};
use crate::schedule::DelayLevelTable;

/// RocketMQ keys that are accepted but have no effect here (thread pools, features handled
/// elsewhere or not at all); they are logged at start, not reported as unknown.
const IGNORED_KEYS: &[&str] = &[
    "brokerIP2",
    "haListenPort",
    "sendMessageThreadPoolNums",
    "pullMessageThreadPoolNums",
    "queryMessageThreadPoolNums",
    "adminBrokerThreadPoolNums",
    "clientManageThreadPoolNums",
    "consumerManageThreadPoolNums",
    "heartbeatThreadPoolNums",
    "endTransactionThreadPoolNums",
    "useReentrantLockWhenPutMessage",
    "waitTimeMillsInSendQueue",
    "waitTimeMillsInPullQueue",
    "transientStorePoolEnable",
    "slaveReadEnable",
    "aclEnable",
    "enablePropertyFilter",
    "rejectTransactionMessage",
    "fetchNamesrvAddrByAddressServer",
    "storePathCommitLog",
    "storePathConsumeQueue",
    "storePathIndex",
    "storeCheckpoint",
    "abortFile",
    "messageStorePlugIn",
    "enableDLegerCommitLog",
    "traceTopicEnable",
    "msgTraceTopicName",
    "timerWheelEnable",
    "enableControllerMode",
    "controllerAddr",
];

/// Both configs read from one file.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedConfig {
    pub broker: BrokerConfig,
    pub store: MessageStoreConfig,
    /// Keys that are neither known nor ignored, with their lines.
    pub unknown_keys: Vec<(usize, String)>,
    /// Known RocketMQ keys that have no effect here, with their lines.
    pub ignored_keys: Vec<(usize, String)>,
}

/// Every key this broker reads.
pub const KNOWN_KEYS: &[&str] = &[
    "brokerClusterName",
    "brokerName",
    "brokerId",
    "brokerRole",
    "listenPort",
    "brokerIP1",
    "namesrvAddr",
    "storePathRootDir",
    "brokerPermission",
    "autoCreateTopicEnable",
    "autoCreateSubscriptionGroup",
    "defaultTopicQueueNums",
    "clusterTopicEnable",
    "brokerTopicEnable",
    "registerNameServerPeriod",
    "registerBrokerTimeoutMills",
    "longPollingEnable",
    "shortPollingTimeMills",
    "flushConsumerOffsetInterval",
    "channelExpiredTimeout",
    "flushDelayOffsetInterval",
    "maxHeldPullRequests",
    "defaultQueryMaxNum",
    "traceOn",
    "regionId",
    "flushDiskType",
    "fileReservedTime",
    "deleteWhen",
    "mapedFileSizeCommitLog",
    "mappedFileSizeCommitLog",
    "mapedFileSizeConsumeQueue",
    "mappedFileSizeConsumeQueue",
    "flushIntervalCommitLog",
    "flushIntervalConsumeQueue",
    "syncFlushTimeout",
    "diskMaxUsedSpaceRatio",
    "cleanResourceInterval",
    "maxMessageSize",
    "maxTransferCountOnMessageInMemory",
    "maxTransferBytesOnMessageInMemory",
    "maxTransferCountOnMessageInDisk",
    "maxTransferBytesOnMessageInDisk",
    "accessMessageInMemoryMaxRatio",
    "maxHashSlotNum",
    "maxIndexNum",
    "messageIndexEnable",
    "messageDelayLevel",
];

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

/// Reads both configs from parsed properties.
pub fn load(p: &Properties) -> Result<LoadedConfig, ConfigError> {
    let mut b = BrokerConfig::default();
    let mut s = MessageStoreConfig::default();
    let string = |k: &str| p.get_str(k).map(|v| v.map(str::to_owned));
    set(&mut b.broker_cluster_name, string("brokerClusterName")?);
    set(&mut b.broker_name, string("brokerName")?);
    set(&mut b.broker_id, p.get_i64("brokerId")?);
    set(
        &mut b.broker_role,
        p.get_with("brokerRole", |v| {
            BrokerRole::parse(v)
                .ok_or_else(|| "expected ASYNC_MASTER, SYNC_MASTER or SLAVE".to_owned())
        })?,
    );
    set(&mut b.listen_port, p.get_u16("listenPort")?);
    set(
        &mut b.broker_ip1,
        p.get_with("brokerIP1", |v| {
            v.parse::<IpAddr>().map_err(|_| format!("{v:?} is not an IP address"))
        })?,
    );
    if let Some(v) = p.get_str("namesrvAddr")? {
        b.namesrv_addr = BrokerConfig::parse_namesrv_addr(v);
    }
    set(&mut b.store_path_root_dir, string("storePathRootDir")?.map(PathBuf::from));
    set(&mut b.broker_permission, p.get_i32("brokerPermission")?);
    set(&mut b.auto_create_topic_enable, p.get_bool("autoCreateTopicEnable")?);
    set(&mut b.auto_create_subscription_group, p.get_bool("autoCreateSubscriptionGroup")?);
    set(&mut b.default_topic_queue_nums, p.get_i32("defaultTopicQueueNums")?);
    set(&mut b.cluster_topic_enable, p.get_bool("clusterTopicEnable")?);
    set(&mut b.broker_topic_enable, p.get_bool("brokerTopicEnable")?);
    set(&mut b.register_name_server_period, p.get_u64("registerNameServerPeriod")?);
    set(&mut b.register_broker_timeout_mills, p.get_u64("registerBrokerTimeoutMills")?);
    set(&mut b.long_polling_enable, p.get_bool("longPollingEnable")?);
    set(&mut b.short_polling_time_mills, p.get_u64("shortPollingTimeMills")?);
    set(&mut b.flush_consumer_offset_interval, p.get_u64("flushConsumerOffsetInterval")?);
    set(&mut b.channel_expired_timeout, p.get_u64("channelExpiredTimeout")?);
    set(&mut b.flush_delay_offset_interval, p.get_u64("flushDelayOffsetInterval")?);
    set(&mut b.max_held_pull_requests, p.get_u64("maxHeldPullRequests")?.map(|n| n as usize));
    set(&mut b.default_query_max_num, p.get_i32("defaultQueryMaxNum")?);
    set(&mut b.trace_on, p.get_bool("traceOn")?);
    set(&mut b.region_id, string("regionId")?);

    set(
        &mut s.flush_disk_type,
        p.get_with("flushDiskType", |v| {
            FlushDiskType::parse(v).ok_or_else(|| "expected ASYNC_FLUSH or SYNC_FLUSH".to_owned())
        })?,
    );
    set(&mut s.file_reserved_time, p.get_u64("fileReservedTime")?);
    if let Some(v) = p.get_str("deleteWhen")? {
        if v.split(';').any(|h| h.trim().parse::<u32>().map_or(true, |h| h > 23)) {
            return Err(p.error("deleteWhen", format!("{v:?} is not hours 0-23 separated by ';'")));
        }
        s.delete_when = v.to_owned();
    }
    // RocketMQ's historical misspelling and the corrected key both work.
    set(&mut s.mapped_file_size_commit_log, p.get_u64("mapedFileSizeCommitLog")?);
    set(&mut s.mapped_file_size_commit_log, p.get_u64("mappedFileSizeCommitLog")?);
    set(&mut s.mapped_file_size_consume_queue, p.get_u64("mapedFileSizeConsumeQueue")?);
    set(&mut s.mapped_file_size_consume_queue, p.get_u64("mappedFileSizeConsumeQueue")?);
    set(&mut s.flush_interval_commit_log, p.get_u64("flushIntervalCommitLog")?);
    set(&mut s.flush_interval_consume_queue, p.get_u64("flushIntervalConsumeQueue")?);
    set(&mut s.sync_flush_timeout, p.get_u64("syncFlushTimeout")?);
    set(&mut s.disk_max_used_space_ratio, p.get_u32("diskMaxUsedSpaceRatio")?);
    set(&mut s.clean_resource_interval, p.get_u64("cleanResourceInterval")?);
    set(&mut s.max_message_size, p.get_u32("maxMessageSize")?);
    set(
        &mut s.max_transfer_count_on_message_in_memory,
        p.get_u32("maxTransferCountOnMessageInMemory")?,
    );
    set(
        &mut s.max_transfer_bytes_on_message_in_memory,
        p.get_u64("maxTransferBytesOnMessageInMemory")?,
    );
    set(
        &mut s.max_transfer_count_on_message_in_disk,
        p.get_u32("maxTransferCountOnMessageInDisk")?,
    );
    set(
        &mut s.max_transfer_bytes_on_message_in_disk,
        p.get_u64("maxTransferBytesOnMessageInDisk")?,
    );
    set(&mut s.access_message_in_memory_max_ratio, p.get_u32("accessMessageInMemoryMaxRatio")?);
    set(&mut s.max_hash_slot_num, p.get_u32("maxHashSlotNum")?);
    set(&mut s.max_index_num, p.get_u32("maxIndexNum")?);
    set(&mut s.message_index_enable, p.get_bool("messageIndexEnable")?);
    // Read by the store (the schedule queues' tags codes) and by the schedule service; checked
    // here so that a bad level is reported with its line rather than silently dropped.
    set(
        &mut s.message_delay_level,
        p.get_with("messageDelayLevel", |v| {
            DelayLevelTable::parse(v).map(|_| v.trim().to_owned())
        })?,
    );

    if let Err(message) = b.validate() {
        let key = message.split_whitespace().next().unwrap_or("broker.conf").to_owned();
        return Err(p.error(&key, message));
    }
    let unknown: Vec<(usize, String)> = p.unknown_keys(KNOWN_KEYS);
    let (ignored_keys, unknown_keys) =
        unknown.into_iter().partition(|(_, k)| IGNORED_KEYS.contains(&k.as_str()));
    Ok(LoadedConfig { broker: b, store: s, unknown_keys, ignored_keys })
}

/// Every setting with its current value, RocketMQ key names (`mqbroker -p`).
pub fn config_items(b: &BrokerConfig, s: &MessageStoreConfig) -> Vec<(&'static str, String)> {
    vec![
        ("brokerClusterName", b.broker_cluster_name.clone()),
        ("brokerName", b.broker_name.clone()),
        ("brokerId", b.broker_id.to_string()),
        ("brokerRole", b.broker_role.as_str().to_owned()),
        ("listenPort", b.listen_port.to_string()),
        ("brokerIP1", b.broker_ip1.to_string()),
        ("namesrvAddr", b.namesrv_addr.join(";")),
        ("storePathRootDir", b.store_path_root_dir.display().to_string()),
        ("brokerPermission", b.broker_permission.to_string()),
        ("autoCreateTopicEnable", b.auto_create_topic_enable.to_string()),
        ("autoCreateSubscriptionGroup", b.auto_create_subscription_group.to_string()),
        ("defaultTopicQueueNums", b.default_topic_queue_nums.to_string()),
        ("clusterTopicEnable", b.cluster_topic_enable.to_string()),
        ("brokerTopicEnable", b.broker_topic_enable.to_string()),
        ("registerNameServerPeriod", b.register_name_server_period.to_string()),
        ("registerBrokerTimeoutMills", b.register_broker_timeout_mills.to_string()),
        ("longPollingEnable", b.long_polling_enable.to_string()),
        ("shortPollingTimeMills", b.short_polling_time_mills.to_string()),
        ("flushConsumerOffsetInterval", b.flush_consumer_offset_interval.to_string()),
        ("channelExpiredTimeout", b.channel_expired_timeout.to_string()),
        ("flushDelayOffsetInterval", b.flush_delay_offset_interval.to_string()),
        ("maxHeldPullRequests", b.max_held_pull_requests.to_string()),
        ("defaultQueryMaxNum", b.default_query_max_num.to_string()),
        ("traceOn", b.trace_on.to_string()),
        ("regionId", b.region_id.clone()),
        ("flushDiskType", s.flush_disk_type.as_str().to_owned()),
        ("fileReservedTime", s.file_reserved_time.to_string()),
        ("deleteWhen", s.delete_when.clone()),
        ("mappedFileSizeCommitLog", s.mapped_file_size_commit_log.to_string()),
        ("mappedFileSizeConsumeQueue", s.mapped_file_size_consume_queue.to_string()),
        ("flushIntervalCommitLog", s.flush_interval_commit_log.to_string()),
        ("flushIntervalConsumeQueue", s.flush_interval_consume_queue.to_string()),
        ("syncFlushTimeout", s.sync_flush_timeout.to_string()),
        ("diskMaxUsedSpaceRatio", s.disk_max_used_space_ratio.to_string()),
        ("cleanResourceInterval", s.clean_resource_interval.to_string()),
        ("maxMessageSize", s.max_message_size.to_string()),
        (
            "maxTransferCountOnMessageInMemory",
            s.max_transfer_count_on_message_in_memory.to_string(),
        ),
        (
            "maxTransferBytesOnMessageInMemory",
            s.max_transfer_bytes_on_message_in_memory.to_string(),
        ),
        ("maxTransferCountOnMessageInDisk", s.max_transfer_count_on_message_in_disk.to_string()),
        ("maxTransferBytesOnMessageInDisk", s.max_transfer_bytes_on_message_in_disk.to_string()),
        ("accessMessageInMemoryMaxRatio", s.access_message_in_memory_max_ratio.to_string()),
        ("maxHashSlotNum", s.max_hash_slot_num.to_string()),
        ("maxIndexNum", s.max_index_num.to_string()),
        ("messageIndexEnable", s.message_index_enable.to_string()),
        ("messageDelayLevel", s.message_delay_level.clone()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rocketmq_keys_and_reports_problems() {
        let text = "brokerClusterName=C\nbrokerName = b\nbrokerId=0\nlistenPort=10921\n\
                    namesrvAddr=127.0.0.1:9876;10.0.0.2:9876\nflushDiskType=SYNC_FLUSH\n\
                    mapedFileSizeCommitLog=1048576\ndeleteWhen=04\nautoCreateTopicEnable=false\n\
                    haListenPort=10912\nbogusKey=1\n";
        let p = Properties::parse(text, "broker.conf").unwrap();
        let c = load(&p).unwrap();
        assert_eq!(c.broker.broker_cluster_name, "C");
        assert_eq!(c.broker.listen_port, 10921);
        assert_eq!(c.broker.namesrv_addr.len(), 2);
        assert!(!c.broker.auto_create_topic_enable);
        assert_eq!(c.store.flush_disk_type, FlushDiskType::SyncFlush);
        assert_eq!(c.store.mapped_file_size_commit_log, 1_048_576);
        assert_eq!(c.unknown_keys, vec![(11, "bogusKey".to_owned())]);
        assert_eq!(c.ignored_keys, vec![(10, "haListenPort".to_owned())]);

        let bad = Properties::parse("brokerName=b\nlistenPort=abc\n", "broker.conf").unwrap();
        let e = load(&bad).unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (2, "listenPort"));
        assert!(e.to_string().starts_with("broker.conf:2: listenPort"), "{e}");
        let bad = Properties::parse("\nflushDiskType=FAST\n", "b.conf").unwrap();
        assert_eq!(load(&bad).unwrap_err().line, 2);
        let bad = Properties::parse("deleteWhen=25\n", "b.conf").unwrap();
        assert!(load(&bad).is_err());
        let bad = Properties::parse("brokerName=b\n\nmessageDelayLevel=1s 5x\n", "b.conf").unwrap();
        let e = load(&bad).unwrap_err();
        assert_eq!((e.line, e.key.as_str()), (3, "messageDelayLevel"));
        assert!(e.to_string().starts_with("b.conf:3: messageDelayLevel"), "{e}");
        let ok =
            Properties::parse("messageDelayLevel=1s 2s\nflushDelayOffsetInterval=500\n", "b.conf")
                .unwrap();
        let ok = load(&ok).unwrap();
        assert_eq!(ok.store.message_delay_level, "1s 2s");
        assert_eq!(ok.broker.flush_delay_offset_interval, 500);
        let items = config_items(&c.broker, &c.store);
        assert!(items.iter().any(|(k, v)| *k == "brokerName" && v == "b"));
    }
}
