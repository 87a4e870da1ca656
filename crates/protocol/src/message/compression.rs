//! Body compression as producers apply it and consumers undo it: zlib for bodies of at least
//! 4 KiB, marked by the COMPRESSED bit and the compression type in SYSFLAG. The broker never
//! touches compressed bodies (it stores and serves them as received); this is for clients.

use std::io::{Read, Write};

use bytes::Bytes;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;

use crate::error::{ProtocolError, Result};
use crate::message::sysflag::{self, CompressionType, COMPRESSED_FLAG};

/// Java producers compress bodies at least this long (`compressMsgBodyOverHowmuch`).
pub const COMPRESS_OVER: usize = 4 * 1024;
/// Java's default zlib level.
pub const DEFAULT_ZLIB_LEVEL: u32 = 5;

fn err(e: impl ToString) -> ProtocolError {
    ProtocolError::Compression(e.to_string())
}

/// Compresses `body` with zlib and returns it with the SYSFLAG bits to send.
pub fn compress_zlib(body: &[u8], sys_flag: i32, level: u32) -> Result<(Vec<u8>, i32)> {
    let mut enc = ZlibEncoder::new(Vec::with_capacity(body.len() / 2), Compression::new(level));
    enc.write_all(body).map_err(err)?;
    let out = enc.finish().map_err(err)?;
    let flag = sysflag::with_compression_type(sys_flag | COMPRESSED_FLAG, CompressionType::Zlib);
    Ok((out, flag))
}

/// The body as the producer wrote it: shared as is when SYSFLAG says it is not compressed,
/// inflated (to at most `max_len` bytes) when it is zlib. LZ4 and ZSTD are not supported.
pub fn decompress_body(body: &Bytes, sys_flag: i32, max_len: usize) -> Result<Bytes> {
    if !sysflag::has(sys_flag, COMPRESSED_FLAG) {
        return Ok(body.clone());
    }
    match sysflag::compression_type(sys_flag) {
        Some(CompressionType::Zlib) => {
            let mut out = Vec::new();
            ZlibDecoder::new(&body[..])
                .take(max_len as u64 + 1)
                .read_to_end(&mut out)
                .map_err(err)?;
            if out.len() > max_len {
                return Err(ProtocolError::TooLong {
                    what: "decompressed body",
                    len: out.len(),
                    max: max_len,
                });
            }
            Ok(Bytes::from(out))
        }
        other => Err(ProtocolError::Compression(format!("unsupported compression {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zlib_round_trip_and_limits() {
        let body = vec![b'x'; 10_000];
        let (z, flag) = compress_zlib(&body, 0, DEFAULT_ZLIB_LEVEL).unwrap();
        assert_eq!(flag, 0x301);
        assert!(z.len() < body.len());
        let z = Bytes::from(z);
        assert_eq!(&decompress_body(&z, flag, 1 << 20).unwrap()[..], &body[..]);
        // Older producers leave the type bits at 0, which means zlib.
        assert_eq!(&decompress_body(&z, COMPRESSED_FLAG, 1 << 20).unwrap()[..], &body[..]);
        assert!(decompress_body(&z, flag, 100).is_err());
        assert!(decompress_body(&z, 0x101, 1 << 20).is_err());
        assert!(decompress_body(&Bytes::from_static(b"junk"), flag, 1 << 20).is_err());
        let plain = Bytes::from_static(b"plain");
        assert_eq!(decompress_body(&plain, 0, 1).unwrap(), plain);
    }
}
