//! DefaultRequestProcessor: everything brokers and admin tools ask of the name server —
//! registration, unregistration, keep-alives, cluster info, topic lists, topic deletion, write
//! permissions and the KV config. Client route lookups are in
//! [`ClientRequestProcessor`](crate::processor::ClientRequestProcessor).
//!
//! Every handler is synchronous: the tables are in memory and each request holds a lock for
//! one short critical section. A malformed request is answered with an error code and a remark
//! naming what was wrong, and changes nothing.

use std::sync::Arc;

use protocol::body::{
    DataVersion, JsonBody, KvTable, RegisterBrokerBody, TopicConfigSerializeWrapper, TopicRouteData,
};
use protocol::code::version;
use protocol::header::{
    BrokerHeartbeatRequestHeader, DeleteKvConfigRequestHeader, DeleteTopicFromNamesrvRequestHeader,
    GetKvConfigRequestHeader, GetKvConfigResponseHeader, GetKvListByNamespaceRequestHeader,
    GetTopicsByClusterRequestHeader, PutKvConfigRequestHeader, RegisterBrokerRequestHeader,
    RegisterBrokerResponseHeader, UnregisterBrokerRequestHeader,
};
use protocol::{ProtocolError, RemotingCommand, RequestCode, ResponseCode};
use remoting::{Channel, ProcessFuture, RequestProcessor};

use crate::controller::NamesrvController;
use crate::kvconfig::NAMESPACE_ORDER_TOPIC_CONFIG;
use crate::processor::{bad_request, body_json, success};
use crate::routeinfo::legacy_json::to_legacy_json;
use crate::routeinfo::{BrokerRegistration, BrokerUnregistration, ChannelId};

/// The request codes this processor serves.
pub const DEFAULT_PROCESSOR_CODES: &[i32] = &[
    RequestCode::PUT_KV_CONFIG,
    RequestCode::GET_KV_CONFIG,
    RequestCode::DELETE_KV_CONFIG,
    RequestCode::GET_KVLIST_BY_NAMESPACE,
    RequestCode::QUERY_DATA_VERSION,
    RequestCode::REGISTER_BROKER,
    RequestCode::UNREGISTER_BROKER,
    RequestCode::BROKER_HEARTBEAT,
    RequestCode::GET_BROKER_CLUSTER_INFO,
    RequestCode::WIPE_WRITE_PERM_OF_BROKER,
    RequestCode::ADD_WRITE_PERM_OF_BROKER,
    RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER,
    RequestCode::DELETE_TOPIC_IN_NAMESRV,
    RequestCode::REGISTER_TOPIC_IN_NAMESRV,
    RequestCode::GET_TOPICS_BY_CLUSTER,
    RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_NS,
    RequestCode::GET_NAMESRV_CONFIG,
];

/// Serves the broker-facing and admin request codes.
pub struct DefaultRequestProcessor {
    controller: Arc<NamesrvController>,
}

impl RequestProcessor for DefaultRequestProcessor {
    fn process(&self, channel: &Channel, request: RemotingCommand) -> ProcessFuture {
        let response = self.process_request(Some(channel.id()), &request);
        Box::pin(std::future::ready(Some(response)))
    }
}

impl DefaultRequestProcessor {
    pub fn new(controller: Arc<NamesrvController>) -> Self {
        Self { controller }
    }

    /// Answers one request that arrived on `channel_id` (None when not from a connection).
    pub fn process_request(
        &self,
        channel_id: Option<ChannelId>,
        request: &RemotingCommand,
    ) -> RemotingCommand {
        let result = match request.code {
            RequestCode::PUT_KV_CONFIG => self.put_kv_config(request),
            RequestCode::GET_KV_CONFIG => self.get_kv_config(request),
            RequestCode::DELETE_KV_CONFIG => self.delete_kv_config(request),
            RequestCode::GET_KVLIST_BY_NAMESPACE => self.get_kv_list_by_namespace(request),
            RequestCode::QUERY_DATA_VERSION => self.query_data_version(request),
            RequestCode::REGISTER_BROKER => self.register_broker(channel_id, request),
            RequestCode::UNREGISTER_BROKER => self.unregister_broker(request),
            RequestCode::BROKER_HEARTBEAT => self.broker_heartbeat(request),
            RequestCode::GET_BROKER_CLUSTER_INFO => self.get_broker_cluster_info(request),
            RequestCode::WIPE_WRITE_PERM_OF_BROKER => self.operate_write_perm(request, true),
            RequestCode::ADD_WRITE_PERM_OF_BROKER => self.operate_write_perm(request, false),
            RequestCode::GET_ALL_TOPIC_LIST_FROM_NAMESERVER => self.get_all_topic_list(request),
            RequestCode::DELETE_TOPIC_IN_NAMESRV => self.delete_topic_in_namesrv(request),
            RequestCode::REGISTER_TOPIC_IN_NAMESRV => self.register_topic_in_namesrv(request),
            RequestCode::GET_TOPICS_BY_CLUSTER => self.get_topics_by_cluster(request),
            RequestCode::GET_SYSTEM_TOPIC_LIST_FROM_NS => self.get_system_topic_list(request),
            RequestCode::GET_NAMESRV_CONFIG => self.get_namesrv_config(request),
            other => {
                Ok(RemotingCommand::response_to(request, ResponseCode::REQUEST_CODE_NOT_SUPPORTED)
                    .with_remark(format!("request code {other} not supported")))
            }
        };
        result.unwrap_or_else(|e| bad_request(request, &e))
    }

