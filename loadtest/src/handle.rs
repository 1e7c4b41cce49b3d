//! A Handle protocol load generator: `concurrency` clients, each with one request in flight,
//! resolving random ones of `count` registered identifiers over UDP or TCP; prints the rate
//! and hdrhistogram latency percentiles.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use hdrhistogram::Histogram;
use idnode_handle_proto::{
    encode_message, encode_message_into, flags, rc, Envelope, Header, Request, ENVELOPE_LEN,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// Which transport to load.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum Transport {
    Udp,
    Tcp,
}

/// One run's settings.
pub(crate) struct Run {
    pub(crate) addr: SocketAddr,
    pub(crate) transport: Transport,
    pub(crate) prefix: String,
    pub(crate) count: usize,
    pub(crate) concurrency: usize,
    pub(crate) seconds: u64,
}

#[derive(Default)]
struct Tally {
    ok: u64,
    errors: u64,
    lost: u64,
}

/// A small xorshift generator: the load must not spend its core on randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn request(prefix: &str, i: usize, id: u32, keep: bool) -> Vec<u8> {
    let handle = crate::handle(prefix, i);
    let req = Request::Resolution {
        handle: &handle,
        indexes: vec![],
        types: vec![],
    };
    let env = Envelope::request(0, id);
    let header = Header {
        op_code: req.op_code(),
        op_flags: flags::PO | if keep { flags::KC } else { 0 },
        expiration: u32::MAX,
        ..Header::default()
    };
    encode_message(&env, &header, &req.encode())
}

/// The response code of a single-packet response to `id`, if it is one.
fn check(resp: &[u8], id: u32) -> Option<u32> {
    let env = Envelope::decode(resp).ok()?;
    if env.request_id != id || resp.len() < ENVELOPE_LEN + 8 {
        return None;
    }
    let b = &resp[ENVELOPE_LEN + 4..ENVELOPE_LEN + 8];
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

async fn udp_client(
    run: Rc<Run>,
    seed: u64,
    deadline: Instant,
    hist: Rc<RefCell<Histogram<u64>>>,
    tally: Rc<RefCell<Tally>>,
) -> anyhow::Result<()> {
    let sock = UdpSocket::bind("127.0.0.1:0").await?;
    sock.connect(run.addr).await?;
    let mut rng = Rng(seed | 1);
    let mut buf = vec![0u8; 2048];
    let mut id = (seed as u32) << 20;
    while Instant::now() < deadline {
        id = id.wrapping_add(1);
        let msg = request(&run.prefix, rng.next() as usize % run.count, id, false);
        let t = Instant::now();
        sock.send(&msg).await?;
        loop {
            match tokio::time::timeout(Duration::from_secs(1), sock.recv(&mut buf)).await {
                Err(_) => {
                    tally.borrow_mut().lost += 1;
                    break;
                }
                Ok(r) => {
                    let n = r?;
                    match check(&buf[..n], id) {
                        None => continue, // a late answer to an earlier request
                        Some(code) => {
                            hist.borrow_mut()
                                .saturating_record(t.elapsed().as_micros() as u64);
                            let mut tl = tally.borrow_mut();
                            if code == rc::SUCCESS {
                                tl.ok += 1
                            } else {
                                tl.errors += 1
                            }
                            break;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

async fn tcp_client(
    run: Rc<Run>,
    seed: u64,
    deadline: Instant,
    hist: Rc<RefCell<Histogram<u64>>>,
    tally: Rc<RefCell<Tally>>,
) -> anyhow::Result<()> {
    let mut stream = TcpStream::connect(run.addr).await?;
    stream.set_nodelay(true)?;
    let mut rng = Rng(seed | 1);
    let mut env = [0u8; ENVELOPE_LEN];
    let mut body = Vec::new();
    let mut id = (seed as u32) << 20;
    while Instant::now() < deadline {
        id = id.wrapping_add(1);
        let msg = request(&run.prefix, rng.next() as usize % run.count, id, true);
        let t = Instant::now();
        stream.write_all(&msg).await?;
        stream.read_exact(&mut env).await?;
        let e = Envelope::decode(&env).context("bad envelope from the server")?;
        body.resize(e.message_length as usize, 0);
        stream.read_exact(&mut body).await?;
        hist.borrow_mut()
            .saturating_record(t.elapsed().as_micros() as u64);
        let code = u32::from_be_bytes([body[4], body[5], body[6], body[7]]);
        let mut tl = tally.borrow_mut();
        if code == rc::SUCCESS && e.request_id == id {
            tl.ok += 1
        } else {
            tl.errors += 1
        }
    }
    Ok(())
}

/// Answers every single-packet Handle request on UDP `addr` with an empty success response
/// (same request id and operation, no lookup), one datagram at a time on a blocking socket:
/// a server doing no work, to measure the generator, the kernel's UDP path and the machine
/// with (`loadtest/handle.sh` prints it beside idnode). Runs until killed.
pub(crate) fn floor(addr: SocketAddr) -> anyhow::Result<()> {
    let socket = std::net::UdpSocket::bind(addr)?;
    let mut buf = vec![0u8; 65_536];
    let mut out = Vec::with_capacity(64);
    loop {
        let (n, peer) = socket.recv_from(&mut buf)?;
        let Ok(env) = Envelope::decode(&buf[..n]) else {
            continue;
        };
        let Ok(req) = Header::decode(&buf[ENVELOPE_LEN..n]) else {
            continue;
        };
        let header = Header {
            op_code: req.op_code,
            response_code: rc::SUCCESS,
            ..Header::default()
        };
        out.clear();
        encode_message_into(&mut out, &env, &header, &[]);
        socket.send_to(&out, peer)?;
    }
}

/// Runs the load and prints `handle_<transport>_rps`, percentiles and error counts.
pub(crate) async fn run(run: Run) -> anyhow::Result<()> {
    if run.count == 0 || run.concurrency == 0 {
        bail!("count and concurrency must be positive");
    }
    let run = Rc::new(run);
    let hist = Rc::new(RefCell::new(Histogram::<u64>::new_with_bounds(
        1, 60_000_000, 3,
    )?));
    let tally = Rc::new(RefCell::new(Tally::default()));
    let start = Instant::now();
    let deadline = start + Duration::from_secs(run.seconds);
    let local = tokio::task::LocalSet::new();
    let mut tasks = Vec::new();
    for c in 0..run.concurrency {
        let seed = 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(c as u64 + 1);
        let (r, h, t) = (run.clone(), hist.clone(), tally.clone());
        tasks.push(local.spawn_local(async move {
            match r.transport {
                Transport::Udp => udp_client(r, seed, deadline, h, t).await,
                Transport::Tcp => tcp_client(r, seed, deadline, h, t).await,
            }
        }));
    }
    local
        .run_until(async {
            for t in tasks {
                t.await??;
            }
            anyhow::Ok(())
        })
        .await?;
    let secs = start.elapsed().as_secs_f64();
    let h = hist.borrow();
    let t = tally.borrow();
    let name = match run.transport {
        Transport::Udp => "udp",
        Transport::Tcp => "tcp",
    };
    println!("handle_{name}_rps {:.0}", (t.ok + t.errors) as f64 / secs);
    println!("ok {} errors {} lost {}", t.ok, t.errors, t.lost);
    for q in [50.0, 90.0, 99.0, 99.9] {
        println!("p{q} {}us", h.value_at_quantile(q / 100.0));
    }
    if t.errors > 0 || t.ok == 0 {
        bail!("{} error responses, {} successes", t.errors, t.ok);
    }
    Ok(())
}
