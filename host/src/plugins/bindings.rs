//! The host side of `sdk/wit/strategy.wit` (the same file the SDK reads), the per-store
//! host state that answers a strategy's queries, and decimal conversions.

use crate::market_data::SymbolId;
use rust_decimal::Decimal;
use wasmtime::StoreLimits;

wasmtime::component::bindgen!({
    path: "../sdk/wit/strategy.wit",
    world: "strategy",
    // Exact (field by field, decimals by mantissa and scale): `AccountView` compares
    // working orders with it.
    additional_derives: [PartialEq],
});

pub use self::exports::tradehost::strategy::guest as wit_guest;
pub use self::tradehost::strategy::types as wit;

/// The contract package this host speaks.
pub const CONTRACT_PACKAGE: &str = "tradehost:strategy";
/// The contract version this host speaks (the WIT package version).
pub const CONTRACT_VERSION: &str = "0.1.0";

/// Converts a decimal to the contract's exact record.
pub fn dec_out(d: Decimal) -> wit::Decimal {
    let m = d.mantissa();
    wit::Decimal { lo: m as u64, hi: (m >> 64) as i64, scale: d.scale() as u8 }
}

/// Converts the contract's record to a decimal; `None` when it is out of range.
pub fn dec_in(d: wit::Decimal) -> Option<Decimal> {
    let m = ((d.hi as i128) << 64) | d.lo as i128;
    Decimal::try_from_i128_with_scale(m, u32::from(d.scale)).ok()
}

/// A position as the strategy sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PositionView {
    /// Signed quantity.
    pub qty: Decimal,
    /// Average entry price while the position is open.
    pub entry_price: Option<Decimal>,
}

/// What the host tells one instance about its own account and the market. The core
/// loop keeps it current before each call.
///
/// Refreshed in place before every call (an instance holds a few assets, positions and
/// orders: short vectors, searched linearly, their allocations reused call after call).
/// A refresh that changes anything moves [`AccountView::version`], which the guest reads
/// as `view-version` to know whether its earlier answers still hold.
#[derive(Debug, Default)]
pub struct AccountView {
    /// Position per symbol id.
    pub positions: Vec<(SymbolId, PositionView)>,
    /// Free balance per asset.
    pub balances: Vec<(String, Decimal)>,
    /// Working orders.
    pub open_orders: Vec<wit::OpenOrder>,
    /// Moves whenever a refresh changed the positions, balances or working orders.
    pub version: u64,
    /// The next refresh's positions and orders, compared with the current ones.
    next_positions: Vec<(SymbolId, PositionView)>,
    next_orders: Vec<wit::OpenOrder>,
}

impl AccountView {
    /// Copy an account and this instance's working orders into the view.
    pub fn refresh<'a>(
        &mut self,
        account: &crate::execution::Account,
        open: impl IntoIterator<Item = &'a crate::execution::Order>,
        instance: &str,
    ) {
        let mut changed = false;
        self.next_positions.clear();
        self.next_positions.extend(account.positions.iter().map(|(id, p)| {
            let entry_price = (!p.qty.is_zero()).then_some(p.avg_price);
            (*id, PositionView { qty: p.qty, entry_price })
        }));
        if self.next_positions != self.positions {
            std::mem::swap(&mut self.positions, &mut self.next_positions);
            changed = true;
        }
        // Balances keep their keys (an account's assets only ever grow): update in place.
        let same_keys = self.balances.len() == account.balances.len()
            && self.balances.iter().zip(account.balances.keys()).all(|((a, _), b)| a == b);
        if same_keys {
            for ((_, v), new) in self.balances.iter_mut().zip(account.balances.values()) {
                changed |= *v != *new;
                *v = *new;
            }
        } else {
            self.balances.clear();
            self.balances.extend(account.balances.iter().map(|(k, v)| (k.clone(), *v)));
            changed = true;
        }
        self.next_orders.clear();
        self.next_orders.extend(open.into_iter().filter(|o| o.instance == instance).map(|o| wit::OpenOrder {
            id: o.id,
            symbol: o.symbol.0,
            side: side_out(o.side),
            kind: kind_out(o.kind),
            qty: dec_out(o.qty),
            filled: dec_out(o.filled),
        }));
        if self.next_orders != self.open_orders {
            std::mem::swap(&mut self.open_orders, &mut self.next_orders);
            changed = true;
        }
        if changed {
            self.version += 1;
        }
    }

    fn position(&self, symbol: SymbolId) -> Option<&PositionView> {
        self.positions.iter().find(|(id, _)| *id == symbol).map(|(_, p)| p)
    }
}

