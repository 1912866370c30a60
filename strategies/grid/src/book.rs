//! One symbol's grid: its levels, how fills move them, and reconciling the resting
//! orders the levels want with the ones the host reports.

use tradehost_sdk::state::{StateReader, StateWriter};
use tradehost_sdk::{Ctx, Decimal, Fill, Level as LogLevel, OpenOrder, OrderKind, OrderRequest, Side, SymbolId};

/// What a level is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// A limit buy rests at `buy_price`.
    Buying,
    /// Bought; a limit sell rests one step above.
    Selling,
}

/// One rung of the grid.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rung {
    pub(crate) buy_price: Decimal,
    pub(crate) qty: Decimal,
    pub(crate) phase: Phase,
    /// Base bought and not yet sold.
    pub(crate) held: Decimal,
    /// Host id of the level's working order, once seen in `open_orders` or a fill.
    pub(crate) order_id: Option<u64>,
}

/// The grid of one symbol.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Book {
    pub(crate) symbol: SymbolId,
    pub(crate) step: Decimal,
    pub(crate) levels: u32,
    pub(crate) investment: Decimal,
    pub(crate) qty_dp: u32,
    pub(crate) recenter_steps: u32,
    /// Grid origin: the close it was built at, rounded down to a multiple of `step`.
    pub(crate) anchor: Option<Decimal>,
    pub(crate) rungs: Vec<Rung>,
}

impl Book {
    fn sell_price(&self, r: &Rung) -> Decimal {
        r.buy_price + self.step
    }

    /// The order a rung wants resting.
    fn wanted(&self, r: &Rung) -> (Side, Decimal, Decimal) {
        match r.phase {
            Phase::Buying => (Side::Buy, r.buy_price, r.qty),
            Phase::Selling => (Side::Sell, self.sell_price(r), r.held),
        }
    }

    fn place(&self, ctx: &mut Ctx, r: &Rung) {
        let (side, price, qty) = self.wanted(r);
        let tag = if side == Side::Buy { "grid buy" } else { "grid sell" };
        ctx.place(OrderRequest { symbol: self.symbol, side, kind: OrderKind::Limit(price), qty, tag: tag.into() });
    }

    /// Build the levels below `close`: `levels` buys one `step` apart, each worth an equal
    /// share of the investment, quantities rounded down to `qty_dp` decimals.
    pub(crate) fn build(&mut self, ctx: &Ctx, close: Decimal) {
        let anchor = (close / self.step).floor() * self.step;
        let share = self.investment / Decimal::from(self.levels);
        self.rungs = (1..=self.levels)
            .map(|i| anchor - self.step * Decimal::from(i))
            .filter(|p| *p > Decimal::ZERO)
            .map(|buy_price| Rung {
                buy_price,
                qty: (share / buy_price).trunc_with_scale(self.qty_dp),
                phase: Phase::Buying,
                held: Decimal::ZERO,
                order_id: None,
            })
            .filter(|r| r.qty > Decimal::ZERO)
            .collect();
        if self.rungs.len() < self.levels as usize {
            let msg = format!(
                "grid at {anchor}: {} of {} levels usable (a level needs a positive price and at least one unit of quantity at {} decimals)",
                self.rungs.len(),
                self.levels,
                self.qty_dp
            );
            ctx.host().log(LogLevel::Warn, &msg);
        }
        self.anchor = Some(anchor);
    }

    /// Whether the grid should be rebuilt at `close`: never built, or no level holds coins
    /// and the price has climbed `recenter_steps` steps above the anchor.
    pub(crate) fn needs_build(&self, close: Decimal) -> bool {
        match self.anchor {
            None => true,
            Some(anchor) => {
                self.recenter_steps > 0
                    && self.rungs.iter().all(|r| r.phase == Phase::Buying)
                    && close >= anchor + self.step * Decimal::from(self.recenter_steps)
            }
        }
    }

    /// Make the resting orders match the levels: learn the ids of the wanted ones, cancel
    /// any other limit order on the symbol, and place what is missing.
    pub(crate) fn reconcile(&mut self, ctx: &mut Ctx, open: &[OpenOrder]) {
        // Each level's order once (not once per open order and level).
        let wanted: Vec<(Side, Decimal)> = self.rungs.iter().map(|r| self.wanted(r)).map(|(s, p, _)| (s, p)).collect();
        let mut matched = vec![false; self.rungs.len()];
        for o in open {
            let OrderKind::Limit(price) = o.kind else { continue };
            let hit = (0..wanted.len()).find(|&i| !matched[i] && wanted[i].0 == o.side && wanted[i].1 == price);
            match hit {
                Some(i) => {
                    matched[i] = true;
                    self.rungs[i].order_id = Some(o.id);
                }
                None => ctx.cancel(o.id),
            }
        }
        for (i, seen) in matched.iter().enumerate() {
            if !seen {
                self.rungs[i].order_id = None;
                self.place(ctx, &self.rungs[i]);
            }
        }
    }

