//! SMA/EMA crossover with a percentage stop loss (the seed's live strategy).
//!
//! On every closed candle of each symbol: buy `qty.<SYMBOL>` when the EMA crosses above
//! the SMA while flat; sell the whole position when the EMA crosses below the SMA. Each
//! entry is protected by a resting stop-market sell `stop_loss` (a fraction, 0.15 = 15 %)
//! below its fill price; should the venue refuse that order, a close at or below the
//! stop sells at market instead.
//!
//! Params: `sma_period` (10), `ema_period` (5), `stop_loss` (0.15), `qty.<SYMBOL>`
//! (order size in base units; required for every symbol).

use tradehost_sdk::indicators::{Ema, Sma};
use tradehost_sdk::state::{StateReader, StateWriter};
use tradehost_sdk::{
    Candle, Ctx, Decimal, Fill, InitContext, OrderKind, OrderRequest, Params, Side, Strategy, Subscriptions, SymbolId,
};

const STATE_VERSION: u8 = 1;

/// Indicator state of one symbol.
#[derive(Debug, Clone)]
struct Leg {
    symbol: SymbolId,
    qty: Decimal,
    sma: Sma,
    ema: Ema,
    /// Sign of (ema - sma) at the previous candle: -1, 0 or 1; None before warm-up.
    prev_sign: Option<i8>,
}

/// The host's answers the decision needs.
#[derive(Debug, Clone, Copy)]
struct View {
    position: Decimal,
    entry: Option<Decimal>,
    /// An entry or exit order is still working.
    busy: bool,
    /// The resting stop-loss order, if any.
    stop: Option<u64>,
}

impl View {
    fn ask(ctx: &Ctx, symbol: SymbolId) -> View {
        let host = ctx.host();
        let open = host.open_orders(symbol);
        View {
            position: host.position(symbol),
            entry: host.entry_price(symbol),
            busy: open.iter().any(|o| !matches!(o.kind, OrderKind::StopMarket(_))),
            stop: open.iter().find(|o| o.side == Side::Sell).map(|o| o.id),
        }
    }
}

/// The strategy: one [`Leg`] per symbol.
#[derive(Debug)]
pub struct SmaEma {
    legs: Vec<Leg>,
    stop_loss: Decimal,
}

impl Strategy for SmaEma {
    fn init(ctx: &InitContext) -> Result<(Self, Subscriptions), String> {
        let p = &ctx.params;
        let sma_period =
            Params::check("sma_period", p.get_or("sma_period", 10usize)?, |v| *v > 0, "a positive integer")?;
        let ema_period =
            Params::check("ema_period", p.get_or("ema_period", 5usize)?, |v| *v > 0, "a positive integer")?;
        let stop_loss = Params::check(
            "stop_loss",
            p.get_or("stop_loss", Decimal::new(15, 2))?,
            |v| *v > Decimal::ZERO && *v < Decimal::ONE,
            "a fraction between 0 and 1 (0.15 = 15 %)",
        )?;
        let mut legs = Vec::new();
        for s in &ctx.symbols {
            let key = format!("qty.{}", s.name);
            let qty = Params::check(
                &key,
                p.require_for_symbol::<Decimal>("qty", &s.name)?,
                |v| *v > Decimal::ZERO,
                "a positive quantity",
            )?;
            legs.push(Leg { symbol: s.id, qty, sma: Sma::new(sma_period), ema: Ema::new(ema_period), prev_sign: None });
        }
        Ok((SmaEma { legs, stop_loss }, Subscriptions::default()))
    }