/// The data of one strategy's `Store`.
pub struct HostState {
    /// Instance id, for log lines.
    pub instance: String,
    /// Memory and table limits.
    pub limits: StoreLimits,
    /// The instance's account.
    pub account: AccountView,
    /// Last trade price per symbol id (index = id).
    pub last_prices: Vec<Option<Decimal>>,
    /// Log lines written during the current call (kept short).
    pub last_log: Option<String>,
    /// The strategy said its `on-fill` does nothing (`host.fills-ignored`).
    pub fills_ignored: bool,
}

impl wit::Host for HostState {}

impl tradehost::strategy::host::Host for HostState {
    fn log(&mut self, level: wit::Level, message: String) {
        let message: String = message.chars().take(2_000).collect();
        let id = self.instance.as_str();
        match level {
            wit::Level::Trace => tracing::trace!(strategy = id, "{message}"),
            wit::Level::Debug => tracing::debug!(strategy = id, "{message}"),
            wit::Level::Info => tracing::info!(strategy = id, "{message}"),
            wit::Level::Warn => tracing::warn!(strategy = id, "{message}"),
            wit::Level::Error => tracing::error!(strategy = id, "{message}"),
        }
        if matches!(level, wit::Level::Error | wit::Level::Warn) {
            self.last_log = Some(message);
        }
    }

    fn position(&mut self, symbol: u32) -> wit::Decimal {
        dec_out(self.account.position(SymbolId(symbol)).map(|p| p.qty).unwrap_or_default())
    }

    fn entry_price(&mut self, symbol: u32) -> Option<wit::Decimal> {
        self.account.position(SymbolId(symbol)).and_then(|p| p.entry_price).map(dec_out)
    }

    fn balance(&mut self, asset: String) -> wit::Decimal {
        dec_out(self.account.balances.iter().find(|(a, _)| *a == asset).map(|(_, v)| *v).unwrap_or_default())
    }

    fn last_price(&mut self, symbol: u32) -> Option<wit::Decimal> {
        self.last_prices.get(symbol as usize).copied().flatten().map(dec_out)
    }

    fn open_orders(&mut self, symbol: u32) -> Vec<wit::OpenOrder> {
        self.account.open_orders.iter().filter(|o| o.symbol == symbol).cloned().collect()
    }

    fn view_version(&mut self) -> u64 {
        self.account.version
    }

    fn fills_ignored(&mut self) {
        self.fills_ignored = true;
    }
}

/// A trade in the contract's shape.
pub fn tick_out(t: &crate::market_data::Tick) -> wit::Tick {
    wit::Tick {
        symbol: t.symbol.0,
        time_ms: t.time_ms,
        price: dec_out(t.price),
        qty: dec_out(t.qty),
        trade_id: t.trade_id,
        buyer_maker: t.buyer_maker,
    }
}

/// A candle in the contract's shape.
pub fn candle_out(c: &crate::market_data::Candle) -> wit::Candle {
    wit::Candle {
        symbol: c.symbol.0,
        open_time_ms: c.open_time_ms,
        close_time_ms: c.close_time_ms,
        open: dec_out(c.open),
        high: dec_out(c.high),
        low: dec_out(c.low),
        close: dec_out(c.close),
        volume: dec_out(c.volume),
        quote_volume: dec_out(c.quote_volume),
        trades: c.trades,
        taker_buy_base: dec_out(c.taker_buy_base),
        taker_buy_quote: dec_out(c.taker_buy_quote),
    }
}

