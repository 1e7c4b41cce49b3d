//! Several hosts in one connection URL, as libpq writes them
//! (`postgres://user@h1:5432,h2:5433/db?target_session_attrs=read-write`, what
//! `pg_auto_failover` and Patroni hand out): the pool connects to the host that takes
//! writes, and when it stops doing so (its server died, or was demoted after a failover)
//! the pool moves to the one that does, without a restart.

use std::str::FromStr as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use idnode_store::{Result, StoreError};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions as _, Connection as _, PgConnection, Pool, Postgres};

/// How often the host in use is checked.
const CHECK_EVERY: Duration = Duration::from_millis(500);
/// How long a check or a connection attempt to one host may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// What a URL names: one set of options per host, and whether the host must take writes.
#[derive(Debug, Clone)]
pub(crate) struct Targets {
    pub(crate) hosts: Vec<PgConnectOptions>,
    /// `target_session_attrs=read-write` (the default with several hosts: idnode writes).
    pub(crate) read_write: bool,
}

/// Reads `url`, splitting a comma-separated host list into one set of options per host.
pub(crate) fn parse(url: &str) -> Result<Targets> {
    let bad = |why: &str| StoreError::Database(format!("database URL: {why}").into());
    let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme://"))?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (userinfo, hostlist) = match authority.rfind('@') {
        Some(at) => (&authority[..=at], &authority[at + 1..]),
        None => ("", authority),
    };
    // target_session_attrs is libpq's; sqlx would ignore it with a warning.
    let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
    let mut read_write = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .filter(|kv| match kv.strip_prefix("target_session_attrs=") {
            Some(v) => {
                read_write = Some(v == "read-write" || v == "primary");
                false
            }
            None => true,
        })
        .collect();
    let query = if kept.is_empty() {
        String::new()
    } else {
        format!("?{}", kept.join("&"))
    };
    let names: Vec<&str> = hostlist.split(',').collect();
    let hosts = names
        .iter()
        .map(|h| {
            if h.is_empty() && names.len() > 1 {
                return Err(bad("an empty host in the host list"));
            }
            PgConnectOptions::from_str(&format!("{scheme}://{userinfo}{h}{path}{query}"))
                .map_err(|e| bad(&e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Targets {
        read_write: read_write.unwrap_or(hosts.len() > 1),
        hosts,
    })
}

/// The switches of a pool between hosts: connections made before the last one are closed
/// when next acquired (they may lead to a server that no longer takes writes).
#[derive(Debug)]
struct Switched(Mutex<Instant>);

/// A pool over `targets`: connected to the host that takes writes (the first host that
/// answers, unless `read_write`), with a task moving it when that host stops.
pub(crate) async fn pool(targets: Targets, options: PgPoolOptions) -> Result<Pool<Postgres>> {
    if targets.hosts.len() == 1 {
        return Ok(options.connect_lazy_with(targets.hosts[0].clone()));
    }
    let first = find(&targets, None)
        .await
        .unwrap_or_else(|| targets.hosts[0].clone());
    let switched = Arc::new(Switched(Mutex::new(Instant::now())));
    let seen = switched.clone();
    let read_write = targets.read_write;
    let pool = options
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if read_write && !writable(conn).await? {
                    return Err(sqlx::Error::Protocol(
                        "the server does not take writes (a standby)".into(),
                    ));
                }
                Ok(())
            })
        })
        .before_acquire(move |_, meta| {
            let at = *seen.0.lock().unwrap_or_else(PoisonError::into_inner);
            let keep = meta.age < at.elapsed();
            Box::pin(async move { Ok(keep) })
        })
        .connect_lazy_with(first.clone());
    tokio::spawn(follow(pool.clone(), targets, first, switched));
    Ok(pool)
}

/// Whether the server of `conn` takes writes.
async fn writable(conn: &mut PgConnection) -> std::result::Result<bool, sqlx::Error> {
    let (recovering,): (bool,) = sqlx::query_as("SELECT pg_is_in_recovery()")
        .fetch_one(&mut *conn)
        .await?;
    Ok(!recovering)
}

/// The first host (trying `current` first) that answers and, if wanted, takes writes.
async fn find(targets: &Targets, current: Option<&PgConnectOptions>) -> Option<PgConnectOptions> {
    let order = current.into_iter().chain(
        targets
            .hosts
            .iter()
            .filter(|h| current.is_none_or(|c| !same(c, h))),
    );
    for host in order {
        let attempt = async {
            let mut c = host.connect().await?;
            let ok = !targets.read_write || writable(&mut c).await?;
            let _ = c.close().await;
            Ok::<_, sqlx::Error>(ok)
        };
        if let Ok(Ok(true)) = tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
            return Some(host.clone());
        }
    }
    None
}

fn same(a: &PgConnectOptions, b: &PgConnectOptions) -> bool {
    a.get_host() == b.get_host() && a.get_port() == b.get_port()
}

/// Checks the host in use every [`CHECK_EVERY`]; when it no longer answers or takes
/// writes, moves the pool to the one that does.
async fn follow(
    pool: Pool<Postgres>,
    targets: Targets,
    mut current: PgConnectOptions,
    switched: Arc<Switched>,
) {
    let switches = metrics::counter!("idnode_database_host_switches_total");
    let mut check: Option<PgConnection> = None;
    while !pool.is_closed() {
        tokio::time::sleep(CHECK_EVERY).await;
        let healthy = async {
            if check.is_none() {
                check = Some(current.connect().await?);
            }
            let conn = check.as_mut().expect("just connected");
            Ok::<_, sqlx::Error>(!targets.read_write || writable(conn).await?)
        };
        if let Ok(Ok(true)) = tokio::time::timeout(CONNECT_TIMEOUT, healthy).await {
            continue;
        }
        check = None;
        let Some(next) = find(&targets, Some(&current)).await else {
            continue;
        };
        if !same(&next, &current) {
            tracing::warn!(
                from = %format!("{}:{}", current.get_host(), current.get_port()),
                to = %format!("{}:{}", next.get_host(), next.get_port()),
                "database: moving to the host that takes writes"
            );
            *switched.0.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
            pool.set_connect_options(next.clone());
            switches.increment(1);
            current = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_lists_are_split_and_libpq_attributes_read() {
        let t = parse(
            "postgres://app:pw@127.0.0.1:16001,db2.example:16002/idnode?target_session_attrs=read-write&sslmode=disable",
        )
        .unwrap();
        assert!(t.read_write);
        let hosts: Vec<_> = t
            .hosts
            .iter()
            .map(|h| {
                (
                    h.get_host().to_owned(),
                    h.get_port(),
                    h.get_database().map(str::to_owned),
                )
            })
            .collect();
        assert_eq!(
            hosts,
            [
                ("127.0.0.1".to_owned(), 16001, Some("idnode".to_owned())),
                ("db2.example".to_owned(), 16002, Some("idnode".to_owned()))
            ]
        );
        assert_eq!(t.hosts[1].get_username(), "app");
        let one = parse("postgres://postgres@127.0.0.1:5432/postgres").unwrap();
        assert_eq!((one.hosts.len(), one.read_write), (1, false));
        let any = parse("postgresql://h1,h2/db?target_session_attrs=any").unwrap();
        assert_eq!((any.hosts.len(), any.read_write), (2, false));
        assert_eq!(any.hosts[1].get_port(), 5432);
        for bad in [
            "127.0.0.1:5432/db",
            "postgres://h1,,h2/db",
            "postgres://h1:x/db",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
