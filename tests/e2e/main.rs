//! End-to-end tests: each starts a real node (HTTP on port 0) over a real database, once on
//! SQLite and once on PostgreSQL, and drives it as clients would.
#![allow(missing_docs, unreachable_pub)]

mod access;
mod bad_input;
mod browser;
mod clients;
mod common;
mod console;
mod console_browser;
mod db_down;
mod deploy;
mod dns;
mod dns_tools;
mod epcis;
mod epcis_js;
mod epcis_queries;
mod epcis_subscriptions;
mod epcis_xml;
mod failover;
mod full_disk;
mod handle;
mod handle_keys;
mod handle_limits;
mod hdl;
mod instances;
mod manage;
mod observe;
mod quotas;
mod rest;
mod rest_sessions;
mod sdk_channel;
mod sessions;
mod snms;
mod stats;
mod templates;
mod upstream;
