//! M6 (docs/hardening.md): half-sent requests, stalled bodies and idle kept-alive connections
//! are closed by the listener's limits, and `/healthz` answers throughout a burst of them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test set-up fails loudly by design

mod support;

use std::time::{Duration, Instant};

use adpool_web::HttpLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn start(limits: HttpLimits) -> std::net::SocketAddr {
    let t = support::TestApp::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(adpool_web::serve(
        listener,
        t.app,
        limits,
        std::future::pending::<()>(),
    ));
    address
}

/// Reads until the server closes the connection (or `limit` passes); true when it closed.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buffer = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

async fn healthz(address: std::net::SocketAddr) -> Duration {
    let started = Instant::now();
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer))
        .await
        .expect("healthz answered")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_are_closed_and_healthz_answers_throughout() {
    let limits = HttpLimits {
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        max_connections: 1024,
    };
    let address = start(limits).await;

    // 200 clients that never finish their headers.
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(stream);
    }
    // A client that stalls in the middle of its body.
    let mut stalled = TcpStream::connect(address).await.unwrap();
    stalled
        .write_all(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nemail=a")
        .await
        .unwrap();
    // A client whose request is done and keeps the connection idle.
    let mut idle = TcpStream::connect(address).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();

    assert!(healthz(address).await < Duration::from_millis(500));
    for stream in &mut slow {
        assert!(
            closed_within(stream, Duration::from_secs(4)).await,
            "a half-sent request was closed"
        );
    }
    assert!(
        closed_within(&mut stalled, Duration::from_secs(4)).await,
        "a stalled body was closed"
    );
    assert!(
        closed_within(&mut idle, Duration::from_secs(4)).await,
        "an idle connection was closed"
    );
    assert!(healthz(address).await < Duration::from_millis(500));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_beyond_the_cap_wait_until_a_connection_closes() {
    let limits = HttpLimits {
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(1),
        max_connections: 4,
    };
    let address = start(limits).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        held.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The fifth waits for a place: answered only once the header timeout frees one.
    let waited = healthz(address).await;
    assert!(waited >= Duration::from_millis(700), "{waited:?}");
}