/// The candle in its compact form (14 flat values), when every field fits an `s64` at
/// the shared scales; `None` sends the full record instead.
pub fn candle_compact_out(c: &crate::market_data::Candle) -> Option<wit::CandleCompact> {
    let [open, high, low, close, price_scale] = shared_scale(&[c.open, c.high, c.low, c.close])?;
    let [volume, taker_buy_base, base_scale] = shared_scale(&[c.volume, c.taker_buy_base])?;
    let [quote_volume, taker_buy_quote, quote_scale] = shared_scale(&[c.quote_volume, c.taker_buy_quote])?;
    Some(wit::CandleCompact {
        symbol: c.symbol.0,
        open_time_ms: c.open_time_ms,
        open,
        high,
        low,
        close,
        price_scale: price_scale as u8,
        volume,
        taker_buy_base,
        base_scale: base_scale as u8,
        quote_volume,
        taker_buy_quote,
        quote_scale: quote_scale as u8,
        trades: c.trades,
    })
}

/// Mantissas of `N - 1` decimals at their largest (normalised) scale, then that scale;
/// `None` if one does not fit an `i64` there.
fn shared_scale<const N: usize>(ds: &[Decimal]) -> Option<[i64; N]> {
    let mut parts = [(0i64, 0u32); N];
    for (slot, d) in parts.iter_mut().zip(ds) {
        *slot = normalized(*d)?;
    }
    let scale = parts[..ds.len()].iter().map(|(_, s)| *s).max()?;
    use crate::matching::units::POW10;
    let mut out = [0i64; N];
    for (slot, (m, s)) in out.iter_mut().zip(&parts[..ds.len()]) {
        *slot = if *s == scale { *m } else { m.checked_mul(*POW10.get((scale - s) as usize)?)? };
    }
    *out.last_mut()? = i64::from(scale as u8);
    Some(out)
}

/// Mantissa and scale of a decimal without trailing zeros (what `normalize` gives), on
/// 64-bit integers: `None` when the mantissa does not fit an `i64`.
#[inline]
fn normalized(d: Decimal) -> Option<(i64, u32)> {
    let (mut m, mut scale) = (i64::try_from(d.mantissa()).ok()?, d.scale());
    if m == 0 {
        return Some((0, 0));
    }
    while scale > 0 && m % 10 == 0 {
        m /= 10;
        scale -= 1;
    }
    Some((m, scale))
}

/// A side in the contract's shape.
pub fn side_out(s: crate::execution::Side) -> wit::Side {
    match s {
        crate::execution::Side::Buy => wit::Side::Buy,
        crate::execution::Side::Sell => wit::Side::Sell,
    }
}

/// A side from the contract.
pub fn side_in(s: wit::Side) -> crate::execution::Side {
    match s {
        wit::Side::Buy => crate::execution::Side::Buy,
        wit::Side::Sell => crate::execution::Side::Sell,
    }
}

/// A fill in the contract's shape.
pub fn fill_out(f: &crate::execution::Fill) -> wit::Fill {
    wit::Fill {
        symbol: f.symbol.0,
        order_id: f.order_id,
        side: side_out(f.side),
        price: dec_out(f.price),
        qty: dec_out(f.qty),
        fee: dec_out(f.fee),
        time_ms: f.time_ms,
    }
}

/// An order kind in the contract's shape.
pub fn kind_out(k: crate::execution::OrderKind) -> wit::OrderKind {
    match k {
        crate::execution::OrderKind::Market => wit::OrderKind::Market,
        crate::execution::OrderKind::Limit(p) => wit::OrderKind::Limit(dec_out(p)),
        crate::execution::OrderKind::StopMarket(p) => wit::OrderKind::StopMarket(dec_out(p)),
    }
}

