//! Property tests of frames and the two header serializations.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use protocol::frame::{decode_frame_payload, encode_frame_head};
use protocol::header::binary::decode_binary_header;
use protocol::header::json::decode_json_header;
use protocol::{
    decode_frame, encode_frame, encode_frame_parts, ExtFields, LanguageCode, ProtocolError,
    RemotingCommand, SerializeType, MAX_FRAME_LEN,
};

fn command(binary: bool) -> impl Strategy<Value = RemotingCommand> {
    let small = if binary { i16::MIN as i32..=i16::MAX as i32 } else { i32::MIN..=i32::MAX };
    let remark = if binary {
        prop::option::of(".{1,40}").boxed()
    } else {
        prop::option::of(".{0,40}").boxed()
    };
    let value = if binary { ".{1,30}" } else { ".{0,30}" };
    (
        small.clone(),
        prop::sample::select(LanguageCode::ALL),
        small,
        any::<i32>(),
        any::<i32>(),
        remark,
        prop::collection::btree_map(".{0,20}", value, 0..8),
        prop::option::of(prop::collection::vec(any::<u8>(), 1..2048)),
    )
        .prop_map(move |(code, language, version, opaque, flag, remark, ext, body)| {
            RemotingCommand {
                code,
                language,
                version,
                opaque,
                flag,
                remark,
                ext_fields: ExtFields::from(ext),
                body: body.map(Bytes::from),
                serialize_type: if binary { SerializeType::RocketMq } else { SerializeType::Json },
            }
        })
}

fn any_command() -> impl Strategy<Value = RemotingCommand> {
    prop_oneof![command(false), command(true)]
}

proptest! {
    #[test]
    fn frame_round_trip(cmd in any_command()) {
        let mut buf = BytesMut::new();
        encode_frame(&cmd, &mut buf).unwrap();
        let decoded = decode_frame(&mut buf).unwrap().unwrap();
        prop_assert!(buf.is_empty());
        prop_assert_eq!(decoded, cmd);
    }

    #[test]
    fn frames_decode_incrementally(cmds in prop::collection::vec(any_command(), 1..4), chunk in 1usize..64) {
        let mut wire = BytesMut::new();
        for cmd in &cmds {
            encode_frame(cmd, &mut wire).unwrap();
        }
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for piece in wire.chunks(chunk) {
            buf.extend_from_slice(piece);
            while let Some(cmd) = decode_frame(&mut buf).unwrap() {
                got.push(cmd);
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(got, cmds);
    }

    #[test]
    fn parts_equal_whole(cmd in any_command()) {
        let mut whole = BytesMut::new();
        encode_frame(&cmd, &mut whole).unwrap();
        let (head, body) = encode_frame_parts(&cmd).unwrap();
        let mut joined = head.to_vec();
        joined.extend_from_slice(body.as_deref().unwrap_or_default());
        prop_assert_eq!(&joined[..], &whole[..]);
    }

    #[test]
    fn frame_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut buf = BytesMut::from(&bytes[..]);
        while let Ok(Some(_)) = decode_frame(&mut buf) {}
        let _ = decode_frame_payload(Bytes::from(bytes));
    }

    #[test]
    fn framed_garbage_never_panics(ty in 0u8..3, header in prop::collection::vec(any::<u8>(), 0..256), body in prop::collection::vec(any::<u8>(), 0..16)) {
        let mut buf = BytesMut::new();
        let len = (4 + header.len() + body.len()) as i32;
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(&((i32::from(ty) << 24) | header.len() as i32).to_be_bytes());
        buf.extend_from_slice(&header);
        buf.extend_from_slice(&body);
        let _ = decode_frame(&mut buf);
    }

    #[test]
    fn header_decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_json_header(&bytes);
        let _ = decode_binary_header(&bytes);
    }

    #[test]
    fn json_header_decoder_never_panics_on_text(s in "\\{.{0,200}") {
        let _ = decode_json_header(s.as_bytes());
    }
}

#[test]
fn oversize_length_is_rejected_before_allocating() {
    let mut buf = BytesMut::with_capacity(8);
    buf.extend_from_slice(&(MAX_FRAME_LEN as i32 - 3).to_be_bytes());
    assert!(matches!(decode_frame(&mut buf), Err(ProtocolError::FrameTooLarge { .. })));
    assert!(buf.capacity() < 1024);
    let mut buf = BytesMut::from(&(-1i32).to_be_bytes()[..]);
    assert!(decode_frame(&mut buf).is_err());
    let mut buf = BytesMut::from(&3i32.to_be_bytes()[..]);
    assert!(decode_frame(&mut buf).is_err());
    // The largest legal frame is merely incomplete.
    let mut buf = BytesMut::from(&(MAX_FRAME_LEN as i32 - 4).to_be_bytes()[..]);
    assert!(matches!(decode_frame(&mut buf), Ok(None)));
}

#[test]
fn oversize_frames_and_codes_are_not_encoded() {
    let mut cmd = RemotingCommand::new_request(10).with_body(vec![0u8; MAX_FRAME_LEN]);
    let mut out = BytesMut::new();
    assert!(encode_frame(&cmd, &mut out).is_err());
    assert!(out.is_empty());
    cmd.body = None;
    cmd.code = 200_050;
    cmd.serialize_type = SerializeType::RocketMq;
    assert!(encode_frame(&cmd, &mut out).is_err());
    assert!(out.is_empty());
    assert!(encode_frame_head(&cmd, 0, &mut out).is_err());
}

#[test]
fn header_length_past_frame_end_is_an_error() {
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&8i32.to_be_bytes());
    buf.extend_from_slice(&5i32.to_be_bytes());
    buf.extend_from_slice(b"{}{}");
    assert!(matches!(decode_frame(&mut buf), Err(ProtocolError::HeaderLengthOutOfRange { .. })));
}
