//! [`Admin`]: what `mqadmin` asks of name servers and brokers (RocketMQ `DefaultMQAdminExt`):
//! topics, routes, clusters, offsets, consumer progress and message lookups.

mod body;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use protocol::body::{ClusterInfo, JsonBody, KvTable, TopicConfig, TopicRouteData, MASTER_ID};
use protocol::header::{
    CreateTopicRequestHeader, GetConsumeStatsRequestHeader, GetConsumerConnectionListRequestHeader,
    GetTopicStatsInfoRequestHeader, QueryMessageRequestHeader, ViewMessageRequestHeader,
};
use protocol::message::sysflag::pull as pull_flag;
use protocol::message::{decode_message, decode_messages, decode_offset_msg_id};
use protocol::{RemotingCommand, RequestCode, ResponseCode};

pub use body::{
    Connection, ConsumeStats, ConsumerConnection, OffsetWrapper, TopicOffset, TopicStatsTable,
};

use crate::client_config::ClientConfig;
use crate::consumer::pull_api_wrapper::{pull_kernel, PullParams};
use crate::consumer::{PullResult, Subscription};
use crate::error::{MQClientError, Result};
use crate::message::{retry_topic, MessageExt, MessageQueue};
use crate::mq_client_api::{expect_success, request, MQClientAPI};
use crate::mq_client_instance::MQClientInstance;

/// The administration API. Runs no background tasks: each call asks the name servers for
/// what it needs and then the brokers.
#[derive(Clone)]
pub struct Admin {
    config: ClientConfig,
    instance: Arc<tokio::sync::OnceCell<Arc<MQClientInstance>>>,
}

impl Admin {
    /// An admin client for `config`'s name servers.
    pub fn new(config: ClientConfig) -> Self {
        Self { config, instance: Arc::default() }
    }

    /// Connects (optional: the first call connects too).
    pub async fn start(&self) -> Result<()> {
        self.instance().await.map(|_| ())
    }

    /// Closes the connections.
    pub async fn shutdown(&self) {
        if let Some(i) = self.instance.get() {
            i.api().remoting().close_all();
        }
    }

    async fn instance(&self) -> Result<&Arc<MQClientInstance>> {
        self.instance.get_or_try_init(|| MQClientInstance::get_or_create(&self.config)).await
    }

    async fn api(&self) -> Result<&MQClientAPI> {
        Ok(self.instance().await?.api())
    }

    /// Cluster name -> broker names, and every broker's addresses.
    pub async fn cluster_info(&self) -> Result<ClusterInfo> {
        self.api().await?.get_broker_cluster_info().await
    }

    /// Every topic the name servers know.
    pub async fn topic_list(&self) -> Result<BTreeSet<String>> {
        Ok(self.api().await?.get_all_topic_list().await?.topic_list)
    }

    /// A topic's route.
    pub async fn topic_route(&self, topic: &str) -> Result<TopicRouteData> {
        self.api()
            .await?
            .get_topic_route_info(topic)
            .await?
            .ok_or_else(|| MQClientError::NoRoute(topic.to_owned()))
    }

    /// Creates or updates `config` on the master of every broker of `cluster`; returns their
    /// addresses.
    pub async fn create_topic(&self, cluster: &str, config: &TopicConfig) -> Result<Vec<String>> {
        let info = self.cluster_info().await?;
        let names = info
            .cluster_addr_table
            .get(cluster)
            .ok_or_else(|| MQClientError::InvalidArgument(format!("no cluster named {cluster}")))?;
        let mut done = Vec::new();
        for name in names {
            let Some(addr) = info.broker_addr_table.get(name).and_then(|b| b.master_addr()) else {
                continue;
            };
            self.create_topic_on_broker(addr, config).await?;
            done.push(addr.to_owned());
        }
        Ok(done)
    }

    /// UPDATE_AND_CREATE_TOPIC on one broker.
    pub async fn create_topic_on_broker(&self, addr: &str, config: &TopicConfig) -> Result<()> {
        crate::producer::check_topic(&config.topic_name)?;
        let header = CreateTopicRequestHeader {
            topic: config.topic_name.clone(),
            default_topic: crate::mq_client_instance::AUTO_CREATE_TOPIC_KEY.to_owned(),
            read_queue_nums: config.read_queue_nums,
            write_queue_nums: config.write_queue_nums,
            perm: config.perm,
            topic_filter_type: config.topic_filter_type.clone(),
            topic_sys_flag: Some(config.topic_sys_flag),
            order: config.order,
            attributes: None,
            force: None,
        };
        let api = self.api().await?;
        let req = request(RequestCode::UPDATE_AND_CREATE_TOPIC, &header);
        let resp = api.invoke(addr, req, api.timeout()).await?;
        expect_success(addr, &resp)
    }

