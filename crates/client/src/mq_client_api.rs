//! [`MQClientAPI`]: one typed call per request code the client sends (RocketMQ
//! `MQClientAPIImpl`), over the shared transport. A transport failure closes the connection to
//! that address, so the next request reconnects instead of reusing a broken socket.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use protocol::body::{ClusterInfo, ConsumerListByGroupResponseBody, HeartbeatData, JsonBody};
use protocol::body::{TopicList, TopicRouteData};
use protocol::header::{
    ConsumerSendMsgBackRequestHeader, GetConsumerListByGroupRequestHeader,
    GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader, GetMinOffsetRequestHeader,
    GetMinOffsetResponseHeader, GetRouteInfoRequestHeader, QueryConsumerOffsetRequestHeader,
    QueryConsumerOffsetResponseHeader, SearchOffsetRequestHeader, SearchOffsetResponseHeader,
    UnregisterClientRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use protocol::{LanguageCode, RemotingCommand, RequestCode, ResponseCode};
use remoting::{RemotingClient, RemotingError};
use tracing::debug;

use crate::error::{MQClientError, Result};
use crate::message::MessageQueue;

/// The client's request layer.
#[derive(Clone)]
pub struct MQClientAPI {
    remoting: RemotingClient,
    namesrv_addrs: Vec<String>,
    /// Which name server to ask first; moves on when one fails.
    namesrv_index: std::sync::Arc<AtomicUsize>,
    timeout: Duration,
}

/// A request in this client's colours: language RUST.
pub(crate) fn request(code: i32, header: &impl protocol::CommandHeader) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(code, header);
    cmd.language = LanguageCode::Rust;
    cmd
}

pub(crate) fn bare_request(code: i32) -> RemotingCommand {
    let mut cmd = RemotingCommand::new_request(code);
    cmd.language = LanguageCode::Rust;
    cmd
}

impl MQClientAPI {
    /// A request layer over `remoting` for the given name servers.
    pub fn new(remoting: RemotingClient, namesrv_addrs: Vec<String>, timeout: Duration) -> Self {
        let start = if namesrv_addrs.is_empty() {
            0
        } else {
            rt::rand::u32() as usize % namesrv_addrs.len()
        };
        Self {
            remoting,
            namesrv_addrs,
            namesrv_index: std::sync::Arc::new(AtomicUsize::new(start)),
            timeout,
        }
    }

    /// The transport.
    pub fn remoting(&self) -> &RemotingClient {
        &self.remoting
    }

    /// The default timeout of a request.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The name server addresses.
    pub fn namesrv_addrs(&self) -> &[String] {
        &self.namesrv_addrs
    }

