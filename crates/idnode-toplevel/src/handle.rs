//! The Handle service of the stand-in (the global registry side): `0.NA/<prefix>` answers with
//! the HS_SITE values registered for the prefix (or its nearest registered ancestor) by an
//! `identifier:create/update` with a `siteList`.

use std::sync::Arc;
use std::time::Duration;

use idnode_core::{HandleValue, Ttl};
use idnode_handle_proto::{
    encode_response, encode_values, flags, op, rc, Body, Envelope, Header, Message, Request,
    ENVELOPE_LEN, MAX_MESSAGE, UDP_PACKET,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

use crate::state::State;

/// TTL of the HS_SITE values answered, seconds.
const SITE_TTL: u32 = 3600;

async fn answer(state: &State, env: Envelope, msg: &[u8]) -> Vec<u8> {
    let reply = env.reply();
    let mut out = Vec::new();
    let Ok(m) = Message::parse(env, msg) else {
        return out;
    };
    let header = |code| Header {
        op_code: m.header.op_code,
        response_code: code,
        op_flags: flags::AT,
        expiration: u32::MAX,
        ..Header::default()
    };
    let fail = |out: &mut Vec<u8>, code, text: &str| {
        encode_response(out, &reply, &header(code), None, &Body::Error(text));
    };
    if m.header.op_code != op::RESOLUTION {
        fail(&mut out, rc::OPERATION_NOT_SUPPORTED, "only resolution");
        return out;
    }
    let Ok(Request::Resolution { handle, .. }) = Request::decode(m.header.op_code, m.body) else {
        fail(&mut out, rc::PROTOCOL_ERROR, "malformed resolution");
        return out;
    };
    let Some(prefix) = handle
        .strip_prefix("0.NA/")
        .or_else(|| handle.strip_prefix("0.na/"))
    else {
        fail(
            &mut out,
            rc::SERVER_NOT_RESP,
            "the top-level node answers 0.NA/ handles",
        );
        return out;
    };
    let sites = match state.sites_of(prefix).await {
        Ok(s) => s,
        Err(e) => {
            fail(&mut out, rc::ERROR, &e.to_string());
            return out;
        }
    };
    let values: Vec<HandleValue> = sites
        .iter()
        .filter_map(|s| s.to_site_info().ok())
        .zip(1..)
        .map(|(site, i)| {
            let mut v = HandleValue::bytes(i, "HS_SITE", site.encode());
            v.ttl = Ttl::Relative(SITE_TTL);
            v
        })
        .collect();
    if values.is_empty() {
        fail(
            &mut out,
            rc::HANDLE_NOT_FOUND,
            "no site registered for this prefix",
        );
        return out;
    }
    let mut encoded = Vec::new();
    encode_values(&mut encoded, values.iter());
    encode_response(
        &mut out,
        &reply,
        &header(rc::SUCCESS),
        None,
        &Body::Values {
            handle,
            values: &encoded,
        },
    );
    out
}

/// Serves TCP until the task is dropped.
pub(crate) async fn serve_tcp(listener: TcpListener, state: Arc<State>) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            Some(_) = conns.join_next() => continue,
        };
        let Ok((mut s, _)) = accepted else {
            continue;
        };
        let state = state.clone();
        conns.spawn(async move {
            loop {
                let mut head = [0u8; ENVELOPE_LEN];
                let read = tokio::time::timeout(Duration::from_secs(30), s.read_exact(&mut head));
                if !matches!(read.await, Ok(Ok(_))) {
                    return;
                }
                let Ok(env) = Envelope::decode(&head) else {
                    return;
                };
                let len = env.message_length as usize;
                if len > MAX_MESSAGE {
                    return;
                }
                let mut msg = vec![0u8; len];
                if s.read_exact(&mut msg).await.is_err() {
                    return;
                }
                let out = answer(&state, env, &msg).await;
                if out.is_empty() || s.write_all(&out).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// Serves UDP (single-packet requests and answers) until the task is dropped.
pub(crate) async fn serve_udp(sock: UdpSocket, state: Arc<State>) {
    let mut buf = vec![0u8; 2048];
    loop {
        let Ok((n, peer)) = sock.recv_from(&mut buf).await else {
            continue;
        };
        let Ok(env) = Envelope::decode(&buf[..n]) else {
            continue;
        };
        let out = answer(&state, env, &buf[ENVELOPE_LEN..n]).await;
        if !out.is_empty() && out.len() <= UDP_PACKET {
            let _ = sock.send_to(&out, peer).await;
        }
    }
}
