//! The transport inside the deterministic simulator (`cargo sim -p apogee-remoting`): a server
//! node and client nodes on simulated IPs; the server node is killed and restarted, and a link is
//! clogged. Replay a failing seed with `MADSIM_TEST_SEED=<seed> cargo sim -p apogee-remoting`.
#![cfg(madsim)]

use std::net::SocketAddr;
use std::time::Duration;

use protocol::{RemotingCommand, ResponseCode};
use remoting::{
    processor_fn, ClientConfig, RemotingClient, RemotingError, RemotingServer, ServerConfig,
};
// The simulator's control API (nodes, kill/restart, clogged links), through madsim-tokio's
// re-export of madsim, so no manifest needs a madsim entry.
use tokio::madsim::net::NetSim;
use tokio::madsim::runtime::Handle;

const ECHO: i32 = 100;
const SERVER_ADDR: &str = "10.0.0.1:10911";
const TIMEOUT: Duration = Duration::from_secs(3);

async fn run_server() {
    let addr: SocketAddr = SERVER_ADDR.parse().unwrap();
    let server = RemotingServer::bind(addr, ServerConfig::default()).await.unwrap();
    server.register(
        ECHO,
        processor_fn(|_ch, request: RemotingCommand| async move {
            let mut response = RemotingCommand::response_to(&request, ResponseCode::SUCCESS);
            response.body = request.body.clone();
            Some(response)
        }),
    );
    server.serve(std::future::pending()).await.unwrap();
}

fn echo(i: u32) -> RemotingCommand {
    RemotingCommand::new_request(ECHO).with_body(i.to_be_bytes().to_vec())
}

/// Sends `n` echo requests concurrently on one client and checks every answer.
async fn burst(client: &RemotingClient, n: u32) {
    let mut tasks = Vec::new();
    for i in 0..n {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let response = client.invoke(SERVER_ADDR, echo(i), TIMEOUT).await.unwrap();
            assert_eq!(response.code, ResponseCode::SUCCESS);
            assert_eq!(response.body.as_deref(), Some(&i.to_be_bytes()[..]));
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// Retries until a request succeeds, returning how many attempts failed first.
async fn until_success(client: &RemotingClient) -> u32 {
    let mut failures = 0;
    loop {
        match client.invoke(SERVER_ADDR, echo(0), TIMEOUT).await {
            Ok(response) => {
                assert_eq!(response.code, ResponseCode::SUCCESS);
                return failures;
            }
            Err(RemotingError::Connect { .. } | RemotingError::ConnectionClosed) => {
                failures += 1;
                assert!(failures < 200, "server never came back");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
}

/// Runs at `MADSIM_TEST_SEED` (default 1), through rt's runner so seeds and the determinism
/// check behave as in every other simulation test.
#[test]
fn requests_survive_a_server_restart_and_time_out_on_a_clogged_link() {
    let summary = rt::sim::run_test(scenario);
    eprintln!("{summary:?}");
}

/// What happened, for the log and the determinism check.
#[derive(Debug)]
#[allow(dead_code)] // read through Debug only
struct Summary {
    failed_while_killed: usize,
    kill_outcomes_took: Duration,
    simulated: Duration,
}

async fn scenario() -> Summary {
    let began = rt::clock::now();
    let handle = Handle::current();
    let server = handle
        .create_node()
        .name("server")
        .ip("10.0.0.1".parse().unwrap())
        .init(run_server)
        .build();
    let clients: Vec<_> = (0..3)
        .map(|i| {
            handle
                .create_node()
                .name(format!("client-{i}"))
                .ip(format!("10.0.1.{}", i + 1).parse().unwrap())
                .build()
        })
        .collect();
    let node_clients: Vec<RemotingClient> =
        clients.iter().map(|_| RemotingClient::new(ClientConfig::default())).collect();

    // Every client gets through once the server listens.
    for (node, client) in clients.iter().zip(&node_clients) {
        let client = client.clone();
        node.spawn(async move {
            until_success(&client).await;
            burst(&client, 50).await;
        })
        .await
        .unwrap();
    }

    // Kill the server with requests in flight: they fail (at once, not at their timeout), and
    // after the restart the clients reconnect.
    let in_flight = {
        let client = node_clients[0].clone();
        clients[0].spawn(async move {
            let started = rt::clock::now();
            let mut outcomes = Vec::new();
            for i in 0..20 {
                outcomes.push(client.invoke(SERVER_ADDR, echo(i), Duration::from_secs(60)).await);
            }
            (outcomes, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(5)).await;
    handle.kill(server.id());
    let (outcomes, took) = in_flight.await.unwrap();
    assert!(took < Duration::from_secs(60), "a request waited for its timeout: {outcomes:?}");
    let failed_while_killed = outcomes.iter().filter(|o| o.is_err()).count();
    assert!(failed_while_killed > 0, "the kill came too late: {outcomes:?}");
    for outcome in &outcomes {
        match outcome {
            Ok(r) => assert_eq!(r.code, ResponseCode::SUCCESS),
            Err(RemotingError::Connect { .. } | RemotingError::ConnectionClosed) => {}
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    handle.restart(server.id());
    for (node, client) in clients.iter().zip(&node_clients) {
        let client = client.clone();
        node.spawn(async move {
            until_success(&client).await;
            burst(&client, 20).await;
        })
        .await
        .unwrap();
    }

    // A clogged link looks like a very slow connection: the request times out cleanly, and
    // once the link is back the same client works again.
    let net = NetSim::current();
    net.clog_link(clients[1].id(), server.id());
    net.clog_link(server.id(), clients[1].id());
    let client = node_clients[1].clone();
    let outcome = clients[1]
        .spawn(async move { client.invoke(SERVER_ADDR, echo(7), Duration::from_millis(500)).await })
        .await
        .unwrap();
    assert!(matches!(outcome, Err(RemotingError::Timeout { millis: 500, .. })), "{outcome:?}");
    // Unaffected clients keep working meanwhile.
    let client = node_clients[2].clone();
    clients[2].spawn(async move { burst(&client, 10).await }).await.unwrap();
    net.unclog_link(clients[1].id(), server.id());
    net.unclog_link(server.id(), clients[1].id());
    let client = node_clients[1].clone();
    clients[1]
        .spawn(async move {
            let response = client.invoke(SERVER_ADDR, echo(8), Duration::from_secs(30)).await;
            assert_eq!(response.unwrap().body.as_deref(), Some(&8u32.to_be_bytes()[..]));
        })
        .await
        .unwrap();
    Summary { failed_while_killed, kill_outcomes_took: took, simulated: began.elapsed() }
}