/// An order kind from the contract; `None` for an out-of-range price.
pub fn kind_in(k: &wit::OrderKind) -> Option<crate::execution::OrderKind> {
    Some(match k {
        wit::OrderKind::Market => crate::execution::OrderKind::Market,
        wit::OrderKind::Limit(p) => crate::execution::OrderKind::Limit(dec_in(*p)?),
        wit::OrderKind::StopMarket(p) => crate::execution::OrderKind::StopMarket(dec_in(*p)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_version_moves_exactly_when_an_answer_changes() {
        use crate::execution::{Account, Order, OrderKind, OrderStatus, Position, Side};
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        let mut account = Account::new([("USDT".to_string(), d("1000"))].into(), d("0.001"));
        let order = Order {
            id: 7,
            instance: "a".into(),
            symbol: SymbolId(0),
            side: Side::Sell,
            kind: OrderKind::StopMarket(d("90")),
            qty: d("0.5"),
            filled: Decimal::ZERO,
            status: OrderStatus::New,
            reason: None,
            tag: String::new(),
            time_ms: 0,
        };
        let other = Order { id: 8, instance: "b".into(), ..order.clone() };
        let mut view = AccountView::default();
        let refresh = |view: &mut AccountView, account: &Account, orders: &[&Order]| {
            let before = view.version;
            view.refresh(account, orders.iter().copied(), "a");
            view.version != before
        };
        assert!(refresh(&mut view, &account, &[]), "the first refresh fills the view");
        assert!(!refresh(&mut view, &account, &[&other]), "another instance's order is not in the view");
        assert!(refresh(&mut view, &account, &[&order]), "an order placed");
        assert!(!refresh(&mut view, &account, &[&order]), "nothing changed");
        let partly = Order { filled: d("0.1"), ..order.clone() };
        assert!(refresh(&mut view, &account, &[&partly]), "an order partly filled");
        assert!(refresh(&mut view, &account, &[]), "an order ended without a fill");
        account.positions.insert(SymbolId(0), Position { qty: d("0.5"), avg_price: d("100"), ..Position::default() });
        assert!(refresh(&mut view, &account, &[]), "a position opened");
        account.positions.get_mut(&SymbolId(0)).unwrap().realized_pnl = d("3");
        assert!(!refresh(&mut view, &account, &[]), "realised PnL is not part of the view");
        account.balances.insert("USDT".into(), d("950"));
        assert!(refresh(&mut view, &account, &[]), "a balance moved");
        account.balances.insert("BTC".into(), d("0.5"));
        assert!(refresh(&mut view, &account, &[]), "a new asset");
        assert_eq!(view.open_orders.len(), 0);
        assert_eq!(view.balances.len(), 2);
    }

    #[test]
    fn decimals_round_trip_exactly() {
        let cases = [
            "0",
            "1",
            "-1",
            "61837.63000000",
            "0.00000001",
            "79228162514264337593543950335",
            "-0.0000000000000000000000000001",
        ];
        for c in cases {
            let d: Decimal = c.parse().unwrap();
            let back = dec_in(dec_out(d)).unwrap();
            assert_eq!(back, d, "{c}");
            assert_eq!(back.scale(), d.scale(), "scale kept for {c}");
        }
        assert_eq!(dec_in(wit::Decimal { lo: 1, hi: 0, scale: 29 }), None, "scale > 28 is refused");
    }

    #[test]
    fn compact_candles_are_exact_or_absent() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        let mut c = crate::market_data::Candle {
            symbol: SymbolId(3),
            open_time_ms: 60_000,
            close_time_ms: 119_999,
            open: d("61837.63000000"),
            high: d("61840.1"),
            low: d("61800"),
            close: d("61811.99"),
            volume: d("1.25000"),
            quote_volume: d("77283.42710000"),
            trades: 7,
            taker_buy_base: d("0.00001"),
            taker_buy_quote: d("0.6183763"),
        };
        let k = candle_compact_out(&c).unwrap();
        assert_eq!((k.open, k.high, k.low, k.close, k.price_scale), (6183763, 6184010, 6180000, 6181199, 2));
        assert_eq!((k.volume, k.taker_buy_base, k.base_scale), (125000, 1, 5));
        assert_eq!((k.quote_volume, k.taker_buy_quote, k.quote_scale), (772834271000, 6183763, 7));
        c.quote_volume = d("79228162514264337593543950335");
        assert!(candle_compact_out(&c).is_none(), "too wide for an s64: the full record is sent");
    }
}

/// A `candle-compact` that lowers a *list* of itself into guest memory in one pass.
///
/// The derived lowering of a record list stores field by field, and every store looks the
/// guest's memory up again (about 2,000 instructions per candle, the largest host cost of
/// a candle batch). The component type, the typecheck, and single-value lowering are the
/// record's own; only the list store is replaced: one slice of guest memory, each candle
/// written at the canonical ABI's field offsets ([`PackedCandle::OFFSETS`], checked against
/// wasmtime's layout by a test).
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(transparent)]
pub struct PackedCandle(pub wit::CandleCompact);

impl PackedCandle {
    /// Byte offsets of the record's fields in declaration order (`symbol`, `open-time-ms`,
    /// `open`, `high`, `low`, `close`, `price-scale`, `volume`, `taker-buy-base`,
    /// `base-scale`, `quote-volume`, `taker-buy-quote`, `quote-scale`, `trades`).
    pub const OFFSETS: [usize; 14] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104];
    /// Size of one record.
    pub const SIZE: usize = 112;

    fn write(&self, d: &mut [u8]) {
        let c = &self.0;
        let o = Self::OFFSETS;
        let put8 = |d: &mut [u8], at: usize, v: [u8; 8]| d[at..at + 8].copy_from_slice(&v);
        d[o[0]..o[0] + 4].copy_from_slice(&c.symbol.to_le_bytes());
        put8(d, o[1], c.open_time_ms.to_le_bytes());
        put8(d, o[2], c.open.to_le_bytes());
        put8(d, o[3], c.high.to_le_bytes());
        put8(d, o[4], c.low.to_le_bytes());
        put8(d, o[5], c.close.to_le_bytes());
        d[o[6]] = c.price_scale;
        put8(d, o[7], c.volume.to_le_bytes());
        put8(d, o[8], c.taker_buy_base.to_le_bytes());
        d[o[9]] = c.base_scale;
        put8(d, o[10], c.quote_volume.to_le_bytes());
        put8(d, o[11], c.taker_buy_quote.to_le_bytes());
        d[o[12]] = c.quote_scale;
        put8(d, o[13], c.trades.to_le_bytes());
    }
}

