//! Market making (the seed's `market_making_strategy`), on spot: quotes a limit bid below
//! and a limit ask above the mid, and re-quotes on every closed candle.
//!
//! The mid is the candle's close, or with `ticks = true` the last trade; then a trade that
//! moves the mid half a spread away from the quoted mid also re-quotes. Quotes are
//! `mid * (1 - spread / 2)` rounded down and `mid * (1 + spread / 2)` rounded up to
//! `tick_size`, computed in `Decimal`. Re-quoting cancels this instance's other limit
//! orders on the symbol and keeps a resting quote that is already right.
//!
//! Inventory: the bid is cut so the position never exceeds `max_inventory.<SYMBOL>` (no
//! bid at the limit); the ask offers at most what is held (spot: no ask while flat).
//!
//! | param | default | meaning |
//! | --- | --- | --- |
//! | `qty.<SYMBOL>` (or `qty`) | required | size of each quote in base units (the seed's `order_size`) |
//! | `spread` | `0.002` | full quoted spread as a fraction of the mid (0.2 %; the seed's `spread_percentage` / 100) |
//! | `tick_size.<SYMBOL>` (or `tick_size`) | `0.01` | price increment quotes are rounded to |
//! | `max_inventory.<SYMBOL>` (or `max_inventory`) | 5 × the symbol's `qty` | largest position in base units |
//! | `ticks` | `false` | take the mid from trades and re-quote when it drifts half a spread |

mod quotes;

use quotes::{Quote, quotes, reconcile};
use tradehost_sdk::state::{StateReader, StateWriter};
use tradehost_sdk::{Candle, Ctx, Decimal, InitContext, ParamError, Params, Strategy, Subscriptions, SymbolId, Tick};

const STATE_VERSION: u8 = 1;

/// One quoted symbol.
#[derive(Debug, Clone, PartialEq)]
struct Leg {
    symbol: SymbolId,
    qty: Decimal,
    tick: Decimal,
    max_inventory: Decimal,
    /// The mid the resting quotes were computed from.
    quoted_mid: Option<Decimal>,
}

/// The strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketMaking {
    legs: Vec<Leg>,
    spread: Decimal,
    ticks: bool,
}

fn positive(key: &str, v: Decimal) -> Result<Decimal, ParamError> {
    Params::check(key, v, |v| *v > Decimal::ZERO, "a positive number")
}

impl MarketMaking {
    /// Quote `symbol` around `mid`.
    fn quote(&mut self, ctx: &mut Ctx, symbol: SymbolId, mid: Decimal) {
        let spread = self.spread;
        let Some(leg) = self.legs.iter_mut().find(|l| l.symbol == symbol) else { return };
        let host = ctx.host();
        let position = host.position(symbol);
        let want: Vec<Quote> = quotes(mid, spread, leg.tick, leg.qty, position, leg.max_inventory);
        let open = host.open_orders(symbol);
        reconcile(ctx, symbol, &want, &open);
        leg.quoted_mid = Some(mid);
    }
}

impl Strategy for MarketMaking {
    fn init(ctx: &InitContext) -> Result<(Self, Subscriptions), String> {
        let p = &ctx.params;
        let spread = p.get_or("spread", Decimal::new(2, 3))?;
        let spread =
            Params::check("spread", spread, |v| *v > Decimal::ZERO && *v < Decimal::ONE, "a fraction (0.002 = 0.2 %)")?;
        let ticks = p.get_or("ticks", false)?;
        let mut legs = Vec::new();
        for s in &ctx.symbols {
            let key = |k: &str| format!("{k}.{}", s.name);
            let qty = p.require_for_symbol("qty", &s.name)?;
            let qty = positive(&key("qty"), qty)?;
            let tick = positive(&key("tick_size"), p.for_symbol("tick_size", &s.name)?.unwrap_or(Decimal::new(1, 2)))?;
            let max_inventory = p.for_symbol("max_inventory", &s.name)?.unwrap_or(qty * Decimal::from(5));
            let max_inventory = positive(&key("max_inventory"), max_inventory)?;
            legs.push(Leg { symbol: s.id, qty, tick, max_inventory, quoted_mid: None });
        }
        Ok((MarketMaking { legs, spread, ticks }, Subscriptions { ticks, timer_ms: 0 }))
    }

    fn on_candle(&mut self, ctx: &mut Ctx, c: &Candle) {
        let mid = if self.ticks { ctx.host().last_price(c.symbol).unwrap_or(c.close) } else { c.close };
        self.quote(ctx, c.symbol, mid);
    }

    fn on_tick(&mut self, ctx: &mut Ctx, t: &Tick) {
        let half = self.spread / Decimal::TWO;
        let Some(leg) = self.legs.iter().find(|l| l.symbol == t.symbol) else { return };
        // Before the first candle there is nothing to move; after, re-quote on a big move.
        if leg.quoted_mid.is_some_and(|m| (t.price - m).abs() >= m * half) {
            self.quote(ctx, t.symbol, t.price);
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        let mut w = StateWriter::new(STATE_VERSION);
        w.u32(self.legs.len() as u32);
        for leg in &self.legs {
            let m = leg.quoted_mid.unwrap_or_default();
            w.u32(leg.symbol).u32(u32::from(leg.quoted_mid.is_some()));
            w.u64(m.mantissa() as u64).u64((m.mantissa() >> 64) as u64).u32(m.scale());
        }
        w.finish()
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        let (version, mut r) = StateReader::new(state)?;
        if version != STATE_VERSION {
            return Err(format!("unknown snapshot version {version}"));
        }
        for _ in 0..r.u32()? {
            let (symbol, has_mid) = (r.u32()?, r.u32()? != 0);
            let (lo, hi, scale) = (r.u64()?, r.u64()?, r.u32()?);
            let m = (i128::from(hi as i64) << 64) | i128::from(lo);
            let mid = Decimal::try_from_i128_with_scale(m, scale).map_err(|e| format!("bad mid in snapshot: {e}"))?;
            if let Some(leg) = self.legs.iter_mut().find(|l| l.symbol == symbol) {
                leg.quoted_mid = has_mid.then_some(mid);
            }
        }
        Ok(())
    }
}

tradehost_sdk::export_strategy!(MarketMaking);

#[cfg(test)]
mod tests;
