//! The one error type of the crate. Every malformed input becomes one of these values; nothing
//! that came off the wire or out of a file may panic.

/// Why encoding or decoding failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A frame's declared length exceeds the configured cap (checked before any allocation).
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge { len: u64, max: usize },
    /// A frame's length prefix cannot describe a valid frame.
    #[error("invalid frame length {0}")]
    InvalidFrameLength(i64),
    /// The header length inside a frame points past the frame's end.
    #[error("header length {header_len} does not fit in a frame of {frame_len} bytes")]
    HeaderLengthOutOfRange { header_len: usize, frame_len: usize },
    /// The serialization type byte is neither JSON (0) nor ROCKETMQ (1).
    #[error("unknown serialize type {0}")]
    UnknownSerializeType(u8),
    /// A header is longer than the 24 bits the frame can describe.
    #[error("header of {0} bytes is longer than a frame can carry")]
    HeaderTooLong(usize),
    /// Bytes ran out before a field could be read.
    #[error("truncated {what}: need {need} bytes, have {have}")]
    Truncated { what: &'static str, need: usize, have: usize },
    /// A length field is negative or otherwise impossible.
    #[error("invalid length {len} for {what}")]
    InvalidLength { what: &'static str, len: i64 },
    /// Text that must be UTF-8 is not.
    #[error("{0} is not valid UTF-8")]
    InvalidUtf8(&'static str),
    /// The JSON command header could not be parsed.
    #[error("invalid JSON header: {0}")]
    InvalidJsonHeader(String),
    /// A value cannot be carried by the ROCKETMQ binary header (code and version are int16).
    #[error("{what} {value} does not fit the ROCKETMQ binary header")]
    NotBinaryEncodable { what: &'static str, value: i64 },
    /// A required `extFields` key is absent.
    #[error("missing required header field `{0}`")]
    MissingField(String),
    /// An `extFields` value does not parse as the header field's type.
    #[error("invalid value {value:?} for header field `{key}`: {reason}")]
    InvalidField { key: String, value: String, reason: String },
    /// The record's magic code is not one of the known message magic codes.
    #[error("unknown message magic code {0:#010x}")]
    BadMagic(i32),
    /// The record's fields do not add up to its TOTALSIZE.
    #[error("record size mismatch: TOTALSIZE {declared}, fields end at {actual}")]
    RecordSizeMismatch { declared: usize, actual: usize },
    /// The body CRC stored in a record does not match its body.
    #[error("body CRC mismatch: stored {stored:#x}, computed {computed:#x}")]
    BodyCrcMismatch { stored: u32, computed: u32 },
    /// A field is longer than its length prefix can express.
    #[error("{what} of {len} bytes exceeds the limit of {max}")]
    TooLong { what: &'static str, len: usize, max: usize },
    /// A message property name or value contains a separator character.
    #[error("message property {0:?} contains a reserved separator character")]
    InvalidProperty(String),
    /// A message id string is malformed.
    #[error("invalid message id {0:?}")]
    InvalidMsgId(String),
    /// A host address is not representable (e.g. a negative port).
    #[error("invalid host address: {0}")]
    InvalidAddress(String),
    /// A JSON body could not be parsed or written.
    #[error("invalid JSON body: {0}")]
    Json(String),
    /// A compressed body could not be inflated or is malformed.
    #[error("invalid compressed body: {0}")]
    Compression(String),
}

/// Shorthand used throughout the crate.
pub type Result<T, E = ProtocolError> = std::result::Result<T, E>;
