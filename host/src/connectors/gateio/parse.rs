//! Gate.io APIv4 wire format (REST and WebSocket v4, spot and USDT futures) to the
//! normalised [`types`](crate::connectors::types).
//!
//! Gate sends most decimals as strings, but futures sizes, some futures prices and fees
//! arrive as JSON numbers. Every decimal goes through [`dec`], which parses the number's
//! text form (`serde_json::Number`'s `Display`, the shortest text that reads back as the
//! same value, i.e. the text Gate sent for any value with up to 15 significant digits)
//! into a `Decimal`; no value is ever converted through `f64` arithmetic.

use crate::connectors::types::*;
use crate::execution::Side;
use rust_decimal::Decimal;
use serde_json::Value;

/// Result of a parse step; the error says which field was wrong.
pub type ParseResult<T> = Result<T, String>;

/// Quote assets recognised when splitting a host symbol (`BTCUSDT` -> `BTC_USDT`).
const QUOTES: &[&str] = &["USDT", "USDC", "FDUSD", "USD", "BTC", "ETH", "GT", "TRY", "EUR"];

/// `BTCUSDT` -> `BTC_USDT` (already-split symbols pass through).
pub fn venue_symbol(host: &str) -> String {
    crate::connectors::json::venue_symbol(host, '_', QUOTES)
}

/// `BTC_USDT` -> `BTCUSDT`.
pub fn host_symbol(venue: &str) -> String {
    venue.replace('_', "")
}

pub use crate::connectors::json::{dec, dec_field, int_field, opt_dec, str_field};

/// A trade or order time in ms: `create_time_ms` (possibly fractional) or `create_time` s.
fn time_ms(obj: &Value, ms_key: &str, s_key: &str) -> ParseResult<i64> {
    if let Some(ms) = opt_dec(obj, ms_key) {
        return i64::try_from(ms.trunc()).map_err(|_| format!("{ms_key} out of range"));
    }
    let s = dec_field(obj, s_key)?;
    i64::try_from((s * Decimal::from(1000)).trunc()).map_err(|_| format!("{s_key} out of range"))
}

fn side(raw: &str) -> ParseResult<Side> {
    match raw {
        "buy" | "BUY" => Ok(Side::Buy),
        "sell" | "SELL" => Ok(Side::Sell),
        other => Err(format!("unknown side {other:?}")),
    }
}

/// The host's client order id from Gate's `text` (`t-abc` -> `abc`).
pub fn client_id(text: &str) -> String {
    text.strip_prefix("t-").unwrap_or(text).to_string()
}

fn seq(obj: &Value) -> ParseResult<u64> {
    let id = str_field(obj, "id")?;
    id.parse().map_err(|_| format!("trade id {id:?} is not numeric"))
}

// ---------------------------------------------------------------- spot

/// One entry of `GET /spot/currency_pairs`.
pub fn spot_rules(v: &Value) -> ParseResult<SymbolRules> {
    let id = str_field(v, "id")?;
    let precision = int_field(v, "precision")?;
    let amount_precision = int_field(v, "amount_precision")?;
    let step = |p: i64| Decimal::new(1, p.clamp(0, 28) as u32);
    let lot = step(amount_precision);
    Ok(SymbolRules {
        symbol: host_symbol(&id),
        venue_symbol: id.clone(),
        base: str_field(v, "base")?,
        quote: str_field(v, "quote")?,
        tick_size: step(precision),
        lot_size: lot,
        min_qty: opt_dec(v, "min_base_amount").unwrap_or(lot),
        max_qty: opt_dec(v, "max_base_amount"),
        min_notional: opt_dec(v, "min_quote_amount").unwrap_or_default(),
        trading: str_field(v, "trade_status").map(|s| s == "tradable").unwrap_or(true),
    })
}

/// One entry of `GET /spot/tickers`.
pub fn spot_ticker(v: &Value) -> ParseResult<Ticker> {
    Ok(Ticker {
        symbol: host_symbol(&str_field(v, "currency_pair")?),
        last: dec_field(v, "last")?,
        bid: opt_dec(v, "highest_bid"),
        ask: opt_dec(v, "lowest_ask"),
        volume_24h: opt_dec(v, "base_volume"),
    })
}

