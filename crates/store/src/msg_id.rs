//! The offsetMsgId a put returns (store host and physical offset in uppercase hex, RocketMQ
//! `MessageDecoder.createMessageId`), written straight into the result string. The protocol
//! crate's `create_offset_msg_id` builds a byte vector and then a string per id, which showed in
//! the put profile as two allocations and a byte-at-a-time formatting loop per message.

use std::net::{IpAddr, SocketAddr};

const HEX: &[u8; 16] = b"0123456789ABCDEF";
/// Longest raw id: an IPv6 address, the port as an int32, the offset as an int64.
const MAX_RAW_LEN: usize = 16 + 4 + 8;
/// Characters of the longest id.
pub(crate) const MAX_MSG_ID_LEN: usize = MAX_RAW_LEN * 2;

/// Appends the offsetMsgId of the record at `offset` stored by `store_host` to `out`.
pub(crate) fn push_offset_msg_id(out: &mut String, store_host: &SocketAddr, offset: i64) {
    let mut raw = [0u8; MAX_RAW_LEN];
    let ip_len = match store_host.ip() {
        IpAddr::V4(ip) => {
            raw[..4].copy_from_slice(&ip.octets());
            4
        }
        IpAddr::V6(ip) => {
            raw[..16].copy_from_slice(&ip.octets());
            16
        }
    };
    raw[ip_len..ip_len + 4].copy_from_slice(&i32::from(store_host.port()).to_be_bytes());
    raw[ip_len + 4..ip_len + 12].copy_from_slice(&offset.to_be_bytes());
    let mut hex = [0u8; MAX_MSG_ID_LEN];
    let len = ip_len + 12;
    for (i, b) in raw[..len].iter().enumerate() {
        hex[2 * i] = HEX[usize::from(b >> 4)];
        hex[2 * i + 1] = HEX[usize::from(b & 0xF)];
    }
    // Every byte is an ASCII hex digit, so this is always `Ok`.
    if let Ok(hex) = std::str::from_utf8(&hex[..2 * len]) {
        out.push_str(hex);
    }
}

#[cfg(test)]
mod tests {
    use protocol::message::create_offset_msg_id;

    use super::*;

    #[test]
    fn same_ids_as_the_protocol_crate() {
        for host in ["10.0.0.1:10911", "[fe80::1:2]:65535", "0.0.0.0:0"] {
            let host: SocketAddr = host.parse().expect("addr");
            for offset in [0i64, 1, 4096, i64::MAX, -1] {
                let mut s = String::from("x");
                push_offset_msg_id(&mut s, &host, offset);
                assert_eq!(s[1..], create_offset_msg_id(&host, offset));
                assert!(s.len() - 1 <= MAX_MSG_ID_LEN);
            }
        }
    }
}
