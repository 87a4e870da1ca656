//! Reading the CommitLog record layout (remoting-protocol §4.1) where the store needs it: the
//! recovery scan (is this a whole, untorn record written at this very position?) and the
//! dispatcher (what goes into the ConsumeQueue and the index). RocketMQ does the same in
//! `CommitLog.checkMessageAndReturnSize`; this parser works on the stored bytes in place and
//! allocates nothing, so recovery runs at the speed of reading and CRC-checking the log.

/// First magic code: topic length is one byte.
pub const MAGIC_V1: i32 = 0xDAA3_20A7_u32 as i32;
/// Second magic code: topic length is two bytes.
pub const MAGIC_V2: i32 = 0xDAA3_20AB_u32 as i32;
/// Magic of the blank record that fills the end of a segment.
pub const BLANK_MAGIC: i32 = 0xCBD4_3194_u32 as i32;
/// A segment always has room for a blank record's TOTALSIZE and MAGIC.
pub const END_FILE_MIN_BLANK_LENGTH: u64 = 8;

pub const POS_TOTAL_SIZE: usize = 0;
pub const POS_MAGIC: usize = 4;
pub const POS_BODY_CRC: usize = 8;
pub const POS_QUEUE_ID: usize = 12;
pub const POS_QUEUE_OFFSET: usize = 20;
pub const POS_PHYSICAL_OFFSET: usize = 28;
pub const POS_SYS_FLAG: usize = 36;
pub const POS_BORN_HOST: usize = 48;

const BORNHOST_V6_FLAG: i32 = 0x10;
const STOREHOST_V6_FLAG: i32 = 0x20;
const TRANSACTION_TYPE_MASK: i32 = 0xC;
/// Half (prepared) message of a transaction.
pub const TRANSACTION_PREPARED_TYPE: i32 = 0x4;
/// Rolled-back transaction message.
pub const TRANSACTION_ROLLBACK_TYPE: i32 = 0xC;
/// Smallest possible record: the fixed fields with empty body, topic and properties.
pub const MIN_RECORD_SIZE: usize = 91;

const PROPERTY_SEPARATOR: u8 = 0x02;
const NAME_VALUE_SEPARATOR: u8 = 0x01;
/// The schedule topic, whose ConsumeQueue tags code is the delivery time.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";

/// Offset of STORETIMESTAMP in a record with these sys flags.
pub fn store_timestamp_pos(sys_flag: i32) -> usize {
    POS_BORN_HOST + host_len(sys_flag, BORNHOST_V6_FLAG)
}

fn host_len(sys_flag: i32, v6_flag: i32) -> usize {
    if sys_flag & v6_flag != 0 {
        20
    } else {
        8
    }
}

/// True for prepared and rolled-back transaction records, which take no queue offset and never
/// reach a ConsumeQueue (RocketMQ `CommitLog` / `CommitLogDispatcherBuildConsumeQueue`).
pub fn is_prepared_or_rollback(sys_flag: i32) -> bool {
    matches!(
        sys_flag & TRANSACTION_TYPE_MASK,
        TRANSACTION_PREPARED_TYPE | TRANSACTION_ROLLBACK_TYPE
    )
}

pub fn read_i32(b: &[u8], pos: usize) -> Option<i32> {
    b.get(pos..pos + 4).and_then(|s| s.try_into().ok()).map(i32::from_be_bytes)
}

pub fn read_i64(b: &[u8], pos: usize) -> Option<i64> {
    b.get(pos..pos + 8).and_then(|s| s.try_into().ok()).map(i64::from_be_bytes)
}

fn read_u16(b: &[u8], pos: usize) -> Option<usize> {
    b.get(pos..pos + 2).and_then(|s| s.try_into().ok()).map(|v| usize::from(u16::from_be_bytes(v)))
}

/// Overwrites the big-endian i64 at `pos` (used to stamp offsets into an encoded record).
pub fn put_i64(b: &mut [u8], pos: usize, v: i64) {
    if let Some(dst) = b.get_mut(pos..pos + 8) {
        dst.copy_from_slice(&v.to_be_bytes());
    }
}

/// RocketMQ's body CRC: CRC32 masked to a non-negative int.
pub fn body_crc(body: &[u8]) -> i32 {
    (crc32fast::hash(body) & 0x7FFF_FFFF) as i32
}

