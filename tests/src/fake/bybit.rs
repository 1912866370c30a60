//! A fake Bybit v5 exchange (in progress).
