//! The operator's dashboard reads the node's own `/metrics` (the numbers Grafana shows):
//! a [`Sampler`] keeps one sample every ten seconds for an hour, so rates, the cache hit
//! ratio and latency quantiles are computed over the recent past without Prometheus.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use idnode_web::console::chart::Series;
use idnode_web::console::operator::{Dashboard, Tile};
use idnode_web::Lang;
use metrics_exporter_prometheus::PrometheusHandle;

/// Time between samples.
const EVERY: Duration = Duration::from_secs(10);
/// Samples kept (an hour).
const KEPT: usize = 360;
/// The window of the figures (rates, ratios, quantiles): five minutes.
const WINDOW: Duration = Duration::from_secs(300);

/// What one scrape of the node's metrics holds that the dashboard shows.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sample {
    at: Option<Instant>,
    /// `idnode_resolutions_total` by (front end, result).
    resolutions: BTreeMap<(String, String), f64>,
    /// `idnode_cache_lookups_total` by result.
    cache: BTreeMap<String, f64>,
    /// `idnode_http_request_duration_seconds` buckets summed over routes: (le, count).
    latency: Vec<(f64, f64)>,
    registrations: f64,
    gauges: BTreeMap<String, f64>,
}

impl Sample {
    /// The figures of one `/metrics` text.
    pub(crate) fn parse(text: &str, at: Instant) -> Self {
        use prometheus_parse::Value;
        let mut s = Self {
            at: Some(at),
            ..Self::default()
        };
        let Ok(scrape) = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        else {
            return s;
        };
        let mut buckets: BTreeMap<u64, f64> = BTreeMap::new();
        for m in scrape.samples {
            let label = |k: &str| m.labels.get(k).unwrap_or_default().to_owned();
            match (m.metric.as_str(), &m.value) {
                ("idnode_resolutions_total", Value::Counter(v) | Value::Untyped(v)) => {
                    *s.resolutions
                        .entry((label("frontend"), label("result")))
                        .or_default() += v;
                }
                ("idnode_cache_lookups_total", Value::Counter(v) | Value::Untyped(v)) => {
                    *s.cache.entry(label("result")).or_default() += v;
                }
                ("idnode_registrations_total", Value::Counter(v) | Value::Untyped(v)) => {
                    s.registrations += v;
                }
                ("idnode_http_request_duration_seconds", Value::Histogram(hs)) => {
                    for b in hs {
                        *buckets.entry(b.less_than.to_bits()).or_default() += b.count;
                    }
                }
                (name, Value::Gauge(v)) if name.starts_with("idnode_upstream_") => {
                    s.gauges.insert(name.to_owned(), *v);
                }
                _ => {}
            }
        }
        s.latency = buckets
            .into_iter()
            .map(|(le, n)| (f64::from_bits(le), n))
            .collect();
        s.latency.sort_by(|a, b| a.0.total_cmp(&b.0));
        s
    }

    fn resolutions_of(&self, frontend: &str) -> f64 {
        self.resolutions
            .iter()
            .filter(|((f, _), _)| f == frontend)
            .map(|(_, v)| v)
            .sum()
    }
}

/// The quantile `q` of the requests between two cumulative bucket lists (the upper bound of
/// the bucket it falls in, as `histogram_quantile` would interpolate no further).
fn quantile(old: &[(f64, f64)], new: &[(f64, f64)], q: f64) -> Option<f64> {
    let count =
        |list: &[(f64, f64)], le: f64| list.iter().find(|(l, _)| *l == le).map_or(0.0, |(_, n)| *n);
    let deltas: Vec<(f64, f64)> = new
        .iter()
        .map(|(le, n)| (*le, n - count(old, *le)))
        .collect();
    let total = deltas.last().map_or(0.0, |(_, n)| *n);
    if total <= 0.0 {
        return None;
    }
    deltas
        .iter()
        .find(|(_, n)| *n >= q * total)
        .map(|(le, _)| *le)
}

/// The last hour of samples, filled every [`EVERY`] by a task of its own.
#[derive(Default)]
pub(crate) struct Sampler {
    ring: Mutex<VecDeque<Sample>>,
}

