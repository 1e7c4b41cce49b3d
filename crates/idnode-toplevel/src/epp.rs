//! The BMS side of EPP: TLS, framing, greeting, login, then the client's commands.

use std::sync::Arc;
use std::time::Duration;

use idnode_epp::{
    body_len, encode_frame, Command, Document, Greeting, Response, HEADER_LEN, MAX_FRAME,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::state::{Client, State};

/// A session idle this long is closed.
const IDLE: Duration = Duration::from_secs(600);
/// Failed logins before the connection is closed.
const MAX_LOGIN_FAILURES: u32 = 3;

fn greeting(state: &State) -> String {
    let ns = state.namespaces();
    let mut uris: Vec<String> = ns.ent.clone();
    uris.extend(ns.prefix.iter().cloned());
    uris.extend(ns.identifier.iter().cloned());
    Greeting {
        sv_id: "idnode-toplevel (stand-in for the national top-level node)".into(),
        sv_date: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        versions: vec!["1.0".into()],
        obj_uris: uris,
    }
    .to_xml()
}

/// Serves EPP on `listener` until the task is dropped, which ends every open session too.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    state: Arc<State>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let mut sessions = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            Some(_) = sessions.join_next() => continue,
        };
        let Ok((tcp, peer)) = accepted else {
            continue;
        };
        let acceptor = acceptor.clone();
        let state = state.clone();
        sessions.spawn(async move {
            let _ = tcp.set_nodelay(true);
            let Ok(Ok(stream)) =
                tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await
            else {
                return;
            };
            if let Err(e) = session(stream, &state).await {
                tracing::debug!(%peer, error = %e, "EPP session ended");
            }
        });
    }
}

async fn send<S: AsyncWriteExt + Unpin>(s: &mut S, xml: &str) -> std::io::Result<()> {
    s.write_all(&encode_frame(xml)).await?;
    s.flush().await
}

async fn session<S>(mut s: S, state: &State) -> std::io::Result<()>
where
    S: AsyncReadExt + AsyncWriteExt + Unpin,
{
    let ns = state.namespaces().clone();
    send(&mut s, &greeting(state)).await?;
    let mut client: Option<Client> = None;
    let mut failures = 0;
    loop {
        let mut header = [0u8; HEADER_LEN];
        match tokio::time::timeout(IDLE, s.read_exact(&mut header)).await {
            Ok(r) => r?,
            Err(_) => return Ok(()),
        };
        let len = match body_len(header, MAX_FRAME) {
            Ok(n) => n,
            Err(e) => {
                let mut r = Response::new(2500, None, "TL-frame");
                r.reason = Some(e.to_string());
                return send(&mut s, &r.to_xml(&ns)).await;
            }
        };
        let mut body = vec![0u8; len];
        tokio::time::timeout(Duration::from_secs(30), s.read_exact(&mut body))
            .await
            .map_err(|_| std::io::Error::other("frame body timed out"))??;
        let req = match Document::parse(&body, &ns) {
            Ok(Document::Hello) => {
                send(&mut s, &greeting(state)).await?;
                continue;
            }
            Ok(Document::Command(req)) => req,
            Err(e) => {
                let mut r = Response::new(e.result_code(), None, "TL-parse");
                r.reason = Some(e.to_string());
                send(&mut s, &r.to_xml(&ns)).await?;
                continue;
            }
        };
        let trid = Some(req.cl_trid.clone());
        let answer = match (&req.command, &client) {
            (Command::Login { cl_id, pw, .. }, None) => {
                match state.authenticate(cl_id, &pw.0).await {
                    Ok(Some(c)) => {
                        tracing::info!(client = %c.id, "EPP login");
                        client = Some(c);
                        Response::new(1000, trid, "TL-login").to_xml(&ns)
                    }
                    Ok(None) => {
                        failures += 1;
                        let code = if failures >= MAX_LOGIN_FAILURES {
                            2501
                        } else {
                            2200
                        };
                        let xml = Response::new(code, trid, "TL-login").to_xml(&ns);
                        if code == 2501 {
                            return send(&mut s, &xml).await;
                        }
                        xml
                    }
                    Err(e) => {
                        let mut r = Response::new(2400, trid, "TL-login");
                        r.reason = Some(e.to_string());
                        r.to_xml(&ns)
                    }
                }
            }
            (Command::Login { .. }, Some(_)) => {
                let mut r = Response::new(2002, trid, "TL-login");
                r.reason = Some("already logged in".into());
                r.to_xml(&ns)
            }
            (Command::Logout, _) => {
                send(&mut s, &Response::new(1500, trid, "TL-logout").to_xml(&ns)).await?;
                return s.shutdown().await;
            }
            (_, None) => {
                let mut r = Response::new(2002, trid, "TL-auth");
                r.reason = Some("log in first".into());
                r.to_xml(&ns)
            }
            (_, Some(c)) => match state.execute(c, &req).await {
                Ok(xml) => xml,
                Err(e) => {
                    let mut r = Response::new(2400, trid, "TL-error");
                    r.reason = Some(e.to_string());
                    r.to_xml(&ns)
                }
            },
        };
        send(&mut s, &answer).await?;
    }
}
