//! Message ids. The offsetMsgId is what the broker returns as `msgId`: store host + commit-log
//! physical offset in uppercase hex (RocketMQ `MessageDecoder.createMessageId`/`decodeMessageId`).
//! The UNIQ_KEY is the client-side id (RocketMQ `MessageClientIDSetter`): IP, pid, a
//! per-process hash, milliseconds since the start of the month and a counter. Time, pid and
//! counter are parameters so that callers (and the simulator) decide where they come from.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use crate::error::{ProtocolError, Result};
use crate::message::host::{put_host, read_host, IPV4_HOST_LEN, IPV6_HOST_LEN};
use crate::reader::Reader;

/// Length of an offsetMsgId with an IPv4 store host.
pub const OFFSET_MSG_ID_V4_LEN: usize = (IPV4_HOST_LEN + 8) * 2;
/// Length of an offsetMsgId with an IPv6 store host.
pub const OFFSET_MSG_ID_V6_LEN: usize = (IPV6_HOST_LEN + 8) * 2;
/// Length of a UNIQ_KEY made on an IPv4 host.
pub const UNIQ_KEY_V4_LEN: usize = (4 + 2 + 4 + 4 + 2) * 2;
/// Length of a UNIQ_KEY made on an IPv6 host.
pub const UNIQ_KEY_V6_LEN: usize = (16 + 2 + 4 + 4 + 2) * 2;

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Uppercase hex, as Java's `UtilAll.bytes2string`.
pub fn to_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0xF)]));
    }
    s
}

/// Parses hex of either case; odd lengths and other characters are errors.
pub fn from_hex(s: &str) -> Result<Vec<u8>> {
    let bad = || ProtocolError::InvalidMsgId(s.to_owned());
    if !s.len().is_multiple_of(2) {
        return Err(bad());
    }
    s.as_bytes()
        .chunks_exact(2)
        .map(|pair| {
            let digit = |c: u8| char::from(c).to_digit(16).ok_or_else(bad);
            match pair {
                [hi, lo] => Ok(((digit(*hi)? << 4) | digit(*lo)?) as u8),
                _ => Err(bad()),
            }
        })
        .collect()
}

/// The offsetMsgId of the record at `physical_offset` stored by `store_host`.
pub fn create_offset_msg_id(store_host: &SocketAddr, physical_offset: i64) -> String {
    let mut raw = Vec::with_capacity(IPV6_HOST_LEN + 8);
    put_host(&mut raw, store_host);
    raw.extend_from_slice(&physical_offset.to_be_bytes());
    to_hex(&raw)
}

/// Splits an offsetMsgId into the store host and the physical offset. Like Java, the length
/// picks the address family (32 chars IPv4, 56 IPv6).
pub fn decode_offset_msg_id(id: &str) -> Result<(SocketAddr, i64)> {
    let v6 = match id.len() {
        OFFSET_MSG_ID_V4_LEN => false,
        OFFSET_MSG_ID_V6_LEN => true,
        _ => return Err(ProtocolError::InvalidMsgId(id.to_owned())),
    };
    let raw = from_hex(id)?;
    let mut r = Reader::new(&raw);
    let host = read_host(&mut r, v6, "offsetMsgId host")
        .map_err(|_| ProtocolError::InvalidMsgId(id.to_owned()))?;
    let offset = r.i64("offsetMsgId offset")?;
    Ok((host, offset))
}

/// The per-process part of a UNIQ_KEY, computed once (like Java's static `FIX_STRING`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqKeyPrefix {
    hex: String,
}

impl UniqKeyPrefix {
    /// `ip` of this client, its `pid` (truncated to int16 as Java does) and a per-process
    /// `hash` (Java uses its class loader's identity hash).
    pub fn new(ip: IpAddr, pid: i16, hash: i32) -> Self {
        let mut raw = Vec::with_capacity(22);
        match ip {
            IpAddr::V4(ip) => raw.extend_from_slice(&ip.octets()),
            IpAddr::V6(ip) => raw.extend_from_slice(&ip.octets()),
        }
        raw.extend_from_slice(&pid.to_be_bytes());
        raw.extend_from_slice(&hash.to_be_bytes());
        Self { hex: to_hex(&raw) }
    }

    /// A key for a message made `elapsed_ms` after the start of the current month (see
    /// [`month_start_utc`]) with the process-wide `counter` (wrapping int16).
    pub fn create(&self, elapsed_ms: i32, counter: i16) -> String {
        let mut s = String::with_capacity(self.hex.len() + 12);
        s.push_str(&self.hex);
        let mut tail = [0u8; 6];
        tail[..4].copy_from_slice(&elapsed_ms.to_be_bytes());
        tail[4..].copy_from_slice(&counter.to_be_bytes());
        for b in tail {
            // Writing into a String cannot fail.
            let _ = write!(s, "{b:02X}");
        }
        s
    }
}

/// The fields of a UNIQ_KEY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UniqKeyParts {
    pub ip: IpAddr,
    pub pid: i16,
    pub hash: i32,
    /// Milliseconds since the start of the month the key was made in.
    pub elapsed_ms: i32,
    pub counter: i16,
}

