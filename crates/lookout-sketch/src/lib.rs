//! Bounded-memory summaries of unbounded streams.
//!
//! Log, login and traffic sources see keys without bound: client addresses, source
//! networks, paths. Keeping a map entry per key is how a flood of spoofed addresses turns
//! into an out-of-memory kill. The summaries here answer the two questions those sources
//! ask in memory fixed at construction:
//!
//! - [`SpaceSaving`]: *who are the heaviest keys?* (top clients by request rate, top
//!   attacking addresses). Metwally, Agrawal and El Abbadi's Space-Saving with `capacity`
//!   counters: every key whose true count exceeds `total / capacity` is guaranteed to be
//!   held, and each held count overestimates the true count by at most its recorded
//!   `error`. Cost: O(log capacity) per update (a min-heap of slot numbers beside a key
//!   map hashed once per update, three times on an eviction),
//!   about 64 bytes plus the key per counter.
//! - [`BoundedMap`]: *what do we know about this key?* (per-address login state, open
//!   per-client incidents): a map with a size cap and an age limit, least recently
//!   touched out first, handing back what it drops so callers can close it.
//! - [`HyperLogLog`]: *how many distinct keys?* (distinct source addresses per
//!   destination, distinct users per address). Flajolet et al.'s estimator with the
//!   small-range (linear counting) correction; relative standard error about
//!   `1.04 / sqrt(2^precision)` (1.6 % at the default precision 12, 4 KiB). Cost: one hash
//!   and one register update per insert.
//!
//! Both are deterministic: the same input in the same order gives the same summary (the
//! hash of [`HyperLogLog`] has fixed keys; ties in [`SpaceSaving`] are broken by key).
//! Neither can answer *exact* counts for keys it does not hold, and neither forgets by
//! itself: callers that want a rate per interval [`SpaceSaving::clear`] at each interval.

mod bounded;
mod hll;
mod space_saving;

pub use bounded::BoundedMap;
pub use hll::{HyperLogLog, PrecisionError};
pub use space_saving::{Counter, SpaceSaving};
