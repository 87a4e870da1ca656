//! The transport over real loopback TCP (normal build only; the simulated runs are in sim.rs).
#![cfg(not(madsim))]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use protocol::{
    decode_frame, encode_frame, RemotingCommand, RequestCode, ResponseCode, SerializeType,
};
use remoting::{
    processor_fn, Channel, ChannelEventListener, ClientConfig, ConnectionConfig, RemotingClient,
    RemotingError, RemotingServer, ServerConfig, ServerHandle,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Notify};

const ECHO: i32 = 100;
const SLOW: i32 = 101;
const DEFERRED: i32 = 102;
const PANICS: i32 = 103;
const NOTIFY_ME: i32 = 104;
const SECOND: Duration = Duration::from_secs(1);
const LONG: Duration = Duration::from_secs(30);

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// Answers with the request's body and ext fields.
fn echo() -> Arc<dyn remoting::RequestProcessor> {
    processor_fn(|_channel, request: RemotingCommand| async move {
        let mut response = RemotingCommand::response_to(&request, ResponseCode::SUCCESS);
        response.ext_fields = request.ext_fields.clone();
        response.body = request.body.clone();
        Some(response)
    })
}

async fn echo_server(config: ServerConfig) -> RemotingServer {
    let server = RemotingServer::bind(any_port(), config).await.unwrap();
    server.register(ECHO, echo());
    server
}

fn client() -> RemotingClient {
    RemotingClient::new(ClientConfig::default())
}

fn echo_request(body: &'static [u8]) -> RemotingCommand {
    let mut request = RemotingCommand::new_request(ECHO).with_body(Bytes::from_static(body));
    request.ext_fields.insert("topic", "TopicTest");
    request
}

#[tokio::test]
async fn round_trip_with_json_and_rocketmq_requests() {
    let server = echo_server(ServerConfig::default()).await.spawn();
    let addr = server.local_addr().to_string();
    let client = client();

    let response = client.invoke(&addr, echo_request(b"hello"), LONG).await.unwrap();
    assert_eq!(response.code, ResponseCode::SUCCESS);
    assert!(response.is_response());
    assert_eq!(response.body.as_deref(), Some(&b"hello"[..]));
    assert_eq!(response.ext_fields.get("topic"), Some("TopicTest"));
    assert_eq!(response.serialize_type, SerializeType::Json);
    assert_eq!(response.version, protocol::code::version::CURRENT);

    let mut binary = echo_request(b"binary");
    binary.serialize_type = SerializeType::RocketMq;
    let response = client.invoke(&addr, binary, LONG).await.unwrap();
    assert_eq!(response.body.as_deref(), Some(&b"binary"[..]));
    // Responses are JSON whatever the request used: the C++ client cannot read ROCKETMQ ones.
    assert_eq!(response.serialize_type, SerializeType::Json);

    // A body larger than the writer's copy limit goes out as its own buffer.
    let big = Bytes::from(vec![7u8; 3 * 1024 * 1024]);
    let response = client
        .invoke(&addr, RemotingCommand::new_request(ECHO).with_body(big.clone()), LONG)
        .await
        .unwrap();
    assert_eq!(response.body, Some(big));
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_code_is_not_supported() {
    let server = echo_server(ServerConfig::default()).await.spawn();
    let addr = server.local_addr().to_string();
    let response = client().invoke(&addr, RemotingCommand::new_request(999), LONG).await.unwrap();
    assert_eq!(response.code, ResponseCode::REQUEST_CODE_NOT_SUPPORTED);
    assert_eq!(response.remark.as_deref(), Some("request type 999 not supported"));
    server.shutdown().await;
}

/// Writes raw frames and reads raw frames, to see exactly what the server sends.
struct RawPeer {
    stream: TcpStream,
    buf: BytesMut,
}

impl RawPeer {
    async fn connect(addr: SocketAddr) -> Self {
        Self { stream: TcpStream::connect(addr).await.unwrap(), buf: BytesMut::new() }
    }

    async fn send(&mut self, cmd: &RemotingCommand) {
        let mut out = BytesMut::new();
        encode_frame(cmd, &mut out).unwrap();
        self.stream.write_all(&out).await.unwrap();
        self.stream.flush().await.unwrap();
    }

    async fn recv(&mut self) -> Option<RemotingCommand> {
        loop {
            if let Some(cmd) = decode_frame(&mut self.buf).unwrap() {
                return Some(cmd);
            }
            if self.stream.read_buf(&mut self.buf).await.unwrap_or(0) == 0 {
                return None;
            }
        }
    }

    /// Whether the server closed the connection (EOF or reset) within a few seconds.
    async fn closed_by_peer(&mut self) -> bool {
        let mut scratch = [0u8; 1024];
        let deadline = Duration::from_secs(5);
        loop {
            match tokio::time::timeout(deadline, self.stream.read(&mut scratch)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
                Err(_) => return false,
            }
        }
    }
}

#[tokio::test]
async fn oneway_requests_get_no_response() {
    let seen = Arc::new(AtomicUsize::new(0));
    let server = echo_server(ServerConfig::default()).await;
    let counter = seen.clone();
    // Returns a response even for one-way requests; the transport must drop it.
    server.register(
        NOTIFY_ME,
        processor_fn(move |_ch, request: RemotingCommand| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move { Some(RemotingCommand::response_to(&request, ResponseCode::SUCCESS)) }
        }),
    );
    let server = server.spawn();
    let mut peer = RawPeer::connect(server.local_addr()).await;
    let mut oneway = RemotingCommand::new_request(NOTIFY_ME).with_opaque(1);
    oneway.mark_oneway();
    peer.send(&oneway).await;
    peer.send(&RemotingCommand::new_request(NOTIFY_ME).with_opaque(2)).await;
    let first = peer.recv().await.unwrap();
    assert_eq!(first.opaque, 2, "only the two-way request is answered");
    // A one-way request with an unknown code is not answered either.
    let mut unknown = RemotingCommand::new_request(999).with_opaque(3);
    unknown.mark_oneway();
    peer.send(&unknown).await;
    peer.send(&RemotingCommand::new_request(ECHO).with_opaque(4)).await;
    assert_eq!(peer.recv().await.unwrap().opaque, 4);
    assert_eq!(seen.load(Ordering::SeqCst), 2);

    // Through the client API too.
    let client = client();
    let addr = server.local_addr().to_string();
    client.invoke_oneway(&addr, RemotingCommand::new_request(NOTIFY_ME)).await.unwrap();
    let until = Instant::now() + Duration::from_secs(5);
    while seen.load(Ordering::SeqCst) < 3 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    server.shutdown().await;
}

