//! `clusterList`: every broker of every cluster, with version and throughput from
//! GET_BROKER_RUNTIME_INFO.

use clap::Args;

use crate::commands::Ctx;
use crate::error::Result;
use crate::format::Table;

/// `clusterList` options.
#[derive(Debug, Clone, Args)]
pub struct ClusterListArgs {
    /// Only this cluster.
    #[arg(short = 'c', long = "clusterName")]
    pub cluster_name: Option<String>,
}

/// The first figure of a RocketMQ TPS triplet (`"12.5 11.0 10.9"`: last 10 s, 1 min, 10 min).
pub fn first_tps(triplet: Option<&String>) -> String {
    triplet
        .and_then(|t| t.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .map(|v| format!("{v:.2}"))
        .unwrap_or_else(|| "-".to_owned())
}

/// `clusterList`.
pub async fn cluster_list(ctx: &Ctx, a: &ClusterListArgs) -> Result<String> {
    let info = ctx.admin.cluster_info().await?;
    let mut table = Table::new([
        "#Cluster Name",
        "#Broker Name",
        "#BID",
        "#Addr",
        "#Version",
        "#InTPS",
        "#OutTPS",
    ]);
    for (cluster, names) in &info.cluster_addr_table {
        if a.cluster_name.as_ref().is_some_and(|c| c != cluster) {
            continue;
        }
        for name in names {
            let Some(data) = info.broker_addr_table.get(name) else { continue };
            for (id, addr) in &data.broker_addrs {
                // A broker that does not answer is still listed, with its figures unknown.
                let rt = ctx.admin.broker_runtime_info(addr).await.unwrap_or_default();
                table.row([
                    cluster.clone(),
                    name.clone(),
                    id.to_string(),
                    addr.clone(),
                    rt.get("brokerVersionDesc").cloned().unwrap_or_else(|| "-".to_owned()),
                    first_tps(rt.get("putTps")),
                    first_tps(rt.get("getTransferedTps")),
                ]);
            }
        }
    }
    Ok(table.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tps_triplets() {
        assert_eq!(first_tps(Some(&"12.5 11.0 10.9".to_owned())), "12.50");
        assert_eq!(first_tps(Some(&"x".to_owned())), "-");
        assert_eq!(first_tps(None), "-");
    }
}
