//! A strategy instance's paper account: balances per asset and positions per symbol.

use super::order::{Fill, Side};
use crate::market_data::{SymbolId, SymbolInfo};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// A position in one symbol. Spot accounts hold it long; it goes short only where the
/// coins sold were bought on another market of the same asset (an arbitrage selling on
/// `bybit:BTCUSDT` what it bought on `binance:BTCUSDT`), and closes when the trade
/// converges (buying back there).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    /// Quantity held, base units; negative when short.
    pub qty: Decimal,
    /// Average entry price of what is held (or owed, when short).
    pub avg_price: Decimal,
    /// PnL realised by sells so far, before fees.
    pub realized_pnl: Decimal,
    /// Fees paid on this symbol so far (quote asset).
    pub fees: Decimal,
}

impl Position {
    /// PnL of what is held, marked at `price`.
    pub fn unrealized(&self, price: Decimal) -> Decimal {
        (price - self.avg_price) * self.qty
    }
}

/// Balances and positions of one instance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Account {
    /// Free balance per asset.
    pub balances: BTreeMap<String, Decimal>,
    /// Position per symbol.
    pub positions: BTreeMap<SymbolId, Position>,
    /// Taker fee rate charged on every fill (0.001 = 0.1 %).
    pub taker_fee: Decimal,
}

impl Account {
    /// A new account with starting balances and a taker fee rate.
    pub fn new(balances: BTreeMap<String, Decimal>, taker_fee: Decimal) -> Self {
        Account { balances, positions: BTreeMap::new(), taker_fee }
    }

    /// Free balance of an asset.
    pub fn balance(&self, asset: &str) -> Decimal {
        self.balances.get(asset).copied().unwrap_or_default()
    }

    /// Whether the account can pay for a fill of `qty` at `price` with fee rate `fee`;
    /// the error says what is short.
    pub fn can_afford(
        &self,
        info: &SymbolInfo,
        side: Side,
        qty: Decimal,
        price: Decimal,
        fee: Decimal,
    ) -> Result<(), String> {
        match side {
            Side::Buy => {
                let need = qty * price * (Decimal::ONE + fee);
                let have = self.balance(&info.quote);
                if have < need {
                    return Err(format!(
                        "insufficient {} balance: need {}, have {}",
                        info.quote,
                        need.normalize(),
                        have.normalize()
                    ));
                }
            }
            Side::Sell => {
                let have = self.balance(&info.base);
                if have < qty {
                    return Err(format!(
                        "insufficient {} balance: need {}, have {}",
                        info.base,
                        qty.normalize(),
                        have.normalize()
                    ));
                }
            }
        }
        Ok(())
    }