impl Sampler {
    /// Starts sampling `prometheus` (when there is a runtime to sample on); the task ends
    /// when the sampler is dropped.
    pub(crate) fn start(prometheus: Option<PrometheusHandle>) -> Arc<Self> {
        let sampler = Arc::new(Self::default());
        if let (Some(p), Ok(rt)) = (prometheus, tokio::runtime::Handle::try_current()) {
            let weak = Arc::downgrade(&sampler);
            rt.spawn(async move {
                let mut tick = tokio::time::interval(EVERY);
                loop {
                    tick.tick().await;
                    let Some(s) = weak.upgrade() else { break };
                    s.push(Sample::parse(&p.render(), Instant::now()));
                }
            });
        }
        sampler
    }

    fn push(&self, s: Sample) {
        let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        if ring.len() == KEPT {
            ring.pop_front();
        }
        ring.push_back(s);
    }

    fn samples(&self) -> Vec<Sample> {
        let ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        ring.iter().cloned().collect()
    }

    /// The dashboard's figures and charts: `now` is a fresh sample; `counts` the store's
    /// (identifiers, enterprises, prefixes, outbox pending, outbox dead).
    pub(crate) fn dashboard(&self, now: &Sample, counts: [u64; 5], lang: Lang) -> Dashboard {
        let l = lang;
        let mut history = self.samples();
        let at = now.at.unwrap_or_else(Instant::now);
        let base = history
            .iter()
            .find(|s| s.at.is_some_and(|t| at.duration_since(t) <= WINDOW))
            .cloned()
            .unwrap_or_default();
        let secs = base.at.map_or(0.0, |t| at.duration_since(t).as_secs_f64());
        let rate = |new: f64, old: f64| {
            if secs > 0.0 {
                (new - old).max(0.0) / secs
            } else {
                0.0
            }
        };
        let fronts = idnode_resolver::FRONTENDS;
        let per_s: f64 = fronts
            .iter()
            .map(|f| rate(now.resolutions_of(f), base.resolutions_of(f)))
            .sum();
        let cache = |s: &Sample, k: &str| s.cache.get(k).copied().unwrap_or(0.0);
        let hits = cache(now, "hit") + cache(now, "negative_hit")
            - cache(&base, "hit")
            - cache(&base, "negative_hit");
        let misses = cache(now, "miss") - cache(&base, "miss");
        let ratio = if hits + misses > 0.0 {
            format!("{:.1}%", 100.0 * hits / (hits + misses))
        } else {
            "–".into()
        };
        let ms = |q| {
            quantile(&base.latency, &now.latency, q)
                .map_or("–".into(), |s| format!("≤ {} ms", s * 1000.0))
        };
        let errors: f64 = now
            .resolutions
            .iter()
            .filter(|((_, r), _)| r == "error")
            .map(|(_, v)| v)
            .sum();
        let upstream = match now.gauges.get("idnode_upstream_connected") {
            Some(v) if *v >= 1.0 => l.pick("已连接", "connected"),
            Some(_) => l.pick("未连接", "disconnected"),
            None => l.pick("未配置", "not configured"),
        };
        let tile = |label: &str, value: String| Tile {
            label: label.to_owned(),
            value,
        };
        let tiles = vec![
            tile(l.pick("标识总数", "Identifiers"), counts[0].to_string()),
            tile(l.pick("企业", "Enterprises"), counts[1].to_string()),
            tile(l.pick("前缀", "Prefixes"), counts[2].to_string()),
            tile(
                l.pick("解析/秒（5 分钟）", "Resolutions/s (5 min)"),
                format!("{per_s:.1}"),
            ),
            tile(
                l.pick("缓存命中率（5 分钟）", "Cache hit ratio (5 min)"),
                ratio,
            ),
            tile(l.pick("HTTP 延迟 p50", "HTTP latency p50"), ms(0.5)),
            tile(l.pick("HTTP 延迟 p99", "HTTP latency p99"), ms(0.99)),
            tile(
                l.pick("注册（5 分钟）", "Registrations (5 min)"),
                format!("{}", (now.registrations - base.registrations).max(0.0)),
            ),
            tile(
                l.pick("解析出错（累计）", "Resolution errors (total)"),
                format!("{errors}"),
            ),
            tile(
                l.pick("待上报动作", "Outbox pending"),
                counts[3].to_string(),
            ),
            tile(l.pick("失败动作", "Dead actions"), counts[4].to_string()),
            tile(
                l.pick("顶级节点连接", "Top-level node"),
                upstream.to_owned(),
            ),
        ];
        history.push(now.clone());
        let series = per_second(&history);
        Dashboard {
            tiles,
            lines: vec![(
                l.pick(
                    "每秒解析次数（近一小时，按前端）",
                    "Resolutions per second (last hour, by front end)",
                )
                .into(),
                "/s".into(),
                series,
            )],
            bars: Vec::new(),
            tables: vec![results_table(now, l)],
        }
    }
}

