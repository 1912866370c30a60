#!/usr/bin/env python3
"""tradehost backtest vs backtesting.py on the same data and the same rules.

The SMA/EMA crossover (EMA 5 seeded with the SMA of its first 5 values, as TA-Lib does;
SMA 10), one BTC per trade, a stop 10 % below the fill price, 0.1 % commission on each
side, signals on a close filled at the next open, open trades closed at the end
(`finalize_trades=True`, which fills at the last candle's open).

backtesting.py takes an absolute stop price when the order is placed, before the fill
price is known; as fills happen at the next open with no slippage, the script passes
`next open * 0.9`, which is exactly "10 % below the fill price".

Usage: python3 bench/backtesting_compare.py [tradehost binary]  (default target/release/tradehost)
Needs: pip install backtesting (pandas, numpy come with it).
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal

import numpy as np
import pandas as pd
from backtesting import Backtest, Strategy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "..", "shared", "data", "binance-us-1m", "BTCUSDT_1m_20230301_20230321.csv")


def sma(x, n):
    out = np.full(len(x), np.nan)
    for i in range(n - 1, len(x)):
        out[i] = sum(x[i + 1 - n:i + 1]) / n
    return out


def ema(x, n):
    out = np.full(len(x), np.nan)
    k = 2.0 / (n + 1)
    seed = 0.0
    prev = None
    for i, v in enumerate(x):
        if prev is None:
            seed += v
            if i + 1 == n:
                prev = seed / n
                out[i] = prev
        else:
            prev = (v - prev) * k + prev
            out[i] = prev
    return out


def run_backtesting_py(df):
    next_open = np.append(df.Open.values[1:], np.nan)

    class SmaEma(Strategy):
        def init(self):
            self.s = self.I(sma, self.data.Close, 10)
            self.e = self.I(ema, self.data.Close, 5)
            self.prev = None

        def next(self):
            s, e = self.s[-1], self.e[-1]
            sign = None if np.isnan(s) or np.isnan(e) else (1 if e > s else -1 if e < s else 0)
            prev = self.prev
            if sign is not None:
                self.prev = sign
            up = prev is not None and sign == 1 and prev <= 0
            down = prev is not None and sign == -1 and prev >= 0
            i = len(self.data) - 1
            if self.position and down:
                self.position.close()
            elif not self.position and not self.orders and up and i + 1 < len(next_open):
                self.buy(size=1, sl=round(next_open[i] * 0.9, 8))

    bt = Backtest(df, SmaEma, cash=1_000_000_000, commission=0.001, finalize_trades=True)
    started = time.perf_counter()
    stats = bt.run()
    elapsed = time.perf_counter() - started
    trades = [
        (int(r.EntryBar), int(r.ExitBar), float(r.EntryPrice), float(r.ExitPrice))
        for r in stats._trades.itertuples()
    ]
    return trades, elapsed


def run_tradehost(binary):
    out = tempfile.mkdtemp()
    cmd = [binary, "--config", os.path.join(ROOT, "bench", "sma_ema_backtest.toml"), "backtest", DATA, "--out", out]
    started = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    report = json.load(open(os.path.join(out, "report.json")))
    t0 = 1677628800000
    fills = [
        ((t["time"] - t0) // 60000, t["side"], Decimal(t["price"]))
        for t in report["variants"][0]["trades"]
    ]
    trades = []
    for buy, sell in zip(fills[0::2], fills[1::2]):
        assert buy[1] == "BUY" and sell[1] == "SELL", (buy, sell)
        trades.append((buy[0], sell[0], float(buy[2]), float(sell[2])))
    return trades, report["elapsed_s"], wall


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "release", "tradehost")
    raw = pd.read_csv(DATA)
    df = pd.DataFrame({
        "Open": raw.open.values, "High": raw.high.values, "Low": raw.low.values,
        "Close": raw.close.values, "Volume": raw.volume.values,
    }, index=pd.to_datetime(raw.open_time))
    ours, ours_s, ours_wall = run_tradehost(binary)
    theirs, theirs_s = run_backtesting_py(df)
    same = len(ours) == len(theirs) and all(
        a[0] == b[0] and a[1] == b[1] and abs(a[2] - b[2]) < 1e-6 and abs(a[3] - b[3]) < 1e-6
        for a, b in zip(ours, theirs)
    )
    if not same:
        for n, (a, b) in enumerate(zip(ours, theirs)):
            if a != b and not (a[:2] == b[:2] and abs(a[2] - b[2]) < 1e-6 and abs(a[3] - b[3]) < 1e-6):
                print(f"first difference at trade #{n}: tradehost {a} vs backtesting.py {b}")
                break
    print(f"candles: {len(df)}")
    print(f"trades: tradehost {len(ours)}, backtesting.py {len(theirs)}, identical: {same}")
    print(f"tradehost backtest (in-process): {ours_s * 1000:.1f} ms  (whole process: {ours_wall * 1000:.0f} ms)")
    print(f"backtesting.py Backtest.run:     {theirs_s * 1000:.1f} ms")
    print(f"speed-up in-process: {theirs_s / ours_s:.1f}x")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