    /// Master addresses of the brokers serving `topic`.
    async fn topic_masters(&self, topic: &str) -> Result<Vec<(String, String)>> {
        let route = self.topic_route(topic).await?;
        Ok(route
            .broker_datas
            .iter()
            .filter_map(|b| {
                let addr =
                    b.broker_addrs.get(&MASTER_ID).or_else(|| b.broker_addrs.values().next())?;
                Some((b.broker_name.clone(), addr.clone()))
            })
            .collect())
    }

    /// Min/max offset and last update time of every queue of `topic`, over all its brokers.
    pub async fn topic_stats(&self, topic: &str) -> Result<TopicStatsTable> {
        let api = self.api().await?;
        let mut out = TopicStatsTable::default();
        for (_, addr) in self.topic_masters(topic).await? {
            let header = GetTopicStatsInfoRequestHeader { topic: topic.to_owned() };
            let req = request(RequestCode::GET_TOPIC_STATS_INFO, &header);
            let resp = api.invoke(&addr, req, api.timeout()).await?;
            expect_success(&addr, &resp)?;
            out.offset_table.extend(TopicStatsTable::decode(resp.body_bytes())?.offset_table);
        }
        Ok(out)
    }

    /// A group's progress on `topic` (every topic it consumes if `None`): broker offset,
    /// consumer offset and their difference per queue.
    pub async fn consume_stats(&self, group: &str, topic: Option<&str>) -> Result<ConsumeStats> {
        let api = self.api().await?;
        let mut brokers: BTreeMap<String, String> = BTreeMap::new();
        let route_topic = topic.map(str::to_owned).unwrap_or_else(|| retry_topic(group));
        brokers.extend(self.topic_masters(&route_topic).await?);
        if topic.is_some() {
            if let Ok(retry) = self.topic_masters(&retry_topic(group)).await {
                brokers.extend(retry);
            }
        }
        let mut out = ConsumeStats::default();
        for addr in brokers.values() {
            let header = GetConsumeStatsRequestHeader {
                consumer_group: group.to_owned(),
                topic: topic.map(str::to_owned),
            };
            let req = request(RequestCode::GET_CONSUME_STATS, &header);
            let resp = api.invoke(addr, req, api.timeout()).await?;
            expect_success(addr, &resp)?;
            let stats = ConsumeStats::decode(resp.body_bytes())?;
            out.consume_tps += stats.consume_tps;
            out.offset_table.extend(
                stats
                    .offset_table
                    .into_iter()
                    .filter(|(mq, _)| topic.is_none_or(|t| mq.topic == t)),
            );
        }
        Ok(out)
    }

    /// The clients of a consumer group, from a broker serving its retry topic.
    pub async fn examine_consumer_connection(&self, group: &str) -> Result<ConsumerConnection> {
        let api = self.api().await?;
        let mut last = None;
        for (_, addr) in self.topic_masters(&retry_topic(group)).await? {
            let header =
                GetConsumerConnectionListRequestHeader { consumer_group: group.to_owned() };
            let req = request(RequestCode::GET_CONSUMER_CONNECTION_LIST, &header);
            match api.invoke(&addr, req, api.timeout()).await {
                Ok(resp) if resp.code == ResponseCode::SUCCESS => {
                    return ConsumerConnection::decode(resp.body_bytes());
                }
                Ok(resp) => last = Some(MQClientError::broker(&addr, &resp)),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| MQClientError::NoRoute(retry_topic(group))))
    }

    /// The message an offsetMsgId names, from the broker whose address is in the id.
    pub async fn view_message(&self, offset_msg_id: &str) -> Result<MessageExt> {
        let (host, offset) = decode_offset_msg_id(offset_msg_id)?;
        let addr = host.to_string();
        let api = self.api().await?;
        let header = ViewMessageRequestHeader { offset, topic: None, broker_name: None };
        let resp = api
            .invoke(&addr, request(RequestCode::VIEW_MESSAGE_BY_ID, &header), api.timeout())
            .await?;
        expect_success(&addr, &resp)?;
        let body = resp.body.unwrap_or_default();
        Ok(decode_message(&body, false)?)
    }

    /// Messages of `topic` indexed under `key` (a KEYS entry) stored in `[begin, end]` ms,
    /// from every broker of the topic.
    pub async fn query_message(
        &self,
        topic: &str,
        key: &str,
        max_num: i32,
        begin: i64,
        end: i64,
    ) -> Result<Vec<MessageExt>> {
        self.query(topic, key, max_num, begin, end, false).await
    }

