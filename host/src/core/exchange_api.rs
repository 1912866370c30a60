//! The core's side of the trading API (`/api/...`): orders, books, wallets, portfolio,
//! alerts and statistics, in the seed's field names.

use super::Core;
use super::exchange::JournalEntry;
use crate::alerts::{Alert, NewAlert};
use crate::market_data::SymbolId;
use crate::matching::{
    Command, Event, NewOrder, OrderStatus, OrderType, OrderView, PairId, Side, StpMode, TimeInForce,
};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};

/// Body of `POST /api/orders` (the seed's fields, plus the advanced order types').
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiOrderRequest {
    /// Owner; a new user starts with the configured demo balances.
    pub user_id: String,
    /// `BTC/USDT` or `BTCUSDT`.
    pub pair_symbol: String,
    /// market, limit, limit_maker, stop_loss, take_profit, stop_limit, take_profit_limit,
    /// iceberg, trailing_stop.
    pub order_type: String,
    /// buy or sell.
    pub order_side: String,
    /// Base quantity.
    #[schema(value_type = Option<f64>)]
    pub quantity: Option<Decimal>,
    /// Quote quantity (market orders only).
    #[schema(value_type = Option<f64>)]
    pub quote_quantity: Option<Decimal>,
    /// Limit price.
    #[schema(value_type = Option<f64>)]
    pub price: Option<Decimal>,
    /// Trigger price of stop and take-profit orders.
    #[schema(value_type = Option<f64>)]
    pub stop_price: Option<Decimal>,
    /// good_til_canceled (default), immediate_or_cancel, fill_or_kill, day, good_til_date
    /// (or GTC, IOC, FOK, DAY, GTD).
    pub time_in_force: Option<String>,
    /// Hours until a GTD order expires (also makes a GTC order GTD, as in the seed).
    pub expires_hours: Option<u32>,
    /// Visible slice of an iceberg order.
    #[schema(value_type = Option<f64>)]
    pub iceberg_qty: Option<Decimal>,
    /// Trailing delta of a trailing stop, basis points.
    pub trailing_delta: Option<u32>,
    /// Activation price of a trailing stop.
    #[schema(value_type = Option<f64>)]
    pub activation_price: Option<Decimal>,
    /// Self-trade prevention: none, expire_taker, expire_maker, expire_both.
    pub stp_mode: Option<String>,
}

/// Why an API request against the exchange failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ExchangeError {
    /// 400 with the reason.
    Bad(String),
    /// 404 with the reason.
    NotFound(String),
}

fn bad(s: impl Into<String>) -> ExchangeError {
    ExchangeError::Bad(s.into())
}

fn parse_type(s: &str) -> Result<OrderType, ExchangeError> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "market" => OrderType::Market,
        "limit" => OrderType::Limit,
        "limit_maker" => OrderType::LimitMaker,
        "stop_loss" | "stop_market" => OrderType::StopLoss,
        "take_profit" => OrderType::TakeProfit,
        "stop_limit" | "stop_loss_limit" => OrderType::StopLossLimit,
        "take_profit_limit" => OrderType::TakeProfitLimit,
        "iceberg" => OrderType::Iceberg,
        "trailing_stop" => OrderType::TrailingStop,
        other => {
            return Err(bad(format!(
                "order_type `{other}`: use market, limit, limit_maker, stop_loss, take_profit, stop_limit, take_profit_limit, iceberg or trailing_stop"
            )));
        }
    })
}

