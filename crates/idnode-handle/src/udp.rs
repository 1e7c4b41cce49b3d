//! Handle over UDP, on the shared transport (`idnode-transport`): one datagram per message
//! up to 512 bytes; longer messages, both ways, travel as packets of 492 message bytes (TC
//! set, sequence number = packet index). Cache hits are answered in the receive loop;
//! everything else runs in a task, and is dropped when too many are pending (UDP clients
//! retry).

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use idnode_handle_proto::udp::{split, Assembly};
use idnode_handle_proto::{Envelope, ENVELOPE_LEN};
use idnode_transport::Datagrams;
use tokio::net::UdpSocket;

use crate::{Client, HandleService};

/// Multi-packet requests being assembled at once.
const MAX_ASSEMBLIES: usize = 1024;
/// Bytes held by all assemblies together.
const MAX_ASSEMBLY_BYTES: usize = 16 * 1024 * 1024;
/// How long the packets of one request may take to arrive.
const ASSEMBLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves Handle requests on `socket` until `shutdown` completes.
pub async fn serve_udp(
    socket: UdpSocket,
    service: Arc<HandleService>,
    shutdown: impl Future<Output = ()>,
) {
    idnode_transport::serve_udp(socket, service, "handle", shutdown).await;
}

/// Multi-packet requests being assembled, by sender and request id.
#[derive(Default)]
pub struct Assemblies {
    open: HashMap<(SocketAddr, u32), (Assembly, Instant)>,
    held: usize,
}

impl Assemblies {
    /// Adds a packet; the whole request once its last packet is in.
    fn add(
        &mut self,
        peer: SocketAddr,
        env: Envelope,
        data: &[u8],
    ) -> Result<Option<(Envelope, Vec<u8>)>, idnode_handle_proto::ProtoError> {
        let now = Instant::now();
        let held = &mut self.held;
        self.open.retain(|_, (a, t)| {
            let keep = now.duration_since(*t) < ASSEMBLY_TIMEOUT;
            if !keep {
                *held -= a.size();
            }
            keep
        });
        let key = (peer, env.request_id);
        if !self.open.contains_key(&key) {
            let size = env.message_length as usize;
            if self.open.len() >= MAX_ASSEMBLIES || self.held + size > MAX_ASSEMBLY_BYTES {
                return Ok(None);
            }
            self.held += size;
            self.open.insert(key, (Assembly::new(env), now));
        }
        let (a, _) = self.open.get_mut(&key).expect("present");
        let done = a.add(&env, data);
        if !matches!(done, Ok(false)) {
            let (a, _) = self.open.remove(&key).expect("present");
            self.held -= a.size();
            if done.is_ok() {
                return Ok(Some(a.finish()));
            }
        }
        done.map(|_| None)
    }
}

impl Datagrams for HandleService {
    type State = Assemblies;
    type Deferred = (Envelope, Vec<u8>);
    const MAX_DATAGRAM: usize = 65_536;

    fn receive(
        &self,
        assemblies: &mut Assemblies,
        packet: &[u8],
        peer: SocketAddr,
        out: &mut Vec<u8>,
    ) -> Option<(Envelope, Vec<u8>)> {
        let env = match Envelope::decode(packet) {
            Ok(e) => e,
            Err(e) => {
                self.reject(packet, &e, out);
                return None;
            }
        };
        let data = &packet[ENVELOPE_LEN..];
        if !env.truncated && data.len() == env.message_length as usize {
            if self.answer_cached(peer.ip(), &env, data, out) {
                return None;
            }
            return Some((env, data.to_vec()));
        }
        // A packet of a multi-packet request.
        match assemblies.add(peer, env, data) {
            Ok(None) => None,
            Ok(Some((env, msg))) => {
                if self.answer_cached(peer.ip(), &env, &msg, out) {
                    return None;
                }
                Some((env, msg))
            }
            Err(e) => {
                self.reject(packet, &e, out);
                None
            }
        }
    }

    async fn answer(&self, (env, msg): (Envelope, Vec<u8>), peer: SocketAddr, out: &mut Vec<u8>) {
        self.answer(&mut Client::new(peer.ip()), env, &msg, out)
            .await;
    }

    fn overloaded(&self, _: &(Envelope, Vec<u8>), _: &mut Vec<u8>) {}

    /// Each message in `out` (one or more encoded messages) as its UDP packets.
    fn datagrams(out: &[u8], mut emit: impl FnMut(&[u8])) {
        let mut rest = out;
        while rest.len() >= ENVELOPE_LEN {
            let len = u32::from_be_bytes([rest[16], rest[17], rest[18], rest[19]]) as usize;
            let end = (ENVELOPE_LEN + len).min(rest.len());
            split(&rest[..end], &mut emit);
            rest = &rest[end..];
        }
    }
}
