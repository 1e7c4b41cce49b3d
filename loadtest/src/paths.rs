//! `paths`: the wrk scripts of the REST loads.

use std::io::Write as _;

/// Writes a wrk script requesting, per request, an identifier drawn uniformly from all
/// `count` (as pgbench's `random()` draws its rows), from a generator seeded per run. It
/// once always cycled through 100,000 identifiers drawn at start from wrk's unseeded
/// generator: the same 100,000 in every run, a working set that fits in shared buffers
/// however many identifiers the database holds. With `cycle` it still does, seeded, for
/// comparisons with the nginx anchor, whose script does the same.
pub(crate) fn write(prefix: &str, count: usize, cycle: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let last = count.saturating_sub(1);
    let path = format!("string.format('/api/handles/{prefix}/p%09d', math.random(0, {last}))");
    writeln!(
        out,
        "math.randomseed(os.time() + tonumber(tostring({{}}):sub(8), 16))"
    )?;
    if cycle {
        writeln!(out, "local ids = {{}}")?;
        writeln!(out, "for i = 1, 100000 do ids[i] = {path} end")?;
        writeln!(out, "local k = 0")?;
        writeln!(
            out,
            "request = function() k = k % 100000 + 1; return wrk.format('GET', ids[k]) end"
        )?;
    } else {
        writeln!(
            out,
            "request = function() return wrk.format('GET', {path}) end"
        )?;
    }
    Ok(())
}
