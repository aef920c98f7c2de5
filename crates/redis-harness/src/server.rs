//! A standalone redis-server on a free loopback port.

use crate::ports::free_port;
use crate::process::Node;

/// A standalone Redis (no persistence, own temp dir), killed on drop.
pub struct RedisServer {
    node: Node,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisServer")
            .field("port", &self.node.port)
            .finish()
    }
}

impl RedisServer {
    /// Starts one and waits until it answers PING.
    pub fn start() -> RedisServer {
        let dir = tempfile::tempdir()
            .unwrap_or_else(|e| panic!("redis-harness: cannot make a temp dir: {e}"));
        for _ in 0..10 {
            if let Some(node) = Node::spawn(free_port(), dir.path(), &[]) {
                return RedisServer { node, _dir: dir };
            }
        }
        panic!("redis-harness: redis-server would not start (10 ports tried)");
    }

    pub fn port(&self) -> u16 {
        self.node.port
    }

    /// `redis://127.0.0.1:PORT/0`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.node.port)
    }

    /// SIGSTOP: the server hangs with its data and connections kept (a stalled or
    /// partitioned Redis); [`RedisServer::resume`] lets it go on where it was.
    pub fn pause(&self) {
        self.node.signal("STOP");
    }

    /// SIGCONT after [`RedisServer::pause`].
    pub fn resume(&self) {
        self.node.signal("CONT");
    }

    /// SIGKILL the server (to test what clients do while Redis is down).
    pub fn kill(&mut self) {
        self.node.kill();
    }

    /// Starts the server again on the same port (after [`RedisServer::kill`]); it comes
    /// back empty, as nothing is persisted.
    pub fn restart(&mut self) {
        self.node.kill();
        let port = self.node.port;
        for _ in 0..50 {
            if let Some(node) = Node::spawn(port, self._dir.path(), &[]) {
                self.node = node;
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("redis-harness: redis-server would not restart on port {port}");
    }
}
