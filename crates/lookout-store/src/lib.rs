//! lookout's embedded store: SQLite in WAL mode, one batching writer thread, read-only
//! connections for queries. The rest of this page is the crate README: schema,
//! retention, durability, and measured disk use and write speed.
//!
#![doc = include_str!("../README.md")]

mod anomalies;
mod batch;
mod checkpoint;
mod chunk;
mod compact;
mod config;
mod error;
mod events;
mod head;
mod health;
mod lock;
mod pool;
mod query;
mod raw;
mod read_offsets;
mod rejected;
mod rollup;
mod rows;
mod schema;
mod seal;
mod series;
mod store;
mod writer;

pub use batch::{AnomalyOp, CommitResult, SampleRow, SampleVerdict, Ticket, WriteBatch};
pub use compact::CompactionReport;
pub use config::StoreConfig;
pub use error::StoreError;
pub use events::{BadCursor, EventCursor, EventPage, EventQuery};
pub use health::HealthSnapshot;
pub use lock::LOCK_FILE;
pub use lookout_model::{
    AnomalyId, AnomalyRecord, AnomalyStatus, Event, EventId, EventRecord, FeedbackLabel,
    FeedbackRecord, ReadOffset, SeriesId,
};
pub use rejected::Rejected;
pub use rows::{Point, Resolution, SeriesPoints};
pub use series::{domain_of, SeriesInfo};
pub use store::{Store, DATABASE_FILE};
