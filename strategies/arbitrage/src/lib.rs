//! Arbitrage between two markets of the same base asset (the seed's "Arbitrage" bot): one
//! pair on two venues, `leg_a = "binance:BTCUSDT"`, `leg_b = "bybit:BTCUSDT"` (each market
//! with its own feed and, in paper mode, its own book), or two quotes of one base on one
//! venue, `leg_a = "BTCUSDT"`, `leg_b = "BTCUSDC"`.
//!
//! When both legs have closed the same minute, the gap between their closes is
//! `(rich - cheap) / cheap`. If the gap net of both legs' taker fees is at least
//! `price_threshold` and the expected profit of `qty` is at least `min_profit`, the
//! strategy buys `qty` on the cheap leg and, once that buy has filled, sells the same
//! quantity on the rich leg. Both legs share the base asset, so the coins bought on one
//! are the coins sold on the other; with two quotes the trade turns the cheap leg's quote
//! asset into the rich leg's, and the account needs a balance of both (e.g.
//! `balances = { USDT = "5000", USDC = "5000" }`). A buy the account cannot pay for is
//! skipped with a log line, and a rejected buy never leaves a naked sell.
//!
//! Across venues, the host's paper account is one wallet for both markets. Live (`venue =
//! "live"`), each leg's order goes to its own exchange, which must hold the funds: the
//! cheap venue the quote asset, the rich venue the coins to sell. The seed's
//! `execution_speed` has no meaning here: the sell goes out on the buy's fill event.
//!
//! | param | default | meaning |
//! | --- | --- | --- |
//! | `leg_a`, `leg_b` | required | the two markets; both among the instance's `symbols`, same base asset |
//! | `qty` | required | base quantity per arbitrage |
//! | `price_threshold` | `0.001` | smallest gap after fees, as a fraction of the cheap price (0.1 %) |
//! | `min_profit` | `0` | smallest expected profit per arbitrage after fees, in quote units |
//! | `fee_rate` | `0.001` | taker fee per leg used to net the gap (the host's paper default) |

use tradehost_sdk::state::{StateReader, StateWriter};
use tradehost_sdk::{
    Candle, Ctx, Decimal, Fill, InitContext, Level, ParamError, Params, Side, Strategy, Subscriptions, SymbolId,
    SymbolInfo,
};

const STATE_VERSION: u8 = 1;

/// One side of the arbitrage.
#[derive(Debug, Clone, PartialEq)]
struct Leg {
    info: SymbolInfo,
    /// The last closed minute and its close.
    last: Option<(i64, Decimal)>,
}

/// A bought cheap leg waiting for its fill to sell the rich leg.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Pending {
    buy_symbol: SymbolId,
    sell_symbol: SymbolId,
    minute: i64,
}

/// The strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct Arbitrage {
    legs: [Leg; 2],
    qty: Decimal,
    threshold: Decimal,
    min_profit: Decimal,
    fee_rate: Decimal,
    pending: Option<Pending>,
}

/// A chance found in one minute's closes.
#[derive(Debug, Clone, PartialEq)]
struct Chance {
    cheap: usize,
    rich: usize,
    net_gap: Decimal,
    profit: Decimal,
}

impl Arbitrage {
    /// The trade the two closes allow, if any: the net gap and the expected profit of `qty`.
    fn chance(&self, prices: [Decimal; 2]) -> Option<Chance> {
        let (cheap, rich) = if prices[0] <= prices[1] { (0, 1) } else { (1, 0) };
        let (buy, sell) = (prices[cheap], prices[rich]);
        if buy <= Decimal::ZERO {
            return None;
        }
        let net_gap = (sell - buy) / buy - self.fee_rate * Decimal::TWO;
        let profit = self.qty * (sell - buy) - self.fee_rate * self.qty * (sell + buy);
        (net_gap >= self.threshold && profit >= self.min_profit).then_some(Chance { cheap, rich, net_gap, profit })
    }

    fn leg_index(&self, symbol: SymbolId) -> Option<usize> {
        self.legs.iter().position(|l| l.info.id == symbol)
    }
}

fn find_leg(ctx: &InitContext, key: &str) -> Result<SymbolInfo, String> {
    let name: String = ctx.params.require(key)?;
    let name = name.trim();
    ctx.symbol(name).cloned().ok_or_else(|| {
        let have: Vec<&str> = ctx.symbols.iter().map(|s| s.name.as_str()).collect();
        format!("parameter `{key}` = `{name}`: not one of this instance's symbols {have:?}")
    })
}

fn decimal(
    p: &Params,
    key: &str,
    default: Decimal,
    ok: impl FnOnce(&Decimal) -> bool,
    expected: &str,
) -> Result<Decimal, ParamError> {
    Params::check(key, p.get_or(key, default)?, ok, expected)
}