fn parse_tif(s: Option<&str>, expires_hours: Option<u32>, now_ms: i64) -> Result<TimeInForce, ExchangeError> {
    let gtd = |h: Option<u32>| match h {
        Some(h) if h > 0 => Ok(TimeInForce::Gtd { expire_ms: now_ms + i64::from(h) * 3_600_000 }),
        _ => Err(bad("good_til_date needs expires_hours > 0")),
    };
    match s.map(|v| v.to_ascii_lowercase()).as_deref() {
        None | Some("good_til_canceled") | Some("gtc") => match expires_hours {
            Some(_) => gtd(expires_hours),
            None => Ok(TimeInForce::Gtc),
        },
        Some("immediate_or_cancel") | Some("ioc") => Ok(TimeInForce::Ioc),
        Some("fill_or_kill") | Some("fok") => Ok(TimeInForce::Fok),
        Some("day") => Ok(TimeInForce::Day),
        Some("good_til_date") | Some("gtd") => gtd(expires_hours),
        Some(other) => Err(bad(format!(
            "time_in_force `{other}`: use good_til_canceled, immediate_or_cancel, fill_or_kill, day or good_til_date"
        ))),
    }
}

fn parse_stp(s: Option<&str>) -> Result<StpMode, ExchangeError> {
    Ok(match s.map(|v| v.to_ascii_lowercase()).as_deref() {
        None | Some("none") => StpMode::None,
        Some("expire_taker") => StpMode::ExpireTaker,
        Some("expire_maker") => StpMode::ExpireMaker,
        Some("expire_both") => StpMode::ExpireBoth,
        Some(other) => {
            return Err(bad(format!("stp_mode `{other}`: use none, expire_taker, expire_maker or expire_both")));
        }
    })
}