/// The fields of one record the store acts on, borrowed from the stored bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordView<'a> {
    pub total_size: usize,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub physical_offset: i64,
    pub sys_flag: i32,
    pub store_timestamp: i64,
    pub body_crc: i32,
    pub body: &'a [u8],
    pub topic: &'a str,
    pub properties: &'a [u8],
}

/// Name of the property that carries a CRC of the whole record (RocketMQ `__CRC32#`, written when
/// `enabledAppendPropCRC` is on).
pub const PROPERTY_CRC32: &[u8] = b"__CRC32#";
/// Bytes the CRC property takes at the end of the properties: name, separator, 10 digits,
/// separator.
pub const PROP_CRC_LEN: usize = 8 + 1 + 10 + 1;

/// CRC over a record's bytes before its CRC property, masked like the body CRC.
pub fn record_crc(rec_without_crc_prop: &[u8]) -> u32 {
    crc32fast::hash(rec_without_crc_prop) & 0x7FFF_FFFF
}

/// Writes the CRC property's 10 digits as RocketMQ does: least significant digit first.
pub fn put_crc_digits(dst: &mut [u8], mut crc: u32) {
    for d in dst.iter_mut().take(10) {
        *d = b'0' + (crc % 10) as u8;
        crc /= 10;
    }
}

/// The CRC stored in a record's trailing CRC property, if the record has one.
pub fn stored_record_crc(rec: &[u8]) -> Option<u32> {
    let tail = rec.get(rec.len().checked_sub(PROP_CRC_LEN)?..)?;
    if &tail[..8] != PROPERTY_CRC32
        || tail[8] != NAME_VALUE_SEPARATOR
        || tail[19] != PROPERTY_SEPARATOR
    {
        return None;
    }
    let mut crc: u64 = 0;
    for &d in tail[9..19].iter().rev() {
        if !d.is_ascii_digit() {
            return None;
        }
        crc = crc * 10 + u64::from(d - b'0');
    }
    u32::try_from(crc).ok()
}

/// How much of a record [`check_record`] verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrcCheck {
    /// Layout only (the store's own fresh writes).
    None,
    /// The body CRC, and the whole-record CRC property when present.
    Body,
    /// The body CRC and a whole-record CRC property, which must be present: without it a torn
    /// write inside the topic or properties could pass as a record.
    Full,
}

/// Why bytes are not a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordCheck<'a> {
    /// A whole record.
    Record(RecordView<'a>),
    /// The end-of-segment blank record; the segment continues in the next file.
    Blank,
    /// Not a record (zeros, garbage, torn or stale bytes).
    Invalid(&'static str),
}

/// Parses the record at the start of `b` (which may extend past the record). With `verify_crc`
/// the body CRC is checked too. `expected_offset` is the position the record was read from: a
/// record whose PHYSICALOFFSET differs is stale bytes from an earlier life of the file.
pub fn check_record(b: &[u8], expected_offset: Option<i64>, crc: CrcCheck) -> RecordCheck<'_> {
    let (Some(total), Some(magic)) = (read_i32(b, POS_TOTAL_SIZE), read_i32(b, POS_MAGIC)) else {
        return RecordCheck::Invalid("short header");
    };
    if magic == BLANK_MAGIC {
        return RecordCheck::Blank;
    }
    if magic != MAGIC_V1 && magic != MAGIC_V2 {
        return RecordCheck::Invalid("bad magic");
    }
    let Ok(total_size) = usize::try_from(total) else {
        return RecordCheck::Invalid("negative size");
    };
    if total_size < MIN_RECORD_SIZE || total_size > b.len() {
        return RecordCheck::Invalid("size out of range");
    }
    let rec = &b[..total_size];
    match parse_fields(rec, magic) {
        Some(view) => {
            if let Some(expected) = expected_offset {
                if view.physical_offset != expected {
                    return RecordCheck::Invalid("physical offset mismatch");
                }
            }
            if crc != CrcCheck::None {
                // The record CRC covers the body and the stored BODYCRC too, so when it is
                // present and matches, a second pass over the body adds nothing.
                match stored_record_crc(rec) {
                    Some(stored) if record_crc(&rec[..rec.len() - PROP_CRC_LEN]) != stored => {
                        return RecordCheck::Invalid("record crc mismatch");
                    }
                    Some(_) => {}
                    None if crc == CrcCheck::Full => {
                        return RecordCheck::Invalid("record crc property missing")
                    }
                    None => {
                        if body_crc(view.body) != view.body_crc {
                            return RecordCheck::Invalid("body crc mismatch");
                        }
                    }
                }
            }
            RecordCheck::Record(view)
        }
        None => RecordCheck::Invalid("fields do not add up to the size"),
    }
}

