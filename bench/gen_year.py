#!/usr/bin/env python3
"""Write one year of synthetic 1-minute BTCUSDT candles (525,600 rows) in the OHLCV CSV
format of ../shared/data/binance-us-1m (open_time,open,high,low,close,volume).

Deterministic (fixed seed): a geometric random walk at about 60 % annualised volatility.
Usage: python3 bench/gen_year.py OUT.csv
"""
import math
import random
import sys
from datetime import datetime, timedelta, timezone

def main(path):
    rng = random.Random(20240101)
    t = datetime(2024, 1, 1, tzinfo=timezone.utc)
    price = 42000.0
    sigma = 0.60 / math.sqrt(525600)
    with open(path, "w") as f:
        f.write("open_time,open,high,low,close,volume\n")
        for _ in range(525600):
            o = price
            c = o * math.exp(rng.gauss(0.0, sigma))
            h = max(o, c) * (1 + abs(rng.gauss(0.0, sigma / 2)))
            l = min(o, c) * (1 - abs(rng.gauss(0.0, sigma / 2)))
            v = abs(rng.gauss(2.0, 1.0)) + 0.01
            f.write(f"{t:%Y-%m-%d %H:%M:%S}+00:00,{o:.2f},{h:.2f},{l:.2f},{c:.2f},{v:.6f}\n")
            price = c
            t += timedelta(minutes=1)

if __name__ == "__main__":
    main(sys.argv[1])
