//! Quote prices and sizes, and turning the wanted quotes into cancels and places.

use tradehost_sdk::{Ctx, Decimal, OpenOrder, OrderKind, OrderRequest, Side, SymbolId};

/// One wanted quote.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Quote {
    pub(crate) side: Side,
    pub(crate) price: Decimal,
    pub(crate) qty: Decimal,
}

/// `price` rounded down (`up = false`) or up to a multiple of `tick`.
fn to_tick(price: Decimal, tick: Decimal, up: bool) -> Decimal {
    let steps = price / tick;
    (if up { steps.ceil() } else { steps.floor() }) * tick
}

/// The bid and ask wanted around `mid`: a bid cut to the room left under `max_inventory`,
/// an ask of at most what is held.
pub(crate) fn quotes(
    mid: Decimal,
    spread: Decimal,
    tick: Decimal,
    qty: Decimal,
    position: Decimal,
    max_inventory: Decimal,
) -> Vec<Quote> {
    let half = spread / Decimal::TWO;
    let bid = Quote {
        side: Side::Buy,
        price: to_tick(mid * (Decimal::ONE - half), tick, false),
        qty: qty.min(max_inventory - position),
    };
    let ask =
        Quote { side: Side::Sell, price: to_tick(mid * (Decimal::ONE + half), tick, true), qty: qty.min(position) };
    [bid, ask].into_iter().filter(|q| q.qty > Decimal::ZERO && q.price > Decimal::ZERO).collect()
}

/// Cancel every limit order on `symbol` that is not a wanted quote (or is a duplicate),
/// keep the ones that are, and place the rest.
pub(crate) fn reconcile(ctx: &mut Ctx, symbol: SymbolId, want: &[Quote], open: &[OpenOrder]) {
    let mut kept = vec![false; want.len()];
    for o in open {
        let OrderKind::Limit(price) = o.kind else { continue };
        let same = |(i, q): &(usize, &Quote)| {
            !kept[*i] && q.side == o.side && q.price == price && q.qty == o.qty && o.filled.is_zero()
        };
        match want.iter().enumerate().find(same) {
            Some((i, _)) => kept[i] = true,
            None => ctx.cancel(o.id),
        }
    }
    for (q, kept) in want.iter().zip(kept) {
        if !kept {
            let tag = if q.side == Side::Buy { "mm bid" } else { "mm ask" };
            ctx.place(OrderRequest {
                symbol,
                side: q.side,
                kind: OrderKind::Limit(q.price),
                qty: q.qty,
                tag: tag.into(),
            });
        }
    }
}