    /// Messages of `topic` whose UNIQ_KEY (client msgId) is `uniq_key`.
    pub async fn query_message_by_unique_key(
        &self,
        topic: &str,
        uniq_key: &str,
    ) -> Result<Vec<MessageExt>> {
        let msgs = self.query(topic, uniq_key, 32, 0, i64::MAX, true).await?;
        Ok(msgs.into_iter().filter(|m| m.uniq_key() == Some(uniq_key)).collect())
    }

    async fn query(
        &self,
        topic: &str,
        key: &str,
        max_num: i32,
        begin: i64,
        end: i64,
        unique: bool,
    ) -> Result<Vec<MessageExt>> {
        let api = self.api().await?;
        let mut out = Vec::new();
        for (_, addr) in self.topic_masters(topic).await? {
            let header = QueryMessageRequestHeader {
                topic: topic.to_owned(),
                key: key.to_owned(),
                max_num,
                begin_timestamp: begin,
                end_timestamp: end,
                unique_key_query: Some(unique),
                broker_name: None,
            };
            let req = request(RequestCode::QUERY_MESSAGE, &header);
            let resp = api.invoke(&addr, req, api.timeout()).await?;
            match resp.code {
                ResponseCode::SUCCESS => {
                    let body = resp.body.unwrap_or_default();
                    out.extend(decode_messages(&body).into_iter().filter(|m| {
                        m.topic == topic && (unique || m.key_list().any(|k| k == key))
                    }));
                }
                ResponseCode::QUERY_NOT_FOUND => {}
                _ => return Err(MQClientError::broker(&addr, &resp)),
            }
        }
        out.sort_by_key(|m| m.store_timestamp);
        Ok(out)
    }

    async fn broker_of(&self, mq: &MessageQueue) -> Result<String> {
        self.topic_masters(&mq.topic)
            .await?
            .into_iter()
            .find(|(name, _)| *name == mq.broker_name)
            .map(|(_, addr)| addr)
            .ok_or_else(|| MQClientError::BrokerNotFound(mq.broker_name.clone()))
    }

    /// One pull of up to `max_nums` messages of `mq` from `offset`, filtered by
    /// `sub_expression` (`*` or `TagA || TagB`), without long polling and without committing
    /// anything: what `mqadmin consumeMessage` reads with. The subscription travels with the
    /// pull, so `group` needs no heartbeat. Compressed bodies come back inflated.
    pub async fn pull(
        &self,
        group: &str,
        mq: &MessageQueue,
        sub_expression: &str,
        offset: i64,
        max_nums: i32,
    ) -> Result<PullResult> {
        let instance = self.instance().await?;
        let sub = Subscription::new(&mq.topic, sub_expression);
        let params = PullParams {
            group,
            sub: &sub,
            offset,
            max_nums,
            sys_flag: pull_flag::SUBSCRIPTION,
            commit_offset: 0,
            suspend: Duration::ZERO,
            timeout: self.config.mq_client_api_timeout,
            lite: false,
        };
        pull_kernel(instance, mq, params).await
    }

    /// GET_BROKER_RUNTIME_INFO: the broker's runtime table (versions, TPS, offsets, disk use),
    /// as `mqadmin clusterList` and `brokerStatus` show it.
    pub async fn broker_runtime_info(&self, broker_addr: &str) -> Result<BTreeMap<String, String>> {
        let api = self.api().await?;
        let req = RemotingCommand::new_request(RequestCode::GET_BROKER_RUNTIME_INFO);
        let resp = api.invoke(broker_addr, req, api.timeout()).await?;
        expect_success(broker_addr, &resp)?;
        Ok(KvTable::decode(resp.body_bytes())?.table)
    }

    /// The queue's next offset.
    pub async fn max_offset(&self, mq: &MessageQueue) -> Result<i64> {
        let addr = self.broker_of(mq).await?;
        self.api().await?.get_max_offset(&addr, mq).await
    }

    /// The queue's first offset still stored.
    pub async fn min_offset(&self, mq: &MessageQueue) -> Result<i64> {
        let addr = self.broker_of(mq).await?;
        self.api().await?.get_min_offset(&addr, mq).await
    }

    /// The first offset stored at or after `timestamp` ms.
    pub async fn search_offset(&self, mq: &MessageQueue, timestamp: i64) -> Result<i64> {
        let addr = self.broker_of(mq).await?;
        self.api().await?.search_offset(&addr, mq, timestamp).await
    }
}
