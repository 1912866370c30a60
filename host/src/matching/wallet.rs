//! Accounts' wallets (total and locked per asset, in units of 10^-12) and fees.
//!
//! Funds only move between wallets, except deposits and withdrawals, so for every asset
//! the sum of all totals (fee account included) equals the net deposits. Tests check
//! this after every command.

use super::slab::IdBuild;
use super::types::AccountId;
use super::units::{AMOUNT_SCALE, ceil_div, pow10, units_decimal};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One asset of one account, wallet units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Balance {
    /// Everything held.
    pub total: i128,
    /// Held for open orders.
    pub locked: i128,
}

/// All accounts' wallets.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Wallets {
    assets: Vec<String>,
    asset_index: HashMap<String, u32>,
    accounts: Vec<(AccountId, Vec<Balance>)>,
    index: HashMap<AccountId, u32, IdBuild>,
    net_deposits: Vec<i128>,
}

impl Wallets {
    /// Intern an asset name (upper case).
    pub fn asset(&mut self, name: &str) -> u32 {
        let name = name.trim().to_ascii_uppercase();
        if let Some(&a) = self.asset_index.get(&name) {
            return a;
        }
        let a = self.assets.len() as u32;
        self.assets.push(name.clone());
        self.asset_index.insert(name, a);
        self.net_deposits.push(0);
        a
    }

    /// An interned asset.
    pub fn asset_id(&self, name: &str) -> Option<u32> {
        self.asset_index.get(&name.trim().to_ascii_uppercase()).copied()
    }

    /// An asset's name.
    pub fn asset_name(&self, a: u32) -> &str {
        self.assets.get(a as usize).map(String::as_str).unwrap_or("")
    }

    /// An account's index.
    #[inline]
    pub fn account(&self, id: AccountId) -> Option<u32> {
        self.index.get(&id).copied()
    }

    /// An account's index, creating the account.
    pub fn ensure(&mut self, id: AccountId) -> u32 {
        if let Some(&a) = self.index.get(&id) {
            return a;
        }
        let a = self.accounts.len() as u32;
        self.accounts.push((id, Vec::new()));
        self.index.insert(id, a);
        a
    }

    /// Every account id, in creation order.
    pub fn account_ids(&self) -> impl Iterator<Item = AccountId> + '_ {
        self.accounts.iter().map(|(id, _)| *id)
    }

    #[inline]
    fn bal(&mut self, acct: u32, asset: u32) -> &mut Balance {
        let v = &mut self.accounts[acct as usize].1;
        if v.len() <= asset as usize {
            v.resize(asset as usize + 1, Balance::default());
        }
        &mut v[asset as usize]
    }

    /// A balance (zero if never touched).
    #[inline]
    pub fn get(&self, acct: u32, asset: u32) -> Balance {
        self.accounts[acct as usize].1.get(asset as usize).copied().unwrap_or_default()
    }

    /// Total minus locked.
    #[inline]
    pub fn available(&self, acct: u32, asset: u32) -> i128 {
        let b = self.get(acct, asset);
        b.total - b.locked
    }

    /// Credit from outside.
    pub fn deposit(&mut self, acct: u32, asset: u32, units: i128) {
        self.bal(acct, asset).total += units;
        self.net_deposits[asset as usize] += units;
    }

    /// Debit to outside; `Err(available)` if short.
    pub fn withdraw(&mut self, acct: u32, asset: u32, units: i128) -> Result<(), i128> {
        let b = self.bal(acct, asset);
        if b.total - b.locked < units {
            return Err(b.total - b.locked);
        }
        b.total -= units;
        self.net_deposits[asset as usize] -= units;
        Ok(())
    }

    /// Lock for an order; `Err(available)` if short.
    #[inline]
    pub fn lock(&mut self, acct: u32, asset: u32, units: i128) -> Result<(), i128> {
        let b = self.bal(acct, asset);
        if b.total - b.locked < units {
            return Err(b.total - b.locked);
        }
        b.locked += units;
        Ok(())
    }

    /// Release a lock.
    #[inline]
    pub fn unlock(&mut self, acct: u32, asset: u32, units: i128) {
        self.bal(acct, asset).locked -= units;
    }

    /// Pay out of a lock (the units leave the wallet).
    #[inline]
    pub fn spend_locked(&mut self, acct: u32, asset: u32, units: i128) {
        let b = self.bal(acct, asset);
        b.total -= units;
        b.locked -= units;
    }

    /// Receive units from another wallet.
    #[inline]
    pub fn credit(&mut self, acct: u32, asset: u32, units: i128) {
        self.bal(acct, asset).total += units;
    }

    /// Per asset: the sum of every account's total.
    pub fn totals(&self) -> Vec<i128> {
        let mut t = vec![0i128; self.assets.len()];
        for (_, v) in &self.accounts {
            for (a, b) in v.iter().enumerate() {
                t[a] += b.total;
            }
        }
        t
    }

    /// Per asset: deposits minus withdrawals.
    pub fn net_deposits(&self) -> &[i128] {
        &self.net_deposits
    }

    /// An account's non-zero balances as (asset, total, locked).
    pub fn balances(&self, acct: u32) -> Vec<(u32, Balance)> {
        let v = &self.accounts[acct as usize].1;
        v.iter().enumerate().filter(|(_, b)| b.total != 0 || b.locked != 0).map(|(a, b)| (a as u32, *b)).collect()
    }
}

