//! Where the request being served came from, for the audit log: the front ends run each
//! request inside [`scope`] with the client's address, and every write the registry
//! commits in that request records it. Work outside a request (the command line, the
//! upstream worker) has no origin and records ''.

use std::future::Future;
use std::net::IpAddr;

tokio::task_local! {
    static ORIGIN: IpAddr;
}

/// Runs `f` as a request from `client`.
pub async fn scope<F: Future>(client: IpAddr, f: F) -> F::Output {
    ORIGIN.scope(client, f).await
}

/// The address of the request being served, '' outside one.
pub fn current() -> String {
    ORIGIN.try_with(ToString::to_string).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_address_holds_inside_its_scope_only() {
        let ip: IpAddr = "192.0.2.9".parse().unwrap();
        assert_eq!(scope(ip, async { current() }).await, "192.0.2.9");
        assert_eq!(current(), "");
    }
}