fn levels(v: Option<&Value>) -> ParseResult<Vec<(Decimal, Decimal)>> {
    let Some(Value::Array(rows)) = v else { return Ok(Vec::new()) };
    rows.iter()
        .map(|row| match row {
            Value::Array(pq) if pq.len() >= 2 => Ok((dec(&pq[0])?, dec(&pq[1])?)),
            Value::Object(_) => Ok((dec_field(row, "p")?, dec_field(row, "s")?)),
            other => Err(format!("bad book level {other}")),
        })
        .collect()
}

/// `GET /spot/order_book` (levels `["price","amount"]`) or `GET /futures/usdt/order_book`
/// (levels `{"p": "price", "s": size}`).
pub fn order_book(v: &Value, symbol: &str) -> ParseResult<OrderBook> {
    Ok(OrderBook {
        symbol: symbol.to_string(),
        bids: levels(v.get("bids"))?,
        asks: levels(v.get("asks"))?,
        sequence: v.get("id").and_then(Value::as_u64),
    })
}

/// A spot trade: `GET /spot/trades` entry or `spot.trades` update result. `side` is the
/// taker's side, so a sell means the buyer was the maker.
pub fn spot_trade(v: &Value) -> ParseResult<PublicTrade> {
    let id = str_field(v, "id")?;
    Ok(PublicTrade {
        symbol: host_symbol(&str_field(v, "currency_pair")?),
        seq: seq(v)?,
        trade_id: id,
        price: dec_field(v, "price")?,
        quantity: dec_field(v, "amount")?,
        buyer_maker: side(&str_field(v, "side")?)? == Side::Sell,
        time_ms: time_ms(v, "create_time_ms", "create_time")?,
    })
}

/// A `GET /spot/candlesticks` row: `[t, quote volume, close, high, low, open, base
/// amount, window closed]`.
pub fn spot_candle_row(row: &Value, symbol: &str) -> ParseResult<Kline> {
    let cols = row.as_array().ok_or("candle is not an array")?;
    if cols.len() < 7 {
        return Err(format!("candle has {} columns", cols.len()));
    }
    let t = i64::try_from(dec(&cols[0])?.trunc()).map_err(|_| "candle time out of range")?;
    Ok(Kline {
        symbol: symbol.to_string(),
        open_time_ms: t * 1000,
        open: dec(&cols[5])?,
        high: dec(&cols[3])?,
        low: dec(&cols[4])?,
        close: dec(&cols[2])?,
        volume: dec(&cols[6])?,
        closed: cols.get(7).map(|c| c == "true" || c == &Value::Bool(true)).unwrap_or(true),
    })
}