/// `BTC/USDT` form of a pair, `bybit:BTC/USDT` for a venue's market (`symbol` is the
/// pair's name, `bybit:BTCUSDT`).
fn slash(symbol: &str, base: &str, quote: &str) -> String {
    match symbol.split_once(':') {
        Some((venue, _)) => format!("{venue}:{base}/{quote}"),
        None => format!("{base}/{quote}"),
    }
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

impl Core {
    /// List every active symbol as a pair (journaled the first time).
    pub(super) fn list_active_pairs(&mut self) {
        let table = self.symbols.read().map(|s| s.clone()).unwrap_or_default();
        for id in self.active.clone() {
            if let Some(info) = table.info(id) {
                self.exchange.ensure_pair(&info.name, &info.base, &info.quote);
            }
        }
    }

    /// A market trade reaches the exchange: sweeps, stops, house quotes, alerts.
    pub(super) fn exchange_trade(&mut self, symbol: SymbolId, price: Decimal, time_ms: i64) {
        let minute = time_ms.div_euclid(60_000);
        if minute > self.last_sweep_minute {
            self.last_sweep_minute = minute;
            if !self.exchange.engine.open_orders(None, None).is_empty() {
                self.exchange.apply_entry(JournalEntry::Engine(Command::Sweep { now_ms: time_ms }), true);
            }
        }
        let Some(name) = self.infos.get(symbol.0 as usize).map(|i| i.name.clone()) else { return };
        self.exchange.on_market_trade(&name, price, time_ms);
        for (alert, price, at) in std::mem::take(&mut self.exchange.fired) {
            self.publish_exchange(|| json!({ "type": "price_alert_triggered", "alert": alert, "current_price": price, "timestamp": iso(at) }));
        }
        self.publish_exchange_events(time_ms);
    }

    /// A book ticker reaches the exchange: the house quotes the market's best bid/ask.
    pub(super) fn exchange_book(&mut self, b: crate::market_data::BookTicker) {
        let Some(name) = self.infos.get(b.symbol.0 as usize).map(|i| i.name.clone()) else { return };
        let now = self.now_ms;
        self.exchange.on_book(&name, [b.bid, b.bid_qty, b.ask, b.ask_qty], now);
        self.publish_exchange_events(now);
    }

    fn publish_exchange(&self, msg: impl FnOnce() -> Value) {
        if self.exchange_bus.receiver_count() > 0 {
            let _ = self.exchange_bus.send(msg().to_string().into());
        }
    }

    /// Seed-002 WebSocket events for what the engine just did.
    pub(super) fn publish_exchange_events(&mut self, time_ms: i64) {
        let events = std::mem::take(&mut self.exchange.events);
        self.route_engine_events(&events);
        if self.exchange_bus.receiver_count() == 0 {
            return;
        }
        let mut touched: Vec<PairId> = Vec::new();
        for e in events {
            match e {
                Event::Trade(t) => {
                    let pair = self.pair_name(t.pair);
                    self.publish_exchange(|| json!({ "type": "trade", "pair_symbol": pair, "price": t.price, "quantity": t.qty, "timestamp": iso(t.time_ms) }));
                    if !touched.contains(&t.pair) {
                        touched.push(t.pair);
                    }
                }
                Event::Order(u) => {
                    if let Some(o) = self.exchange.engine.order(u.order_id) {
                        let order = self.order_json(&o);
                        self.publish_exchange(|| json!({ "type": "order_update", "order": order }));
                    }
                    if !touched.contains(&u.pair) {
                        touched.push(u.pair);
                    }
                }
                _ => {}
            }
        }
        for pair in touched {
            let book = self.orderbook_json(pair, 10, time_ms);
            self.publish_exchange(|| {
                let mut b = book;
                b["type"] = json!("orderbook_update");
                b
            });
        }
    }

    fn pair_name(&self, pair: PairId) -> String {
        self.exchange.engine.pair(pair).map(|p| slash(&p.symbol, &p.base, &p.quote)).unwrap_or_default()
    }

    fn resolve_pair(&self, raw: &str) -> Result<PairId, ExchangeError> {
        let info = crate::market_data::SymbolInfo::parse(raw)
            .ok_or_else(|| bad(format!("`{raw}` is not a pair like BTC/USDT or BTCUSDT")))?;
        self.exchange.engine.pair_id(&info.name).ok_or_else(|| {
            ExchangeError::NotFound(format!(
                "unknown trading pair `{}`; GET /api/trading-pairs lists them",
                slash(&info.name, &info.base, &info.quote)
            ))
        })
    }

    /// An order in the seed's shape.
    pub fn order_json(&self, o: &OrderView) -> Value {
        let qty = o.quantity.unwrap_or_default();
        json!({
            "id": format!("order_{}", o.id),
            "user_id": self.exchange.user_name(o.account),
            "pair_symbol": self.pair_name(o.pair),
            "order_type": format!("{:?}", o.order_type).to_ascii_lowercase(),
            "order_side": if o.side == Side::Buy { "buy" } else { "sell" },
            "quantity": o.quantity,
            "quote_quantity": o.quote_quantity,
            "price": o.price,
            "stop_price": o.stop_price,
            "iceberg_qty": o.iceberg_qty,
            "trailing_delta": o.trailing_delta_bps,
            "time_in_force": o.time_in_force.as_str(),
            "status": status_name(o.status),
            "filled_quantity": o.filled_qty,
            "remaining_quantity": (qty - o.filled_qty).max(Decimal::ZERO),
            "average_fill_price": o.average_price.unwrap_or_default(),
            "locked": o.locked,
            "created_at": iso(o.time_ms),
            "expires_at": o.expire_ms.map(iso),
        })
    }

    /// `POST /api/orders`.
    pub fn api_place_order(&mut self, req: ApiOrderRequest) -> Result<(Value, Vec<Value>), ExchangeError> {
        if req.user_id.trim().is_empty() {
            return Err(bad("user_id must not be empty"));
        }
        let pair = self.resolve_pair(&req.pair_symbol)?;
        let order_type = parse_type(&req.order_type)?;
        let side = match req.order_side.to_ascii_lowercase().as_str() {
            "buy" => Side::Buy,
            "sell" => Side::Sell,
            other => return Err(bad(format!("order_side `{other}`: use buy or sell"))),
        };
        let now = self.now_ms;
        let s = &self.exchange.settings;
        if let Some(q) = req.quantity {
            if q < s.min_order_size {
                return Err(bad(format!("MIN_ORDER_SIZE: quantity {q} is below the minimum {}", s.min_order_size)));
            }
            if let Some(max) = s.max_order_size.filter(|m| q > *m) {
                return Err(bad(format!("MAX_ORDER_SIZE: quantity {q} is above the maximum {max}")));
            }
        }
        let order = NewOrder {
            account: self.exchange.user(&req.user_id),
            pair,
            side,
            order_type,
            time_in_force: parse_tif(req.time_in_force.as_deref(), req.expires_hours, now)?,
            quantity: req.quantity,
            quote_quantity: req.quote_quantity,
            price: req.price,
            stop_price: req.stop_price,
            iceberg_qty: req.iceberg_qty,
            trailing_delta_bps: req.trailing_delta,
            activation_price: req.activation_price,
            stp: parse_stp(req.stp_mode.as_deref())?,
            time_ms: now,
        };
        self.exchange.count_daily(order.account, now).map_err(ExchangeError::Bad)?;
        let id = self.exchange.engine.next_order_id();
        let events = self.exchange.apply_entry(JournalEntry::Engine(Command::Place(order)), true);
        let trades: Vec<Value> = events
            .iter()
            .filter_map(|e| match e {
                Event::Trade(t) if t.taker_order == id || t.maker_order == id => Some(self.trade_json(t, None)),
                _ => None,
            })
            .collect();
        if let Some(reason) = events.iter().find_map(|e| match e {
            Event::Rejected { reason, .. } => Some(reason.to_string()),
            _ => None,
        }) {
            self.publish_exchange_events(now);
            return Err(ExchangeError::Bad(reason));
        }
        let view = self.exchange.engine.order(id).ok_or_else(|| bad("order vanished"))?;
        let body = self.order_json(&view);
        self.publish_exchange_events(now);
        self.flush(); // journaled before it is acknowledged
        Ok((body, trades))
    }

    /// `DELETE /api/orders/{id}?user_id=`.
    pub fn api_cancel_order(&mut self, raw_id: &str, user: Option<&str>) -> Result<Value, ExchangeError> {
        let view = self.api_order_view(raw_id)?;
        if let Some(u) = user
            && self.exchange.known_user(u) != Some(view.account)
        {
            return Err(ExchangeError::NotFound(format!("order {raw_id} does not belong to user `{u}`")));
        }
        let cmd = Command::Cancel { account: view.account, order_id: view.id, time_ms: self.now_ms };
        let events = self.exchange.apply_entry(JournalEntry::Engine(cmd), true);
        if let Some(reason) = events.iter().find_map(|e| match e {
            Event::Rejected { reason, .. } => Some(reason.to_string()),
            _ => None,
        }) {
            return Err(bad(reason));
        }
        self.publish_exchange_events(self.now_ms);
        self.flush(); // journaled before it is acknowledged
        let view = self.exchange.engine.order(view.id).ok_or_else(|| bad("order vanished"))?;
        Ok(self.order_json(&view))
    }

    fn api_order_view(&self, raw_id: &str) -> Result<OrderView, ExchangeError> {
        let n: u64 = raw_id
            .strip_prefix("order_")
            .unwrap_or(raw_id)
            .parse()
            .map_err(|_| bad(format!("`{raw_id}` is not an order id like order_42")))?;
        self.exchange
            .engine
            .order(crate::matching::OrderId(n))
            .filter(|o| o.account.0 >= 2)
            .ok_or_else(|| ExchangeError::NotFound(format!("unknown order `{raw_id}`")))
    }

    /// `GET /api/orders/{id}`.
    pub fn api_order(&self, raw_id: &str) -> Result<Value, ExchangeError> {
        Ok(self.order_json(&self.api_order_view(raw_id)?))
    }

    /// `GET /api/orders?user_id&pair_symbol&status&limit`, newest first: open orders by
    /// default; `status=all|closed|filled|canceled|expired|...` includes the closed ones
    /// the engine keeps (the last 10,000).
    pub fn api_orders(
        &self,
        user: Option<&str>,
        pair: Option<&str>,
        status: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Value>, ExchangeError> {
        let account = match user {
            Some(u) => Some(
                self.exchange.known_user(u).ok_or_else(|| ExchangeError::NotFound(format!("unknown user `{u}`")))?,
            ),
            None => None,
        };
        let pair = pair.map(|p| self.resolve_pair(p)).transpose()?;
        let st = status.map(str::to_ascii_lowercase).unwrap_or_else(|| "open".into());
        let known = [
            "open",
            "all",
            "closed",
            "new",
            "partially_filled",
            "filled",
            "canceled",
            "expired",
            "rejected",
            "expired_in_match",
        ];
        if !known.contains(&st.as_str()) {
            return Err(bad(format!("status `{st}`: use one of {}", known.join(", "))));
        }
        let engine = &self.exchange.engine;
        let mut v: Vec<OrderView> = Vec::new();
        if st != "closed" {
            v.extend(engine.open_orders(account, pair));
        }
        if st != "open" {
            v.extend(engine.closed_orders(account, pair));
        }
        v.retain(|o| o.account.0 >= 2);
        if !["open", "all", "closed"].contains(&st.as_str()) {
            v.retain(|o| status_name(o.status).eq_ignore_ascii_case(&st));
        }
        v.sort_by_key(|o| std::cmp::Reverse(o.id));
        Ok(v.iter().take(limit).map(|o| self.order_json(o)).collect())
    }

    fn trade_json(&self, t: &crate::matching::Trade, for_account: Option<crate::matching::AccountId>) -> Value {
        let pair = self.exchange.engine.pair(t.pair);
        let (symbol, base, quote) = pair.map(|p| (p.symbol, p.base, p.quote)).unwrap_or_default();
        let as_taker = for_account.is_none_or(|a| a == t.taker_account);
        let side = if as_taker {
            t.taker_side
        } else if t.taker_side == Side::Buy {
            Side::Sell
        } else {
            Side::Buy
        };
        let (order, account, fee) = if as_taker {
            (t.taker_order, t.taker_account, t.taker_fee)
        } else {
            (t.maker_order, t.maker_account, t.maker_fee)
        };
        json!({
            "id": format!("trade_{}", t.trade_id),
            "order_id": format!("order_{order}"),
            "user_id": self.exchange.user_name(account),
            "pair_symbol": slash(&symbol, &base, &quote),
            "side": if side == Side::Buy { "buy" } else { "sell" },
            "quantity": t.qty,
            "price": t.price,
            "fee": fee,
            "fee_currency": if side == Side::Buy { base } else { quote },
            "timestamp": iso(t.time_ms),
        })
    }

    /// `GET /api/trades?user_id&pair_symbol&limit&hours`.
    pub fn api_trades(
        &self,
        user: Option<&str>,
        pair: Option<&str>,
        limit: usize,
        hours: Option<u32>,
    ) -> Result<Vec<Value>, ExchangeError> {
        let account = match user {
            Some(u) => Some(
                self.exchange.known_user(u).ok_or_else(|| ExchangeError::NotFound(format!("unknown user `{u}`")))?,
            ),
            None => None,
        };
        let pair = pair.map(|p| self.resolve_pair(p)).transpose()?;
        let since = hours.map(|h| self.now_ms - i64::from(h) * 3_600_000);
        let mut out: Vec<Value> = self
            .exchange
            .engine
            .recent_trades(pair, usize::MAX)
            .iter()
            .rev()
            .filter(|t| since.is_none_or(|s| t.time_ms >= s))
            .filter(|t| t.maker_account.0 >= 2 || t.taker_account.0 >= 2)
            .filter(|t| account.is_none_or(|a| t.maker_account == a || t.taker_account == a))
            .take(limit)
            .map(|t| self.trade_json(t, account))
            .collect();
        out.truncate(limit);
        Ok(out)
    }

    /// `GET /api/wallets?user_id=`.
    pub fn api_wallets(&self, user: &str) -> Result<Vec<Value>, ExchangeError> {
        let account =
            self.exchange.known_user(user).ok_or_else(|| ExchangeError::NotFound(format!("unknown user `{user}`")))?;
        Ok(self
            .exchange
            .engine
            .balances(account)
            .into_iter()
            .map(|b| {
                json!({
                    "id": format!("{user}_{}", b.asset), "user_id": user, "currency": b.asset,
                    "balance": b.balance, "available_balance": b.available, "locked_balance": b.locked,
                })
            })
            .collect())
    }

    /// `GET /api/wallets/{user_id}_{CURRENCY}`.
    pub fn api_wallet(&self, wallet_id: &str) -> Result<Value, ExchangeError> {
        let (user, asset) = wallet_id
            .rsplit_once('_')
            .ok_or_else(|| bad(format!("`{wallet_id}` is not a wallet id like user_123_BTC")))?;
        self.api_wallets(user)?
            .into_iter()
            .find(|w| w["currency"] == asset.to_ascii_uppercase())
            .ok_or_else(|| ExchangeError::NotFound(format!("user `{user}` has no {asset} wallet")))
    }

    /// The USD(T) price of an asset from the last trade of its USD-quoted pair.
    fn usd_price(&self, asset: &str) -> Option<Decimal> {
        if matches!(asset, "USD" | "USDT" | "USDC" | "FDUSD") {
            return Some(Decimal::ONE);
        }
        self.exchange
            .engine
            .pairs()
            .into_iter()
            .filter(|p| p.base == asset && matches!(p.quote.as_str(), "USDT" | "USD" | "USDC" | "FDUSD"))
            .find_map(|p| p.last_price)
    }

    /// `GET /api/portfolio?user_id=`.
    pub fn api_portfolio(&self, user: &str) -> Result<Value, ExchangeError> {
        let wallets = self.exchange.engine.balances(
            self.exchange.known_user(user).ok_or_else(|| ExchangeError::NotFound(format!("unknown user `{user}`")))?,
        );
        let values: Vec<(String, Decimal)> = wallets
            .iter()
            .map(|b| (b.asset.clone(), b.balance * self.usd_price(&b.asset).unwrap_or_default()))
            .collect();
        let total: Decimal = values.iter().map(|(_, v)| *v).sum();
        let allocations: serde_json::Map<String, Value> = values
            .iter()
            .filter(|(_, v)| !v.is_zero())
            .map(|(a, v)| (a.clone(), json!((*v / total * Decimal::ONE_HUNDRED).round_dp(2))))
            .collect();
        Ok(json!({
            "id": format!("portfolio_{user}"), "user_id": user, "total_value_usd": total.round_dp(8),
            "allocations": allocations, "updated_at": iso(self.now_ms),
        }))
    }

    /// `GET /api/trading-pairs/{pair}/orderbook`.
    pub fn api_orderbook(&self, raw: &str, limit: usize) -> Result<Value, ExchangeError> {
        let pair = self.resolve_pair(raw)?;
        Ok(self.orderbook_json(pair, limit, self.now_ms))
    }

    fn orderbook_json(&self, pair: PairId, limit: usize, time_ms: i64) -> Value {
        let depth = self.exchange.engine.depth(pair, limit);
        let side = |levels: &[crate::matching::DepthLevel]| -> Vec<Value> {
            levels.iter().map(|l| json!({ "price": l.price, "quantity": l.qty, "orders": l.orders })).collect()
        };
        let (bids, asks) = depth.as_ref().map(|d| (side(&d.bids), side(&d.asks))).unwrap_or_default();
        json!({ "pair_symbol": self.pair_name(pair), "bids": bids, "asks": asks, "timestamp": iso(time_ms) })
    }

    /// `GET /api/trading-pairs`.
    pub fn api_pairs(&self, limit: usize) -> Vec<Value> {
        self.exchange
            .engine
            .pairs()
            .into_iter()
            .take(limit)
            .map(|p| {
                let (bid, ask) = self.exchange.engine.best_bid_ask(p.id).unwrap_or((None, None));
                json!({
                    "id": format!("pair_{}", slash(&p.symbol, &p.base, &p.quote).replace([':', '/'], "_").to_ascii_lowercase()),
                    "base_symbol": p.base, "quote_symbol": p.quote, "symbol": slash(&p.symbol, &p.base, &p.quote),
                    "current_price": p.last_price, "bid_price": bid, "ask_price": ask,
                    "tick_size": p.config.tick_size, "step_size": p.config.step_size,
                    "min_notional": p.config.min_notional, "last_updated": iso(self.now_ms),
                })
            })
            .collect()
    }

    /// `GET /api/cryptocurrencies` and `/{id}`.
    pub fn api_cryptos(&self) -> Vec<Value> {
        let mut assets: Vec<String> = self.exchange.engine.pairs().into_iter().map(|p| p.base).collect();
        assets.sort();
        assets.dedup();
        assets
            .into_iter()
            .map(|a| {
                json!({
                    "id": format!("crypto_{}", a.to_ascii_lowercase()), "symbol": a, "name": asset_name(&a),
                    "current_price": self.usd_price(&a), "last_updated": iso(self.now_ms),
                })
            })
            .collect()
    }

    /// `POST /api/price-alerts`.
    pub fn api_add_alert(&mut self, req: NewAlert) -> Result<Alert, ExchangeError> {
        let asset = crate::alerts::asset_of(&req.cryptocurrency_id).unwrap_or_default();
        let price = self.usd_price(&asset);
        let alert = self.exchange.add_alert(req, price, self.now_ms).map_err(ExchangeError::Bad)?;
        self.flush(); // journaled before it is acknowledged
        Ok(alert)
    }

    /// `GET /api/price-alerts`.
    pub fn api_alerts(&self, user: Option<&str>, active_only: bool) -> Vec<Alert> {
        self.exchange.alerts.list(user, active_only)
    }

    /// `GET /api/stats`.
    pub fn api_stats(&self) -> Value {
        let trades = self.exchange.engine.recent_trades(None, usize::MAX);
        let user_trades = trades.iter().filter(|t| t.maker_account.0 >= 2 || t.taker_account.0 >= 2).count();
        json!({
            "total_users": self.exchange.users().len(),
            "trading_pairs": self.exchange.engine.pairs().len(),
            "open_orders": self.exchange.engine.open_orders(None, None).iter().filter(|o| o.account.0 >= 2).count(),
            "recent_trades": user_trades,
            "funds_conserved": self.exchange.engine.funds_conserved(),
            "event_time": iso(self.now_ms),
        })
    }

    /// A trading pair for a symbol the host now processes.
    pub(super) fn list_pair(&mut self, name: &str, base: &str, quote: &str) {
        self.exchange.ensure_pair(name, base, quote);
    }
}

fn status_name(s: OrderStatus) -> String {
    format!("{s:?}").chars().fold(String::new(), |mut out, c| {
        if c.is_ascii_uppercase() && !out.is_empty() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
        out
    })
}

fn asset_name(a: &str) -> &'static str {
    match a {
        "BTC" => "Bitcoin",
        "ETH" => "Ethereum",
        "SOL" => "Solana",
        "BNB" => "BNB",
        "ADA" => "Cardano",
        "XRP" => "XRP",
        "DOGE" => "Dogecoin",
        _ => "",
    }
}