/// A processor for SLOW that waits until released, counting the requests that entered.
struct Gate {
    entered: AtomicUsize,
    release: Notify,
}

fn gated(server: &RemotingServer) -> Arc<Gate> {
    let gate = Arc::new(Gate { entered: AtomicUsize::new(0), release: Notify::new() });
    let g = gate.clone();
    server.register(
        SLOW,
        processor_fn(move |_ch, request: RemotingCommand| {
            let g = g.clone();
            async move {
                let released = g.release.notified();
                g.entered.fetch_add(1, Ordering::SeqCst);
                released.await;
                Some(RemotingCommand::response_to(&request, ResponseCode::SUCCESS))
            }
        }),
    );
    gate
}

async fn wait_entered(gate: &Gate, n: usize) {
    let until = Instant::now() + Duration::from_secs(5);
    while gate.entered.load(Ordering::SeqCst) < n {
        assert!(Instant::now() < until, "requests did not reach the processor");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn slow_request_does_not_block_fast_ones_on_the_same_connection() {
    let server = echo_server(ServerConfig::default()).await;
    let gate = gated(&server);
    let server = server.spawn();
    let addr = server.local_addr().to_string();
    let client = client();
    let slow = {
        let (client, addr) = (client.clone(), addr.clone());
        tokio::spawn(
            async move { client.invoke(&addr, RemotingCommand::new_request(SLOW), LONG).await },
        )
    };
    wait_entered(&gate, 1).await;
    for _ in 0..10 {
        let fast = client.invoke(&addr, echo_request(b"fast"), SECOND).await.unwrap();
        assert_eq!(fast.code, ResponseCode::SUCCESS);
    }
    assert!(!slow.is_finished());
    gate.release.notify_waiters();
    assert_eq!(slow.await.unwrap().unwrap().code, ResponseCode::SUCCESS);
    server.shutdown().await;
}

#[tokio::test]
async fn in_flight_bound_answers_system_busy() {
    let config = ServerConfig {
        connection: ConnectionConfig { max_in_flight_requests: 2, ..ConnectionConfig::default() },
        ..ServerConfig::default()
    };
    let server = echo_server(config).await;
    let gate = gated(&server);
    let server = server.spawn();
    let addr = server.local_addr().to_string();
    let client = client();
    let mut waiting = Vec::new();
    for _ in 0..2 {
        let (client, addr) = (client.clone(), addr.clone());
        waiting.push(tokio::spawn(async move {
            client.invoke(&addr, RemotingCommand::new_request(SLOW), LONG).await
        }));
    }
    wait_entered(&gate, 2).await;
    let busy = client.invoke(&addr, echo_request(b"x"), SECOND).await.unwrap();
    assert_eq!(busy.code, ResponseCode::SYSTEM_BUSY);
    assert!(busy.remark.as_deref().unwrap_or_default().starts_with("[OVERLOAD]"), "{busy:?}");
    gate.release.notify_waiters();
    for w in waiting {
        assert_eq!(w.await.unwrap().unwrap().code, ResponseCode::SUCCESS);
    }
    // The slots are returned once the slow requests finish.
    let ok = client.invoke(&addr, echo_request(b"x"), SECOND).await.unwrap();
    assert_eq!(ok.code, ResponseCode::SUCCESS);
    server.shutdown().await;
}

#[tokio::test]
async fn pending_map_bound_fails_with_busy() {
    let server = echo_server(ServerConfig::default()).await;
    let gate = gated(&server);
    let server = server.spawn();
    let addr = server.local_addr().to_string();
    let config = ClientConfig {
        connection: ConnectionConfig { max_pending_responses: 1, ..ConnectionConfig::default() },
        ..ClientConfig::default()
    };
    let client = RemotingClient::new(config);
    let slow = {
        let (client, addr) = (client.clone(), addr.clone());
        tokio::spawn(
            async move { client.invoke(&addr, RemotingCommand::new_request(SLOW), LONG).await },
        )
    };
    wait_entered(&gate, 1).await;
    let err = client.invoke(&addr, echo_request(b"x"), SECOND).await.unwrap_err();
    assert!(matches!(err, RemotingError::Busy), "{err:?}");
    gate.release.notify_waiters();
    slow.await.unwrap().unwrap();
    server.shutdown().await;
}

#[tokio::test]
async fn deferred_response_through_channel_send() {
    let server = echo_server(ServerConfig::default()).await;
    server.register(
        DEFERRED,
        processor_fn(|channel: Channel, request: RemotingCommand| async move {
            // Answer later from another task, as a long-polling pull does.
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let response = RemotingCommand::response_to(&request, ResponseCode::SUCCESS)
                    .with_remark("later");
                channel.send(response).unwrap();
            });
            None
        }),
    );
    let server = server.spawn();
    let addr = server.local_addr().to_string();
    let response =
        client().invoke(&addr, RemotingCommand::new_request(DEFERRED), LONG).await.unwrap();
    assert_eq!(response.code, ResponseCode::SUCCESS);
    assert_eq!(response.remark.as_deref(), Some("later"));
    server.shutdown().await;
}

