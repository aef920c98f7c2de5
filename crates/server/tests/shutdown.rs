//! Stopping the built binary, whatever happened to its log pipe and whoever holds a
//! connection: SIGTERM after the supervisor's stdout/stderr pipe went away exits 0 (it
//! panicked or hung before); a second SIGTERM during the drain exits at once; a client that
//! trickles its request head is disconnected after `--header-read-timeout` while others are
//! served.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Safety nets only: each wait ends on an exit, a line or a closed socket long before.
const EXIT_WAIT: Duration = Duration::from_secs(20);

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `sessiond serve` over plain HTTP with its stdout and stderr on pipes (as under a
/// supervisor), at the default log level; returns it with the pipes' read ends.
fn start(
    data: &Path,
    extra: &[&str],
) -> (
    Server,
    BufReader<std::process::ChildStdout>,
    std::process::ChildStderr,
) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sessiond"))
        .args([
            "serve",
            "--plain-http",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data)
        .args(extra)
        .env("SESSIOND_ADMIN_PASSWORD", "shutdown-test-password")
        .env_remove("SESSIOND_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sessiond");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let stderr = child.stderr.take().expect("stderr");
    let mut line = String::new();
    stdout.read_line(&mut line).expect("readiness line");
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    (Server { child, addr }, stdout, stderr)
}

fn signal(s: &Server, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &s.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

/// The exit status, or a failure if the process is still running after `EXIT_WAIT`.
fn exit_of(s: &mut Server) -> ExitStatus {
    let deadline = Instant::now() + EXIT_WAIT;
    loop {
        if let Some(st) = s.child.try_wait().expect("try_wait") {
            return st;
        }
        assert!(
            Instant::now() < deadline,
            "sessiond did not stop within {EXIT_WAIT:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One HTTP/1.1 request on a fresh connection; the status line.
fn get(addr: &str, path: &str) -> String {
    let mut c = TcpStream::connect(addr).expect("connect");
    c.set_read_timeout(Some(EXIT_WAIT)).expect("timeout");
    write!(
        c,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut out = String::new();
    let _ = c.read_to_string(&mut out);
    out.lines().next().unwrap_or_default().to_string()
}

#[test]
fn sigterm_after_the_log_pipe_went_away_exits_cleanly() {
    for served in [false, true] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut s, stdout, stderr) = start(&dir.path().join("data"), &[]);
        if served {
            for _ in 0..20 {
                assert!(get(&s.addr, "/healthz").contains("200"));
            }
            // A login: the server logs it (info), as it logs the shutdown later.
            let mut c = TcpStream::connect(&s.addr).expect("connect");
            let body = r#"{"username":"admin","password":"shutdown-test-password"}"#;
            write!(
                c,
                "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .expect("write");
            let mut out = String::new();
            let _ = c.read_to_string(&mut out);
            assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        }
        // The supervisor's log pipe goes away.
        drop(stdout);
        drop(stderr);
        signal(&s, "-TERM");
        let st = exit_of(&mut s);
        assert_eq!(st.code(), Some(0), "served={served}: {st:?}");
    }
}

#[test]
fn a_second_sigterm_exits_at_once_while_a_request_holds_the_drain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut s, _stdout, stderr) = start(&dir.path().join("data"), &[]);
    // A request in flight: its body never finishes, so a graceful drain would wait for it
    // (up to 30 s).
    let mut held = TcpStream::connect(&s.addr).expect("connect");
    write!(
        held,
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"user"
    )
    .expect("write");
    held.flush().expect("flush");
    assert!(get(&s.addr, "/healthz").contains("200"), "the server is up");
    signal(&s, "-TERM");
    // Draining: the log says so, and the held request keeps it from finishing.
    let mut err = BufReader::new(stderr);
    let mut line = String::new();
    loop {
        line.clear();
        let n = err.read_line(&mut line).expect("stderr");
        assert!(n > 0, "stderr ended before the drain began");
        if line.contains("draining in-flight requests") {
            break;
        }
    }
    assert!(
        s.child.try_wait().expect("try_wait").is_none(),
        "still draining"
    );
    signal(&s, "-TERM");
    let st = exit_of(&mut s);
    assert_eq!(st.code(), Some(1), "the forced exit's status: {st:?}");
    drop(held);
}

#[test]
fn a_client_trickling_its_request_head_is_disconnected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut s, _stdout, _stderr) =
        start(&dir.path().join("data"), &["--header-read-timeout", "1s"]);
    // Many trickling clients: each has sent part of a head and then one byte more.
    let mut slow: Vec<TcpStream> = (0..200)
        .map(|_| {
            let mut c = TcpStream::connect(&s.addr).expect("connect");
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .expect("write");
            c
        })
        .collect();
    for c in &mut slow {
        let _ = c.write_all(b"a");
    }
    // A normal client is served meanwhile.
    assert!(get(&s.addr, "/healthz").contains("200"));
    // Each trickling connection is closed by the server (EOF, or a 408 then EOF).
    for c in &mut slow {
        c.set_read_timeout(Some(EXIT_WAIT)).expect("timeout");
        let mut buf = Vec::new();
        match c.read_to_end(&mut buf) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("the server kept a trickling connection open: {e}"),
        }
        let text = String::from_utf8_lossy(&buf);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 408"),
            "{text}"
        );
    }
    assert!(get(&s.addr, "/healthz").contains("200"));
    signal(&s, "-TERM");
    assert_eq!(exit_of(&mut s).code(), Some(0));
}

#[test]
fn connections_beyond_the_limit_are_closed_and_the_rest_served() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut s, _stdout, _stderr) = start(
        &dir.path().join("data"),
        &["--max-connections", "8", "--header-read-timeout", "60s"],
    );
    // Eight idle connections take every place (each proven accepted by a request served on
    // it, keep-alive).
    let mut held: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut c = TcpStream::connect(&s.addr).expect("connect");
            c.set_read_timeout(Some(EXIT_WAIT)).expect("timeout");
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                .expect("write");
            let mut buf = [0u8; 256];
            let n = c.read(&mut buf).expect("answer");
            assert!(
                buf[..n].starts_with(b"HTTP/1.1 200"),
                "held connection served"
            );
            c
        })
        .collect();
    // The ninth is closed without an answer: end of stream or reset, not a wait.
    let mut ninth = TcpStream::connect(&s.addr).expect("connect");
    ninth.set_read_timeout(Some(EXIT_WAIT)).expect("timeout");
    let _ = ninth.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut buf = Vec::new();
    match ninth.read_to_end(&mut buf) {
        Ok(_) => assert!(buf.is_empty(), "answered beyond the limit: {buf:?}"),
        Err(e) => assert_eq!(
            e.kind(),
            std::io::ErrorKind::ConnectionReset,
            "the connection beyond the limit was kept waiting"
        ),
    }
    // Those already open are still served.
    for c in held.iter_mut().take(2) {
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("write");
        let mut buf = [0u8; 256];
        let n = c.read(&mut buf).expect("answer");
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    }
    // Once some close, new clients are served again (the server notices the close when it
    // reads the end of the stream).
    held.truncate(4);
    let deadline = Instant::now() + EXIT_WAIT;
    while !get(&s.addr, "/healthz").contains("200") {
        assert!(Instant::now() < deadline, "places were not given back");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(held);
    signal(&s, "-TERM");
    assert_eq!(exit_of(&mut s).code(), Some(0));
}