/// Resolutions by front end and result since the node started: (title, heads, rows).
fn results_table(now: &Sample, l: Lang) -> (String, Vec<String>, Vec<Vec<String>>) {
    let rows = now
        .resolutions
        .iter()
        .filter(|(_, v)| **v > 0.0)
        .map(|((f, r), v)| vec![f.clone(), r.clone(), v.to_string()])
        .collect();
    let heads = vec![
        l.pick("前端", "Front end").into(),
        l.pick("结果", "Result").into(),
        l.pick("次数", "Count").into(),
    ];
    let title = l.pick(
        "解析次数（按前端和结果，自启动以来）",
        "Resolutions by front end and result (since start)",
    );
    (title.into(), heads, rows)
}

/// Resolutions per second of each front end between consecutive samples.
fn per_second(history: &[Sample]) -> Vec<Series> {
    idnode_resolver::FRONTENDS
        .iter()
        .map(|f| Series {
            name: (*f).to_owned(),
            points: history
                .windows(2)
                .map(|w| {
                    let dt = match (w[0].at, w[1].at) {
                        (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
                        _ => 0.0,
                    };
                    if dt > 0.0 {
                        (w[1].resolutions_of(f) - w[0].resolutions_of(f)).max(0.0) / dt
                    } else {
                        0.0
                    }
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# TYPE idnode_resolutions_total counter\n\
idnode_resolutions_total{frontend=\"http\",result=\"ok\"} 10\n\
idnode_resolutions_total{frontend=\"dns\",result=\"ok\"} 4\n\
idnode_resolutions_total{frontend=\"http\",result=\"error\"} 1\n\
# TYPE idnode_cache_lookups_total counter\n\
idnode_cache_lookups_total{result=\"hit\"} 9\n\
idnode_cache_lookups_total{result=\"miss\"} 1\n\
# TYPE idnode_http_request_duration_seconds histogram\n\
idnode_http_request_duration_seconds_bucket{route=\"a\",le=\"0.001\"} 5\n\
idnode_http_request_duration_seconds_bucket{route=\"a\",le=\"0.01\"} 9\n\
idnode_http_request_duration_seconds_bucket{route=\"a\",le=\"+Inf\"} 10\n\
idnode_http_request_duration_seconds_sum{route=\"a\"} 0.1\n\
idnode_http_request_duration_seconds_count{route=\"a\"} 10\n\
# TYPE idnode_upstream_connected gauge\n\
idnode_upstream_connected 1\n";

    #[test]
    fn a_scrape_gives_the_dashboard_its_figures() {
        let s = Sample::parse(TEXT, Instant::now());
        assert_eq!(s.resolutions_of("http"), 11.0);
        assert_eq!(s.cache["hit"], 9.0);
        assert_eq!(s.latency.len(), 3);
        assert_eq!(quantile(&[], &s.latency, 0.5), Some(0.001));
        assert_eq!(quantile(&[], &s.latency, 0.9), Some(0.01));
        assert_eq!(quantile(&s.latency, &s.latency, 0.5), None);
        let d = Sampler::default().dashboard(&s, [3, 1, 1, 0, 0], Lang::En);
        let tile = |name: &str| {
            d.tiles
                .iter()
                .find(|t| t.label == name)
                .unwrap()
                .value
                .clone()
        };
        assert_eq!(tile("Identifiers"), "3");
        assert_eq!(tile("Top-level node"), "connected");
        assert_eq!(tile("Resolution errors (total)"), "1");
        assert_eq!(d.tables[0].2.len(), 3);
    }

    #[test]
    fn garbage_gives_an_empty_sample() {
        let s = Sample::parse("{{{ not metrics", Instant::now());
        assert!(s.resolutions.is_empty());
    }
}
