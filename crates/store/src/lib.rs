//! Apogee's storage engine, RocketMQ's store rebuilt on the `rt::disk` seam (DESIGN.md §4):
//!
//! - [`commit_log`]: every message in arrival order, in fixed-size segments, CRC per record;
//!   `record_encoder` lays the records out and `prefault` warms the pages ahead of the appender.
//! - [`flush`]: ASYNC_FLUSH and SYNC_FLUSH (group commit), and the checkpoint task.
//! - [`dispatch`]: follows the CommitLog and builds the [`consume_queue`]s and the index
//!   ([`index_file`], [`index_service`]), and wakes long polling.
//! - [`recovery`]: normal and abnormal recovery from the [`checkpoint`] and the CRCs.
//! - [`retention`]: deletes expired segments and what only they referenced.
//! - [`message_store`] and [`get_message`]: the API the broker uses.

pub mod checkpoint;
pub mod commit_log;
pub mod config;
pub mod consume_queue;
pub mod consume_queue_table;
pub mod dispatch;
pub mod error;
pub mod filter;
pub mod flush;
pub mod get_message;
pub mod index_file;
pub mod index_service;
pub mod mapped_file_queue;
pub mod message_store;
mod msg_id;
mod prefault;
pub mod record;
mod record_encoder;
pub mod recovery;
pub mod retention;
pub mod status;

pub use config::{FlushDiskType, MessageStoreConfig};
pub use consume_queue::CqEntry;
pub use dispatch::MessageArrivingListener;
pub use error::{Result, StoreError};
pub use filter::{AcceptAll, MessageFilter, TagsCodeFilter};
pub use message_store::MessageStore;
pub use recovery::RecoveryReport;
pub use retention::CleanResult;
pub use status::{
    AppendMessageResult, BoundaryType, GetMessageResult, GetMessageStatus, PutMessageResult,
    PutMessageStatus, QueryMessageResult,
};
