//! Arbitrary bytes fed to the frame decoder, as a peer could send them: it must return frames or
//! errors, never panic, and every frame it accepts must survive a re-encode.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use protocol::header::{binary, json};
use protocol::{decode_frame, encode_frame};

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    while let Ok(Some(cmd)) = decode_frame(&mut buf) {
        let mut out = BytesMut::new();
        if encode_frame(&cmd, &mut out).is_ok() {
            // What we write we must be able to read back.
            assert!(decode_frame(&mut out).is_ok());
        }
    }
    let _ = json::decode_json_header(data);
    let _ = binary::decode_binary_header(data);
});
