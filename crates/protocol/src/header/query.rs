//! QUERY_MESSAGE (12) and VIEW_MESSAGE_BY_ID (33) headers.

use crate::header::command_header;

command_header! {
    /// QUERY_MESSAGE request: messages of `topic` indexed under `key` in a time range.
    pub struct QueryMessageRequestHeader {
        topic: String = "topic",
        key: String = "key",
        max_num: i32 = "maxNum",
        begin_timestamp: i64 = "beginTimestamp",
        end_timestamp: i64 = "endTimestamp",
        /// Look the key up as a UNIQ_KEY rather than a KEYS entry.
        unique_key_query: Option<bool> = "_UNIQUE_KEY_QUERY",
        broker_name: Option<String> = "bname",
    }
}

command_header! {
    /// QUERY_MESSAGE response.
    pub struct QueryMessageResponseHeader {
        index_last_update_timestamp: i64 = "indexLastUpdateTimestamp",
        index_last_update_phyoffset: i64 = "indexLastUpdatePhyoffset",
    }
}

command_header! {
    /// VIEW_MESSAGE_BY_ID request: the record at a CommitLog physical offset.
    pub struct ViewMessageRequestHeader {
        offset: i64 = "offset",
        topic: Option<String> = "topic",
        broker_name: Option<String> = "bname",
    }
}