/// Maker/taker fees. Fees are charged in the asset each side receives (base for the
/// buyer, quote for the seller), rounded up to `fee_decimals`, at least `min_fee` (when
/// the rate is not zero) and at most what was received, and credited to `fee_account`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeConfig {
    /// Maker rate (the seed's `MAKER_FEE_RATE`), default 0.001.
    pub maker_rate: Decimal,
    /// Taker rate (`TAKER_FEE_RATE`), default 0.002.
    pub taker_rate: Decimal,
    /// Minimum fee per fill in the received asset (`MIN_FEE`), default 0.
    pub min_fee: Decimal,
    /// Fee rounding, decimals (default 8).
    pub fee_decimals: u32,
    /// The account fees are credited to (default 0).
    pub fee_account: AccountId,
}

impl Default for FeeConfig {
    fn default() -> Self {
        FeeConfig {
            maker_rate: Decimal::new(1, 3),
            taker_rate: Decimal::new(2, 3),
            min_fee: Decimal::ZERO,
            fee_decimals: 8,
            fee_account: AccountId(0),
        }
    }
}

#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Rate {
    mantissa: i128,
    divisor: i128,
}

/// Validated fee schedule.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Fees {
    maker: Rate,
    taker: Rate,
    min_quanta: i128,
    quantum: i128,
    decimals: u32,
}

/// Why a [`FeeConfig`] cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeeConfigError {
    /// A rate outside [0, 1) or with more than 10 decimals.
    #[error("fee rate {field} = {value} must be in [0, 1) with at most 10 decimals")]
    Rate {
        /// `maker_rate` or `taker_rate`.
        field: &'static str,
        /// The value given.
        value: Decimal,
    },
    /// Rounding finer than the engine's amounts, or a bad minimum.
    #[error("fee_decimals {fee_decimals} must be at most 12 and min_fee {min_fee} >= 0 on that grid")]
    Rounding {
        /// The decimals given.
        fee_decimals: u32,
        /// The minimum given.
        min_fee: Decimal,
    },
}

impl Fees {
    /// Validate a config.
    pub fn new(c: &FeeConfig) -> Result<Fees, FeeConfigError> {
        if c.fee_decimals > AMOUNT_SCALE
            || c.min_fee.is_sign_negative()
            || c.min_fee.normalize().scale() > c.fee_decimals
        {
            return Err(FeeConfigError::Rounding { fee_decimals: c.fee_decimals, min_fee: c.min_fee });
        }
        let quantum = pow10(AMOUNT_SCALE - c.fee_decimals);
        let rate = |field: &'static str, value: Decimal| {
            let v = value.normalize();
            if v.is_sign_negative() || v >= Decimal::ONE || v.scale() > 10 {
                return Err(FeeConfigError::Rate { field, value });
            }
            Ok(Rate { mantissa: v.mantissa(), divisor: pow10(v.scale()) * quantum })
        };
        let min = c.min_fee.normalize();
        Ok(Fees {
            maker: rate("maker_rate", c.maker_rate)?,
            taker: rate("taker_rate", c.taker_rate)?,
            min_quanta: min.mantissa() * pow10(c.fee_decimals - min.scale()),
            quantum,
            decimals: c.fee_decimals,
        })
    }

    /// The fee on `received` wallet units: (units, as a decimal).
    #[inline]
    pub fn fee(&self, received: i128, maker: bool) -> (i128, Decimal) {
        let rate = if maker { self.maker } else { self.taker };
        if rate.mantissa == 0 || received <= 0 {
            return (0, Decimal::ZERO);
        }
        let quanta = ceil_div(received * rate.mantissa, rate.divisor).max(self.min_quanta);
        let units = quanta * self.quantum;
        if units > received {
            return (received, units_decimal(received));
        }
        (units, super::units::dec(quanta, self.decimals))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn fees_round_up_respect_minimum_and_cap() {
        let cfg = FeeConfig { min_fee: d("0.0001"), ..FeeConfig::default() };
        let fees = Fees::new(&cfg).unwrap();
        let u = |s: &str| super::super::units::amount_units(d(s)).unwrap();
        // 45000 * 0.001 = 45 (maker), * 0.002 = 90 (taker).
        assert_eq!(fees.fee(u("45000"), true).1, d("45"));
        assert_eq!(fees.fee(u("45000"), false).1, d("90"));
        // 0.123456789 * 0.001 = 0.000123456789 -> rounded up to 8 decimals.
        assert_eq!(fees.fee(u("0.123456789"), true).1, d("0.00012346"));
        // Tiny fill: the minimum applies.
        assert_eq!(fees.fee(u("0.01"), true).1, d("0.0001"));
        // Smaller than the minimum: capped at what was received.
        assert_eq!(fees.fee(u("0.00005"), true), (u("0.00005"), d("0.00005")));
        let free = Fees::new(&FeeConfig { maker_rate: Decimal::ZERO, ..cfg }).unwrap();
        assert_eq!(free.fee(u("1"), true), (0, Decimal::ZERO));
    }

    #[test]
    fn rejects_bad_fee_configs() {
        for cfg in [
            FeeConfig { maker_rate: d("1"), ..FeeConfig::default() },
            FeeConfig { taker_rate: d("-0.1"), ..FeeConfig::default() },
            FeeConfig { fee_decimals: 13, ..FeeConfig::default() },
            FeeConfig { min_fee: d("0.000000001"), ..FeeConfig::default() },
        ] {
            assert!(Fees::new(&cfg).is_err(), "{cfg:?}");
        }
    }
}
