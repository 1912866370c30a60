//! The streaming indicators against TA-Lib on real candles.
//!
//! `tests/talib/reference.json` (workspace root) holds TA-Lib's output for the first rows
//! of a Binance.US BTCUSDT 1m recording; `tests/talib/gen_reference.py` wrote it. This
//! test replays the same CSV through the SDK's indicators and wants every value within
//! 1e-9 relative, and `None` exactly where TA-Lib has NaN. No Python needed here.

use std::collections::BTreeMap;
use std::path::PathBuf;
use tradehost_sdk::indicators::{Atr, Bollinger, Ema, Rocp, RollingStd, Rsi, Sma};

const TOLERANCE: f64 = 1e-9;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct Bar {
    high: f64,
    low: f64,
    close: f64,
}

fn load_bars(rel: &str, rows: usize) -> (Vec<Bar>, String) {
    let path = workspace_root().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the candle CSV {} ({e}); the shared data directory must sit beside the repo",
            path.display()
        )
    });
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no `{name}` column"));
    let (t, h, l, c) = (col("open_time"), col("high"), col("low"), col("close"));
    let mut first_time = String::new();
    let bars = lines
        .take(rows)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            if first_time.is_empty() {
                first_time = f[t].to_string();
            }
            let num = |i: usize| f[i].parse::<f64>().unwrap_or_else(|e| panic!("bad number `{}`: {e}", f[i]));
            Bar { high: num(h), low: num(l), close: num(c) }
        })
        .collect::<Vec<_>>();
    assert_eq!(bars.len(), rows, "{} has fewer than {rows} rows", path.display());
    (bars, first_time)
}

/// Runs one reference series through the matching indicator.
fn compute(function: &str, output: &str, params: &Json, bars: &[Bar]) -> Vec<Option<f64>> {
    let p = |k: &str| params.get(k).and_then(Json::num).unwrap_or_else(|| panic!("{function}: no param `{k}`"));
    let period = p("timeperiod") as usize;
    let closes = bars.iter().map(|b| b.close);
    match function {
        "SMA" => closes.scan(Sma::new(period), |s, x| Some(s.update(x))).collect(),
        "EMA" => closes.scan(Ema::new(period), |s, x| Some(s.update(x))).collect(),
        "RSI" => closes.scan(Rsi::new(period), |s, x| Some(s.update(x))).collect(),
        "ROCP" => closes.scan(Rocp::new(period), |s, x| Some(s.update(x))).collect(),
        "STDDEV" => {
            assert_eq!(p("nbdev"), 1.0, "RollingStd is STDDEV with nbdev = 1");
            closes.scan(RollingStd::new(period), |s, x| Some(s.update(x))).collect()
        }
        "ATR" => bars.iter().scan(Atr::new(period), |s, b| Some(s.update(b.high, b.low, b.close))).collect(),
        "BBANDS" => {
            assert_eq!(p("matype"), 0.0, "Bollinger is BBANDS with an SMA middle band");
            let bb = Bollinger::new(period, p("nbdevup"), p("nbdevdn"));
            let bands = closes.scan(bb, |s, x| Some(s.update(x)));
            match output {
                "upperband" => bands.map(|b| b.map(|b| b.upper)).collect(),
                "middleband" => bands.map(|b| b.map(|b| b.middle)).collect(),
                "lowerband" => bands.map(|b| b.map(|b| b.lower)).collect(),
                other => panic!("BBANDS has no output `{other}`"),
            }
        }
        other => panic!("no indicator for TA-Lib function `{other}`"),
    }
}

