//! Query schedules of EPCIS subscriptions, as cron does them: `second`, `minute`, `hour`,
//! `dayOfMonth`, `month`, `dayOfWeek` (1 Monday … 7 Sunday), each a comma-separated list
//! of numbers and `[low-high]` ranges, in UTC. A field left out matches every value when it
//! is more significant than every field given, and only its least value otherwise:
//! `{"hour": "1", "minute": "5"}` runs at 01:05:00 every day, `{"minute": "0"}` at the top
//! of every hour. `dayOfWeek`, when given, must match as well.

use serde_json::Value;
use time::OffsetDateTime;

/// The fields, most significant first, with their ranges (`dayOfWeek` apart).
const FIELDS: [(&str, u8, u8); 5] = [
    ("month", 1, 12),
    ("dayOfMonth", 1, 31),
    ("hour", 0, 23),
    ("minute", 0, 59),
    ("second", 0, 59),
];

/// A parsed schedule: for each field, the values it matches (bit `v` set for value `v`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    sets: [u64; 5],
    weekdays: u64,
}

/// Why a schedule is refused.
pub type ScheduleError = String;

impl Schedule {
    /// Parses a schedule object; at least one field must be given.
    pub fn parse(v: &Value) -> Result<Self, ScheduleError> {
        let o = v.as_object().ok_or("schedule: an object of fields")?;
        if let Some(k) = o
            .keys()
            .find(|k| k.as_str() != "dayOfWeek" && !FIELDS.iter().any(|(n, ..)| n == k))
        {
            return Err(format!("schedule: unknown field {k}"));
        }
        let text = |name: &str| -> Result<Option<String>, ScheduleError> {
            match o.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(_) => Err(format!("schedule.{name}: a string such as \"1,5,[10-20]\"")),
            }
        };
        let first = FIELDS.iter().position(|(n, ..)| o.contains_key(*n));
        let weekdays = match text("dayOfWeek")? {
            Some(t) => set("dayOfWeek", &t, 1, 7)?,
            None => bits(1, 7),
        };
        let Some(first) = first.or(o.contains_key("dayOfWeek").then_some(2)) else {
            return Err("schedule: give at least one field".into());
        };
        let mut sets = [0u64; 5];
        for (i, (name, lo, hi)) in FIELDS.iter().enumerate() {
            sets[i] = match text(name)? {
                Some(t) => set(name, &t, *lo, *hi)?,
                None if i < first => bits(*lo, *hi),
                None => 1 << lo,
            };
        }
        Ok(Self { sets, weekdays })
    }

    /// The first time strictly after `after` (unix ms) that the schedule matches, within
    /// five years; `None` when it never does (say, 31 February).
    pub fn next_after(&self, after: i64) -> Option<i64> {
        let start = after.div_euclid(1000) + 1;
        let mut minute = start - start.rem_euclid(60);
        let end = minute + 5 * 366 * 86_400;
        while minute < end {
            let t = OffsetDateTime::from_unix_timestamp(minute).ok()?;
            let day_ok = self.has(0, u8::from(t.month()))
                && self.has(1, t.day())
                && self.weekdays & (1 << t.weekday().number_from_monday()) != 0;
            if !day_ok {
                // The next day.
                minute += 86_400 - i64::from(t.hour()) * 3600 - i64::from(t.minute()) * 60;
                continue;
            }
            if !self.has(2, t.hour()) {
                minute += 3600 - i64::from(t.minute()) * 60;
                continue;
            }
            if self.has(3, t.minute()) {
                let from = if minute < start { start - minute } else { 0 };
                if let Some(s) = (from..60).find(|s| self.has(4, *s as u8)) {
                    return Some((minute + s) * 1000);
                }
            }
            minute += 60;
        }
        None
    }

    fn has(&self, field: usize, v: u8) -> bool {
        self.sets[field] & (1 << v) != 0
    }
}

fn bits(lo: u8, hi: u8) -> u64 {
    (lo..=hi).fold(0, |b, v| b | 1 << v)
}

/// `1,5,[10-20]` within `lo..=hi`.
fn set(name: &str, text: &str, lo: u8, hi: u8) -> Result<u64, ScheduleError> {
    let bad =
        || format!("schedule.{name}: numbers {lo} to {hi} and [low-high] ranges, comma-separated");
    let num = |s: &str| -> Result<u8, ScheduleError> {
        let n: u8 = s.trim().parse().map_err(|_| bad())?;
        if (lo..=hi).contains(&n) {
            Ok(n)
        } else {
            Err(bad())
        }
    };
    let mut out = 0;
    for part in text.split(',') {
        let part = part.trim();
        match part.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
            Some(range) => {
                let (a, b) = range.split_once('-').ok_or_else(bad)?;
                let (a, b) = (num(a)?, num(b)?);
                if a > b {
                    return Err(bad());
                }
                out |= bits(a, b);
            }
            None => out |= 1 << num(part)?,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// 2026-12-04T10:20:30Z.
    const NOW: i64 = 1_796_379_630_000;

    fn at(s: &str) -> i64 {
        OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .unwrap()
            .unix_timestamp()
            * 1000
    }

    fn next(v: &Value) -> i64 {
        Schedule::parse(v).unwrap().next_after(NOW).unwrap()
    }

    #[test]
    fn cron_like_times() {
        assert_eq!(NOW, at("2026-12-04T10:20:30Z"));
        assert_eq!(
            next(&json!({"hour": "1", "minute": "5"})),
            at("2026-12-05T01:05:00Z")
        );
        assert_eq!(next(&json!({"minute": "0"})), at("2026-12-04T11:00:00Z"));
        assert_eq!(
            next(&json!({"second": "[31-40]"})),
            at("2026-12-04T10:20:31Z")
        );
        assert_eq!(next(&json!({"second": "0,15"})), at("2026-12-04T10:21:00Z"));
        assert_eq!(
            next(&json!({"minute": "20", "second": "30"})),
            at("2026-12-04T11:20:30Z")
        );
        // 2026-12-07 is a Monday.
        assert_eq!(next(&json!({"dayOfWeek": "1"})), at("2026-12-07T00:00:00Z"));
        assert_eq!(
            next(&json!({"month": "2", "dayOfMonth": "29"})),
            at("2028-02-29T00:00:00Z")
        );
        assert_eq!(
            Schedule::parse(&json!({"month": "2", "dayOfMonth": "31"}))
                .unwrap()
                .next_after(NOW),
            None
        );
    }

    #[test]
    fn faulty_schedules() {
        for bad in [
            json!({}),
            json!([]),
            json!({"hour": "24"}),
            json!({"minute": "[10-5]"}),
            json!({"minute": "5-10"}),
            json!({"dayOfWeek": "0"}),
            json!({"fortnight": "1"}),
            json!({"hour": true}),
        ] {
            assert!(Schedule::parse(&bad).is_err(), "{bad}");
        }
    }
}
