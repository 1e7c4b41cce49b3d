//! The Handle front end's limits on one client: the daily request allowance (RC 603 beyond
//! it, on every transport), the TCP connection limit and the idle timeout. Transport
//! behaviour, the same on both backends: run on SQLite.

use idnode_handle_proto::{flags, rc, Request};

use crate::common::{node_with, Backend};
use crate::hdl::{message, udp, Tcp};

fn site() -> Vec<u8> {
    message(&Request::GetSiteInfo { handle: None }, flags::KC, 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handle_daily_request_allowance_answers_603() {
    let n = node_with(Backend::Sqlite, |c| c.handle.daily_requests_per_client = 5).await;
    let addr = n.node.handle_addr;
    let resolve = message(
        &Request::Resolution {
            handle: "88.118.8/none",
            indexes: vec![],
            types: vec![],
        },
        flags::KC | flags::PO,
        0,
    );
    // Five requests over three transports spend the allowance.
    assert_eq!(udp(addr, &site()).await.code(), rc::SUCCESS);
    assert_eq!(udp(addr, &resolve).await.code(), rc::HANDLE_NOT_FOUND);
    let mut tcp = Tcp::connect(addr).await;
    assert_eq!(tcp.call(&site()).await.code(), rc::SUCCESS);
    assert_eq!(tcp.call(&resolve).await.code(), rc::HANDLE_NOT_FOUND);
    let http = reqwest::Client::new()
        .post(format!("{}/", n.base))
        .header("content-type", "application/x-hdl-message")
        .body(site())
        .send()
        .await
        .unwrap();
    assert_eq!(http.status(), 200);
    // The sixth is refused, whichever way it comes.
    assert_eq!(udp(addr, &site()).await.code(), rc::DAILY_REQUEST_LIMIT);
    let r = tcp.call(&resolve).await;
    assert_eq!(r.code(), rc::DAILY_REQUEST_LIMIT);
    let id = u32::from_be_bytes(resolve[8..12].try_into().unwrap());
    assert_eq!(r.env.request_id, id, "the refusal answers the request");
    // REST is not the Handle protocol: not charged.
    assert_eq!(n.get("/api/handles/88.118.8/none", None).await.0, 404);
    n.node.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handle_tcp_connection_limit_and_idle_timeout() {
    let n = node_with(Backend::Sqlite, |c| {
        c.handle.max_connections = 2;
        c.handle.idle_timeout_secs = 1;
    })
    .await;
    let addr = n.node.handle_addr;
    let mut first = Tcp::connect(addr).await;
    let mut second = Tcp::connect(addr).await;
    assert_eq!(first.call(&site()).await.code(), rc::SUCCESS);
    assert_eq!(second.call(&site()).await.code(), rc::SUCCESS);
    // A third connection is closed at once, unanswered.
    let mut third = Tcp::connect(addr).await;
    third.send(&site()).await;
    assert!(third.read().await.is_none(), "over the limit: closed");
    // An idle connection is closed after the idle timeout, which frees its slot.
    assert!(first.read().await.is_none(), "idle: closed");
    assert!(second.read().await.is_none(), "idle: closed");
    let mut again = Tcp::connect(addr).await;
    assert_eq!(again.call(&site()).await.code(), rc::SUCCESS);
    n.node.stop().await.unwrap();
}