/// A `spot.candlesticks` update (`n` = `1m_BTC_USDT`; `a` is the base amount, `v` the
/// quote volume).
pub fn ws_candle(v: &Value) -> ParseResult<Kline> {
    let name = str_field(v, "n")?;
    let pair = name.split_once('_').map(|(_, p)| p).ok_or_else(|| format!("bad candle name {name:?}"))?;
    let t = int_field(v, "t")?;
    Ok(Kline {
        symbol: host_symbol(pair),
        open_time_ms: t * 1000,
        open: dec_field(v, "o")?,
        high: dec_field(v, "h")?,
        low: dec_field(v, "l")?,
        close: dec_field(v, "c")?,
        volume: opt_dec(v, "a").map_or_else(|| dec_field(v, "v"), Ok)?,
        closed: v.get("w").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// A `spot.book_ticker` update (sizes in the base currency).
pub fn book_ticker(v: &Value) -> ParseResult<Quote> {
    Ok(Quote {
        symbol: host_symbol(&str_field(v, "s")?),
        bid: dec_field(v, "b")?,
        bid_qty: dec_field(v, "B")?,
        ask: dec_field(v, "a")?,
        ask_qty: dec_field(v, "A")?,
        time_ms: v.get("t").and_then(Value::as_i64),
    })
}

/// One entry of `GET /spot/accounts`.
pub fn spot_balance(v: &Value) -> ParseResult<Balance> {
    Ok(Balance { asset: str_field(v, "currency")?, free: dec_field(v, "available")?, locked: dec_field(v, "locked")? })
}

/// A spot order (REST `/spot/orders` answers and `spot.orders` updates). A market buy's
/// `amount` is in the quote currency, so its base quantity is what filled.
pub fn spot_order(v: &Value) -> ParseResult<ExchangeOrder> {
    let side = side(&str_field(v, "side")?)?;
    let kind = str_field(v, "type").unwrap_or_else(|_| "limit".into());
    let tif = str_field(v, "time_in_force").unwrap_or_default();
    let order_type = match (kind.as_str(), tif.as_str()) {
        ("market", _) => OrderType::Market,
        (_, "poc") => OrderType::LimitMaker,
        _ => OrderType::Limit,
    };
    let amount = dec_field(v, "amount")?;
    let left = opt_dec(v, "left").unwrap_or_default();
    let filled_quote = opt_dec(v, "filled_total");
    let market_buy = order_type == OrderType::Market && side == Side::Buy;
    let filled = match opt_dec(v, "filled_amount") {
        Some(f) => f,
        None if market_buy => match (filled_quote, opt_dec(v, "avg_deal_price")) {
            (Some(q), Some(p)) if !p.is_zero() => (q / p).normalize(),
            _ => Decimal::ZERO,
        },
        None => amount - left,
    };
    let quantity = if market_buy { filled } else { amount };
    let finish_as = str_field(v, "finish_as").unwrap_or_default();
    let status = str_field(v, "status").unwrap_or_default();
    let event = str_field(v, "event").unwrap_or_default();
    let open = |filled: Decimal| {
        if filled.is_zero() { ExchangeOrderStatus::New } else { ExchangeOrderStatus::PartiallyFilled }
    };
    let status = match (status.as_str(), finish_as.as_str()) {
        (_, "filled") => ExchangeOrderStatus::Filled,
        (_, "cancelled" | "liquidate_cancelled" | "stp") => ExchangeOrderStatus::Canceled,
        (_, "ioc" | "fok" | "poc" | "small" | "depth_not_enough" | "trader_not_enough") => ExchangeOrderStatus::Expired,
        ("closed", _) => ExchangeOrderStatus::Filled,
        ("cancelled", _) => ExchangeOrderStatus::Canceled,
        ("open", _) | (_, "open") => open(filled),
        _ if event == "finish" => {
            if left.is_zero() {
                ExchangeOrderStatus::Filled
            } else {
                ExchangeOrderStatus::Canceled
            }
        }
        _ => open(filled),
    };
    let updated_ms = opt_dec(v, "update_time_ms")
        .or_else(|| opt_dec(v, "update_time").map(|s| s * Decimal::from(1000)))
        .or_else(|| opt_dec(v, "create_time_ms"))
        .and_then(|d| i64::try_from(d.trunc()).ok())
        .unwrap_or_default();
    Ok(ExchangeOrder {
        exchange: ExchangeId::Gateio,
        order_id: str_field(v, "id")?,
        client_order_id: client_id(&str_field(v, "text").unwrap_or_default()),
        symbol: host_symbol(&str_field(v, "currency_pair")?),
        side,
        order_type,
        status,
        price: opt_dec(v, "price").filter(|p| !p.is_zero()),
        quantity,
        filled_quantity: filled,
        filled_quote,
        updated_ms,
    })
}

/// A spot fill: `GET /spot/my_trades` entry or `spot.usertrades` update.
pub fn spot_own_trade(v: &Value) -> ParseResult<OwnTrade> {
    let text = str_field(v, "text").unwrap_or_default();
    Ok(OwnTrade {
        exchange: ExchangeId::Gateio,
        trade_id: str_field(v, "id")?,
        order_id: str_field(v, "order_id")?,
        client_order_id: text.starts_with("t-").then(|| client_id(&text)),
        symbol: host_symbol(&str_field(v, "currency_pair")?),
        side: side(&str_field(v, "side")?)?,
        price: dec_field(v, "price")?,
        quantity: dec_field(v, "amount")?,
        fee: opt_dec(v, "fee").unwrap_or_default(),
        fee_asset: str_field(v, "fee_currency").unwrap_or_default(),
        is_maker: str_field(v, "role").is_ok_and(|r| r == "maker"),
        time_ms: time_ms(v, "create_time_ms", "create_time")?,
    })
}

// ---------------------------------------------------------------- futures
//
// Gate sizes futures in contracts: one contract of `BTC_USDT` is `quanto_multiplier`
// (0.0001) BTC. The host counts base units everywhere (an order's quantity, a fill, a
// position, a book level), so every futures size is multiplied by its contract's
// multiplier here, and an order's base quantity is divided by it on the way out.

/// Contract name (`BTC_USDT`) -> base units per contract (`quanto_multiplier`).
pub type ContractSizes = std::collections::HashMap<String, Decimal>;

/// The base units of one contract of `contract`; an error when the contract is unknown,
/// since a size read without its multiplier would be off by orders of magnitude.
pub fn contract_size(sizes: &ContractSizes, contract: &str) -> ParseResult<Decimal> {
    sizes.get(contract).copied().ok_or_else(|| format!("contract {contract:?} has no known size (quanto_multiplier)"))
}

/// A size in contracts (`size`, `left`, a book level's `s`) as base units.
fn base_units(contracts: Decimal, per_contract: Decimal) -> Decimal {
    (contracts * per_contract).normalize()
}

/// `quanto_multiplier` of one entry of `GET /futures/usdt/contracts`: base units per
/// contract, which must be positive.
pub fn futures_multiplier(v: &Value) -> ParseResult<Decimal> {
    let m = dec_field(v, "quanto_multiplier")?;
    if m <= Decimal::ZERO {
        return Err(format!("quanto_multiplier {m} is not positive"));
    }
    Ok(m)
}

/// One entry of `GET /futures/usdt/contracts`, in base units: the lot is one contract,
/// the size limits are the contract counts times the multiplier.
pub fn futures_rules(v: &Value) -> ParseResult<SymbolRules> {
    let name = str_field(v, "name")?;
    let (base, quote) = name.split_once('_').map(|(b, q)| (b.to_string(), q.to_string())).unwrap_or_default();
    let per = futures_multiplier(v)?;
    let min = opt_dec(v, "order_size_min").unwrap_or(Decimal::ONE);
    Ok(SymbolRules {
        symbol: host_symbol(&name),
        venue_symbol: name.clone(),
        base,
        quote,
        tick_size: dec_field(v, "order_price_round")?,
        lot_size: per,
        min_qty: base_units(min, per),
        max_qty: opt_dec(v, "order_size_max").map(|m| base_units(m, per)),
        min_notional: Decimal::ZERO,
        trading: !v.get("in_delisting").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// One entry of `GET /futures/usdt/tickers`; the 24 h volume in base units
/// (`volume_24h_base`, else the contract count `volume_24h` times `per_contract`).
pub fn futures_ticker(v: &Value, per_contract: Decimal) -> ParseResult<Ticker> {
    Ok(Ticker {
        symbol: host_symbol(&str_field(v, "contract")?),
        last: dec_field(v, "last")?,
        bid: opt_dec(v, "highest_bid"),
        ask: opt_dec(v, "lowest_ask"),
        volume_24h: opt_dec(v, "volume_24h_base")
            .or_else(|| opt_dec(v, "volume_24h").map(|c| base_units(c, per_contract))),
    })
}

/// A futures trade (`GET /futures/usdt/trades`, `futures.trades`): `size` is contracts
/// signed by the taker's side, so a negative size is a sell (the buyer was the maker).
pub fn futures_trade(v: &Value, sizes: &ContractSizes) -> ParseResult<PublicTrade> {
    let contract = str_field(v, "contract")?;
    let size = dec_field(v, "size")?;
    Ok(PublicTrade {
        symbol: host_symbol(&contract),
        seq: seq(v)?,
        trade_id: str_field(v, "id")?,
        price: dec_field(v, "price")?,
        quantity: base_units(size.abs(), contract_size(sizes, &contract)?),
        buyer_maker: size.is_sign_negative(),
        time_ms: time_ms(v, "create_time_ms", "create_time")?,
    })
}

/// A `GET /futures/usdt/candlesticks` entry (`{t, v, c, h, l, o, sum}`; `v` in contracts,
/// returned in base units).
pub fn futures_candle(v: &Value, symbol: &str, per_contract: Decimal) -> ParseResult<Kline> {
    Ok(Kline {
        symbol: symbol.to_string(),
        open_time_ms: int_field(v, "t")? * 1000,
        open: dec_field(v, "o")?,
        high: dec_field(v, "h")?,
        low: dec_field(v, "l")?,
        close: dec_field(v, "c")?,
        volume: base_units(dec_field(v, "v")?, per_contract),
        closed: true,
    })
}

/// A `futures.candlesticks` update (`n` = `1m_BTC_USDT`, `v` in contracts), in base units.
pub fn futures_ws_candle(v: &Value, sizes: &ContractSizes) -> ParseResult<Kline> {
    let name = str_field(v, "n")?;
    let contract = name.split_once('_').map(|(_, p)| p).ok_or_else(|| format!("bad candle name {name:?}"))?;
    let mut k = futures_candle(v, &host_symbol(contract), contract_size(sizes, contract)?)?;
    k.closed = v.get("w").and_then(Value::as_bool).unwrap_or(false);
    Ok(k)
}

/// A `futures.book_ticker` update: `B` and `A` are contracts, returned in base units.
pub fn futures_book_ticker(v: &Value, sizes: &ContractSizes) -> ParseResult<Quote> {
    let mut q = book_ticker(v)?;
    let per = contract_size(sizes, &str_field(v, "s")?)?;
    q.bid_qty = base_units(q.bid_qty, per);
    q.ask_qty = base_units(q.ask_qty, per);
    Ok(q)
}

/// `GET /futures/usdt/order_book`: levels of contracts, returned in base units.
pub fn futures_order_book(v: &Value, symbol: &str, per_contract: Decimal) -> ParseResult<OrderBook> {
    let mut book = order_book(v, symbol)?;
    for level in book.bids.iter_mut().chain(book.asks.iter_mut()) {
        level.1 = base_units(level.1, per_contract);
    }
    Ok(book)
}

/// `GET /futures/usdt/accounts`: the settle currency's margin balance.
pub fn futures_balance(v: &Value) -> ParseResult<Balance> {
    let available = dec_field(v, "available")?;
    let total = opt_dec(v, "total").unwrap_or(available);
    Ok(Balance {
        asset: str_field(v, "currency").unwrap_or_else(|_| "USDT".into()),
        free: available,
        locked: (total - available).max(Decimal::ZERO),
    })
}

/// One entry of `GET /futures/usdt/positions` (`size`: signed contracts), in base units.
pub fn futures_position(v: &Value, sizes: &ContractSizes) -> ParseResult<Position> {
    let contract = str_field(v, "contract")?;
    Ok(Position {
        symbol: host_symbol(&contract),
        size: base_units(dec_field(v, "size")?, contract_size(sizes, &contract)?),
        entry_price: opt_dec(v, "entry_price").unwrap_or_default(),
        unrealized_pnl: opt_dec(v, "unrealised_pnl").unwrap_or_default(),
        leverage: opt_dec(v, "leverage").unwrap_or_default(),
    })
}

/// A futures order (REST and `futures.orders`): `size` signed contracts (positive buys),
/// `left` the unfilled contracts, `fill_price` the average fill price; returned in base
/// units.
pub fn futures_order(v: &Value, sizes: &ContractSizes) -> ParseResult<ExchangeOrder> {
    let contract = str_field(v, "contract")?;
    let per = contract_size(sizes, &contract)?;
    let size = dec_field(v, "size")?;
    let left = opt_dec(v, "left").unwrap_or_default();
    let filled = base_units(size.abs() - left.abs(), per);
    let price = opt_dec(v, "price").filter(|p| !p.is_zero());
    let tif = str_field(v, "tif").unwrap_or_default();
    let order_type = match (price, tif.as_str()) {
        (None, _) => OrderType::Market,
        (_, "poc") => OrderType::LimitMaker,
        _ => OrderType::Limit,
    };
    let fill_price = opt_dec(v, "fill_price").filter(|p| !p.is_zero());
    let status = match (str_field(v, "status").unwrap_or_default().as_str(), str_field(v, "finish_as")) {
        ("open", _) if filled.is_zero() => ExchangeOrderStatus::New,
        ("open", _) => ExchangeOrderStatus::PartiallyFilled,
        (_, Ok(f)) if f == "filled" => ExchangeOrderStatus::Filled,
        (_, Ok(f)) if f == "ioc" || f == "poc" || f == "fok" => ExchangeOrderStatus::Expired,
        (_, Ok(f)) if f == "_new" || f == "open" => ExchangeOrderStatus::New,
        _ if left.is_zero() => ExchangeOrderStatus::Filled,
        _ => ExchangeOrderStatus::Canceled,
    };
    let quantity = base_units(size.abs(), per);
    let updated = opt_dec(v, "finish_time_ms")
        .or_else(|| opt_dec(v, "update_time").map(|s| s * Decimal::from(1000)))
        .or_else(|| opt_dec(v, "finish_time").map(|s| s * Decimal::from(1000)))
        .or_else(|| opt_dec(v, "create_time_ms"))
        .or_else(|| opt_dec(v, "create_time").map(|s| s * Decimal::from(1000)))
        .and_then(|d| i64::try_from(d.trunc()).ok())
        .unwrap_or_default();
    Ok(ExchangeOrder {
        exchange: ExchangeId::Gateio,
        order_id: str_field(v, "id")?,
        client_order_id: client_id(&str_field(v, "text").unwrap_or_default()),
        symbol: host_symbol(&contract),
        side: if size.is_sign_negative() { Side::Sell } else { Side::Buy },
        order_type,
        status,
        price,
        quantity,
        filled_quantity: filled,
        filled_quote: fill_price.map(|p| p * filled),
        updated_ms: updated,
    })
}

/// A futures fill (`GET /futures/usdt/my_trades`, `futures.usertrades`): signed `size`
/// in contracts (returned in base units), the fee in the settle currency (a JSON number
/// on the WebSocket, parsed exactly).
pub fn futures_own_trade(v: &Value, sizes: &ContractSizes) -> ParseResult<OwnTrade> {
    let contract = str_field(v, "contract")?;
    let size = dec_field(v, "size")?;
    let text = str_field(v, "text").unwrap_or_default();
    Ok(OwnTrade {
        exchange: ExchangeId::Gateio,
        trade_id: str_field(v, "id")?,
        order_id: str_field(v, "order_id")?,
        client_order_id: text.starts_with("t-").then(|| client_id(&text)),
        symbol: host_symbol(&contract),
        side: if size.is_sign_negative() { Side::Sell } else { Side::Buy },
        price: dec_field(v, "price")?,
        quantity: base_units(size.abs(), contract_size(sizes, &contract)?),
        fee: opt_dec(v, "fee").unwrap_or_default(),
        fee_asset: "USDT".into(),
        is_maker: str_field(v, "role").is_ok_and(|r| r == "maker"),
        time_ms: time_ms(v, "create_time_ms", "create_time")?,
    })
}

/// Gate's error body `{"label": ..., "message": ...}`.
pub fn error_label(body: &str) -> Option<(String, String)> {
    let v: Value = serde_json::from_str(body).ok()?;
    let label = v.get("label")?.as_str()?.to_string();
    let message = v.get("message").or_else(|| v.get("detail")).and_then(Value::as_str).unwrap_or("").to_string();
    Some((label, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn doc(name: &str) -> Vec<Value> {
        let path = format!("{}/../../shared/data/exchange-docs/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let v: Value = serde_json::from_str(&text).unwrap();
        v["messages"].as_array().unwrap().clone()
    }

    #[test]
    fn symbols_map_both_ways() {
        assert_eq!(venue_symbol("BTCUSDT"), "BTC_USDT");
        assert_eq!(venue_symbol("ETHBTC"), "ETH_BTC");
        assert_eq!(venue_symbol("BTC_USDT"), "BTC_USDT");
        assert_eq!(host_symbol("BTC_USDT"), "BTCUSDT");
    }

    #[test]
    fn numbers_parse_exactly_through_their_text() {
        assert_eq!(dec(&serde_json::json!(0.0009290592)).unwrap(), d("0.0009290592"));
        assert_eq!(dec(&serde_json::json!(-0.00025)).unwrap(), d("-0.00025"));
        assert_eq!(dec(&serde_json::json!(-108)).unwrap(), d("-108"));
        assert_eq!(dec(&serde_json::json!("96.4")).unwrap(), d("96.4"));
        assert_eq!(dec(&serde_json::from_str::<Value>("1e-7").unwrap()).unwrap(), d("0.0000001"));
    }

    /// The docs' samples trade `BTC_USD`; a contract of it is 0.001 BTC here.
    fn sizes() -> ContractSizes {
        [("BTC_USD".to_string(), d("0.001"))].into()
    }

    #[test]
    fn futures_trades_doc_sample() {
        let msgs = doc("gate_futures_ws_trades_doc.json");
        assert_eq!(msgs[0]["channel"], "futures.trades");
        let t = futures_trade(&msgs[0]["result"][0], &sizes()).unwrap();
        assert_eq!(t.symbol, "BTCUSD");
        assert_eq!(t.seq, 27_753_479);
        assert_eq!(t.price, d("96.4"));
        assert_eq!(t.quantity, d("0.108"), "size -108 is a sell of 108 contracts of 0.001 BTC");
        let unknown = futures_trade(&msgs[0]["result"][0], &ContractSizes::new()).unwrap_err();
        assert!(unknown.contains("BTC_USD"), "a contract of unknown size is an error, not a guess: {unknown}");
        assert!(t.buyer_maker, "the taker sold");
        assert_eq!(t.time_ms, 1_545_136_464_123);
    }

    #[test]
    fn futures_orders_and_usertrades_doc_samples() {
        let msgs = doc("gate_futures_ws_orders_usertrades_doc.json");
        let o = futures_order(&msgs[0]["result"][0], &sizes()).unwrap();
        assert_eq!(o.order_id, "4872460");
        assert_eq!(o.symbol, "BTCUSD");
        assert_eq!(o.side, Side::Buy);
        assert_eq!(o.status, ExchangeOrderStatus::Filled);
        assert_eq!(o.price, Some(d("40000.4")));
        assert_eq!((o.quantity, o.filled_quantity), (d("0.001"), d("0.001")), "one contract");
        assert_eq!(o.filled_quote, Some(d("40.0004")));
        assert_eq!(o.average_price(), Some(d("40000.4")));
        assert_eq!(o.updated_ms, 1_628_736_848_321);
        assert_eq!(o.client_order_id, "-");

        let f = futures_own_trade(&msgs[1]["result"][0], &sizes()).unwrap();
        assert_eq!(f.trade_id, "3335259");
        assert_eq!(f.order_id, "4872460");
        assert_eq!(f.side, Side::Buy);
        assert_eq!((f.price, f.quantity), (d("40000.4"), d("0.001")));
        assert_eq!(f.fee, d("0.0009290592"), "the fee is exact");
        assert!(f.is_maker);
        assert_eq!(f.client_order_id, None, "text 'api' is not a client id");
        assert_eq!(f.time_ms, 1_628_736_848_321);
    }

    #[test]
    fn futures_tickers_doc_sample() {
        let msgs = doc("gate_futures_ws_tickers_doc.json");
        let t = futures_ticker(&msgs[0]["result"][0], d("0.001")).unwrap();
        assert_eq!(t.symbol, "BTCUSD");
        assert_eq!(t.last, d("118.4"));
        assert_eq!(t.volume_24h, Some(d("5526")), "volume_24h_base is already in the base");
        let mut counted = msgs[0]["result"][0].clone();
        counted.as_object_mut().unwrap().remove("volume_24h_base");
        let t = futures_ticker(&counted, d("0.001")).unwrap();
        assert_eq!(t.volume_24h, Some(d("745487.577")), "745,487,577 contracts of 0.001");
    }

    #[test]
    fn futures_contracts_are_sized_in_base_units() {
        let c: Value = serde_json::from_str(
            r#"{"name":"BTC_USDT","type":"direct","quanto_multiplier":"0.0001","order_price_round":"0.1",
                "order_size_min":1,"order_size_max":1000000,"in_delisting":false}"#,
        )
        .unwrap();
        let r = futures_rules(&c).unwrap();
        assert_eq!((r.symbol.as_str(), r.tick_size, r.lot_size), ("BTCUSDT", d("0.1"), d("0.0001")));
        assert_eq!((r.min_qty, r.max_qty), (d("0.0001"), Some(d("100"))));
        let zero: Value =
            serde_json::from_str(r#"{"name":"X_USDT","quanto_multiplier":"0","order_price_round":"1"}"#).unwrap();
        assert!(futures_rules(&zero).is_err(), "a contract without a positive size cannot be traded in base units");

        let sizes: ContractSizes = [("BTC_USDT".to_string(), d("0.0001"))].into();
        let pos: Value =
            serde_json::from_str(r#"{"contract":"BTC_USDT","size":-250,"entry_price":"60000","leverage":"5"}"#)
                .unwrap();
        assert_eq!(futures_position(&pos, &sizes).unwrap().size, d("-0.025"), "a short of 250 contracts");
        let book: Value =
            serde_json::from_str(r#"{"id":7,"bids":[{"p":"60000","s":12}],"asks":[{"p":"60000.1","s":3}]}"#).unwrap();
        let b = futures_order_book(&book, "BTCUSDT", d("0.0001")).unwrap();
        assert_eq!((b.bids[0], b.asks[0]), ((d("60000"), d("0.0012")), (d("60000.1"), d("0.0003"))));
        let bt: Value = serde_json::from_str(
            r#"{"t":1615366379123,"u":2517661076,"s":"BTC_USDT","b":"54696.6","B":37000,"a":"54696.7","A":47061}"#,
        )
        .unwrap();
        let q = futures_book_ticker(&bt, &sizes).unwrap();
        assert_eq!((q.bid_qty, q.ask_qty), (d("3.7"), d("4.7061")));
        let k: Value = serde_json::from_str(
            r#"{"t":1542162490,"v":2000,"c":"60000","h":"60100","l":"59900","o":"60050","n":"1m_BTC_USDT","w":true}"#,
        )
        .unwrap();
        let k = futures_ws_candle(&k, &sizes).unwrap();
        assert_eq!((k.symbol.as_str(), k.volume, k.closed), ("BTCUSDT", d("0.2"), true));
        let row: Value =
            serde_json::from_str(r#"{"t":1542162480,"v":150,"c":"1","h":"1","l":"1","o":"1","sum":"9"}"#).unwrap();
        assert_eq!(futures_candle(&row, "BTCUSDT", d("0.0001")).unwrap().volume, d("0.015"));
    }

    #[test]
    fn spot_payloads_from_the_docs() {
        let trade: Value = serde_json::from_str(
            r#"{"id":309143071,"create_time":1606292218,"create_time_ms":"1606292218213.4578","side":"sell",
                "currency_pair":"GT_USDT","amount":"16.4700000000","price":"0.4705000000"}"#,
        )
        .unwrap();
        let t = spot_trade(&trade).unwrap();
        assert_eq!((t.symbol.as_str(), t.seq, t.time_ms), ("GTUSDT", 309_143_071, 1_606_292_218_213));
        assert_eq!((t.price, t.quantity, t.buyer_maker), (d("0.4705"), d("16.47"), true));

        let order: Value = serde_json::from_str(
            r#"{"id":"12332324","text":"t-abc123","create_time":"1548000000","update_time":"1548000100",
                "create_time_ms":1548000000123,"update_time_ms":1548000100123,"currency_pair":"ETH_BTC",
                "status":"open","type":"limit","account":"spot","side":"buy","amount":"1","price":"5.00032",
                "time_in_force":"gtc","left":"0.5","filled_total":"2.50016","fee":"0.005","fee_currency":"ETH",
                "finish_as":"open"}"#,
        )
        .unwrap();
        let o = spot_order(&order).unwrap();
        assert_eq!((o.client_order_id.as_str(), o.symbol.as_str()), ("abc123", "ETHBTC"));
        assert_eq!(o.status, ExchangeOrderStatus::PartiallyFilled);
        assert_eq!((o.quantity, o.filled_quantity, o.filled_quote), (d("1"), d("0.5"), Some(d("2.50016"))));
        assert_eq!(o.updated_ms, 1_548_000_100_123);

        let candle: Value = serde_json::from_str(
            r#"["1539852480","971519.677","0.0021724","0.0021922","0.0021724","0.0021737","447.2","true"]"#,
        )
        .unwrap();
        let k = spot_candle_row(&candle, "ETHBTC").unwrap();
        assert_eq!(k.open_time_ms, 1_539_852_480_000);
        assert_eq!(
            (k.open, k.high, k.low, k.close, k.volume),
            (d("0.0021737"), d("0.0021922"), d("0.0021724"), d("0.0021724"), d("447.2"))
        );
        assert!(k.closed);

        let ws_candle_msg: Value = serde_json::from_str(
            r#"{"t":"1606292580","v":"2362.32035","c":"19128.1","h":"19128.1","l":"19128.1","o":"19128.1","n":"1m_BTC_USDT","a":"3.8283","w":false}"#,
        )
        .unwrap();
        let k = ws_candle(&ws_candle_msg).unwrap();
        assert_eq!((k.symbol.as_str(), k.volume, k.closed), ("BTCUSDT", d("3.8283"), false));

        let bt: Value = serde_json::from_str(
            r#"{"t":1606293275123,"u":48733182,"s":"BTC_USDT","b":"19177.79","B":"0.0003341504","a":"19179.38","A":"0.09"}"#,
        )
        .unwrap();
        let q = book_ticker(&bt).unwrap();
        assert_eq!((q.bid, q.bid_qty, q.ask, q.ask_qty), (d("19177.79"), d("0.0003341504"), d("19179.38"), d("0.09")));
    }

    #[test]
    fn error_labels() {
        assert_eq!(
            error_label(r#"{"label":"INVALID_SIGNATURE","message":"Signature mismatch"}"#),
            Some(("INVALID_SIGNATURE".into(), "Signature mismatch".into()))
        );
        assert_eq!(error_label("not json"), None);
    }
}