    fn on_candle(&mut self, ctx: &mut Ctx, candle: &Candle) {
        let stop_loss = self.stop_loss;
        let Some(leg) = self.legs.iter_mut().find(|l| l.symbol == candle.symbol) else { return };
        let close = candle.close;
        let close_f = tradehost_sdk::indicators::to_f64(close);
        let (sma, ema) = (leg.sma.update(close_f), leg.ema.update(close_f));
        let sign = match (sma, ema) {
            (Some(s), Some(e)) => Some(if e > s {
                1
            } else if e < s {
                -1
            } else {
                0
            }),
            _ => None,
        };
        let prev = leg.prev_sign;
        if sign.is_some() {
            leg.prev_sign = sign;
        }
        let crossed_up = matches!((prev, sign), (Some(p), Some(1)) if p <= 0);
        let crossed_down = matches!((prev, sign), (Some(p), Some(-1)) if p >= 0);

        // Asked on every candle: the SDK keeps the host's answers until they change, so a
        // quiet candle costs one cheap host call and an order the host ended is seen.
        let view = View::ask(ctx, leg.symbol);
        if view.busy {
            return; // an entry or exit is still working; decide again on the next candle
        }
        if view.position > Decimal::ZERO {
            // The resting stop order normally takes the loss; the close check covers a
            // venue that refused it.
            let stop_hit =
                view.stop.is_none() && view.entry.is_some_and(|entry| close <= entry * (Decimal::ONE - stop_loss));
            if stop_hit || crossed_down {
                let reason = if stop_hit { "stop-loss" } else { "ema crossed below sma" };
                if let Some(id) = view.stop {
                    ctx.cancel(id);
                }
                ctx.signal(leg.symbol, Side::Sell, close, reason);
                ctx.market(leg.symbol, Side::Sell, view.position, reason);
            }
        } else if crossed_up {
            ctx.signal(leg.symbol, Side::Buy, close, "ema crossed above sma");
            ctx.market(leg.symbol, Side::Buy, leg.qty, "ema crossed above sma");
        }
    }

    /// After an entry fills, protect it with a resting stop-market sell at
    /// `fill price * (1 - stop_loss)`.
    fn on_fill(&mut self, ctx: &mut Ctx, fill: &Fill) {
        if fill.side != Side::Buy || !self.legs.iter().any(|l| l.symbol == fill.symbol) {
            return;
        }
        let stop = (fill.price * (Decimal::ONE - self.stop_loss)).round_dp(8);
        let position = ctx.host().position(fill.symbol);
        let existing: Vec<u64> = ctx
            .host()
            .open_orders(fill.symbol)
            .iter()
            .filter(|o| o.side == Side::Sell && matches!(o.kind, OrderKind::StopMarket(_)))
            .map(|o| o.id)
            .collect();
        for id in existing {
            ctx.cancel(id);
        }
        ctx.place(OrderRequest {
            symbol: fill.symbol,
            side: Side::Sell,
            kind: OrderKind::StopMarket(stop),
            qty: position,
            tag: "stop-loss".into(),
        });
    }

    fn snapshot(&self) -> Vec<u8> {
        let mut w = StateWriter::new(STATE_VERSION);
        w.u32(self.legs.len() as u32);
        for leg in &self.legs {
            w.u32(leg.symbol).u32(leg.sma.period() as u32);
            let window: Vec<f64> = leg.sma.window().collect();
            w.u32(window.len() as u32);
            for x in window {
                w.f64(x);
            }
            let (seen, seed_sum, value) = leg.ema.state();
            w.u32(leg.ema.period() as u32).u64(seen as u64).f64(seed_sum).opt_f64(value);
            w.u32(match leg.prev_sign {
                None => 0,
                Some(s) => (s + 2) as u32,
            });
        }
        w.finish()
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        let (version, mut r) = StateReader::new(state)?;
        if version != STATE_VERSION {
            return Err(format!("unknown snapshot version {version}"));
        }
        for _ in 0..r.u32()? {
            let symbol = r.u32()?;
            let sma_period = r.u32()? as usize;
            let mut sma = Sma::new(sma_period);
            for _ in 0..r.u32()? {
                sma.update(r.f64()?);
            }
            let ema_period = r.u32()? as usize;
            let ema = Ema::from_state(ema_period, r.u64()? as usize, r.f64()?, r.opt_f64()?);
            let prev_sign = match r.u32()? {
                0 => None,
                s => Some(s as i8 - 2),
            };
            // Carry state only where the periods still match the (possibly new) params.
            if let Some(leg) = self
                .legs
                .iter_mut()
                .find(|l| l.symbol == symbol && l.sma.period() == sma_period && l.ema.period() == ema_period)
            {
                leg.sma = sma;
                leg.ema = ema;
                leg.prev_sign = prev_sign;
            }
        }
        Ok(())
    }
}

tradehost_sdk::export_strategy!(SmaEma);

#[cfg(test)]
mod tests;
