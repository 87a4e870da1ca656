//! [`SendResult`] and [`SendStatus`] as RocketMQ defines them, and the mapping from a send
//! response (codes 0/10/11/12 are results, every other code an error).

use protocol::header::SendMessageResponseHeader;
use protocol::{RemotingCommand, ResponseCode};

use crate::error::{MQClientError, Result};
use crate::message::MessageQueue;

/// How far the broker got with a stored message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SendStatus {
    /// Stored (and flushed/replicated as the broker's mode promises).
    SendOk,
    /// Stored, but the synchronous flush timed out.
    FlushDiskTimeout,
    /// Stored, but replication to the slave timed out.
    FlushSlaveTimeout,
    /// Stored, but no slave is available to replicate to.
    SlaveNotAvailable,
}

impl SendStatus {
    /// The status for a send response code; `None` for codes that are errors.
    pub fn from_response_code(code: i32) -> Option<Self> {
        match code {
            ResponseCode::SUCCESS => Some(Self::SendOk),
            ResponseCode::FLUSH_DISK_TIMEOUT => Some(Self::FlushDiskTimeout),
            ResponseCode::FLUSH_SLAVE_TIMEOUT => Some(Self::FlushSlaveTimeout),
            ResponseCode::SLAVE_NOT_AVAILABLE => Some(Self::SlaveNotAvailable),
            _ => None,
        }
    }
}

/// The outcome of a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    pub send_status: SendStatus,
    /// The client's UNIQ_KEY (comma-joined for a batch).
    pub msg_id: String,
    /// The broker's id: store host + commit-log offset (comma-joined for a batch).
    pub offset_msg_id: String,
    pub message_queue: MessageQueue,
    /// Queue offset of the (first) message.
    pub queue_offset: i64,
    pub transaction_id: Option<String>,
    pub region_id: String,
    pub trace_on: bool,
}

/// The region a broker that names none is in.
pub const DEFAULT_REGION: &str = "DefaultRegion";

/// Maps a send response: the result for codes 0/10/11/12, the broker's error otherwise.
pub(crate) fn process_send_response(
    addr: &str,
    broker_name: &str,
    topic: &str,
    msg_id: &str,
    resp: &RemotingCommand,
) -> Result<SendResult> {
    let Some(send_status) = SendStatus::from_response_code(resp.code) else {
        return Err(MQClientError::broker(addr, resp));
    };
    let h: SendMessageResponseHeader = resp.decode_header()?;
    Ok(SendResult {
        send_status,
        msg_id: msg_id.to_owned(),
        offset_msg_id: h.msg_id,
        message_queue: MessageQueue {
            topic: topic.to_owned(),
            broker_name: broker_name.to_owned(),
            queue_id: h.queue_id,
        },
        queue_offset: h.queue_offset,
        transaction_id: h.transaction_id,
        region_id: h.msg_region.unwrap_or_else(|| DEFAULT_REGION.to_owned()),
        trace_on: h.trace_on.as_deref() != Some("false"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(code: i32) -> RemotingCommand {
        let h = SendMessageResponseHeader {
            msg_id: "0A00000100002A9F0000000000001234".into(),
            queue_id: 3,
            queue_offset: 42,
            ..Default::default()
        };
        RemotingCommand::response(code, Some("remark".into())).with_header(&h)
    }

    #[test]
    fn codes_map_to_statuses_or_errors() {
        for (code, status) in [
            (0, SendStatus::SendOk),
            (10, SendStatus::FlushDiskTimeout),
            (11, SendStatus::SlaveNotAvailable),
            (12, SendStatus::FlushSlaveTimeout),
        ] {
            let r = process_send_response("a:1", "b", "T", "UNIQ", &response(code)).unwrap();
            assert_eq!(r.send_status, status);
            assert_eq!(r.msg_id, "UNIQ");
            assert_eq!(r.offset_msg_id, "0A00000100002A9F0000000000001234");
            assert_eq!(r.message_queue.queue_id, 3);
            assert_eq!(r.message_queue.broker_name, "b");
            assert_eq!(r.queue_offset, 42);
            assert_eq!(r.region_id, DEFAULT_REGION);
        }
        for code in [1, 2, 14, 17, 13] {
            let e = process_send_response("a:1", "b", "T", "U", &response(code)).unwrap_err();
            assert_eq!(e.response_code(), Some(code));
            assert!(e.to_string().contains("remark"), "{e}");
        }
        // A success without the required fields is a decode error, not a panic.
        let bare = RemotingCommand::response(0, None);
        assert!(process_send_response("a:1", "b", "T", "U", &bare).is_err());
    }
}
