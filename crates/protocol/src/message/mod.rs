//! Message encodings: the stored record (reference §4.1), SYSFLAG bits (§4.2), the properties
//! string (§4.3), batch bodies (§4.4), message ids (§4.5) and the Java string hash of tags.

pub mod batch;
pub mod compression;
pub mod decode;
pub mod host;
pub mod java_hash;
pub mod msg_id;
pub mod properties;
pub mod record;
pub mod sysflag;

pub use batch::{decode_batch, encode_batch, BatchMessage};
pub use decode::{decode_message, decode_messages, MessageExt};
pub use java_hash::{java_string_hash, tags_code, TagFilter};
pub use msg_id::{create_offset_msg_id, decode_offset_msg_id, decode_uniq_key, UniqKeyPrefix};
pub use record::{
    body_crc, MessageExtBrokerInner, MessageVersion, RecordHeader, RecordKind, BLANK_MAGIC,
    MAGIC_V1, MAGIC_V2,
};
