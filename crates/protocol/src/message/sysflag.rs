//! The SYSFLAG bits of a message (RocketMQ `MessageSysFlag`, `CompressionType`) and the flags of a
//! pull request (`PullSysFlag`).

/// The body is compressed.
pub const COMPRESSED_FLAG: i32 = 0x1;
/// The broker set this because the topic's filter type is MULTI_TAG.
pub const MULTI_TAGS_FLAG: i32 = 0x2;
/// Transaction type: not a transactional message.
pub const TRANSACTION_NOT_TYPE: i32 = 0;
/// Transaction type: half (prepared) message.
pub const TRANSACTION_PREPARED_TYPE: i32 = 0x4;
/// Transaction type: committed.
pub const TRANSACTION_COMMIT_TYPE: i32 = 0x8;
/// Transaction type: rolled back.
pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0xC;
/// The two bits that hold the transaction type.
pub const TRANSACTION_TYPE_MASK: i32 = 0xC;
/// BORNHOST is an IPv6 address (20 bytes instead of 8).
pub const BORNHOST_V6_FLAG: i32 = 0x10;
/// STOREHOSTADDRESS is an IPv6 address (20 bytes instead of 8).
pub const STOREHOST_V6_FLAG: i32 = 0x20;
/// 5.x batch-consume-queue topics only.
pub const NEED_UNWRAP_FLAG: i32 = 0x40;
/// 5.x batch-consume-queue topics only.
pub const INNER_BATCH_FLAG: i32 = 0x80;
/// Bits 8-10 hold the compression type.
pub const COMPRESSION_TYPE_MASK: i32 = 0x700;
const COMPRESSION_TYPE_SHIFT: u32 = 8;

/// The transaction type bits of `sys_flag`.
pub fn transaction_type(sys_flag: i32) -> i32 {
    sys_flag & TRANSACTION_TYPE_MASK
}

/// `sys_flag` with its transaction type replaced by `ty` (one of the `TRANSACTION_*_TYPE`).
pub fn with_transaction_type(sys_flag: i32, ty: i32) -> i32 {
    (sys_flag & !TRANSACTION_TYPE_MASK) | (ty & TRANSACTION_TYPE_MASK)
}

/// Whether `flag` is set in `sys_flag`.
pub fn has(sys_flag: i32, flag: i32) -> bool {
    sys_flag & flag == flag
}

/// How a compressed body was compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompressionType {
    Lz4,
    Zstd,
    Zlib,
}

impl CompressionType {
    /// The value stored in bits 8-10.
    pub fn value(self) -> i32 {
        match self {
            Self::Lz4 => 1,
            Self::Zstd => 2,
            Self::Zlib => 3,
        }
    }
}

/// The compression type recorded in `sys_flag`. Older clients leave the bits at 0 and always used
/// zlib, so 0 means zlib; unknown values (4-7) are `None`.
pub fn compression_type(sys_flag: i32) -> Option<CompressionType> {
    match (sys_flag & COMPRESSION_TYPE_MASK) >> COMPRESSION_TYPE_SHIFT {
        0 | 3 => Some(CompressionType::Zlib),
        1 => Some(CompressionType::Lz4),
        2 => Some(CompressionType::Zstd),
        _ => None,
    }
}

/// `sys_flag` with its compression type bits replaced.
pub fn with_compression_type(sys_flag: i32, ty: CompressionType) -> i32 {
    (sys_flag & !COMPRESSION_TYPE_MASK) | (ty.value() << COMPRESSION_TYPE_SHIFT)
}

/// Flags of PULL_MESSAGE's `sysFlag` (RocketMQ `PullSysFlag`).
pub mod pull {
    /// Also store `commitOffset` as the group's consumer offset.
    pub const COMMIT_OFFSET: i32 = 0x1;
    /// The broker may hold the request (long polling).
    pub const SUSPEND: i32 = 0x2;
    /// Use the request's `subscription`/`expressionType` instead of heartbeat data.
    pub const SUBSCRIPTION: i32 = 0x4;
    /// Legacy filter-server class filter.
    pub const CLASS_FILTER: i32 = 0x8;
    /// Sent by the lite pull consumer.
    pub const LITE_PULL: i32 = 0x10;

    /// Builds a pull sysFlag the way the Java client does.
    pub fn build(
        commit_offset: bool,
        suspend: bool,
        subscription: bool,
        class_filter: bool,
    ) -> i32 {
        let mut flag = 0;
        if commit_offset {
            flag |= COMMIT_OFFSET;
        }
        if suspend {
            flag |= SUSPEND;
        }
        if subscription {
            flag |= SUBSCRIPTION;
        }
        if class_filter {
            flag |= CLASS_FILTER;
        }
        flag
    }

    /// The same flag without COMMIT_OFFSET (the broker clears it when the offset is not stored).
    pub fn clear_commit_offset(flag: i32) -> i32 {
        flag & !COMMIT_OFFSET
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_type_round_trip() {
        let f =
            with_transaction_type(COMPRESSED_FLAG | BORNHOST_V6_FLAG, TRANSACTION_PREPARED_TYPE);
        assert_eq!(transaction_type(f), TRANSACTION_PREPARED_TYPE);
        assert!(has(f, COMPRESSED_FLAG) && has(f, BORNHOST_V6_FLAG));
        let f = with_transaction_type(f, TRANSACTION_COMMIT_TYPE);
        assert_eq!(transaction_type(f), TRANSACTION_COMMIT_TYPE);
        assert_eq!(with_transaction_type(f, TRANSACTION_NOT_TYPE) & TRANSACTION_TYPE_MASK, 0);
    }

    #[test]
    fn compression_zero_means_zlib() {
        assert_eq!(compression_type(COMPRESSED_FLAG), Some(CompressionType::Zlib));
        assert_eq!(compression_type(0x101), Some(CompressionType::Lz4));
        assert_eq!(compression_type(0x301), Some(CompressionType::Zlib));
        assert_eq!(compression_type(0x401), None);
        assert_eq!(with_compression_type(0x1, CompressionType::Zstd), 0x201);
        assert_eq!(pull::build(true, true, false, false), 0x3);
    }
}
