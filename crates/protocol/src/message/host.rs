//! Host addresses as records and message ids carry them: the raw IP (4 or 16 bytes) followed by
//! the port as an int32 (Java `ByteBuffer.putInt(port)`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::BufMut;

use crate::error::{ProtocolError, Result};
use crate::reader::Reader;

/// Encoded size of an IPv4 host: 4 address bytes + int32 port.
pub const IPV4_HOST_LEN: usize = 8;
/// Encoded size of an IPv6 host: 16 address bytes + int32 port.
pub const IPV6_HOST_LEN: usize = 20;

/// Encoded size of `addr`.
pub fn host_len(addr: &SocketAddr) -> usize {
    if addr.is_ipv4() {
        IPV4_HOST_LEN
    } else {
        IPV6_HOST_LEN
    }
}

/// Appends the IP bytes and the port.
pub fn put_host(out: &mut impl BufMut, addr: &SocketAddr) {
    match addr.ip() {
        IpAddr::V4(ip) => out.put_slice(&ip.octets()),
        IpAddr::V6(ip) => out.put_slice(&ip.octets()),
    }
    out.put_i32(i32::from(addr.port()));
}

/// Reads a host written by [`put_host`]; `v6` comes from the record's sysflag bits.
pub(crate) fn read_host(r: &mut Reader<'_>, v6: bool, what: &'static str) -> Result<SocketAddr> {
    let ip = if v6 {
        let mut octets = [0u8; 16];
        octets.copy_from_slice(r.take(16, what)?);
        IpAddr::V6(Ipv6Addr::from(octets))
    } else {
        let mut octets = [0u8; 4];
        octets.copy_from_slice(r.take(4, what)?);
        IpAddr::V4(Ipv4Addr::from(octets))
    };
    let port = r.i32(what)?;
    // Java stores the port as an int; anything outside u16 cannot have come from a socket.
    let port = u16::try_from(port)
        .map_err(|_| ProtocolError::InvalidAddress(format!("{what} port {port}")))?;
    Ok(SocketAddr::new(ip, port))
}
