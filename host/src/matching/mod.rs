//! The paper exchange: order books, matching, order types, wallets (in progress).
