//! A single-node Apogee made of the real `mqnamesrv` and `mqbroker` processes, for tests that
//! drive it with a stock client.
//!
//! The binaries come from `APOGEE_BIN_DIR` when it is set (ci/interop.sh builds them once and
//! sets it); otherwise the test builds them itself with the cargo that runs it, so a plain
//! `cargo test -p apogee-interop` works in a fresh clone. Each daemon listens on free loopback
//! ports, keeps its data in a temporary folder and is killed when its guard drops, also when the
//! test panics; a failing test prints the tail of both logs so the reason is visible.

use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long a daemon may take to come up; a cold machine under load is slow, a hung one is not.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// One name server and one broker registered with it.
pub struct Cluster {
    // Dropped in field order: the broker first, so it never outlives its name server.
    broker: Daemon,
    namesrv: Daemon,
    namesrv_port: u16,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts a name server, then a broker pointed at it, and returns once the broker has
    /// registered (it prints its boot line only after the first registration round).
    pub fn start() -> Cluster {
        let bins = binaries();
        let dir = tempfile::Builder::new().prefix("apogee-interop-").tempdir().expect("temp dir");

        let namesrv_port = free_port(&[0]);
        let namesrv_conf = dir.path().join("namesrv.conf");
        write(&namesrv_conf, &format!("listenPort={namesrv_port}\nbindAddress=127.0.0.1\n"));
        let mut namesrv = Daemon::spawn(
            "mqnamesrv",
            Command::new(&bins.namesrv).arg("-c").arg(&namesrv_conf),
            dir.path(),
        );
        namesrv.wait_listening(namesrv_port);

        // The broker also listens on listenPort - 2 (the VIP channel), so both must be free.
        let broker_port = free_port(&[0, 2]);
        let broker_conf = dir.path().join("broker.conf");
        let store = dir.path().join("store");
        write(
            &broker_conf,
            &format!(
                "brokerClusterName=InteropCluster\n\
                 brokerName=broker-interop\n\
                 brokerId=0\n\
                 listenPort={broker_port}\n\
                 brokerIP1=127.0.0.1\n\
                 namesrvAddr=127.0.0.1:{namesrv_port}\n\
                 storePathRootDir={}\n\
                 autoCreateTopicEnable=true\n\
                 autoCreateSubscriptionGroup=true\n\
                 mapedFileSizeCommitLog=67108864\n",
                store.display()
            ),
        );
        let mut broker = Daemon::spawn(
            "mqbroker",
            Command::new(&bins.broker).arg("-c").arg(&broker_conf).env_remove("NAMESRV_ADDR"),
            dir.path(),
        );
        broker.wait_for_line("boot success");
        broker.wait_listening(broker_port);

        Cluster { broker, namesrv, namesrv_port, _dir: dir }
    }

    /// `127.0.0.1:port` of the name server, as clients are given it.
    pub fn namesrv_addr(&self) -> String {
        format!("127.0.0.1:{}", self.namesrv_port)
    }

    /// Panics with the daemons' logs unless both are still running.
    pub fn assert_alive(&mut self) {
        self.namesrv.assert_alive();
        self.broker.assert_alive();
    }
}

struct Daemon {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn spawn(name: &'static str, command: &mut Command, dir: &Path) -> Daemon {
        let log = dir.join(format!("{name}.log"));
        let out = File::create(&log).expect("create daemon log");
        let err = out.try_clone().expect("clone daemon log handle");
        let child = command
            .current_dir(dir)
            .env("RUST_LOG", std::env::var("APOGEE_INTEROP_LOG").unwrap_or("info".into()))
            // The log is read back into failure messages: plain text, no colour codes.
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Daemon { name, child, log }
    }

    fn wait_listening(&mut self, port: u16) {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        self.wait_until(&format!("listening on {addr}"), || {
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        });
    }

    fn wait_for_line(&mut self, needle: &str) {
        let log = self.log.clone();
        self.wait_until(&format!("printing {needle:?}"), || {
            File::open(&log)
                .map(|f| {
                    BufReader::new(f).lines().map_while(Result::ok).any(|l| l.contains(needle))
                })
                .unwrap_or(false)
        });
    }

    fn wait_until(&mut self, what: &str, mut ready: impl FnMut() -> bool) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if ready() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited with {status} before {what}\n{}", self.name, self.tail());
            }
            if Instant::now() > deadline {
                panic!("{} not {what} after {STARTUP_TIMEOUT:?}\n{}", self.name, self.tail());
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    fn assert_alive(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} died during the test with {status}\n{}", self.name, self.tail());
        }
    }

    /// The last lines of the daemon's output, for failure messages.
    fn tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let from = lines.len().saturating_sub(40);
        format!(
            "--- last lines of {} ({}) ---\n{}",
            self.name,
            self.log.display(),
            lines[from..].join("\n")
        )
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("{}", self.tail());
        }
        // SIGKILL: the data folder is thrown away, so there is nothing to shut down cleanly.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Binaries {
    namesrv: PathBuf,
    broker: PathBuf,
}

/// The daemons' executables: from `APOGEE_BIN_DIR`, or built now by the cargo running this test.
fn binaries() -> Binaries {
    if let Ok(dir) = std::env::var("APOGEE_BIN_DIR") {
        let dir = PathBuf::from(dir);
        let bins = Binaries { namesrv: dir.join("mqnamesrv"), broker: dir.join("mqbroker") };
        for path in [&bins.namesrv, &bins.broker] {
            assert!(path.is_file(), "APOGEE_BIN_DIR has no {}", path.display());
        }
        return bins;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
    // The JSON messages name each built executable, wherever the target folder is configured.
    let output = Command::new(cargo)
        .current_dir(workspace)
        .args(["build", "-p", "apogee-namesrv", "-p", "apogee-broker", "--bins"])
        .args(["--message-format", "json-render-diagnostics"])
        .stderr(Stdio::inherit())
        .output()
        .expect("run cargo build for the daemons");
    assert!(output.status.success(), "cargo build of mqnamesrv and mqbroker failed");
    let mut namesrv = None;
    let mut broker = None;
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let Some(exe) = msg.get("executable").and_then(|e| e.as_str()) else { continue };
        match msg.pointer("/target/name").and_then(|n| n.as_str()) {
            Some("mqnamesrv") => namesrv = Some(PathBuf::from(exe)),
            Some("mqbroker") => broker = Some(PathBuf::from(exe)),
            _ => {}
        }
    }
    Binaries {
        namesrv: namesrv.expect("cargo build named no mqnamesrv executable"),
        broker: broker.expect("cargo build named no mqbroker executable"),
    }
}

/// A loopback port `p` such that every `p - d` for `d` in `minus` is free right now. The ports
/// are released before the daemon binds them; another process could take one in between, which
/// shows as a startup failure naming the port, not as a wrong result.
fn free_port(minus: &[u16]) -> u16 {
    for _ in 0..100 {
        let probe = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port");
        let port = probe.local_addr().expect("local addr").port();
        if minus.iter().any(|&d| port < 1024 + d) {
            continue;
        }
        let others: Result<Vec<_>, _> = minus
            .iter()
            .filter(|&&d| d != 0)
            .map(|&d| TcpListener::bind((Ipv4Addr::LOCALHOST, port - d)))
            .collect();
        if others.is_ok() {
            return port;
        }
    }
    panic!("no free loopback port found");
}

fn write(path: &Path, text: &str) {
    fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}