// SAFETY: every item delegates to the record's derived implementation, whose layout
// `PackedCandle` shares (`repr(transparent)`).
#[allow(unsafe_code)]
unsafe impl wasmtime::component::ComponentType for PackedCandle {
    type Lower = <wit::CandleCompact as wasmtime::component::ComponentType>::Lower;
    const ABI: wasmtime::component::__internal::CanonicalAbiInfo =
        <wit::CandleCompact as wasmtime::component::ComponentType>::ABI;
    const MAY_REQUIRE_REALLOC: bool = false;

    fn typecheck(
        ty: &wasmtime::component::__internal::InterfaceType,
        types: &wasmtime::component::__internal::InstanceType<'_>,
    ) -> wasmtime::Result<()> {
        <wit::CandleCompact as wasmtime::component::ComponentType>::typecheck(ty, types)
    }
}

// SAFETY: single values lower as the record does; a list writes exactly the bytes the
// record's own lowering writes (same offsets, little-endian), inside the range wasmtime
// allocated for it (`items.len() * SIZE32`).
#[allow(unsafe_code)]
unsafe impl wasmtime::component::Lower for PackedCandle {
    fn linear_lower_to_flat<T>(
        &self,
        cx: &mut wasmtime::component::__internal::LowerContext<'_, T>,
        ty: wasmtime::component::__internal::InterfaceType,
        dst: &mut std::mem::MaybeUninit<Self::Lower>,
    ) -> wasmtime::Result<()> {
        self.0.linear_lower_to_flat(cx, ty, dst)
    }

    fn linear_lower_to_memory<T>(
        &self,
        cx: &mut wasmtime::component::__internal::LowerContext<'_, T>,
        ty: wasmtime::component::__internal::InterfaceType,
        offset: usize,
    ) -> wasmtime::Result<()> {
        self.0.linear_lower_to_memory(cx, ty, offset)
    }