    fn put_kv_config(&self, request: &RemotingCommand) -> Result<RemotingCommand, ProtocolError> {
        let h: PutKvConfigRequestHeader = request.decode_header()?;
        let put = self.controller.kv_config().put_kv_config(&h.namespace, &h.key, &h.value);
        Ok(match put {
            Ok(()) => success(request),
            Err(e) => RemotingCommand::response_to(request, ResponseCode::SYSTEM_ERROR)
                .with_remark(e.to_string()),
        })
    }

    fn get_kv_config(&self, request: &RemotingCommand) -> Result<RemotingCommand, ProtocolError> {
        let h: GetKvConfigRequestHeader = request.decode_header()?;
        let value =
            self.controller.kv_config().get_kv_config(&h.namespace, &h.key).map(str::to_owned);
        Ok(match value {
            Some(value) => {
                success(request).with_header(&GetKvConfigResponseHeader { value: Some(value) })
            }
            None => RemotingCommand::response_to(request, ResponseCode::QUERY_NOT_FOUND)
                .with_remark(format!("No config item, Namespace: {} Key: {}", h.namespace, h.key)),
        })
    }

    fn delete_kv_config(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProtocolError> {
        let h: DeleteKvConfigRequestHeader = request.decode_header()?;
        self.controller.kv_config().delete_kv_config(&h.namespace, &h.key);
        Ok(success(request))
    }

    fn get_kv_list_by_namespace(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProtocolError> {
        let h: GetKvListByNamespaceRequestHeader = request.decode_header()?;
        let table = self.controller.kv_config().get_kv_list_by_namespace(&h.namespace).cloned();
        Ok(match table {
            Some(table) => success(request).with_body(KvTable { table }.encode()?),
            None => RemotingCommand::response_to(request, ResponseCode::QUERY_NOT_FOUND)
                .with_remark(format!("No config item, Namespace: {}", h.namespace)),
        })
    }

    /// Whether a broker's topic table is newer than what was registered; a broker that is
    /// current counts as alive.
    fn query_data_version(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProtocolError> {
        let ext = &request.ext_fields;
        let cluster_name = ext.get_string("clusterName")?;
        let broker_addr = ext.get_string("brokerAddr")?;
        ext.require("brokerName")?;
        ext.get_i64("brokerId")?;
        let data_version: DataVersion = body_json(request)?;
        let now = rt::clock::now_millis();
        let mut routes = self.controller.route_info();
        let changed =
            routes.is_broker_topic_config_changed(&cluster_name, &broker_addr, &data_version);
        if !changed {
            routes.update_broker_info_update_timestamp(&cluster_name, &broker_addr, None, now);
        }
        let ours = routes.query_broker_topic_config(&cluster_name, &broker_addr).copied();
        drop(routes);
        let mut response = success(request);
        response.ext_fields.insert_display("changed", changed);
        if let Some(ours) = ours {
            response = response.with_body(ours.encode()?);
        }
        Ok(response)
    }

    fn register_broker(
        &self,
        channel_id: Option<ChannelId>,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProtocolError> {
        let h: RegisterBrokerRequestHeader = request.decode_header()?;
        let body = request.body_bytes();
        if let Some(expected) = h.body_crc32.filter(|crc| *crc != 0) {
            // RocketMQ's UtilAll.crc32: CRC32 with the sign bit cleared.
            let actual = (crc32fast::hash(body) & 0x7FFF_FFFF) as i32;
            if actual != expected {
                tracing::warn!(
                    broker = %h.broker_name,
                    addr = %h.broker_addr,
                    expected,
                    actual,
                    "REGISTER_BROKER body CRC mismatch"
                );
                return Ok(RemotingCommand::response_to(request, ResponseCode::SYSTEM_ERROR)
                    .with_remark("crc32 not match"));
            }
        }
        let (topic_config_wrapper, filter_server_list) = if body.is_empty() {
            (TopicConfigSerializeWrapper::default(), Vec::new())
        } else if request.version >= version::V3_0_11 {
            let b = RegisterBrokerBody::decode_body(body, h.compressed.unwrap_or(false))?;
            (b.topic_config_serialize_wrapper, b.filter_server_list)
        } else {
            // Brokers before 3.0.11 sent the bare topic table.
            (TopicConfigSerializeWrapper::decode(body)?, Vec::new())
        };
        let registration = BrokerRegistration {
            cluster_name: h.cluster_name,
            broker_addr: h.broker_addr,
            broker_name: h.broker_name,
            broker_id: h.broker_id,
            ha_server_addr: h.ha_server_addr,
            zone_name: h.zone_name,
            heartbeat_timeout_millis: h.heartbeat_timeout_millis,
            enable_acting_master: h.enable_acting_master,
            topic_config_wrapper,
            filter_server_list,
            channel_id,
        };
        let now = rt::clock::now_millis();
        let max = self.controller.config().max_live_brokers;
        let mut route_info = self.controller.route_info();
        if route_info.would_exceed(&registration.cluster_name, &registration.broker_addr, max) {
            drop(route_info);
            tracing::warn!(
                broker = %registration.broker_name,
                addr = %registration.broker_addr,
                max,
                "REGISTER_BROKER refused: maxLiveBrokers reached"
            );
            return Ok(RemotingCommand::response_to(request, ResponseCode::SYSTEM_ERROR)
                .with_remark(format!("name server holds {max} brokers (maxLiveBrokers)")));
        }
        let result = route_info.register_broker(registration, now);
        drop(route_info);
        let mut response = success(request).with_header(&RegisterBrokerResponseHeader {
            ha_server_addr: result.ha_server_addr,
            master_addr: result.master_addr,
        });
        if self.controller.config().return_order_topic_config_to_broker {
            let table = self
                .controller
                .kv_config()
                .get_kv_list_by_namespace(NAMESPACE_ORDER_TOPIC_CONFIG)
                .cloned();
            if let Some(table) = table {
                response = response.with_body(KvTable { table }.encode()?);
            }
        }
        Ok(response)
    }

    fn unregister_broker(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProtocolError> {
        let h: UnregisterBrokerRequestHeader = request.decode_header()?;
        self.controller.route_info().unregister_broker(&BrokerUnregistration {
            cluster_name: h.cluster_name,
            broker_addr: h.broker_addr,
            broker_name: h.broker_name,
            broker_id: h.broker_id,
        });
        Ok(success(request))
    }

    fn broker_heartbeat(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProtocolError> {
        let h: BrokerHeartbeatRequestHeader = request.decode_header()?;
        let now = rt::clock::now_millis();
        self.controller.route_info().update_broker_info_update_timestamp(
            &h.cluster_name,
            &h.broker_addr,
            h.heartbeat_timeout_mills,
            now,
        );
        Ok(success(request))
    }

    fn get_broker_cluster_info(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProtocolError> {
        let info = self.controller.route_info().get_all_cluster_info();
        // Always the legacy form, as a Java name server answers it.
        Ok(success(request).with_body(to_legacy_json(&info)?))
    }

    fn operate_write_perm(
        &self,
        request: &RemotingCommand,
        wipe: bool,
    ) -> Result<RemotingCommand, ProtocolError> {
        let broker_name = request.ext_fields.get_string("brokerName")?;
        let count = self.controller.route_info().operate_write_perm_of_broker(&broker_name, wipe);
        tracing::info!(broker = %broker_name, wipe, topics = count, "write permission changed");
        let mut response = success(request);
        let key = if wipe { "wipeTopicCount" } else { "addTopicCount" };
        response.ext_fields.insert_display(key, count);
        Ok(response)
    }

    fn get_all_topic_list(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProtocolError> {
        if !self.controller.config().enable_all_topic_list {
            return Ok(disabled(request));
        }
        let list = self.controller.route_info().get_all_topic_list();
        Ok(success(request).with_body(list.encode()?))
    }

    fn delete_topic_in_namesrv(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProtocolError> {
        let h: DeleteTopicFromNamesrvRequestHeader = request.decode_header()?;
        self.controller.route_info().delete_topic(&h.topic, h.cluster_name.as_deref());
        Ok(success(request))
    }

    fn register_topic_in_namesrv(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProtocolError> {
        let topic = request.ext_fields.get_string("topic")?;
        if !request.body_bytes().is_empty() {
            let route: TopicRouteData = body_json(request)?;
            self.controller.route_info().register_topic(&topic, &route.queue_datas);
        }
        Ok(success(request))
    }

    fn get_topics_by_cluster(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProtocolError> {
        if !self.controller.config().enable_topic_list {
            return Ok(disabled(request));
        }
        let h: GetTopicsByClusterRequestHeader = request.decode_header()?;
        let list = self.controller.route_info().get_topics_by_cluster(&h.cluster);
        Ok(success(request).with_body(list.encode()?))
    }

    fn get_system_topic_list(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProtocolError> {
        let list = self.controller.route_info().get_system_topic_list();
        Ok(success(request).with_body(list.encode()?))
    }

    /// The effective configuration as `key=value` lines, as Java's
    /// `getAllConfigsFormatString` writes it.
    fn get_namesrv_config(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, ProtocolError> {
        let text = self.controller.config().to_properties_string();
        Ok(success(request).with_body(text.into_bytes()))
    }
}

fn disabled(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(request, ResponseCode::SYSTEM_ERROR).with_remark("disable")
}
