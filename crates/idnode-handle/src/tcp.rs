//! The Handle protocol over TCP (on the shared transport, `idnode-transport`): envelope,
//! then the message; pipelined requests are answered in order. The connection stays open
//! until the client closes it or it idles out, whether or not the requests carry KC: the
//! national ID-SDK sends every request of a channel on one connection without ever setting
//! KC, and CNRI's servers keep such connections open too.

use std::future::Future;
use std::sync::Arc;

use idnode_handle_proto::{Envelope, ProtoError, ENVELOPE_LEN};
use idnode_transport::{Connection, Protocol, Start};
use tokio::net::TcpListener;

pub use idnode_transport::TcpLimits;

use crate::{Client, HandleService};

/// Serves Handle requests on `listener` until `shutdown` completes.
pub async fn serve_tcp(
    listener: TcpListener,
    service: Arc<HandleService>,
    limits: TcpLimits,
    shutdown: impl Future<Output = ()>,
) {
    idnode_transport::serve_tcp(listener, Arc::new(Tcp(service)), limits, "handle", shutdown).await;
}

struct Tcp(Arc<HandleService>);

impl Protocol for Tcp {
    async fn connection(&self, mut c: Connection) -> std::io::Result<()> {
        let service = &self.0;
        let mut client = Client::new(c.peer.ip());
        let mut env_buf = [0u8; ENVELOPE_LEN];
        let mut msg = Vec::new();
        let mut out = Vec::new();
        loop {
            if c.read_start(&mut env_buf).await? != Start::Read {
                return Ok(());
            }
            out.clear();
            let env = match Envelope::decode(&env_buf) {
                Ok(e) => e,
                Err(e) => {
                    service.reject(&env_buf, &e, &mut out);
                    c.write_all(&out).await?;
                    return Ok(());
                }
            };
            msg.resize(env.message_length as usize, 0);
            match c.read_rest(&mut msg).await? {
                Start::Read => {}
                Start::Closed => return Ok(()),
                Start::Stalled => {
                    let e =
                        ProtoError::Truncated("the client did not send the whole message in time");
                    service.reject(&env_buf, &e, &mut out);
                    let _ = c.write_all(&out).await;
                    return Ok(());
                }
            }
            if !service.answer_cached(c.peer.ip(), &env, &msg, &mut out) {
                service.answer(&mut client, env, &msg, &mut out).await;
            }
            c.write_all(&out).await?;
        }
    }
}
