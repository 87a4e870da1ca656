//! The remoting command: one request or response, header fields plus an optional body.

use bytes::Bytes;

use crate::code::version;
use crate::error::Result;
use crate::ext_fields::ExtFields;
use crate::header::CommandHeader;
use crate::language::{LanguageCode, DEFAULT_LANGUAGE};

/// `flag` bit 0: this command is a response.
pub const RPC_TYPE_RESPONSE: i32 = 1;
/// `flag` bit 1: this request expects no response.
pub const RPC_ONEWAY: i32 = 1 << 1;

/// How the header of a frame is serialized (the top byte of the frame's second int).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SerializeType {
    /// fastjson text; every client understands it.
    #[default]
    Json,
    /// RocketMQ's compact binary header.
    RocketMq,
}

impl SerializeType {
    /// The type byte.
    pub fn code(self) -> u8 {
        match self {
            Self::Json => 0,
            Self::RocketMq => 1,
        }
    }

    /// The type for a type byte.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Json),
            1 => Some(Self::RocketMq),
            _ => None,
        }
    }

    /// The Java enum name (`serializeTypeCurrentRPC` in JSON headers).
    pub fn name(self) -> &'static str {
        match self {
            Self::Json => "JSON",
            Self::RocketMq => "ROCKETMQ",
        }
    }
}

/// How a response's header is serialized relative to its request's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseSerialization {
    /// Always JSON, like a stock Java server. The safe default: the C++ client cannot read
    /// ROCKETMQ-typed responses (reference §1.5).
    #[default]
    Json,
    /// The request's own type.
    Mirror,
}

/// One remoting command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotingCommand {
    /// Request code for requests, response code for responses.
    pub code: i32,
    pub language: LanguageCode,
    /// The sender's protocol version (see [`crate::code::version`]).
    pub version: i32,
    /// Request id; a response carries its request's.
    pub opaque: i32,
    /// [`RPC_TYPE_RESPONSE`] and [`RPC_ONEWAY`] bits.
    pub flag: i32,
    pub remark: Option<String>,
    pub ext_fields: ExtFields,
    pub body: Option<Bytes>,
    /// How the header is (or will be) serialized.
    pub serialize_type: SerializeType,
}

impl RemotingCommand {
    fn new(code: i32) -> Self {
        Self {
            code,
            language: DEFAULT_LANGUAGE,
            version: version::CURRENT,
            opaque: 0,
            flag: 0,
            remark: None,
            ext_fields: ExtFields::new(),
            body: None,
            serialize_type: SerializeType::Json,
        }
    }

    /// A request with no custom header.
    pub fn new_request(code: i32) -> Self {
        Self::new(code)
    }

    /// A request carrying `header` in its ext fields.
    pub fn request(code: i32, header: &impl CommandHeader) -> Self {
        let mut cmd = Self::new(code);
        header.to_ext(&mut cmd.ext_fields);
        cmd
    }

    /// A response with no request to answer (its opaque is 0 until set).
    pub fn response(code: i32, remark: Option<String>) -> Self {
        let mut cmd = Self::new(code);
        cmd.remark = remark;
        cmd.mark_response();
        cmd
    }

    /// The response to `request`: same opaque, JSON header.
    pub fn response_to(request: &Self, code: i32) -> Self {
        Self::response_to_with(request, code, ResponseSerialization::Json)
    }

    /// The response to `request` with the given serialization policy.
    pub fn response_to_with(request: &Self, code: i32, policy: ResponseSerialization) -> Self {
        let mut cmd = Self::response(code, None);
        cmd.opaque = request.opaque;
        if policy == ResponseSerialization::Mirror {
            cmd.serialize_type = request.serialize_type;
        }
        cmd
    }

    /// Sets the remark.
    pub fn with_remark(mut self, remark: impl Into<String>) -> Self {
        self.remark = Some(remark.into());
        self
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Sets the opaque.
    pub fn with_opaque(mut self, opaque: i32) -> Self {
        self.opaque = opaque;
        self
    }

    /// Writes `header` into the ext fields (keys it does not set are kept).
    pub fn with_header(mut self, header: &impl CommandHeader) -> Self {
        header.to_ext(&mut self.ext_fields);
        self
    }

    /// Reads a typed header from the ext fields.
    pub fn decode_header<H: CommandHeader>(&self) -> Result<H> {
        H::from_ext(&self.ext_fields)
    }

    /// Whether this is a response.
    pub fn is_response(&self) -> bool {
        self.flag & RPC_TYPE_RESPONSE != 0
    }

    /// Whether this request wants no response.
    pub fn is_oneway(&self) -> bool {
        self.flag & RPC_ONEWAY != 0
    }

    /// Marks this command as a response.
    pub fn mark_response(&mut self) {
        self.flag |= RPC_TYPE_RESPONSE;
    }

    /// Marks this request as one-way.
    pub fn mark_oneway(&mut self) {
        self.flag |= RPC_ONEWAY;
    }

    /// The body, or an empty slice.
    pub fn body_bytes(&self) -> &[u8] {
        self.body.as_deref().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::ResponseCode;

    #[test]
    fn response_copies_opaque_and_answers_json() {
        let mut req = RemotingCommand::new_request(10).with_opaque(42);
        req.serialize_type = SerializeType::RocketMq;
        req.language = LanguageCode::Go;
        req.mark_oneway();
        assert!(req.is_oneway() && !req.is_response());
        let resp = RemotingCommand::response_to(&req, ResponseCode::SUCCESS);
        assert!(resp.is_response() && !resp.is_oneway());
        assert_eq!(resp.opaque, 42);
        assert_eq!(resp.language, LanguageCode::Java);
        assert_eq!(resp.version, 479);
        assert_eq!(resp.serialize_type, SerializeType::Json);
        let mirrored = RemotingCommand::response_to_with(&req, 0, ResponseSerialization::Mirror);
        assert_eq!(mirrored.serialize_type, SerializeType::RocketMq);
    }
}