#[test]
fn indicators_match_talib_on_real_btcusdt_candles() {
    let ref_path = workspace_root().join("tests/talib/reference.json");
    let text = std::fs::read_to_string(&ref_path)
        .unwrap_or_else(|e| panic!("cannot read {} ({e}); regenerate with gen_reference.py", ref_path.display()));
    let doc = Json::parse(&text);
    let rows = doc.get("rows").and_then(Json::num).expect("rows") as usize;
    let csv = doc.get("csv").and_then(Json::str).expect("csv");
    let (bars, first_time) = load_bars(csv, rows);
    assert_eq!(Some(first_time.as_str()), doc.get("first_open_time").and_then(Json::str), "not the same CSV");
    assert_eq!(Some(bars[rows - 1].close), doc.get("last_close").and_then(Json::num), "not the same CSV");

    let series = doc.get("series").and_then(Json::arr).expect("series");
    assert!(series.len() >= 8, "the reference covers every indicator");
    let mut checked = 0;
    for s in series {
        let function = s.get("function").and_then(Json::str).expect("function");
        let output = s.get("output").and_then(Json::str).expect("output");
        let params = s.get("params").expect("params");
        let name = format!("{function}{}.{output}", params.render());
        let want = s.get("values").and_then(Json::arr).expect("values");
        let got = compute(function, output, params, &bars);
        assert_eq!(got.len(), want.len(), "{name}: length");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            match (g, w.num()) {
                (None, None) => {}
                (Some(g), Some(w)) => {
                    let err = (g - w).abs() / w.abs().max(f64::MIN_POSITIVE);
                    assert!(
                        err <= TOLERANCE || g == &w,
                        "{name} row {i}: ours {g}, TA-Lib {w} (relative error {err:e})"
                    );
                    checked += 1;
                }
                (g, w) => panic!("{name} row {i}: ours {g:?}, TA-Lib {w:?} (warm-up differs from TA-Lib's lookback)"),
            }
        }
    }
    assert!(checked > 20_000, "only {checked} values compared");
}

/// Just enough JSON for the reference file: objects, arrays, strings without escapes
/// beyond `\"` and `\\`, numbers, `null`, `true`, `false`.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(BTreeMap<String, Json>),
}

impl Json {
    fn parse(text: &str) -> Json {
        let mut p = Parser { s: text.as_bytes(), i: 0 };
        let v = p.value();
        p.ws();
        assert_eq!(p.i, p.s.len(), "trailing characters in JSON");
        v
    }
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(m) => m.get(key),
            _ => None,
        }
    }
    fn num(&self) -> Option<f64> {
        match self {
            Json::Num(x) => Some(*x),
            _ => None,
        }
    }
    fn str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }
    fn arr(&self) -> Option<&[Json]> {
        match self {
            Json::Arr(a) => Some(a),
            _ => None,
        }
    }
    fn render(&self) -> String {
        match self {
            Json::Obj(m) => {
                format!("({})", m.iter().map(|(k, v)| format!("{k}={}", v.render())).collect::<Vec<_>>().join(","))
            }
            Json::Num(x) => x.to_string(),
            other => format!("{other:?}"),
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        let hit = self.s.get(self.i) == Some(&c);
        self.i += usize::from(hit);
        hit
    }
    fn expect(&mut self, c: u8) {
        assert!(self.eat(c), "JSON: expected `{}` at byte {}", c as char, self.i);
    }
    fn value(&mut self) -> Json {
        self.ws();
        let rest = &self.s[self.i..];
        for (word, v) in [("null", Json::Null), ("true", Json::Bool(true)), ("false", Json::Bool(false))] {
            if rest.starts_with(word.as_bytes()) {
                self.i += word.len();
                return v;
            }
        }
        match rest.first() {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => Json::Str(self.string()),
            _ => self.number(),
        }
    }
    fn object(&mut self) -> Json {
        self.expect(b'{');
        let mut m = BTreeMap::new();
        if !self.eat(b'}') {
            loop {
                self.ws();
                let k = self.string();
                self.expect(b':');
                m.insert(k, self.value());
                if self.eat(b'}') {
                    break;
                }
                self.expect(b',');
            }
        }
        Json::Obj(m)
    }
    fn array(&mut self) -> Json {
        self.expect(b'[');
        let mut a = Vec::new();
        if !self.eat(b']') {
            loop {
                a.push(self.value());
                if self.eat(b']') {
                    break;
                }
                self.expect(b',');
            }
        }
        Json::Arr(a)
    }
    fn string(&mut self) -> String {
        self.expect(b'"');
        let mut out = Vec::new();
        while let Some(&c) = self.s.get(self.i) {
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).expect("JSON strings are UTF-8"),
                b'\\' => {
                    out.push(self.s[self.i]);
                    self.i += 1;
                }
                _ => out.push(c),
            }
        }
        panic!("JSON: unterminated string");
    }
    fn number(&mut self) -> Json {
        let start = self.i;
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_digit() || b"+-.eE".contains(c)) {
            self.i += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).unwrap_or_default();
        Json::Num(text.parse().unwrap_or_else(|e| panic!("JSON: bad number `{text}` at byte {start}: {e}")))
    }
}
