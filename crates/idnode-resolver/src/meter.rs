//! `idnode_resolutions_total{frontend, result}`: resolutions counted by front end and
//! outcome, the same series for HTTP, the Handle protocol and DNS.

use metrics::Counter;

/// The front ends (statistics name their resolutions `resolutions.<front end>.<outcome>`).
pub const FRONTENDS: [&str; 3] = ["http", "handle", "dns"];

/// How a resolution ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Answered with values.
    Ok,
    /// No such handle.
    NotFound,
    /// The prefix is served elsewhere.
    NotResponsible,
    /// The request was malformed.
    BadRequest,
    /// Authentication or permission refused.
    Denied,
    /// The server failed.
    Error,
}

impl Outcome {
    /// The outcome a final Handle response code stands for (None for 402: a challenge is
    /// not an outcome; the answered request is counted when it completes).
    pub fn from_rc(rc: u32) -> Option<Self> {
        Some(match rc {
            1 | 200 => Self::Ok,
            100 => Self::NotFound,
            301 | 303 => Self::NotResponsible,
            102 | 4 => Self::BadRequest,
            402 => return None,
            400 | 401 | 403..=408 | 603 => Self::Denied,
            _ => Self::Error,
        })
    }
}

pub(crate) const OUTCOMES: [(Outcome, &str); 6] = [
    (Outcome::Ok, "ok"),
    (Outcome::NotFound, "not_found"),
    (Outcome::NotResponsible, "not_responsible"),
    (Outcome::BadRequest, "bad_request"),
    (Outcome::Denied, "denied"),
    (Outcome::Error, "error"),
];

/// The resolution counters of one front end, registered once.
#[derive(Clone, Debug)]
pub struct Meter {
    counters: [Counter; 6],
    frontend: usize,
}

impl Meter {
    /// The counters of `frontend` (`http`, `handle`, `dns`).
    pub fn new(frontend: &'static str) -> Self {
        Self {
            counters: OUTCOMES.map(|(_, r)| {
                metrics::counter!("idnode_resolutions_total", "frontend" => frontend, "result" => r)
            }),
            frontend: FRONTENDS
                .iter()
                .position(|f| *f == frontend)
                .unwrap_or(0),
        }
    }

    /// Counts one resolution of an identifier under `prefix` asked for by `client`: in the
    /// Prometheus counters and in the statistics `tally` (per prefix, with its clients).
    pub fn record(
        &self,
        tally: &crate::Tally,
        prefix: &str,
        outcome: Outcome,
        client: Option<std::net::IpAddr>,
    ) {
        self.count(outcome);
        tally.count(prefix, self.frontend, outcome, client);
    }

    /// Counts one resolution in the Prometheus counters only.
    pub fn count(&self, outcome: Outcome) {
        let i = OUTCOMES
            .iter()
            .position(|(o, _)| *o == outcome)
            .expect("every outcome has a counter");
        self.counters[i].increment(1);
    }
}