    /// The rung a fill belongs to: by order id, else the nearest level on the right side of
    /// the fill price (an order that was marketable when placed fills at the last price).
    fn rung_for(&self, f: &Fill) -> Option<usize> {
        let phase = if f.side == Side::Buy { Phase::Buying } else { Phase::Selling };
        if let Some(i) = self.rungs.iter().position(|r| r.phase == phase && r.order_id == Some(f.order_id)) {
            return Some(i);
        }
        let candidates = self.rungs.iter().enumerate().filter(|(_, r)| r.phase == phase);
        match f.side {
            Side::Buy => candidates.filter(|(_, r)| r.buy_price >= f.price).min_by_key(|(_, r)| r.buy_price),
            Side::Sell => candidates.filter(|(_, r)| self.sell_price(r) <= f.price).max_by_key(|(_, r)| r.buy_price),
        }
        .map(|(i, _)| i)
    }

    /// A fill flips its level and rests the opposite order right away. A partial fill flips
    /// it too; the rest of that order is cancelled at the next reconcile.
    pub(crate) fn on_fill(&mut self, ctx: &mut Ctx, f: &Fill) {
        let Some(i) = self.rung_for(f) else {
            ctx.host()
                .log(LogLevel::Warn, &format!("fill of order {} at {} matches no grid level", f.order_id, f.price));
            return;
        };
        let r = &mut self.rungs[i];
        r.order_id = None;
        match f.side {
            Side::Buy => {
                r.phase = Phase::Selling;
                r.held = f.qty;
            }
            Side::Sell => {
                r.held = (r.held - f.qty).max(Decimal::ZERO);
                if !r.held.is_zero() {
                    return; // partly sold: the rest of the sell keeps working
                }
                r.phase = Phase::Buying;
            }
        }
        let r = self.rungs[i].clone();
        self.place(ctx, &r);
    }

    pub(crate) fn save(&self, w: &mut StateWriter) {
        w.u32(self.symbol).u32(self.levels).u32(self.qty_dp);
        put_dec(w, self.step);
        put_dec(w, self.investment);
        w.u32(u32::from(self.anchor.is_some()));
        put_dec(w, self.anchor.unwrap_or_default());
        w.u32(self.rungs.len() as u32);
        for r in &self.rungs {
            put_dec(w, r.buy_price);
            put_dec(w, r.qty);
            put_dec(w, r.held);
            w.u32(u32::from(r.phase == Phase::Selling));
            w.u64(r.order_id.map_or(0, |id| id.saturating_add(1)));
        }
    }

    /// Read a saved book; `None` for the anchor and rungs means "not built".
    pub(crate) fn load(r: &mut StateReader<'_>) -> Result<(SymbolId, Book), String> {
        let (symbol, levels, qty_dp) = (r.u32()?, r.u32()?, r.u32()?);
        let (step, investment) = (get_dec(r)?, get_dec(r)?);
        let built = r.u32()? != 0;
        let anchor = get_dec(r)?;
        let mut rungs = Vec::new();
        for _ in 0..r.u32()? {
            let (buy_price, qty, held) = (get_dec(r)?, get_dec(r)?, get_dec(r)?);
            let phase = if r.u32()? != 0 { Phase::Selling } else { Phase::Buying };
            rungs.push(Rung { buy_price, qty, phase, held, order_id: r.u64()?.checked_sub(1) });
        }
        let anchor = built.then_some(anchor);
        Ok((symbol, Book { symbol, step, levels, investment, qty_dp, recenter_steps: 0, anchor, rungs }))
    }
}

/// A `Decimal` as its 96-bit mantissa (two u64) and scale.
fn put_dec(w: &mut StateWriter, d: Decimal) {
    let m = d.mantissa();
    w.u64(m as u64).u64((m >> 64) as u64).u32(d.scale());
}

fn get_dec(r: &mut StateReader<'_>) -> Result<Decimal, String> {
    let (lo, hi, scale) = (r.u64()?, r.u64()?, r.u32()?);
    let m = (i128::from(hi as i64) << 64) | i128::from(lo);
    Decimal::try_from_i128_with_scale(m, scale).map_err(|e| format!("bad decimal in snapshot: {e}"))
}