#[tokio::test]
async fn server_initiated_requests_reach_the_client_processor() {
    let server = echo_server(ServerConfig::default()).await;
    let (channels_tx, mut channels_rx) = mpsc::unbounded_channel::<Channel>();
    server.register(
        NOTIFY_ME,
        processor_fn(move |channel: Channel, request: RemotingCommand| {
            let _ = channels_tx.send(channel);
            async move { Some(RemotingCommand::response_to(&request, ResponseCode::SUCCESS)) }
        }),
    );
    let server = server.spawn();
    let addr = server.local_addr().to_string();

    let client = client();
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel::<RemotingCommand>();
    client.set_request_processor(processor_fn(move |_ch, request: RemotingCommand| {
        let _ = seen_tx.send(request.clone());
        async move {
            (request.code == RequestCode::CHECK_TRANSACTION_STATE).then(|| {
                RemotingCommand::response_to(&request, ResponseCode::SUCCESS).with_remark("checked")
            })
        }
    }));
    client.invoke(&addr, RemotingCommand::new_request(NOTIFY_ME), LONG).await.unwrap();
    let server_side = channels_rx.recv().await.unwrap();

    let mut notify = RemotingCommand::new_request(RequestCode::NOTIFY_CONSUMER_IDS_CHANGED);
    notify.ext_fields.insert("consumerGroup", "G1");
    server_side.invoke_oneway(notify).unwrap();
    let got = tokio::time::timeout(LONG, seen_rx.recv()).await.unwrap().unwrap();
    assert_eq!(got.code, RequestCode::NOTIFY_CONSUMER_IDS_CHANGED);
    assert!(got.is_oneway());
    assert_eq!(got.ext_fields.get("consumerGroup"), Some("G1"));

    // A request/response in the other direction works as well.
    let check = RemotingCommand::new_request(RequestCode::CHECK_TRANSACTION_STATE);
    let response = server_side.invoke(check, LONG).await.unwrap();
    assert_eq!(response.remark.as_deref(), Some("checked"));
    server.shutdown().await;
}

