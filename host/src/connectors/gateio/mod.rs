//! Gateio: placeholder until the venue module lands.

use super::{registry::ConnectorSettings, *};
use async_trait::async_trait;

/// The Gateio connector.
#[derive(Clone)]
pub struct GateioConnector {
    settings: ConnectorSettings,
}

impl GateioConnector {
    /// A connector with these settings.
    pub fn new(settings: ConnectorSettings) -> ConnectorResult<GateioConnector> {
        Ok(GateioConnector { settings })
    }

    fn unsupported<T>(&self, what: &'static str) -> ConnectorResult<T> {
        Err(ConnectorError::Unsupported { exchange: ExchangeId::Gateio, what })
    }
}

#[async_trait]
impl Connector for GateioConnector {
    fn exchange(&self) -> ExchangeId {
        ExchangeId::Gateio
    }
    fn testnet(&self) -> bool {
        self.settings.testnet
    }
    fn market(&self) -> Market {
        self.settings.market
    }
    async fn server_time(&self) -> ConnectorResult<i64> {
        self.unsupported("server_time")
    }
    async fn test_connection(&self) -> ConnectorResult<ConnectionReport> {
        self.unsupported("test_connection")
    }
    async fn exchange_info(&self) -> ConnectorResult<Vec<SymbolRules>> {
        self.unsupported("exchange_info")
    }
    async fn ticker(&self, _symbol: &str) -> ConnectorResult<Ticker> {
        self.unsupported("ticker")
    }
    async fn order_book(&self, _symbol: &str, _depth: usize) -> ConnectorResult<OrderBook> {
        self.unsupported("order_book")
    }
    async fn recent_trades(
        &self,
        _symbol: &str,
        _from: Option<u64>,
        _limit: usize,
    ) -> ConnectorResult<Vec<PublicTrade>> {
        self.unsupported("recent_trades")
    }
    async fn klines_1m(&self, _symbol: &str, _start_ms: i64, _limit: usize) -> ConnectorResult<Vec<Kline>> {
        self.unsupported("klines")
    }
    async fn balances(&self) -> ConnectorResult<Vec<Balance>> {
        self.unsupported("balances")
    }
    async fn create_order(&self, _order: &OrderRequest) -> ConnectorResult<ExchangeOrder> {
        self.unsupported("create_order")
    }
    async fn get_order(&self, _symbol: &str, _order: &OrderRef) -> ConnectorResult<ExchangeOrder> {
        self.unsupported("get_order")
    }
    async fn cancel_order(&self, _symbol: &str, _order: &OrderRef) -> ConnectorResult<ExchangeOrder> {
        self.unsupported("cancel_order")
    }
    async fn open_orders(&self, _symbol: Option<&str>) -> ConnectorResult<Vec<ExchangeOrder>> {
        self.unsupported("open_orders")
    }
    async fn my_trades(&self, _symbol: &str, _limit: usize) -> ConnectorResult<Vec<OwnTrade>> {
        self.unsupported("my_trades")
    }
    fn stream(&self, _subscriptions: Vec<Subscription>, _record: bool) -> ConnectorResult<StreamHandle> {
        self.unsupported("stream")
    }
}
