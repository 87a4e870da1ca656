//! Running one incoming request: the in-flight bound, the processor lookup, and turning the
//! processor's answer into a response on the same connection.

use std::sync::atomic::Ordering;

use protocol::{RemotingCommand, ResponseCode, ResponseSerialization, SerializeType};
use tracing::{debug, error, warn};

use crate::channel::Channel;
use crate::processor::run_guarded;

/// Starts processing `request` in its own task, so that a slow request never holds up the
/// others on its connection. Beyond the connection's in-flight bound the request is answered
/// SYSTEM_BUSY at once (one-way requests are dropped).
pub(crate) fn dispatch_request(channel: &Channel, request: RemotingCommand) {
    let limit = channel.shared.ctx.config.max_in_flight_requests;
    let before = channel.shared.in_flight.fetch_add(1, Ordering::AcqRel);
    let slot = InFlightSlot(channel.clone());
    if before >= limit {
        drop(slot);
        warn!(
            id = channel.id(),
            remote = %channel.remote_addr(),
            code = request.code,
            limit,
            "in-flight request bound reached, rejecting"
        );
        let remark =
            format!("[OVERLOAD]system busy, {limit} requests in flight on this connection");
        reply_now(channel, &Origin::of(&request), ResponseCode::SYSTEM_BUSY, remark);
        return;
    }
    tokio::spawn(async move {
        let channel = slot.0.clone();
        process(&channel, request).await;
        drop(slot);
    });
}

async fn process(channel: &Channel, request: RemotingCommand) {
    let origin = Origin::of(&request);
    let Some(processor) = channel.shared.ctx.table.lookup(request.code) else {
        debug!(id = channel.id(), code = request.code, "no processor for request code");
        let remark = format!("request type {} not supported", request.code);
        let response =
            RemotingCommand::response(ResponseCode::REQUEST_CODE_NOT_SUPPORTED, Some(remark));
        respond(channel, &origin, response).await;
        return;
    };
    match run_guarded(processor.as_ref(), channel, request).await {
        Ok(Some(response)) => respond(channel, &origin, response).await,
        Ok(None) => {}
        Err(panic) => {
            error!(id = channel.id(), code = origin.code, panic = %panic, "request processor panicked");
            let remark = format!("request type {} failed: processor error", origin.code);
            let response = RemotingCommand::response(ResponseCode::SYSTEM_ERROR, Some(remark));
            respond(channel, &origin, response).await;
        }
    }
}

/// What a response needs to know about its request.
struct Origin {
    code: i32,
    opaque: i32,
    oneway: bool,
    serialize_type: SerializeType,
}

impl Origin {
    fn of(request: &RemotingCommand) -> Self {
        Self {
            code: request.code,
            opaque: request.opaque,
            oneway: request.is_oneway(),
            serialize_type: request.serialize_type,
        }
    }
}

/// Answers a request the reader task cannot hand to a processor (the in-flight bound is
/// reached). It must not wait, so when the send queue is full too the answer is dropped: the
/// peer is not reading its responses anyway.
fn reply_now(channel: &Channel, origin: &Origin, code: i32, remark: String) {
    let Some(response) = finish(channel, origin, RemotingCommand::response(code, Some(remark)))
    else {
        return;
    };
    if let Err(e) = channel.send(response) {
        warn!(id = channel.id(), code = origin.code, error = %e, "busy response dropped");
    }
}

/// Sends `response` to the request `origin` describes, unless that request was one-way,
/// waiting for room in the send queue.
async fn respond(channel: &Channel, origin: &Origin, response: RemotingCommand) {
    let Some(response) = finish(channel, origin, response) else { return };
    if let Err(e) = channel.send_waiting(response).await {
        // The connection is gone; the peer's pending request fails with it.
        debug!(id = channel.id(), code = origin.code, error = %e, "response not sent");
    }
}

/// Makes `response` the answer to `origin`: its opaque, the response flag and the configured
/// serialization. `None` for a one-way request, which is never answered.
fn finish(
    channel: &Channel,
    origin: &Origin,
    mut response: RemotingCommand,
) -> Option<RemotingCommand> {
    if origin.oneway {
        return None;
    }
    response.opaque = origin.opaque;
    response.mark_response();
    response.serialize_type = match channel.shared.ctx.response_serialization {
        ResponseSerialization::Json => SerializeType::Json,
        ResponseSerialization::Mirror => origin.serialize_type,
    };
    Some(response)
}

/// One unit of the connection's in-flight count, returned when dropped (also if the request's
/// task is cancelled or its processor panicked).
struct InFlightSlot(Channel);

impl Drop for InFlightSlot {
    fn drop(&mut self) {
        self.0.shared.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}