    fn linear_store_list_to_memory<T>(
        cx: &mut wasmtime::component::__internal::LowerContext<'_, T>,
        _ty: wasmtime::component::__internal::InterfaceType,
        offset: usize,
        items: &[Self],
    ) -> wasmtime::Result<()> {
        let len = items.len() * Self::SIZE;
        let Some(dst) = cx.as_slice_mut().get_mut(offset..offset + len) else {
            wasmtime::bail!("candle list out of bounds of guest memory");
        };
        for (d, c) in dst.chunks_exact_mut(Self::SIZE).zip(items) {
            c.write(d);
        }
        Ok(())
    }
}

#[cfg(test)]
mod packed_candle_tests {
    use super::*;
    use wasmtime::component::ComponentType;

    /// The hard-coded offsets are the canonical ABI's for `candle-compact`, as wasmtime
    /// computes them from the field types.
    #[test]
    fn offsets_match_the_canonical_abi_layout() {
        let fields = [
            <u32 as ComponentType>::ABI,
            <i64 as ComponentType>::ABI,
            <i64 as ComponentType>::ABI,
            <i64 as ComponentType>::ABI,
            <i64 as ComponentType>::ABI,
            <i64 as ComponentType>::ABI,
            <u8 as ComponentType>::ABI,
            <i64 as ComponentType>::ABI,
            <i64 as ComponentType>::ABI,
            <u8 as ComponentType>::ABI,
            <i64 as ComponentType>::ABI,
            <i64 as ComponentType>::ABI,
            <u8 as ComponentType>::ABI,
            <u64 as ComponentType>::ABI,
        ];
        let mut at = 0usize;
        let offsets: Vec<usize> = fields.iter().map(|f| f.next_field32_size(&mut at)).collect();
        assert_eq!(offsets, PackedCandle::OFFSETS);
        assert_eq!(<wit::CandleCompact as ComponentType>::SIZE32, PackedCandle::SIZE);
        assert_eq!(<PackedCandle as ComponentType>::SIZE32, PackedCandle::SIZE);
    }

    /// Each field lands at its own offset (in the WIT's declaration order, as the record's
    /// typecheck requires) with its own width: a candle whose fields all differ, read back
    /// field by field from the written bytes. Swapping two fields of the same type in
    /// `write` fails here, which the layout test above cannot see.
    #[test]
    fn every_field_is_written_at_its_own_offset() {
        let c = wit::CandleCompact {
            symbol: 0x0102_0304,
            open_time_ms: 11,
            open: 12,
            high: 13,
            low: 14,
            close: 15,
            price_scale: 16,
            volume: 17,
            taker_buy_base: 18,
            base_scale: 19,
            quote_volume: 20,
            taker_buy_quote: 21,
            quote_scale: 22,
            trades: 23,
        };
        let mut buf = vec![0xAAu8; PackedCandle::SIZE];
        PackedCandle(c).write(&mut buf);
        let o = PackedCandle::OFFSETS;
        let i64_at = |i: usize| i64::from_le_bytes(buf[o[i]..o[i] + 8].try_into().unwrap());
        assert_eq!(u32::from_le_bytes(buf[o[0]..o[0] + 4].try_into().unwrap()), c.symbol);
        let wide =
            [i64_at(1), i64_at(2), i64_at(3), i64_at(4), i64_at(5), i64_at(7), i64_at(8), i64_at(10), i64_at(11)];
        assert_eq!(
            wide,
            [
                c.open_time_ms,
                c.open,
                c.high,
                c.low,
                c.close,
                c.volume,
                c.taker_buy_base,
                c.quote_volume,
                c.taker_buy_quote
            ]
        );
        assert_eq!([buf[o[6]], buf[o[9]], buf[o[12]]], [c.price_scale, c.base_scale, c.quote_scale]);
        assert_eq!(u64::from_le_bytes(buf[o[13]..o[13] + 8].try_into().unwrap()), c.trades);
    }
}
