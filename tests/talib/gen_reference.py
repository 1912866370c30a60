#!/usr/bin/env python3
"""Regenerate tests/talib/reference.json: TA-Lib's output on real BTCUSDT 1m candles.

The SDK's streaming indicators (sdk/src/indicators/) are checked against this file by
sdk/tests/talib.rs, which reads the committed JSON and the same CSV, so CI needs no Python.
Only rerun this when the indicator set or the parameters below change:

    python3 -m venv /tmp/talib-venv
    /tmp/talib-venv/bin/pip install TA-Lib numpy     # wheels bundle the C library
    /tmp/talib-venv/bin/python tests/talib/gen_reference.py

The committed file was produced with the PyPI package TA-Lib 0.8.2 (C library 0.8.1) and
numpy 2.4 on x86_64. Values are written with 12 significant digits (rounding error below
5e-13 relative, far inside the test's 1e-9); NaN (TA-Lib's lookback) is written as null.
"""

import csv
import json
import os
import sys

try:
    import numpy as np
    import talib
except ImportError as e:  # pragma: no cover - a setup problem, not a test result
    sys.exit(f"{e}: install the reference stack first: pip install TA-Lib numpy")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))  # the workspace root (/work/main)
# Relative to the workspace root; the Rust test resolves it the same way.
CSV = "../shared/data/binance-us-1m/BTCUSDT_1m_20230301_20230321.csv"
ROWS = 2000
DIGITS = 12


def load():
    with open(os.path.join(ROOT, CSV), newline="") as f:
        rows = list(csv.DictReader(f))[:ROWS]
    if len(rows) < ROWS:
        sys.exit(f"{CSV}: only {len(rows)} rows, need {ROWS}")
    cols = {k: np.array([float(r[k]) for r in rows]) for k in ("high", "low", "close")}
    return rows, cols


def values(arr):
    return [None if np.isnan(v) else float(f"{v:.{DIGITS}g}") for v in arr]


def main():
    rows, c = load()
    close, high, low = c["close"], c["high"], c["low"]
    series = []

    def add(function, params, output, arr):
        series.append({"function": function, "params": params, "output": output, "values": values(arr)})

    for p in (10, 30):
        add("SMA", {"timeperiod": p}, "real", talib.SMA(close, timeperiod=p))
        add("EMA", {"timeperiod": p}, "real", talib.EMA(close, timeperiod=p))
    for p in (6, 14):
        add("RSI", {"timeperiod": p}, "real", talib.RSI(close, timeperiod=p))
    bb = {"timeperiod": 20, "nbdevup": 2.0, "nbdevdn": 1.5, "matype": 0}
    upper, middle, lower = talib.BBANDS(close, **bb)
    for name, arr in (("upperband", upper), ("middleband", middle), ("lowerband", lower)):
        add("BBANDS", bb, name, arr)
    add("ATR", {"timeperiod": 14}, "real", talib.ATR(high, low, close, timeperiod=14))
    for p in (5, 20):
        add("STDDEV", {"timeperiod": p, "nbdev": 1.0}, "real", talib.STDDEV(close, timeperiod=p, nbdev=1.0))
    add("ROCP", {"timeperiod": 10}, "real", talib.ROCP(close, timeperiod=10))

    doc = {
        "generated_by": "tests/talib/gen_reference.py",
        "talib": f"TA-Lib {talib.__version__} (C {talib.__ta_version__.decode().split()[0]})",
        "csv": CSV,
        "rows": ROWS,
        "first_open_time": rows[0]["open_time"],
        "last_close": float(rows[-1]["close"]),
        "significant_digits": DIGITS,
        "series": series,
    }
    out = os.path.join(HERE, "reference.json")
    with open(out, "w") as f:
        # One series per line: small, and diffs stay readable.
        f.write("{\n")
        meta = [k for k in doc if k != "series"]
        for k in meta:
            f.write(f"  {json.dumps(k)}: {json.dumps(doc[k])},\n")
        f.write('  "series": [\n')
        lines = [f"    {json.dumps(s, separators=(',', ':'))}" for s in series]
        f.write(",\n".join(lines))
        f.write("\n  ]\n}\n")
    print(f"wrote {out}: {len(series)} series x {ROWS} rows, {os.path.getsize(out)} bytes")


if __name__ == "__main__":
    main()
