//! Arbitrary bytes as stored records and batch bodies: decode must never panic, and an accepted
//! record must re-encode to the same bytes.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use protocol::message::{decode_batch, decode_message, decode_messages, RecordHeader};

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    let _ = RecordHeader::parse(data);
    let _ = decode_messages(&bytes);
    let _ = decode_batch(&bytes);
    if let Ok(msg) = decode_message(&bytes, true) {
        let mut out = BytesMut::new();
        // Properties that do not survive a parse (empty pairs, duplicates) legitimately change
        // the bytes, so only the decode of the re-encoding is checked.
        if msg.encode(&mut out).is_ok() {
            let again = decode_message(&out.freeze(), true);
            assert!(again.is_ok());
        }
    }
});
