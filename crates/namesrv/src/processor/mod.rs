//! Request processors: what the name server answers, by request code.

mod client_request_processor;
mod default_request_processor;

pub use client_request_processor::ClientRequestProcessor;
pub use default_request_processor::{DefaultRequestProcessor, DEFAULT_PROCESSOR_CODES};

use protocol::body::JsonBody;
use protocol::{ProtocolError, RemotingCommand, ResponseCode};

/// An empty SUCCESS response to `request`.
fn success(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(request, ResponseCode::SUCCESS)
}

/// The answer to a request that could not be decoded: SYSTEM_ERROR with the reason, as a Java
/// name server answers a header it cannot parse.
fn bad_request(request: &RemotingCommand, error: &ProtocolError) -> RemotingCommand {
    tracing::debug!(code = request.code, %error, "malformed request");
    RemotingCommand::response_to(request, ResponseCode::SYSTEM_ERROR)
        .with_remark(format!("invalid request: {error}"))
}

/// The request's body parsed as JSON; an absent body is an error.
fn body_json<T: JsonBody>(request: &RemotingCommand) -> Result<T, ProtocolError> {
    T::decode(request.body_bytes())
}