    /// Sends `req` to `addr`; a transport failure drops the connection so the next request
    /// reconnects.
    pub async fn invoke(
        &self,
        addr: &str,
        req: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand> {
        match self.remoting.invoke(addr, req, timeout).await {
            Ok(resp) => Ok(resp),
            Err(e) => {
                self.on_transport_error(addr, &e);
                Err(e.into())
            }
        }
    }

    /// Sends `req` one-way.
    pub async fn invoke_oneway(&self, addr: &str, req: RemotingCommand) -> Result<()> {
        match self.remoting.invoke_oneway(addr, req).await {
            Ok(()) => Ok(()),
            Err(e) => {
                self.on_transport_error(addr, &e);
                Err(e.into())
            }
        }
    }

    fn on_transport_error(&self, addr: &str, e: &RemotingError) {
        debug!(addr, error = %e, "request failed; dropping the connection");
        if !matches!(e, RemotingError::Busy | RemotingError::SendQueueFull) {
            self.remoting.close_channel(addr);
        }
    }

    /// `req` to a name server: the current one first, then the others in turn.
    pub async fn invoke_namesrv(&self, req: RemotingCommand) -> Result<(String, RemotingCommand)> {
        let n = self.namesrv_addrs.len();
        if n == 0 {
            return Err(MQClientError::NoNameServer);
        }
        let start = self.namesrv_index.load(Ordering::Relaxed);
        let mut last = None;
        for i in 0..n {
            let idx = (start + i) % n;
            let Some(addr) = self.namesrv_addrs.get(idx) else { continue };
            match self.invoke(addr, req.clone(), self.timeout).await {
                Ok(resp) => {
                    self.namesrv_index.store(idx, Ordering::Relaxed);
                    return Ok((addr.clone(), resp));
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(MQClientError::NoNameServer))
    }

    /// GET_ROUTEINFO_BY_TOPIC; `None` if no name server knows the topic.
    pub async fn get_topic_route_info(&self, topic: &str) -> Result<Option<TopicRouteData>> {
        let header =
            GetRouteInfoRequestHeader { topic: topic.to_owned(), accept_standard_json_only: None };
        let (addr, resp) =
            self.invoke_namesrv(request(RequestCode::GET_ROUTEINFO_BY_TOPIC, &header)).await?;
        match resp.code {
            ResponseCode::SUCCESS => Ok(Some(TopicRouteData::decode(resp.body_bytes())?)),
            ResponseCode::TOPIC_NOT_EXIST => Ok(None),
            _ => Err(MQClientError::broker(&addr, &resp)),
        }
    }

    /// GET_BROKER_CLUSTER_INFO.
    pub async fn get_broker_cluster_info(&self) -> Result<ClusterInfo> {
        let req = bare_request(RequestCode::GET_BROKER_CLUSTER_INFO);
        let (addr, resp) = self.invoke_namesrv(req).await?;
        expect_success(&addr, &resp)?;
        Ok(ClusterInfo::decode(resp.body_bytes())?)
    }

    /// GET_ALL_TOPIC_LIST_FROM_NAMESERVER.
    pub async fn get_all_topic_list(&self) -> Result<TopicList> {
        let req = bare_request(RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER);
        let (addr, resp) = self.invoke_namesrv(req).await?;
        expect_success(&addr, &resp)?;
        Ok(TopicList::decode(resp.body_bytes())?)
    }

    /// HEART_BEAT; returns the broker's version.
    pub async fn send_heartbeat(&self, addr: &str, data: &HeartbeatData) -> Result<i32> {
        let req = bare_request(RequestCode::HEART_BEAT).with_body(data.encode()?);
        let resp = self.invoke(addr, req, self.timeout).await?;
        expect_success(addr, &resp)?;
        Ok(resp.version)
    }

    /// UNREGISTER_CLIENT for one producer or consumer group.
    pub async fn unregister_client(
        &self,
        addr: &str,
        client_id: &str,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
    ) -> Result<()> {
        let header = UnregisterClientRequestHeader {
            client_id: client_id.to_owned(),
            producer_group: producer_group.map(str::to_owned),
            consumer_group: consumer_group.map(str::to_owned),
        };
        let resp = self
            .invoke(addr, request(RequestCode::UNREGISTER_CLIENT, &header), self.timeout)
            .await?;
        expect_success(addr, &resp)
    }

    /// GET_CONSUMER_LIST_BY_GROUP.
    pub async fn get_consumer_id_list(&self, addr: &str, group: &str) -> Result<Vec<String>> {
        let header = GetConsumerListByGroupRequestHeader { consumer_group: group.to_owned() };
        let req = request(RequestCode::GET_CONSUMER_LIST_BY_GROUP, &header);
        let resp = self.invoke(addr, req, self.timeout).await?;
        expect_success(addr, &resp)?;
        Ok(ConsumerListByGroupResponseBody::decode(resp.body_bytes())?.consumer_id_list)
    }

    /// QUERY_CONSUMER_OFFSET; `None` if the broker has no offset for the queue (22).
    pub async fn query_consumer_offset(
        &self,
        addr: &str,
        group: &str,
        mq: &MessageQueue,
    ) -> Result<Option<i64>> {
        let header = QueryConsumerOffsetRequestHeader {
            consumer_group: group.to_owned(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            set_zero_if_not_found: None,
            broker_name: Some(mq.broker_name.clone()),
        };
        let req = request(RequestCode::QUERY_CONSUMER_OFFSET, &header);
        let resp = self.invoke(addr, req, self.timeout).await?;
        match resp.code {
            ResponseCode::SUCCESS => {
                Ok(Some(resp.decode_header::<QueryConsumerOffsetResponseHeader>()?.offset))
            }
            ResponseCode::QUERY_NOT_FOUND => Ok(None),
            _ => Err(MQClientError::broker(addr, &resp)),
        }
    }

    /// UPDATE_CONSUMER_OFFSET, one-way (the periodic persist) or awaited (shutdown, dropped
    /// queues: nothing queued may be lost to a closing connection).
    pub async fn update_consumer_offset(
        &self,
        addr: &str,
        group: &str,
        mq: &MessageQueue,
        offset: i64,
        oneway: bool,
    ) -> Result<()> {
        let header = UpdateConsumerOffsetRequestHeader {
            consumer_group: group.to_owned(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            commit_offset: offset,
            broker_name: Some(mq.broker_name.clone()),
        };
        let req = request(RequestCode::UPDATE_CONSUMER_OFFSET, &header);
        if oneway {
            return self.invoke_oneway(addr, req).await;
        }
        let resp = self.invoke(addr, req, self.timeout).await?;
        expect_success(addr, &resp)
    }

    /// GET_MAX_OFFSET: the queue's next offset.
    pub async fn get_max_offset(&self, addr: &str, mq: &MessageQueue) -> Result<i64> {
        let header = GetMaxOffsetRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            committed: None,
            broker_name: Some(mq.broker_name.clone()),
        };
        let resp =
            self.invoke(addr, request(RequestCode::GET_MAX_OFFSET, &header), self.timeout).await?;
        expect_success(addr, &resp)?;
        Ok(resp.decode_header::<GetMaxOffsetResponseHeader>()?.offset)
    }

    /// GET_MIN_OFFSET.
    pub async fn get_min_offset(&self, addr: &str, mq: &MessageQueue) -> Result<i64> {
        let header = GetMinOffsetRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            broker_name: Some(mq.broker_name.clone()),
        };
        let resp =
            self.invoke(addr, request(RequestCode::GET_MIN_OFFSET, &header), self.timeout).await?;
        expect_success(addr, &resp)?;
        Ok(resp.decode_header::<GetMinOffsetResponseHeader>()?.offset)
    }

    /// SEARCH_OFFSET_BY_TIMESTAMP.
    pub async fn search_offset(
        &self,
        addr: &str,
        mq: &MessageQueue,
        timestamp: i64,
    ) -> Result<i64> {
        let header = SearchOffsetRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            timestamp,
            boundary_type: None,
            broker_name: Some(mq.broker_name.clone()),
        };
        let req = request(RequestCode::SEARCH_OFFSET_BY_TIMESTAMP, &header);
        let resp = self.invoke(addr, req, self.timeout).await?;
        expect_success(addr, &resp)?;
        Ok(resp.decode_header::<SearchOffsetResponseHeader>()?.offset)
    }

    /// CONSUMER_SEND_MSG_BACK.
    pub async fn consumer_send_message_back(
        &self,
        addr: &str,
        header: &ConsumerSendMsgBackRequestHeader,
    ) -> Result<()> {
        let req = request(RequestCode::CONSUMER_SEND_MSG_BACK, header);
        let resp = self.invoke(addr, req, self.timeout).await?;
        expect_success(addr, &resp)
    }
}

/// `Ok` for SUCCESS, the broker's code and remark otherwise.
pub(crate) fn expect_success(addr: &str, resp: &RemotingCommand) -> Result<()> {
    if resp.code == ResponseCode::SUCCESS {
        Ok(())
    } else {
        Err(MQClientError::broker(addr, resp))
    }
}