/// Decodes a UNIQ_KEY (32 hex chars for IPv4 clients, 56 for IPv6).
pub fn decode_uniq_key(key: &str) -> Result<UniqKeyParts> {
    let ip_len = match key.len() {
        UNIQ_KEY_V4_LEN => 4,
        UNIQ_KEY_V6_LEN => 16,
        _ => return Err(ProtocolError::InvalidMsgId(key.to_owned())),
    };
    let raw = from_hex(key)?;
    let mut r = Reader::new(&raw);
    let ip_bytes = r.take(ip_len, "UNIQ_KEY ip")?;
    let ip = if let Ok(a) = <[u8; 4]>::try_from(ip_bytes) {
        IpAddr::from(a)
    } else if let Ok(a) = <[u8; 16]>::try_from(ip_bytes) {
        IpAddr::from(a)
    } else {
        return Err(ProtocolError::InvalidMsgId(key.to_owned()));
    };
    Ok(UniqKeyParts {
        ip,
        pid: r.i16("UNIQ_KEY pid")?,
        hash: r.i32("UNIQ_KEY hash")?,
        elapsed_ms: r.i32("UNIQ_KEY time")?,
        counter: r.i16("UNIQ_KEY counter")?,
    })
}

/// Roughly when a UNIQ_KEY was made, given the current time (Java `getNearlyTimeFromID`, but
/// months in UTC rather than the JVM's zone): the elapsed milliseconds are taken from this
/// month's start, or the previous month's if that would lie in the future.
pub fn uniq_key_nearly_time(parts: &UniqKeyParts, now_ms: i64) -> i64 {
    // Java reads the four bytes as an unsigned span.
    let span = i64::from(parts.elapsed_ms as u32);
    let start = month_start_utc(now_ms);
    if start.saturating_add(span) >= now_ms {
        previous_month_start_utc(now_ms).saturating_add(span)
    } else {
        start.saturating_add(span)
    }
}

const MS_PER_DAY: i64 = 86_400_000;

/// Milliseconds since the epoch of 00:00 UTC on the first day of the month containing `now_ms`.
pub fn month_start_utc(now_ms: i64) -> i64 {
    let (y, m, _) = civil_from_days(now_ms.div_euclid(MS_PER_DAY));
    days_from_civil(y, m, 1).saturating_mul(MS_PER_DAY)
}

/// Like [`month_start_utc`] for the month before.
pub fn previous_month_start_utc(now_ms: i64) -> i64 {
    let (y, m, _) = civil_from_days(now_ms.div_euclid(MS_PER_DAY));
    let (y, m) = if m == 1 { (y - 1, 12) } else { (y, m - 1) };
    days_from_civil(y, m, 1).saturating_mul(MS_PER_DAY)
}

// Howard Hinnant's civil-calendar algorithms (proleptic Gregorian, days since 1970-01-01).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_msg_id_v4() {
        let host: SocketAddr = "10.0.0.1:10911".parse().unwrap();
        let id = create_offset_msg_id(&host, 0x1234);
        assert_eq!(id, "0A00000100002A9F0000000000001234");
        assert_eq!(decode_offset_msg_id(&id).unwrap(), (host, 0x1234));
        assert_eq!(decode_offset_msg_id(&id.to_lowercase()).unwrap(), (host, 0x1234));
        assert!(decode_offset_msg_id("0A00000100002A9F000000000000123").is_err());
        assert!(decode_offset_msg_id("0A00000100002A9F00000000000012XZ").is_err());
    }

    #[test]
    fn uniq_key_layout() {
        let prefix = UniqKeyPrefix::new("192.168.0.2".parse().unwrap(), 0x1234, 0x0A0B0C0D);
        let key = prefix.create(1000, -1);
        assert_eq!(key, "C0A8000212340A0B0C0D000003E8FFFF");
        let parts = decode_uniq_key(&key).unwrap();
        assert_eq!(parts.elapsed_ms, 1000);
        assert_eq!(parts.counter, -1);
        assert_eq!(parts.pid, 0x1234);
    }

    #[test]
    fn month_arithmetic() {
        // 2024-03-15T12:00:00Z
        let now = 1_710_504_000_000;
        assert_eq!(month_start_utc(now), 1_709_251_200_000); // 2024-03-01
        assert_eq!(previous_month_start_utc(now), 1_706_745_600_000); // 2024-02-01
        assert_eq!(previous_month_start_utc(1_704_153_600_000), 1_701_388_800_000); // Jan -> Dec
        let parts = UniqKeyParts {
            ip: "1.2.3.4".parse().unwrap(),
            pid: 1,
            hash: 2,
            elapsed_ms: 1000,
            counter: 3,
        };
        assert_eq!(uniq_key_nearly_time(&parts, now), 1_709_251_201_000);
        let late = UniqKeyParts { elapsed_ms: 20 * 86_400_000, ..parts };
        assert_eq!(uniq_key_nearly_time(&late, now), 1_706_745_600_000 + 20 * 86_400_000);
    }
}
