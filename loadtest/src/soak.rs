//! The soak's load as a wrk Lua script: anonymous REST resolutions of identifiers drawn at
//! random (anew for each request: the cache sees the whole range) among those `scale` registered and the soak's own thousand (`SOAK-0`…`SOAK-999`, created
//! before the run), every WRITE_EVERY-th request a PUT replacing one of the thousand (so the
//! cache keeps changing), each connection pausing DELAY ms between requests (the rate is set
//! by the number of connections). wrk, not a client of ours, generates the load: a reqwest
//! generator reached a quarter of the node's capacity on the core it shared with PostgreSQL.

use std::io::Write as _;

/// The identifiers of the soak's own.
pub(crate) const WRITTEN: u64 = 1000;

/// What the script does.
pub(crate) struct Script {
    /// `Authorization` of the PUTs.
    pub(crate) auth: String,
    pub(crate) prefix: String,
    /// Identifiers registered by `scale` (`p000000000`…).
    pub(crate) count: u64,
    /// Every how many requests one is a PUT (0: none).
    pub(crate) write_every: u64,
    /// Pause of each connection between requests, in milliseconds.
    pub(crate) delay_ms: u64,
}

/// Writes the script to stdout.
pub(crate) fn write(s: &Script) -> anyhow::Result<()> {
    let Script {
        auth,
        prefix,
        count,
        write_every,
        delay_ms,
    } = s;
    let mut out = std::io::stdout().lock();
    write!(
        out,
        r#"math.randomseed(os.time())
local function path()
  local n = math.random(0, {last})
  if n < {count} then return string.format('/api/handles/{prefix}/p%09d', n) end
  return '/api/handles/{prefix}/SOAK-' .. (n - {count})
end
local put = {{["Authorization"] = "{auth}", ["Content-Type"] = "application/json"}}
local body = '{{"values":[{{"index":1,"type":"URL","data":"https://soak.example/%d/%d"}},'
  .. '{{"index":2,"type":"EMAIL","data":"ops@soak.example"}}]}}'
local n = 0
request = function()
  n = n + 1
  if {write_every} > 0 and n % {write_every} == 0 then
    local i = math.random(0, {written_last})
    return wrk.format('PUT', '/api/handles/{prefix}/SOAK-' .. i, put, string.format(body, i, n))
  end
  return wrk.format('GET', path())
end
delay = function() return {delay_ms} end
"#,
        last = count + WRITTEN - 1,
        written_last = WRITTEN - 1,
    )?;
    Ok(())
}
