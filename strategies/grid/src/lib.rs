//! Grid trading (the seed's "Grid Trading" bot) with resting limit orders.
//!
//! At the first closed candle of a symbol the grid is anchored at the close rounded down to
//! a multiple of `grid_size`, and `grid_levels` limit buys rest one `grid_size` apart below
//! the anchor, each worth `investment_amount / grid_levels` of the quote asset. When a buy
//! fills, a limit sell for what it bought rests one step above; when that sells, the buy is
//! re-armed at its level. Each level thus earns one step per round trip (minus fees) while
//! the price oscillates. Below the whole grid it holds coins and waits (the risk of a grid:
//! trending markets accumulate).
//!
//! Every candle reconciles: a level whose order is missing (rejected, or lost in a restart)
//! gets it placed again, and any other limit order of this instance on the symbol is
//! cancelled. When no level holds coins and the price has climbed `recenter_steps` steps
//! above the anchor, the grid is rebuilt around the new price.
//!
//! | param | default | meaning |
//! | --- | --- | --- |
//! | `grid_size.<SYMBOL>` (or `grid_size`) | required | price step between levels, in quote units |
//! | `grid_levels` | `5` | number of buy levels below the anchor (1 to 100) |
//! | `investment_amount.<SYMBOL>` (or `investment_amount`) | required | quote committed across all levels |
//! | `qty_decimals.<SYMBOL>` (or `qty_decimals`) | `5` | decimals a level's quantity is rounded down to (0 to 8) |
//! | `recenter_steps` | `grid_levels` | rebuild when flat and this many steps above the anchor (0 = never) |
//!
//! Changing `grid_size`, `grid_levels`, `investment_amount` or `qty_decimals` starts a new
//! grid at the next candle (the old orders are cancelled; coins the old grid bought stay
//! in the account).

mod book;

use book::Book;
use tradehost_sdk::state::{StateReader, StateWriter};
use tradehost_sdk::{Candle, Ctx, Decimal, Fill, InitContext, ParamError, Params, Strategy, Subscriptions};

const STATE_VERSION: u8 = 1;

/// The strategy: one [`Book`] per symbol.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    books: Vec<Book>,
}

fn required_positive(p: &Params, key: &str, symbol: &str) -> Result<Decimal, ParamError> {
    let full = format!("{key}.{symbol}");
    let v: Decimal = p.require_for_symbol(key, symbol)?;
    Params::check(&full, v, |v| *v > Decimal::ZERO, "a positive number")
}

impl Strategy for Grid {
    fn init(ctx: &InitContext) -> Result<(Self, Subscriptions), String> {
        let p = &ctx.params;
        let levels = p.get_or("grid_levels", 5u32)?;
        let levels = Params::check("grid_levels", levels, |v| (1..=100).contains(v), "an integer from 1 to 100")?;
        let recenter_steps = p.get_or("recenter_steps", levels)?;
        let mut books = Vec::new();
        for s in &ctx.symbols {
            let qty_dp = p.for_symbol("qty_decimals", &s.name)?.unwrap_or(5u32);
            let qty_dp = Params::check(&format!("qty_decimals.{}", s.name), qty_dp, |v| *v <= 8, "0 to 8")?;
            books.push(Book {
                symbol: s.id,
                step: required_positive(p, "grid_size", &s.name)?,
                levels,
                investment: required_positive(p, "investment_amount", &s.name)?,
                qty_dp,
                recenter_steps,
                anchor: None,
                rungs: Vec::new(),
            });
        }
        Ok((Grid { books }, Subscriptions::default()))
    }

    fn on_candle(&mut self, ctx: &mut Ctx, c: &Candle) {
        let Some(book) = self.books.iter_mut().find(|b| b.symbol == c.symbol) else { return };
        if book.needs_build(c.close) {
            book.build(ctx, c.close);
            let msg = format!("grid anchored at {} with {} levels", book.anchor.unwrap_or_default(), book.rungs.len());
            ctx.log(&msg);
        }
        let open = ctx.host().open_orders(c.symbol);
        book.reconcile(ctx, &open);
    }

    fn on_fill(&mut self, ctx: &mut Ctx, f: &Fill) {
        if let Some(book) = self.books.iter_mut().find(|b| b.symbol == f.symbol) {
            book.on_fill(ctx, f);
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        let mut w = StateWriter::new(STATE_VERSION);
        w.u32(self.books.len() as u32);
        for b in &self.books {
            b.save(&mut w);
        }
        w.finish()
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        let (version, mut r) = StateReader::new(state)?;
        if version != STATE_VERSION {
            return Err(format!("unknown snapshot version {version}"));
        }
        for _ in 0..r.u32()? {
            let (symbol, saved) = Book::load(&mut r)?;
            // Keep the old grid only if it is the grid the current params describe.
            if let Some(b) = self.books.iter_mut().find(|b| {
                b.symbol == symbol
                    && b.step == saved.step
                    && b.levels == saved.levels
                    && b.investment == saved.investment
                    && b.qty_dp == saved.qty_dp
            }) {
                b.anchor = saved.anchor;
                b.rungs = saved.rungs;
            }
        }
        Ok(())
    }
}

tradehost_sdk::export_strategy!(Grid);

#[cfg(test)]
mod tests;
