//! A deliberately simple reference exchange for lock-step property tests: each side is a
//! plain `Vec` re-sorted by (price, arrival) after every change, stops a plain `Vec`
//! scanned in full. Integers only (ticks, lots), no wallets.

use super::super::{OrderType, Side, StpMode};

/// A resting order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefOrder {
    pub id: u64,
    pub account: u64,
    pub side: Side,
    pub price: i64,
    pub remaining: i64,
    pub visible: i64,
    pub slice: i64,
    /// Arrival (a refilled iceberg slice arrives again).
    pub seq: u64,
}

/// A waiting stop.
#[derive(Debug, Clone)]
pub struct RefStop {
    pub id: u64,
    pub account: u64,
    pub side: Side,
    pub kind: OrderType,
    pub stop: i64,
    /// Limit once fired (0 = market).
    pub limit: i64,
    pub qty: i64,
}

/// What a taker is.
#[derive(Debug, Clone, Copy)]
pub struct Taker {
    pub id: u64,
    pub account: u64,
    pub side: Side,
    /// 0 = market.
    pub limit: i64,
    pub qty: i64,
    pub slice: i64,
    pub fok: bool,
    pub rests: bool,
    pub stp: StpMode,
}

/// The reference exchange.
#[derive(Debug, Default)]
pub struct RefExchange {
    pub bids: Vec<RefOrder>,
    pub asks: Vec<RefOrder>,
    pub stops: Vec<RefStop>,
    pub last: i64,
    pub next_id: u64,
    seq: u64,
    /// (maker, taker, price, qty) of the current command.
    pub fills: Vec<(u64, u64, i64, i64)>,
    tape: Vec<i64>,
}

fn crosses(side: Side, limit: i64, price: i64) -> bool {
    limit == 0 || if side == Side::Buy { price <= limit } else { price >= limit }
}

impl RefExchange {
    pub fn new() -> Self {
        RefExchange { next_id: 1, ..Default::default() }
    }

    fn sort(&mut self) {
        self.bids.sort_by_key(|o| (-o.price, o.seq));
        self.asks.sort_by_key(|o| (o.price, o.seq));
    }

    fn book(&mut self, side: Side) -> &mut Vec<RefOrder> {
        if side == Side::Buy { &mut self.bids } else { &mut self.asks }
    }

    fn fok_ok(&mut self, t: &Taker) -> bool {
        let mut have = 0;
        for o in self.book(t.side.opposite()).iter() {
            if !crosses(t.side, t.limit, o.price) {
                break;
            }
            if o.account == t.account && t.stp != StpMode::None {
                if t.stp == StpMode::ExpireMaker {
                    continue;
                }
                break;
            }
            have += o.remaining;
        }
        have >= t.qty
    }

    /// Run a taker; returns (filled, status-ish: "filled" | "expired" | "stp" | "rested").
    pub fn take(&mut self, t: Taker) -> &'static str {
        if t.fok && !self.fok_ok(&t) {
            return "expired";
        }
        let mut remaining = t.qty;
        while remaining > 0 {
            let opp = t.side.opposite();
            let Some(best) = self.book(opp).first().cloned() else { break };
            if !crosses(t.side, t.limit, best.price) {
                break;
            }
            if best.account == t.account && t.stp != StpMode::None {
                if matches!(t.stp, StpMode::ExpireMaker | StpMode::ExpireBoth) {
                    self.book(opp).remove(0);
                }
                if t.stp != StpMode::ExpireMaker {
                    return "stp";
                }
                continue;
            }
            let q = remaining.min(best.visible);
            remaining -= q;
            self.fills.push((best.id, t.id, best.price, q));
            if self.tape.last() != Some(&best.price) {
                self.tape.push(best.price);
            }
            self.seq += 1;
            let seq = self.seq;
            let m = &mut self.book(opp)[0];
            m.visible -= q;
            m.remaining -= q;
            if m.visible == 0 {
                if m.remaining == 0 {
                    self.book(opp).remove(0);
                } else {
                    m.visible = m.remaining.min(m.slice);
                    m.seq = seq;
                }
            }
            self.sort();
        }
        if remaining == 0 {
            return "filled";
        }
        if t.limit > 0 && t.rests {
            self.seq += 1;
            let visible = if t.slice > 0 { t.slice.min(remaining) } else { remaining };
            let o = RefOrder {
                id: t.id,
                account: t.account,
                side: t.side,
                price: t.limit,
                remaining,
                visible,
                slice: t.slice,
                seq: self.seq,
            };
            self.book(t.side).push(o);
            self.sort();
            return "rested";
        }
        "expired"
    }

    fn fires(s: &RefStop, price: i64) -> bool {
        let up = matches!(
            (s.kind, s.side),
            (OrderType::StopLoss | OrderType::StopLossLimit, Side::Buy)
                | (OrderType::TakeProfit | OrderType::TakeProfitLimit, Side::Sell)
        );
        if up { price >= s.stop } else { price <= s.stop }
    }

    /// Whether a stop would fire at the current last price.
    pub fn would_fire(&self, s: &RefStop) -> bool {
        self.last > 0 && Self::fires(s, self.last)
    }

    /// Replay the tape against the stops, run what fires (id order), until quiet.
    pub fn settle(&mut self) {
        while let Some(&last) = self.tape.last() {
            self.last = last;
            let prices = std::mem::take(&mut self.tape);
            let mut fired = Vec::new();
            for p in prices {
                let (hit, keep): (Vec<RefStop>, Vec<RefStop>) =
                    std::mem::take(&mut self.stops).into_iter().partition(|s| Self::fires(s, p));
                self.stops = keep;
                fired.extend(hit);
            }
            fired.sort_by_key(|s| s.id);
            for s in fired {
                let t = Taker {
                    id: s.id,
                    account: s.account,
                    side: s.side,
                    limit: s.limit,
                    qty: s.qty,
                    slice: 0,
                    fok: false,
                    rests: true,
                    stp: StpMode::None,
                };
                self.take(t);
            }
        }
    }

    /// A market trade at `price`.
    pub fn market_trade(&mut self, price: i64) {
        self.tape.push(price);
        self.settle();
    }

    /// Cancel an order by id (resting or waiting); whether it was open.
    pub fn cancel(&mut self, id: u64) -> bool {
        let before = self.bids.len() + self.asks.len() + self.stops.len();
        self.bids.retain(|o| o.id != id);
        self.asks.retain(|o| o.id != id);
        self.stops.retain(|s| s.id != id);
        before != self.bids.len() + self.asks.len() + self.stops.len()
    }
}