    /// Apply a fill: move balances, update the position, and return the PnL it realised
    /// (on the part that reduces the position; the rest opens or extends it).
    pub fn apply(&mut self, info: &SymbolInfo, fill: &Fill) -> Decimal {
        let notional = fill.price * fill.qty;
        let pos = self.positions.entry(fill.symbol).or_default();
        pos.fees += fill.fee;
        let signed = match fill.side {
            Side::Buy => fill.qty,
            Side::Sell => -fill.qty,
        };
        // The part that closes an opposite position realises PnL at its entry price.
        let closing = if pos.qty.is_sign_negative() == signed.is_sign_negative() || pos.qty.is_zero() {
            Decimal::ZERO
        } else {
            fill.qty.min(pos.qty.abs())
        };
        let pnl = match fill.side {
            Side::Buy => (pos.avg_price - fill.price) * closing,
            Side::Sell => (fill.price - pos.avg_price) * closing,
        };
        let opening = fill.qty - closing;
        let held_before = pos.qty.abs() - closing;
        if !opening.is_zero() {
            pos.avg_price = (pos.avg_price * held_before + fill.price * opening) / (held_before + opening);
        }
        // A fee taken in the base asset leaves the account with that much less of it (and
        // the position too, at no PnL: its value is counted in `fees`); no quote fee then.
        pos.qty += signed - fill.fee_base;
        pos.realized_pnl += pnl;
        if pos.qty.is_zero() {
            pos.avg_price = Decimal::ZERO;
        }
        // A fee paid in a third asset (BNB) is out of a balance this account does not keep.
        let quote_fee = if fill.fee_base.is_zero() && !fill.fee_outside { fill.fee } else { Decimal::ZERO };
        match fill.side {
            Side::Buy => {
                *self.balances.entry(info.quote.clone()).or_default() -= notional + quote_fee;
                *self.balances.entry(info.base.clone()).or_default() += fill.qty - fill.fee_base;
            }
            Side::Sell => {
                *self.balances.entry(info.quote.clone()).or_default() += notional - quote_fee;
                *self.balances.entry(info.base.clone()).or_default() -= fill.qty + fill.fee_base;
            }
        }
        pnl
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market_data::SymbolInfo;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn fill(side: Side, price: &str, qty: &str, fee: &str) -> Fill {
        Fill {
            order_id: 1,
            instance: "a".into(),
            symbol: SymbolId(0),
            side,
            price: d(price),
            qty: d(qty),
            fee: d(fee),
            fee_base: Decimal::ZERO,
            fee_outside: false,
            realized_pnl: Decimal::ZERO,
            time_ms: 0,
        }
    }

    #[test]
    fn round_trip_moves_balances_and_realises_pnl_exactly() {
        let info = SymbolInfo::parse("BTCUSDT").unwrap();
        let mut acc = Account::new(BTreeMap::from([("USDT".into(), d("1000"))]), d("0.001"));
        assert!(acc.can_afford(&info, Side::Buy, d("0.02"), d("60000"), d("0.001")).is_err());
        acc.can_afford(&info, Side::Buy, d("0.01"), d("60000"), d("0.001")).unwrap();
        acc.apply(&info, &fill(Side::Buy, "60000", "0.01", "0.6"));
        acc.apply(&info, &fill(Side::Buy, "61000", "0.01", "0.61"));
        let p = acc.positions[&SymbolId(0)];
        assert_eq!(p.qty, d("0.02"));
        assert_eq!(p.avg_price, d("60500"));
        assert_eq!(p.unrealized(d("62000")), d("30"));
        let err = acc.can_afford(&info, Side::Sell, d("0.03"), d("1"), d("0")).unwrap_err();
        assert_eq!(err, "insufficient BTC balance: need 0.03, have 0.02");
        let pnl = acc.apply(&info, &fill(Side::Sell, "62000", "0.02", "1.24"));
        assert_eq!(pnl, d("30"));
        let p = acc.positions[&SymbolId(0)];
        assert_eq!((p.qty, p.avg_price, p.realized_pnl, p.fees), (d("0"), d("0"), d("30"), d("2.45")));
        // 1000 - 600.6 - 610.61 + 1240 - 1.24 = 1027.55 = 1000 + 30 pnl - 2.45 fees
        assert_eq!(acc.balance("USDT"), d("1027.55"));
        assert_eq!(acc.balance("BTC"), d("0"));
    }

    #[test]
    fn a_fee_taken_in_the_base_asset_leaves_that_much_less_of_it() {
        let info = SymbolInfo::parse("BTCUSDT").unwrap();
        let mut acc = Account::new(BTreeMap::from([("USDT".into(), d("1000"))]), d("0.001"));
        // Buy 0.01 BTC at 60,000; the exchange keeps 0.00001 BTC (0.1 %) as its fee.
        let buy = Fill { fee_base: d("0.00001"), ..fill(Side::Buy, "60000", "0.01", "0.6") };
        acc.apply(&info, &buy);
        assert_eq!((acc.balance("USDT"), acc.balance("BTC")), (d("400"), d("0.00999")), "as the exchange has it");
        let p = acc.positions[&SymbolId(0)];
        assert_eq!((p.qty, p.avg_price, p.fees), (d("0.00999"), d("60000"), d("0.6")));
        // Sell all of it at 61,000 with the fee in USDT: the books close flat, and the net
        // (PnL after fees) is what the account gained.
        let pnl = acc.apply(&info, &fill(Side::Sell, "61000", "0.00999", "0.60939"));
        assert_eq!(pnl, d("9.99"));
        let p = acc.positions[&SymbolId(0)];
        assert_eq!((p.qty, p.realized_pnl - p.fees), (d("0"), d("8.78061")));
        assert_eq!((acc.balance("USDT"), acc.balance("BTC")), (d("1008.78061"), d("0")));
    }

    #[test]
    fn a_fee_paid_in_a_third_asset_counts_in_fees_and_moves_no_balance() {
        let info = SymbolInfo::parse("BTCUSDT").unwrap();
        let mut acc = Account::new(BTreeMap::from([("USDT".into(), d("1000"))]), d("0.001"));
        // Buy 0.01 BTC at 60,000; the exchange takes 0.001 BNB (worth 0.6 USDT) instead.
        let buy = Fill { fee_outside: true, ..fill(Side::Buy, "60000", "0.01", "0.6") };
        acc.apply(&info, &buy);
        assert_eq!((acc.balance("USDT"), acc.balance("BTC")), (d("400"), d("0.01")), "as the exchange has it");
        let p = acc.positions[&SymbolId(0)];
        assert_eq!((p.qty, p.fees), (d("0.01"), d("0.6")), "the whole quantity, and the fee's value");
    }

    #[test]
    fn one_asset_on_two_markets_goes_short_on_one_and_realises_when_it_converges() {
        let (a, b) = (SymbolInfo::parse("binance:BTCUSDT").unwrap(), SymbolInfo::parse("bybit:BTCUSDT").unwrap());
        let on = |symbol: u32, side, price, qty| Fill { symbol: SymbolId(symbol), ..fill(side, price, qty, "0") };
        let mut acc = Account::new(BTreeMap::from([("USDT".into(), d("10000"))]), Decimal::ZERO);
        // Buy the cheap market, sell the rich one: long A, short B, the coins gone again.
        assert_eq!(acc.apply(&a, &on(0, Side::Buy, "60000", "0.1")), d("0"));
        assert_eq!(acc.apply(&b, &on(1, Side::Sell, "60300", "0.1")), d("0"), "nothing to realise yet");
        let (pa, pb) = (acc.positions[&SymbolId(0)], acc.positions[&SymbolId(1)]);
        assert_eq!((pa.qty, pa.avg_price, pb.qty, pb.avg_price), (d("0.1"), d("60000"), d("-0.1"), d("60300")));
        assert_eq!((acc.balance("BTC"), acc.balance("USDT")), (d("0"), d("10030")));
        assert_eq!(pb.unrealized(d("60100")), d("20"), "a short gains when the price falls");
        // The gap closes the other way: buy B back (realise the short), sell A.
        assert_eq!(acc.apply(&b, &on(1, Side::Buy, "60100", "0.04")), d("8"));
        assert_eq!(acc.apply(&b, &on(1, Side::Buy, "60100", "0.06")), d("12"));
        assert_eq!(acc.apply(&a, &on(0, Side::Sell, "60150", "0.1")), d("15"));
        let (pa, pb) = (acc.positions[&SymbolId(0)], acc.positions[&SymbolId(1)]);
        assert_eq!((pa.qty, pa.avg_price, pb.qty, pb.avg_price), (d("0"), d("0"), d("0"), d("0")));
        assert_eq!(pa.realized_pnl + pb.realized_pnl, d("35"));
        assert_eq!(acc.balance("USDT"), d("10035"), "the cash made is the PnL realised");
        // Selling through a long opens a short at the fill price for the rest.
        acc.apply(&a, &on(0, Side::Buy, "100", "1"));
        assert_eq!(acc.apply(&a, &on(0, Side::Sell, "110", "1.5")), d("10"));
        let p = acc.positions[&SymbolId(0)];
        assert_eq!((p.qty, p.avg_price), (d("-0.5"), d("110")));
        assert_eq!(acc.apply(&a, &on(0, Side::Buy, "105", "1")), d("2.5"));
        let p = acc.positions[&SymbolId(0)];
        assert_eq!((p.qty, p.avg_price), (d("0.5"), d("105")));
    }
}
