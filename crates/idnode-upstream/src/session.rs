//! One EPP session with the top-level node over TLS.

use std::time::{Duration, Instant};

use idnode_epp::{
    body_len, encode_frame, CodeClass, Command, Document, Greeting, Namespaces, Request, Response,
    Secret, ServerDocument, HEADER_LEN,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::{EppConfig, UpstreamError};

/// A logged-in EPP session. Commands are strictly one at a time (EPP has no pipelining).
pub struct Session {
    stream: TlsStream<TcpStream>,
    ns: Namespaces,
    timeout: Duration,
    max_frame: usize,
    last_used: Instant,
    /// The server's greeting.
    pub greeting: Greeting,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("server", &self.greeting.sv_id)
            .finish_non_exhaustive()
    }
}

async fn within<T>(
    limit: Duration,
    f: impl std::future::Future<Output = Result<T, UpstreamError>>,
) -> Result<T, UpstreamError> {
    tokio::time::timeout(limit, f)
        .await
        .map_err(|_| UpstreamError::Timeout(limit))?
}

impl Session {
    /// Connects, checks the greeting and logs in.
    pub async fn open(c: &EppConfig) -> Result<Self, UpstreamError> {
        let tls = crate::tls::client_config(c)?;
        let name = c.server_name.clone().unwrap_or_else(|| c.host.clone());
        let server_name = rustls::pki_types::ServerName::try_from(name)
            .map_err(|e| UpstreamError::Tls(format!("server name: {e}")))?;
        let stream = within(c.timeout, async {
            let tcp = TcpStream::connect((c.host.as_str(), c.port)).await?;
            tcp.set_nodelay(true)?;
            Ok(TlsConnector::from(tls).connect(server_name, tcp).await?)
        })
        .await?;
        let mut s = Self {
            stream,
            ns: c.namespaces.clone(),
            timeout: c.timeout,
            max_frame: c.max_frame,
            last_used: Instant::now(),
            greeting: Greeting::default(),
        };
        s.greeting = s.read_greeting().await?;
        let login = Command::Login {
            cl_id: c.client_id.clone(),
            pw: Secret(c.password.clone()),
            obj_uris: c.namespaces.login_uris(),
        };
        s.command(login, &format!("login-{}", idnode_store::now_millis()))
            .await?;
        Ok(s)
    }

    async fn read_greeting(&mut self) -> Result<Greeting, UpstreamError> {
        match self.read_document().await? {
            ServerDocument::Greeting(g) => Ok(g),
            ServerDocument::Response(r) => Err(UpstreamError::Protocol(format!(
                "expected a greeting, got result {} {}",
                r.code, r.msg
            ))),
        }
    }

    async fn read_document(&mut self) -> Result<ServerDocument, UpstreamError> {
        let max = self.max_frame;
        let ns = &self.ns;
        let stream = &mut self.stream;
        within(self.timeout, async move {
            let mut header = [0u8; HEADER_LEN];
            stream.read_exact(&mut header).await?;
            let len = body_len(header, max)?;
            let mut body = vec![0u8; len];
            stream.read_exact(&mut body).await?;
            Ok(ServerDocument::parse(&body, ns)?)
        })
        .await
    }

    async fn write_document(&mut self, doc: &Document) -> Result<(), UpstreamError> {
        let frame = encode_frame(&doc.to_xml(&self.ns));
        let stream = &mut self.stream;
        within(self.timeout, async move {
            stream.write_all(&frame).await?;
            stream.flush().await?;
            Ok(())
        })
        .await
    }

    /// Sends `command` with client transaction id `cl_trid` and reads its response.
    /// Refusals and failures (by result code) are errors; success, pending and the poll
    /// codes (1300, 1301) are responses.
    pub async fn command(
        &mut self,
        command: Command,
        cl_trid: &str,
    ) -> Result<Response, UpstreamError> {
        let doc = Document::Command(Request {
            command,
            cl_trid: cl_trid.to_owned(),
        });
        self.write_document(&doc).await?;
        let r = match self.read_document().await? {
            ServerDocument::Response(r) => *r,
            ServerDocument::Greeting(_) => {
                return Err(UpstreamError::Protocol(
                    "a greeting where a response was due".into(),
                ))
            }
        };
        self.last_used = Instant::now();
        if r.cl_trid.as_deref().is_some_and(|t| t != cl_trid) {
            return Err(UpstreamError::Protocol(format!(
                "response for transaction {:?}, expected {cl_trid}",
                r.cl_trid
            )));
        }
        let msg = match &r.reason {
            Some(reason) => format!("{} ({reason})", r.msg),
            None => r.msg.clone(),
        };
        match r.class() {
            CodeClass::Success
            | CodeClass::Pending
            | CodeClass::Empty
            | CodeClass::Queued
            | CodeClass::Ended => Ok(r),
            CodeClass::Refused => Err(UpstreamError::Refused { code: r.code, msg }),
            CodeClass::Transient => Err(UpstreamError::Failed { code: r.code, msg }),
            CodeClass::Unknown => Err(UpstreamError::Failed {
                code: r.code,
                msg: format!("result code unknown to RFC 5730: {msg}"),
            }),
        }
    }

    /// Keeps the session alive: `<hello>`, answered with a greeting.
    pub async fn hello(&mut self) -> Result<(), UpstreamError> {
        self.write_document(&Document::Hello).await?;
        self.greeting = self.read_greeting().await?;
        self.last_used = Instant::now();
        Ok(())
    }

    /// Ends the session politely (errors are ignored: the connection closes either way).
    pub async fn logout(mut self) {
        let trid = format!("logout-{}", idnode_store::now_millis());
        let _ = self.command(Command::Logout, &trid).await;
        let _ = self.stream.shutdown().await;
    }

    /// Time since the last exchange.
    pub fn idle(&self) -> Duration {
        self.last_used.elapsed()
    }
}