#[tokio::test]
async fn garbage_and_oversized_frames_close_only_that_connection() {
    let server = echo_server(ServerConfig::default()).await.spawn();
    let addr = server.local_addr();
    let client = client();
    client.invoke(&addr.to_string(), echo_request(b"a"), LONG).await.unwrap();

    // An unknown serialize type.
    let mut peer = RawPeer::connect(addr).await;
    peer.stream.write_all(&[0, 0, 0, 8, 9, 0, 0, 0, 1, 2, 3, 4]).await.unwrap();
    peer.stream.flush().await.unwrap();
    assert!(peer.closed_by_peer().await);

    // A length prefix far above the 16 MiB cap: closed before anything is allocated.
    let mut peer = RawPeer::connect(addr).await;
    peer.stream.write_all(&[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]).await.unwrap();
    peer.stream.flush().await.unwrap();
    assert!(peer.closed_by_peer().await);

    // A negative length.
    let mut peer = RawPeer::connect(addr).await;
    peer.stream.write_all(&[0xff, 0xff, 0xff, 0xf0]).await.unwrap();
    peer.stream.flush().await.unwrap();
    assert!(peer.closed_by_peer().await);

    // A JSON header that is not JSON.
    let mut peer = RawPeer::connect(addr).await;
    peer.stream.write_all(&[0, 0, 0, 7, 0, 0, 0, 3, b'{', b'x', b'!']).await.unwrap();
    peer.stream.flush().await.unwrap();
    assert!(peer.closed_by_peer().await);

    // The earlier connection and new ones still work.
    let response = client.invoke(&addr.to_string(), echo_request(b"b"), LONG).await.unwrap();
    assert_eq!(response.body.as_deref(), Some(&b"b"[..]));
    let response = self::client().invoke(&addr.to_string(), echo_request(b"c"), LONG).await;
    assert_eq!(response.unwrap().code, ResponseCode::SUCCESS);
    server.shutdown().await;
}

#[tokio::test]
async fn client_reconnects_after_the_server_restarts() {
    let first = echo_server(ServerConfig::default()).await;
    let addr = first.local_addr();
    let first = first.spawn();
    let client = client();
    let addr_s = addr.to_string();
    client.invoke(&addr_s, echo_request(b"1"), LONG).await.unwrap();
    let old = client.channel(&addr_s).await.unwrap();
    first.shutdown().await;
    tokio::time::timeout(Duration::from_secs(5), old.closed()).await.unwrap();
    assert!(old.is_closed());

    // While the server is down: a clean connect error.
    let err = client.invoke(&addr_s, echo_request(b"x"), SECOND).await.unwrap_err();
    assert!(matches!(err, RemotingError::Connect { .. }), "{err:?}");

    let second = RemotingServer::bind(addr, ServerConfig::default()).await.unwrap();
    second.register(ECHO, echo());
    let second = second.spawn();
    let response = client.invoke(&addr_s, echo_request(b"2"), LONG).await.unwrap();
    assert_eq!(response.body.as_deref(), Some(&b"2"[..]));
    assert_ne!(client.channel(&addr_s).await.unwrap(), old);
    second.shutdown().await;
}

