//! Result types of puts and gets, with RocketMQ's status names.

use bytes::Bytes;

/// Outcome of a put (RocketMQ `PutMessageStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutMessageStatus {
    PutOk,
    FlushDiskTimeout,
    FlushSlaveTimeout,
    SlaveNotAvailable,
    /// The store is shut down, or poisoned by a failed fsync (see `MessageStore::poison_reason`).
    ServiceNotAvailable,
    CreateMappedFileFailed,
    MessageIllegal,
    PropertiesSizeExceeded,
    OsPageCacheBusy,
    UnknownError,
}

impl PutMessageStatus {
    /// RocketMQ's name of the status.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PutOk => "PUT_OK",
            Self::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
            Self::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
            Self::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
            Self::ServiceNotAvailable => "SERVICE_NOT_AVAILABLE",
            Self::CreateMappedFileFailed => "CREATE_MAPPED_FILE_FAILED",
            Self::MessageIllegal => "MESSAGE_ILLEGAL",
            Self::PropertiesSizeExceeded => "PROPERTIES_SIZE_EXCEEDED",
            Self::OsPageCacheBusy => "OS_PAGE_CACHE_BUSY",
            Self::UnknownError => "UNKNOWN_ERROR",
        }
    }

    /// True when the record is stored (it may still be unconfirmed by flush or slave).
    pub fn is_stored(self) -> bool {
        matches!(
            self,
            Self::PutOk
                | Self::FlushDiskTimeout
                | Self::FlushSlaveTimeout
                | Self::SlaveNotAvailable
        )
    }
}

/// Where and how a put was appended (RocketMQ `AppendMessageResult`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppendMessageResult {
    /// CommitLog offset of the first record written.
    pub wrote_offset: i64,
    /// Bytes written (all records of a batch).
    pub wrote_bytes: i32,
    /// offsetMsgId: store host + physical offset in upper-case hex; comma-joined for a batch.
    pub msg_id: String,
    /// Store timestamp stamped into the records, ms.
    pub store_timestamp: i64,
    /// Queue offset of the first record.
    pub logics_offset: i64,
    /// Number of records written.
    pub msg_num: i32,
}

/// Outcome of a put (RocketMQ `PutMessageResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutMessageResult {
    pub status: PutMessageStatus,
    /// Present when the records were appended.
    pub append: Option<AppendMessageResult>,
}

impl PutMessageResult {
    pub(crate) fn failed(status: PutMessageStatus) -> Self {
        Self { status, append: None }
    }

    /// True for PUT_OK.
    pub fn is_ok(&self) -> bool {
        self.status == PutMessageStatus::PutOk
    }
}

/// Outcome of a read from a ConsumeQueue (RocketMQ `GetMessageStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetMessageStatus {
    Found,
    NoMatchedMessage,
    MessageWasRemoving,
    OffsetFoundNull,
    OffsetOverflowBadly,
    OffsetOverflowOne,
    OffsetTooSmall,
    NoMatchedLogicQueue,
    NoMessageInQueue,
}

impl GetMessageStatus {
    /// RocketMQ's name of the status.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Found => "FOUND",
            Self::NoMatchedMessage => "NO_MATCHED_MESSAGE",
            Self::MessageWasRemoving => "MESSAGE_WAS_REMOVING",
            Self::OffsetFoundNull => "OFFSET_FOUND_NULL",
            Self::OffsetOverflowBadly => "OFFSET_OVERFLOW_BADLY",
            Self::OffsetOverflowOne => "OFFSET_OVERFLOW_ONE",
            Self::OffsetTooSmall => "OFFSET_TOO_SMALL",
            Self::NoMatchedLogicQueue => "NO_MATCHED_LOGIC_QUEUE",
            Self::NoMessageInQueue => "NO_MESSAGE_IN_QUEUE",
        }
    }
}

/// Records found by a read, as zero-copy views of the CommitLog (RocketMQ `GetMessageResult`).
#[derive(Debug, Clone)]
pub struct GetMessageResult {
    pub status: GetMessageStatus,
    pub next_begin_offset: i64,
    pub min_offset: i64,
    pub max_offset: i64,
    /// One stored record per element, in queue order.
    pub messages: Vec<Bytes>,
    /// Queue offset of each element of `messages`.
    pub message_queue_offsets: Vec<i64>,
    /// Sum of the lengths of `messages`.
    pub buffer_total_size: usize,
    /// The reader is far behind the CommitLog's end (RocketMQ `suggestPullingFromSlave`).
    pub suggest_pulling_from_slave: bool,
}

impl GetMessageResult {
    pub(crate) fn new(status: GetMessageStatus, next_begin_offset: i64) -> Self {
        Self {
            status,
            next_begin_offset,
            min_offset: 0,
            max_offset: 0,
            messages: Vec::new(),
            message_queue_offsets: Vec::new(),
            buffer_total_size: 0,
            suggest_pulling_from_slave: false,
        }
    }

    /// Number of records found.
    pub fn message_count(&self) -> usize {
        self.messages.len()
    }
}

/// Records found by a key query (RocketMQ `QueryMessageResult`).
#[derive(Debug, Clone, Default)]
pub struct QueryMessageResult {
    pub messages: Vec<Bytes>,
    /// End timestamp of the newest index file consulted.
    pub index_last_update_timestamp: i64,
    /// Last physical offset indexed by the newest index file consulted.
    pub index_last_update_phyoffset: i64,
}

/// Boundary for offset-by-time lookups when several messages share a timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BoundaryType {
    /// The first message stored at or after the time.
    #[default]
    Lower,
    /// The last message stored at or before the time.
    Upper,
}