fn parse_fields(rec: &[u8], magic: i32) -> Option<RecordView<'_>> {
    let sys_flag = read_i32(rec, POS_SYS_FLAG)?;
    let ts_pos = store_timestamp_pos(sys_flag);
    let store_timestamp = read_i64(rec, ts_pos)?;
    let mut pos = ts_pos + 8 + host_len(sys_flag, STOREHOST_V6_FLAG) + 4 + 8;
    let body_len = usize::try_from(read_i32(rec, pos)?).ok()?;
    pos += 4;
    let body = rec.get(pos..pos.checked_add(body_len)?)?;
    pos += body_len;
    let topic_len = if magic == MAGIC_V2 {
        let l = read_u16(rec, pos)?;
        pos += 2;
        l
    } else {
        let l = usize::from(*rec.get(pos)?);
        pos += 1;
        l
    };
    let topic = std::str::from_utf8(rec.get(pos..pos + topic_len)?).ok()?;
    pos += topic_len;
    let props_len = read_u16(rec, pos)?;
    pos += 2;
    let properties = rec.get(pos..pos + props_len)?;
    pos += props_len;
    if pos != rec.len() {
        return None;
    }
    Some(RecordView {
        total_size: rec.len(),
        queue_id: read_i32(rec, POS_QUEUE_ID)?,
        queue_offset: read_i64(rec, POS_QUEUE_OFFSET)?,
        physical_offset: read_i64(rec, POS_PHYSICAL_OFFSET)?,
        sys_flag,
        store_timestamp,
        body_crc: read_i32(rec, POS_BODY_CRC)?,
        body,
        topic,
        properties,
    })
}

impl<'a> RecordView<'a> {
    /// The value of property `name`, if present and valid UTF-8.
    pub fn property(&self, name: &str) -> Option<&'a str> {
        property(self.properties, name)
    }
}

/// Looks a property up in the wire form `name\u0001value\u0002...` without allocating.
pub fn property<'a>(props: &'a [u8], name: &str) -> Option<&'a str> {
    props.split(|b| *b == PROPERTY_SEPARATOR).find_map(|pair| {
        let split = pair.iter().position(|b| *b == NAME_VALUE_SEPARATOR)?;
        let (k, v) = pair.split_at(split);
        if k == name.as_bytes() {
            std::str::from_utf8(&v[1..]).ok().filter(|v| !v.is_empty())
        } else {
            None
        }
    })
}

/// Java `String.hashCode` of the concatenation of `parts`, over UTF-16 units, wrapping.
pub fn java_hash_parts(parts: &[&str]) -> i32 {
    parts
        .iter()
        .flat_map(|p| p.encode_utf16())
        .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_lookup() {
        let props = b"KEYS\x01a b\x02TAGS\x01TagA\x02UNIQ_KEY\x01ABC\x02";
        assert_eq!(property(props, "TAGS"), Some("TagA"));
        assert_eq!(property(props, "KEYS"), Some("a b"));
        assert_eq!(property(props, "UNIQ_KEY"), Some("ABC"));
        assert_eq!(property(props, "WAIT"), None);
        assert_eq!(property(b"", "TAGS"), None);
        assert_eq!(java_hash_parts(&["Tag", "A"]), 2598919);
        assert_eq!(MIN_RECORD_SIZE, 91);
    }

    #[test]
    fn garbage_is_invalid() {
        assert!(matches!(check_record(&[0u8; 200], None, CrcCheck::Full), RecordCheck::Invalid(_)));
        assert!(matches!(check_record(&[1u8; 3], None, CrcCheck::Full), RecordCheck::Invalid(_)));
        let mut blank = vec![0u8; 16];
        blank[4..8].copy_from_slice(&BLANK_MAGIC.to_be_bytes());
        assert_eq!(check_record(&blank, None, CrcCheck::Full), RecordCheck::Blank);
        let mut digits = [0u8; 10];
        put_crc_digits(&mut digits, 1234567890);
        assert_eq!(&digits, b"0987654321");
        let mut rec = b"xx__CRC32#\x01".to_vec();
        rec.extend_from_slice(&digits);
        rec.push(0x02);
        assert_eq!(stored_record_crc(&rec), Some(1234567890));
    }
}
