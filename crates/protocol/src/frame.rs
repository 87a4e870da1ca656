//! Frames: `length i32 | serType(1B) headerLen(3B) | header | body`, where `length` counts
//! everything after itself. Decoding is incremental and checks the declared length against the
//! cap before reserving memory; the body is split off the read buffer without copying.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::command::{RemotingCommand, SerializeType};
use crate::error::{ProtocolError, Result};
use crate::header::binary::{binary_header_len, decode_binary_header, encode_binary_header};
use crate::header::json::{decode_json_header, encode_json_header};
use crate::reader::i32_at;

/// Largest frame, length prefix included (Netty's `frameMaxLength` default, 16 MiB).
pub const MAX_FRAME_LEN: usize = 16 * 1024 * 1024;
/// Largest header the 24-bit header length can describe.
pub const MAX_HEADER_LEN: usize = 0x00FF_FFFF;
/// Length prefix plus the serialize-type/header-length word.
pub const FRAME_PREFIX_LEN: usize = 8;

/// Decodes one frame from the front of `buf`, with the default cap.
pub fn decode_frame(buf: &mut BytesMut) -> Result<Option<RemotingCommand>> {
    decode_frame_with_limit(buf, MAX_FRAME_LEN)
}

/// Decodes one frame from the front of `buf`. `Ok(None)`: not all of it has arrived yet (room
/// for the rest is reserved once the length has passed the check). On error the connection
/// should be closed, as Java does; `buf` is left as it was unless the frame was complete.
pub fn decode_frame_with_limit(
    buf: &mut BytesMut,
    max_frame_len: usize,
) -> Result<Option<RemotingCommand>> {
    let Some(length) = i32_at(buf, 0) else {
        return Ok(None);
    };
    // The rest must hold at least the serialize-type/header-length word.
    let body_and_header = usize::try_from(length)
        .ok()
        .filter(|&l| l >= 4)
        .ok_or(ProtocolError::InvalidFrameLength(length.into()))?;
    let total = body_and_header + 4;
    if total > max_frame_len {
        return Err(ProtocolError::FrameTooLarge { len: total as u64, max: max_frame_len });
    }
    if buf.len() < total {
        buf.reserve(total - buf.len());
        return Ok(None);
    }
    let mut frame = buf.split_to(total).freeze();
    frame.advance(4);
    decode_frame_payload(frame).map(Some)
}

/// Decodes a frame without its length prefix (what Netty's decoder hands on after stripping it).
pub fn decode_frame_payload(mut frame: Bytes) -> Result<RemotingCommand> {
    let frame_len = frame.len();
    let word = i32_at(&frame, 0).ok_or(ProtocolError::Truncated {
        what: "frame header length",
        need: 4,
        have: frame_len,
    })?;
    let type_byte = ((word >> 24) & 0xFF) as u8;
    let header_len = (word & 0x00FF_FFFF) as usize;
    if header_len > frame_len - 4 {
        return Err(ProtocolError::HeaderLengthOutOfRange { header_len, frame_len });
    }
    frame.advance(4);
    let header = frame.split_to(header_len);
    let mut cmd = match SerializeType::from_code(type_byte) {
        Some(SerializeType::Json) => decode_json_header(&header)?,
        Some(SerializeType::RocketMq) => decode_binary_header(&header)?,
        None => return Err(ProtocolError::UnknownSerializeType(type_byte)),
    };
    if !frame.is_empty() {
        cmd.body = Some(frame);
    }
    Ok(cmd)
}

/// Appends a whole frame (header in `cmd.serialize_type`, then the body).
pub fn encode_frame(cmd: &RemotingCommand, out: &mut BytesMut) -> Result<()> {
    let body = cmd.body.as_deref().unwrap_or_default();
    encode_frame_head(cmd, body.len(), out)?;
    out.put_slice(body);
    Ok(())
}

/// Appends the frame up to the end of the header, for a body of `body_len` bytes that the caller
/// sends right after (for instance stored records handed out by the store, written with a
/// vectored write instead of being copied into `out`). `cmd.body` is ignored.
pub fn encode_frame_head(cmd: &RemotingCommand, body_len: usize, out: &mut BytesMut) -> Result<()> {
    let start = out.len();
    // Placeholders for the two prefix words, patched once the header length is known.
    out.put_u64(0);
    let header_start = out.len();
    let encoded = match cmd.serialize_type {
        SerializeType::Json => {
            encode_json_header(cmd, out);
            Ok(())
        }
        SerializeType::RocketMq => {
            out.reserve(binary_header_len(cmd));
            encode_binary_header(cmd, out)
        }
    };
    let header_len = out.len() - header_start;
    let checked = encoded.and_then(|()| {
        if header_len > MAX_HEADER_LEN {
            return Err(ProtocolError::HeaderTooLong(header_len));
        }
        let total = FRAME_PREFIX_LEN + header_len + body_len;
        if total > MAX_FRAME_LEN {
            return Err(ProtocolError::FrameTooLarge { len: total as u64, max: MAX_FRAME_LEN });
        }
        Ok(total)
    });
    match checked {
        Ok(total) => {
            let length = (total - 4) as i32;
            let word = (i32::from(cmd.serialize_type.code()) << 24) | header_len as i32;
            if let Some(prefix) = out.get_mut(start..header_start) {
                prefix[..4].copy_from_slice(&length.to_be_bytes());
                prefix[4..].copy_from_slice(&word.to_be_bytes());
            }
            Ok(())
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

/// The frame as two buffers: everything up to the end of the header, and the body (shared, not
/// copied), for a two-part write.
pub fn encode_frame_parts(cmd: &RemotingCommand) -> Result<(Bytes, Option<Bytes>)> {
    let body_len = cmd.body.as_ref().map_or(0, Bytes::len);
    let mut head = BytesMut::with_capacity(256);
    encode_frame_head(cmd, body_len, &mut head)?;
    Ok((head.freeze(), cmd.body.clone()))
}