impl Strategy for Arbitrage {
    fn init(ctx: &InitContext) -> Result<(Self, Subscriptions), String> {
        let (a, b) = (find_leg(ctx, "leg_a")?, find_leg(ctx, "leg_b")?);
        if a.id == b.id {
            return Err(format!("parameters `leg_a` and `leg_b` are both `{}`: need two symbols", a.name));
        }
        if a.base != b.base {
            return Err(format!(
                "parameters `leg_a` = `{}` and `leg_b` = `{}` trade different assets ({} and {}): need the same base asset",
                a.name, b.name, a.base, b.base
            ));
        }
        let p = &ctx.params;
        let qty = Params::check("qty", p.require::<Decimal>("qty")?, |v| *v > Decimal::ZERO, "a positive quantity")?;
        let threshold = decimal(p, "price_threshold", Decimal::new(1, 3), |v| *v >= Decimal::ZERO, "a fraction >= 0")?;
        let min_profit = decimal(p, "min_profit", Decimal::ZERO, |v| *v >= Decimal::ZERO, "an amount >= 0")?;
        let fee_rate = decimal(
            p,
            "fee_rate",
            Decimal::new(1, 3),
            |v| *v >= Decimal::ZERO && *v < Decimal::ONE,
            "a rate in [0, 1)",
        )?;
        let legs = [Leg { info: a, last: None }, Leg { info: b, last: None }];
        Ok((Arbitrage { legs, qty, threshold, min_profit, fee_rate, pending: None }, Subscriptions::default()))
    }

    fn on_candle(&mut self, ctx: &mut Ctx, c: &Candle) {
        let Some(i) = self.leg_index(c.symbol) else { return };
        self.legs[i].last = Some((c.open_time_ms, c.close));
        let (Some((ta, pa)), Some((tb, pb))) = (self.legs[0].last, self.legs[1].last) else { return };
        if ta != tb {
            return; // wait for the other leg's candle of this minute
        }
        // A buy from an earlier minute that never filled was rejected: forget it.
        self.pending = self.pending.filter(|p| p.minute == ta);
        let host = ctx.host();
        let busy = self.legs.iter().any(|l| !host.open_orders(l.info.id).is_empty());
        let Some(ch) = self.chance([pa, pb]) else { return };
        if busy || self.pending.is_some() {
            return;
        }
        let (cheap, rich) = (&self.legs[ch.cheap].info, &self.legs[ch.rich].info);
        let price = [pa, pb][ch.cheap];
        let need = self.qty * price * (Decimal::ONE + self.fee_rate);
        let have = host.balance(&cheap.quote);
        if have < need {
            let (need, have) = (need.normalize(), have.normalize());
            let msg = format!(
                "arbitrage skipped: buying {} {} needs {need} {}, have {have}",
                self.qty, cheap.name, cheap.quote
            );
            host.log(Level::Warn, &msg);
            return;
        }
        let reason = format!(
            "gap {}% after fees: buy {} sell {} (expected {} {})",
            (ch.net_gap * Decimal::ONE_HUNDRED).round_dp(4).normalize(),
            cheap.name,
            rich.name,
            ch.profit.round_dp(8).normalize(),
            rich.quote
        );
        ctx.signal(cheap.id, Side::Buy, price, &reason);
        ctx.market(cheap.id, Side::Buy, self.qty, "arbitrage buy");
        self.pending = Some(Pending { buy_symbol: cheap.id, sell_symbol: rich.id, minute: ta });
    }

    fn on_fill(&mut self, ctx: &mut Ctx, f: &Fill) {
        let Some(p) = self.pending else { return };
        if f.side != Side::Buy || f.symbol != p.buy_symbol {
            return;
        }
        self.pending = None;
        let rich = self.leg_index(p.sell_symbol).map(|i| &self.legs[i]);
        let price = rich.and_then(|l| l.last).map(|(_, close)| close).unwrap_or(f.price);
        ctx.signal(p.sell_symbol, Side::Sell, price, "arbitrage: sell the rich leg");
        ctx.market(p.sell_symbol, Side::Sell, f.qty, "arbitrage sell");
    }

    fn snapshot(&self) -> Vec<u8> {
        let mut w = StateWriter::new(STATE_VERSION);
        match self.pending {
            Some(p) => w.u32(1).u32(p.buy_symbol).u32(p.sell_symbol).u64(p.minute as u64),
            None => w.u32(0),
        };
        w.finish()
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        let (version, mut r) = StateReader::new(state)?;
        if version != STATE_VERSION {
            return Err(format!("unknown snapshot version {version}"));
        }
        self.pending = match r.u32()? {
            0 => None,
            _ => Some(Pending { buy_symbol: r.u32()?, sell_symbol: r.u32()?, minute: r.u64()? as i64 }),
        }
        .filter(|p| self.leg_index(p.buy_symbol).is_some() && self.leg_index(p.sell_symbol).is_some());
        Ok(())
    }
}

tradehost_sdk::export_strategy!(Arbitrage);

#[cfg(test)]
mod tests;