#[tokio::test]
async fn pending_requests_fail_fast_when_the_connection_drops() {
    let server = echo_server(ServerConfig::default()).await;
    let gate = gated(&server);
    let server = server.spawn();
    let addr = server.local_addr().to_string();
    let client = client();
    let mut waiting = Vec::new();
    for _ in 0..3 {
        let (client, addr) = (client.clone(), addr.clone());
        waiting.push(tokio::spawn(async move {
            client.invoke(&addr, RemotingCommand::new_request(SLOW), LONG).await
        }));
    }
    wait_entered(&gate, 3).await;
    let started = Instant::now();
    server.shutdown().await;
    for w in waiting {
        let err = w.await.unwrap().unwrap_err();
        assert!(matches!(err, RemotingError::ConnectionClosed), "{err:?}");
    }
    assert!(started.elapsed() < Duration::from_secs(5), "waited for the timeout");
}

#[tokio::test]
async fn timeout_removes_the_waiter_and_the_late_response_is_ignored() {
    let server = echo_server(ServerConfig::default()).await;
    let gate = gated(&server);
    let server = server.spawn();
    let addr = server.local_addr().to_string();
    let client = client();
    let err = client
        .invoke(&addr, RemotingCommand::new_request(SLOW), Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(matches!(err, RemotingError::Timeout { millis: 100, .. }), "{err:?}");
    // The late response arrives with an opaque nobody waits for, and is dropped.
    gate.release.notify_waiters();
    let ok = client.invoke(&addr, echo_request(b"after"), LONG).await.unwrap();
    assert_eq!(ok.body.as_deref(), Some(&b"after"[..]));
    server.shutdown().await;
}

#[tokio::test]
async fn a_panicking_processor_fails_only_its_request() {
    let server = echo_server(ServerConfig::default()).await;
    server.register(
        PANICS,
        processor_fn(|_ch, request: RemotingCommand| async move {
            if request.body.is_some() {
                panic!("processor bug");
            }
            None
        }),
    );
    let server = server.spawn();
    let addr = server.local_addr().to_string();
    let client = client();
    let request = RemotingCommand::new_request(PANICS).with_body(Bytes::from_static(b"x"));
    let response = client.invoke(&addr, request, LONG).await.unwrap();
    assert_eq!(response.code, ResponseCode::SYSTEM_ERROR);
    let ok = client.invoke(&addr, echo_request(b"still"), LONG).await.unwrap();
    assert_eq!(ok.code, ResponseCode::SUCCESS);
    server.shutdown().await;
}

#[derive(Default)]
struct Events(Mutex<Vec<(&'static str, u64)>>);

impl ChannelEventListener for Events {
    fn on_connect(&self, channel: &Channel) {
        self.0.lock().unwrap().push(("connect", channel.id()));
    }
    fn on_close(&self, channel: &Channel) {
        self.0.lock().unwrap().push(("close", channel.id()));
    }
}

#[tokio::test]
async fn listener_sees_connects_and_closes_and_two_servers_share_processors() {
    let main = echo_server(ServerConfig::default()).await;
    let events = Arc::new(Events::default());
    main.set_channel_listener(events.clone());
    // The broker's VIP port: a second server on the same table.
    let vip =
        RemotingServer::bind_with_table(any_port(), ServerConfig::default(), main.processors())
            .await
            .unwrap();
    let (main, vip): (ServerHandle, ServerHandle) = (main.spawn(), vip.spawn());
    let client = client();
    for addr in [main.local_addr(), vip.local_addr()] {
        let response = client.invoke(&addr.to_string(), echo_request(b"v"), LONG).await.unwrap();
        assert_eq!(response.code, ResponseCode::SUCCESS);
    }
    let channel = client.channel(&main.local_addr().to_string()).await.unwrap();
    client.close_channel(&main.local_addr().to_string());
    assert!(channel.is_closed());
    // The listener is shared with the VIP server: both connections are seen.
    wait_events(&events, "close", 1).await;
    assert_eq!(count(&events, "connect"), 2);
    main.shutdown().await;
    vip.shutdown().await;
    wait_events(&events, "close", 2).await;
}

fn count(events: &Events, kind: &str) -> usize {
    events.0.lock().unwrap().iter().filter(|(e, _)| *e == kind).count()
}

async fn wait_events(events: &Events, kind: &str, n: usize) {
    let until = Instant::now() + Duration::from_secs(5);
    while count(events, kind) < n {
        assert!(Instant::now() < until, "{kind} events missing: {:?}", events.0.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let config = ServerConfig {
        connection: ConnectionConfig {
            max_idle: Some(Duration::from_millis(200)),
            ..ConnectionConfig::default()
        },
        ..ServerConfig::default()
    };
    let server = echo_server(config).await.spawn();
    let addr = server.local_addr().to_string();
    let client = client();
    client.invoke(&addr, echo_request(b"x"), LONG).await.unwrap();
    let channel = client.channel(&addr).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), channel.closed()).await.unwrap();
    // The next request simply reconnects.
    client.invoke(&addr, echo_request(b"y"), LONG).await.unwrap();
    server.shutdown().await;
}

#[tokio::test]
async fn a_full_send_queue_is_an_error_not_a_wait() {
    let server = echo_server(ServerConfig::default()).await.spawn();
    let config = ClientConfig {
        connection: ConnectionConfig { send_queue_frames: 1, ..ConnectionConfig::default() },
        ..ClientConfig::default()
    };
    let client = RemotingClient::new(config);
    let channel = client.channel(&server.local_addr().to_string()).await.unwrap();
    // This test runs on one thread: the writer task cannot drain the queue between the calls.
    channel.invoke_oneway(RemotingCommand::new_request(ECHO)).unwrap();
    let err = channel.invoke_oneway(RemotingCommand::new_request(ECHO)).unwrap_err();
    assert!(matches!(err, RemotingError::SendQueueFull), "{err:?}");
    // Once the writer ran, the queue has room again.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let response = channel.invoke(echo_request(b"ok"), LONG).await.unwrap();
    assert_eq!(response.code, ResponseCode::SUCCESS);
    server.shutdown().await;
}

#[tokio::test]
async fn connections_beyond_the_limit_are_refused() {
    let config = ServerConfig { max_connections: 1, ..ServerConfig::default() };
    let server = echo_server(config).await.spawn();
    let addr = server.local_addr();
    let first = client();
    first.invoke(&addr.to_string(), echo_request(b"1"), LONG).await.unwrap();
    let mut second = RawPeer::connect(addr).await;
    assert!(second.closed_by_peer().await);
    // The admitted connection is unaffected.
    first.invoke(&addr.to_string(), echo_request(b"2"), LONG).await.unwrap();
    server.shutdown().await;
}

#[tokio::test]
async fn closing_a_channel_fails_its_waiters_and_later_sends() {
    let server = echo_server(ServerConfig::default()).await;
    let gate = gated(&server);
    let server = server.spawn();
    let client = client();
    let channel = client.channel(&server.local_addr().to_string()).await.unwrap();
    let waiting = {
        let channel = channel.clone();
        tokio::spawn(async move { channel.invoke(RemotingCommand::new_request(SLOW), LONG).await })
    };
    wait_entered(&gate, 1).await;
    channel.close();
    let err = waiting.await.unwrap().unwrap_err();
    assert!(matches!(err, RemotingError::ConnectionClosed), "{err:?}");
    let err = channel.send(RemotingCommand::new_request(ECHO)).unwrap_err();
    assert!(matches!(err, RemotingError::ConnectionClosed), "{err:?}");
    channel.closed().await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_wait_for_room_in_a_small_send_queue() {
    let config = ServerConfig {
        connection: ConnectionConfig { send_queue_frames: 1, ..ConnectionConfig::default() },
        ..ServerConfig::default()
    };
    let server = echo_server(config).await.spawn();
    let addr = server.local_addr().to_string();
    let client = client();
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let (client, addr) = (client.clone(), addr.clone());
        tasks.push(tokio::spawn(
            async move { client.invoke(&addr, echo_request(b"q"), LONG).await },
        ));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().code, ResponseCode::SUCCESS);
    }
    server.shutdown().await;
}
