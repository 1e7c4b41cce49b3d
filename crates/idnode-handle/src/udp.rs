//! The UDP transport: one datagram per message up to 512 bytes; longer messages, both ways,
//! travel as packets of 492 message bytes (TC set, sequence number = packet index).

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use idnode_handle_proto::udp::{split, Assembly};
use idnode_handle_proto::{Envelope, ENVELOPE_LEN, UDP_PACKET};
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;

use crate::{Client, HandleService};

/// Multi-packet requests being assembled at once.
const MAX_ASSEMBLIES: usize = 1024;
/// Bytes held by all assemblies together.
const MAX_ASSEMBLY_BYTES: usize = 16 * 1024 * 1024;
/// Requests being answered off the socket task at once (store reads, signature checks);
/// beyond this new ones are dropped (UDP clients retry), so a flood cannot pile up tasks.
const MAX_PENDING: usize = 4096;
/// How long the packets of one request may take to arrive.
const ASSEMBLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends each message in `out` (one or more encoded messages) as UDP packets.
async fn send(socket: &UdpSocket, peer: SocketAddr, out: &[u8]) {
    let mut rest = out;
    while rest.len() >= ENVELOPE_LEN {
        let len = u32::from_be_bytes([rest[16], rest[17], rest[18], rest[19]]) as usize;
        let end = (ENVELOPE_LEN + len).min(rest.len());
        let mut packets = Vec::new();
        split(&rest[..end], |p| packets.push(p.to_vec()));
        for p in packets {
            if let Err(e) = socket.send_to(&p, peer).await {
                tracing::debug!("handle udp send to {peer}: {e}");
                return;
            }
        }
        rest = &rest[end..];
    }
}

/// Serves Handle requests on `socket` until `shutdown` completes. Cache hits are answered
/// in the receive loop; everything else runs in its own task.
pub async fn serve_udp(
    socket: UdpSocket,
    service: Arc<HandleService>,
    shutdown: impl Future<Output = ()>,
) {
    let socket = Arc::new(socket);
    let pending = Arc::new(Semaphore::new(MAX_PENDING));
    let mut buf = vec![0u8; 65_536];
    let mut out = Vec::with_capacity(UDP_PACKET);
    let mut assemblies: HashMap<(SocketAddr, u32), (Assembly, Instant)> = HashMap::new();
    let mut held = 0usize;
    tokio::pin!(shutdown);
    loop {
        let (n, peer) = tokio::select! {
            () = &mut shutdown => return,
            r = socket.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::debug!("handle udp receive: {e}");
                    continue;
                }
            },
        };
        let packet = &buf[..n];
        out.clear();
        let env = match Envelope::decode(packet) {
            Ok(e) => e,
            Err(e) => {
                service.reject(packet, &e, &mut out);
                send(&socket, peer, &out).await;
                continue;
            }
        };
        let data = &packet[ENVELOPE_LEN..];
        let single = !env.truncated && data.len() == env.message_length as usize;
        if single {
            if service.answer_cached(peer.ip(), &env, data, &mut out) {
                send(&socket, peer, &out).await;
                continue;
            }
            let Ok(permit) = pending.clone().try_acquire_owned() else {
                tracing::debug!("handle udp: {MAX_PENDING} requests pending, dropping one");
                continue;
            };
            let (socket, service, data) = (socket.clone(), service.clone(), data.to_vec());
            tokio::spawn(async move {
                let _permit = permit;
                let mut out = Vec::new();
                service
                    .answer(&mut Client::new(peer.ip()), env, &data, &mut out)
                    .await;
                send(&socket, peer, &out).await;
            });
            continue;
        }
        // A packet of a multi-packet request.
        let now = Instant::now();
        assemblies.retain(|_, (a, t)| {
            let keep = now.duration_since(*t) < ASSEMBLY_TIMEOUT;
            if !keep {
                held -= a.size();
            }
            keep
        });
        let key = (peer, env.request_id);
        if !assemblies.contains_key(&key) {
            let size = env.message_length as usize;
            if assemblies.len() >= MAX_ASSEMBLIES || held + size > MAX_ASSEMBLY_BYTES {
                continue;
            }
            held += size;
            assemblies.insert(key, (Assembly::new(env), now));
        }
        let Some((a, _)) = assemblies.get_mut(&key) else {
            continue;
        };
        match a.add(&env, data) {
            Ok(false) => {}
            Ok(true) => {
                let (a, _) = assemblies.remove(&key).expect("present");
                held -= a.size();
                let (env, msg) = a.finish();
                if service.answer_cached(peer.ip(), &env, &msg, &mut out) {
                    send(&socket, peer, &out).await;
                    continue;
                }
                let Ok(permit) = pending.clone().try_acquire_owned() else {
                    tracing::debug!("handle udp: {MAX_PENDING} requests pending, dropping one");
                    continue;
                };
                let (socket, service) = (socket.clone(), service.clone());
                tokio::spawn(async move {
                    let _permit = permit;
                    let mut out = Vec::new();
                    service
                        .answer(&mut Client::new(peer.ip()), env, &msg, &mut out)
                        .await;
                    send(&socket, peer, &out).await;
                });
            }
            Err(e) => {
                let (a, _) = assemblies.remove(&key).expect("present");
                held -= a.size();
                service.reject(packet, &e, &mut out);
                send(&socket, peer, &out).await;
            }
        }
    }
}
