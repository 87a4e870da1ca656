//! `mqadmin`'s commands: RocketMQ's command names and option letters, parsed by clap, each run
//! against a [`Ctx`] and rendered into a `String`.

pub mod cluster;
pub mod consumer;
pub mod message;
pub mod topic;

use clap::{Parser, Subcommand};
use client::{Admin, ClientConfig};

use crate::error::{CliError, Result};

/// RocketMQ-compatible administration tool.
#[derive(Debug, Parser)]
#[command(name = "mqadmin", version, about = "Apogee admin tool (RocketMQ mqadmin commands)")]
pub struct Cli {
    /// Name server addresses, `host:port;host:port` (default: NAMESRV_ADDR).
    #[arg(short = 'n', long = "namesrvAddr", env = "NAMESRV_ADDR", global = true)]
    pub namesrv_addr: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// One mqadmin command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create or update a topic on a broker or on every master of a cluster.
    #[command(name = "updateTopic")]
    UpdateTopic(topic::UpdateTopicArgs),
    /// List every topic the name servers know.
    #[command(name = "topicList")]
    TopicList(topic::TopicListArgs),
    /// Print a topic's route.
    #[command(name = "topicRoute")]
    TopicRoute(topic::TopicArg),
    /// Print the min/max offset of every queue of a topic.
    #[command(name = "topicStatus")]
    TopicStatus(topic::TopicArg),
    /// List the brokers of every cluster.
    #[command(name = "clusterList")]
    ClusterList(cluster::ClusterListArgs),
    /// Print a consumer group's progress per queue.
    #[command(name = "consumerProgress")]
    ConsumerProgress(consumer::ConsumerProgressArgs),
    /// Print messages by their offsetMsgId.
    #[command(name = "queryMsgById")]
    QueryMsgById(message::QueryMsgByIdArgs),
    /// List the messages of a topic indexed under a key.
    #[command(name = "queryMsgByKey")]
    QueryMsgByKey(message::QueryMsgByKeyArgs),
    /// Send one message and print the result.
    #[command(name = "sendMessage")]
    SendMessage(message::SendMessageArgs),
    /// Pull messages of a topic and print them.
    #[command(name = "consumeMessage")]
    ConsumeMessage(message::ConsumeMessageArgs),
}

/// What every command runs against: the client config and an admin client sharing its
/// connections.
pub struct Ctx {
    pub config: ClientConfig,
    pub admin: Admin,
}

impl Ctx {
    /// A context for `namesrv_addr` (`None`: the NAMESRV_ADDR environment variable). Fails
    /// when there is no address at all, before anything tries to connect.
    pub fn new(namesrv_addr: Option<String>) -> Result<Self> {
        let config = ClientConfig { namesrv_addr, ..ClientConfig::default() };
        if config.namesrv_addrs().is_empty() {
            return Err(CliError::usage(
                "no name server address: pass -n host:9876 or set NAMESRV_ADDR",
            ));
        }
        let admin = Admin::new(config.clone());
        Ok(Self { config, admin })
    }

    /// Closes the connections.
    pub async fn shutdown(&self) {
        self.admin.shutdown().await;
    }
}

/// Runs one command and returns what it prints.
pub async fn run(ctx: &Ctx, command: &Command) -> Result<String> {
    match command {
        Command::UpdateTopic(a) => topic::update_topic(ctx, a).await,
        Command::TopicList(a) => topic::topic_list(ctx, a).await,
        Command::TopicRoute(a) => topic::topic_route(ctx, a).await,
        Command::TopicStatus(a) => topic::topic_status(ctx, a).await,
        Command::ClusterList(a) => cluster::cluster_list(ctx, a).await,
        Command::ConsumerProgress(a) => consumer::consumer_progress(ctx, a).await,
        Command::QueryMsgById(a) => message::query_msg_by_id(ctx, a).await,
        Command::QueryMsgByKey(a) => message::query_msg_by_key(ctx, a).await,
        Command::SendMessage(a) => message::send_message(ctx, a).await,
        Command::ConsumeMessage(a) => message::consume_message(ctx, a).await,
    }
}

/// Parses a whole command line (tests and the binary share this).
pub fn parse<I, S>(args: I) -> std::result::Result<Cli, clap::Error>
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    Cli::try_parse_from(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rocketmq_option_letters() {
        let cli = parse([
            "mqadmin",
            "updateTopic",
            "-n",
            "127.0.0.1:9876",
            "-t",
            "T",
            "-c",
            "DefaultCluster",
            "-r",
            "4",
            "-w",
            "2",
            "-p",
            "6",
            "-o",
            "true",
        ])
        .unwrap();
        assert_eq!(cli.namesrv_addr.as_deref(), Some("127.0.0.1:9876"));
        let Command::UpdateTopic(a) = cli.command else { panic!("wrong command") };
        assert_eq!(a.topic, "T");
        assert_eq!(a.cluster_name.as_deref(), Some("DefaultCluster"));
        assert_eq!((a.read_queue_nums, a.write_queue_nums, a.perm, a.order), (4, 2, 6, true));

        let cli =
            parse(["mqadmin", "-n", "a:1", "sendMessage", "-t", "T", "-p", "hi", "-c", "Tag"])
                .unwrap();
        let Command::SendMessage(a) = cli.command else { panic!("wrong command") };
        assert_eq!(
            (a.topic.as_str(), a.body.as_str(), a.tags.as_deref()),
            ("T", "hi", Some("Tag"))
        );

        let cli = parse(["mqadmin", "consumeMessage", "-t", "T", "-c", "5", "-o", "3"]).unwrap();
        let Command::ConsumeMessage(a) = cli.command else { panic!("wrong command") };
        assert_eq!((a.count, a.offset), (5, Some(3)));
        assert_eq!(a.group, "TOOLS_CONSUMER");

        let cli = parse(["mqadmin", "queryMsgById", "-i", "A,B"]).unwrap();
        let Command::QueryMsgById(a) = cli.command else { panic!("wrong command") };
        assert_eq!(a.msg_ids, vec!["A", "B"]);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(parse(["mqadmin", "updateTopic"]).is_err(), "-t is required");
        assert!(parse(["mqadmin", "updateTopic", "-t", "T", "-r", "x"]).is_err());
        assert!(parse(["mqadmin", "noSuchCommand"]).is_err());
        assert!(parse(["mqadmin", "updateTopic", "-t", "T", "-c", "C", "-b", "a:1"]).is_err());
    }
}
