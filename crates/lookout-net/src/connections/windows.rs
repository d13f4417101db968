//! The traffic features of a connection record: the 2-second window (`count`,
//! `srv_count`, the error and service rates) and the host window over the last
//! connections (`dst_host_*`).
//!
//! A connection enters both windows when its record is made (at its end), with the
//! packet time of that moment. The time window keeps the connections of the past
//! [`TIME_WINDOW_NS`] with tallies by destination host, by service and by the pair, so a
//! record costs a few map updates whatever the rate; it holds at most
//! [`TIME_WINDOW_CAP`] connections, beyond which the oldest leave early (the counts are
//! then those of the last 16,384 connections, still far above the dataset's cap of 511
//! that the counts are clamped to). The host window is a ring of the last
//! [`HOST_WINDOW`] connections scanned per record. The dataset's documentation speaks of
//! 100 connections, but its `dst_host_count` reaches 255, so the window is 255: the range
//! a trained model learned. "SYN errors" are the flags S0, S1, S2, S3 and "REJ errors"
//! REJ, as in the feature extractors that reproduce the dataset.

use std::collections::{HashMap, VecDeque};

use super::FastHash;

/// Span of the time window.
pub const TIME_WINDOW_NS: i64 = 2_000_000_000;
/// Most connections held in the time window.
pub const TIME_WINDOW_CAP: usize = 16_384;
/// Connections in the host window.
pub const HOST_WINDOW: usize = 255;
/// The dataset's cap of `count` and `srv_count`.
const COUNT_CAP: u32 = 511;

/// What the windows keep of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowEntry {
    pub time_ns: i64,
    /// The destination host (a fold of its address).
    pub host: u64,
    /// The service (a hash of its name).
    pub service: u32,
    pub source_port: u16,
    pub serror: bool,
    pub rerror: bool,
}

#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    n: u32,
    serror: u32,
    rerror: u32,
}

impl Tally {
    fn add(&mut self, entry: &WindowEntry) {
        self.n += 1;
        self.serror += u32::from(entry.serror);
        self.rerror += u32::from(entry.rerror);
    }

    /// Removes `entry`; true when the tally is empty.
    fn remove(&mut self, entry: &WindowEntry) -> bool {
        self.n -= 1;
        self.serror -= u32::from(entry.serror);
        self.rerror -= u32::from(entry.rerror);
        self.n == 0
    }
}

fn rate(part: u32, whole: u32) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    (f64::from(part) / f64::from(whole) * 100.0).round() / 100.0
}

/// The nine features of the 2-second window, in the dataset's column order
/// (`count` … `srv_diff_host_rate`).
pub type TimeFeatures = [f64; 9];
/// The ten `dst_host_*` features, in the dataset's column order.
pub type HostFeatures = [f64; 10];

/// The connections of the past two seconds, tallied; see the module documentation.
#[derive(Debug, Default)]
pub struct TimeWindow {
    entries: VecDeque<WindowEntry>,
    by_host: HashMap<u64, Tally, FastHash>,
    by_service: HashMap<u32, Tally, FastHash>,
    by_pair: HashMap<(u64, u32), u32, FastHash>,
}

impl TimeWindow {
    /// Adds a connection (times must not go backwards by more than the span) and returns
    /// its features, the connection itself included.
    pub fn add(&mut self, entry: WindowEntry) -> TimeFeatures {
        while let Some(oldest) = self.entries.front() {
            if oldest.time_ns > entry.time_ns - TIME_WINDOW_NS
                && self.entries.len() < TIME_WINDOW_CAP
            {
                break;
            }
            let oldest = self.entries.pop_front().expect("front exists");
            self.forget(&oldest);
        }
        self.entries.push_back(entry);
        let host = self.by_host.entry(entry.host).or_default();
        host.add(&entry);
        let host = *host;
        let service = self.by_service.entry(entry.service).or_default();
        service.add(&entry);
        let service = *service;
        let pair = self.by_pair.entry((entry.host, entry.service)).or_default();
        *pair += 1;
        let pair = *pair;
        [
            f64::from(host.n.min(COUNT_CAP)),
            f64::from(service.n.min(COUNT_CAP)),
            rate(host.serror, host.n),
            rate(service.serror, service.n),
            rate(host.rerror, host.n),
            rate(service.rerror, service.n),
            rate(pair, host.n),
            rate(host.n - pair, host.n),
            rate(service.n - pair, service.n),
        ]
    }

    fn forget(&mut self, entry: &WindowEntry) {
        if let Some(tally) = self.by_host.get_mut(&entry.host) {
            if tally.remove(entry) {
                self.by_host.remove(&entry.host);
            }
        }
        if let Some(tally) = self.by_service.get_mut(&entry.service) {
            if tally.remove(entry) {
                self.by_service.remove(&entry.service);
            }
        }
        let key = (entry.host, entry.service);
        if let Some(n) = self.by_pair.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.by_pair.remove(&key);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The last [`HOST_WINDOW`] connections; see the module documentation.
#[derive(Debug, Default)]
pub struct HostWindow {
    ring: VecDeque<WindowEntry>,
}

impl HostWindow {
    /// Adds a connection and returns its `dst_host_*` features, the connection included.
    pub fn add(&mut self, entry: WindowEntry) -> HostFeatures {
        if self.ring.len() == HOST_WINDOW {
            self.ring.pop_front();
        }
        self.ring.push_back(entry);
        let (mut host, mut host_same_srv, mut host_same_port) = (0u32, 0u32, 0u32);
        let (mut host_serror, mut host_rerror) = (0u32, 0u32);
        let (mut srv, mut srv_diff_host, mut srv_serror, mut srv_rerror) = (0u32, 0, 0, 0);
        for other in &self.ring {
            let same_host = other.host == entry.host;
            let same_srv = other.service == entry.service;
            if same_host {
                host += 1;
                host_same_srv += u32::from(same_srv);
                host_same_port += u32::from(other.source_port == entry.source_port);
                host_serror += u32::from(other.serror);
                host_rerror += u32::from(other.rerror);
            }
            if same_srv {
                srv += 1;
                srv_diff_host += u32::from(!same_host);
                srv_serror += u32::from(other.serror);
                srv_rerror += u32::from(other.rerror);
            }
        }
        [
            f64::from(host),
            f64::from(srv),
            rate(host_same_srv, host),
            rate(host - host_same_srv, host),
            rate(host_same_port, host),
            rate(srv_diff_host, srv),
            rate(host_serror, host),
            rate(srv_serror, srv),
            rate(host_rerror, host),
            rate(srv_rerror, srv),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(time_s: f64, host: u64, service: u32, serror: bool, rerror: bool) -> WindowEntry {
        WindowEntry {
            time_ns: (time_s * 1e9) as i64,
            host,
            service,
            source_port: 1000,
            serror,
            rerror,
        }
    }

    #[test]
    fn the_time_window_counts_the_past_two_seconds_by_host_and_service() {
        let mut window = TimeWindow::default();
        window.add(entry(0.0, 1, 80, false, false));
        window.add(entry(0.5, 1, 80, true, false));
        window.add(entry(1.0, 1, 22, false, true));
        window.add(entry(1.5, 2, 80, false, false));
        let f = window.add(entry(1.9, 1, 80, true, false));
        // To host 1: 4 connections, 2 S-errors, 1 REJ, 3 to http; to http: 4, one elsewhere.
        assert_eq!(f, [4.0, 4.0, 0.5, 0.5, 0.25, 0.0, 0.75, 0.25, 0.25]);
        // 2.2 s: the connections of 0.0 s leave the window.
        let f = window.add(entry(2.2, 1, 80, false, false));
        assert_eq!(f[0], 4.0);
        assert_eq!(window.len(), 5);
        // Long after: only itself.
        let f = window.add(entry(9.0, 3, 25, false, false));
        assert_eq!(f, [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
        assert_eq!(window.len(), 1);
        assert!(window.by_host.len() == 1 && window.by_pair.len() == 1);
    }

    #[test]
    fn the_time_window_is_bounded_and_counts_are_clamped() {
        let mut window = TimeWindow::default();
        let mut last = [0.0; 9];
        for i in 0..(TIME_WINDOW_CAP + 500) {
            last = window.add(entry(i as f64 * 1e-6, 1, 80, true, false));
        }
        assert_eq!(window.len(), TIME_WINDOW_CAP);
        assert_eq!(last[0], 511.0);
        assert_eq!(last[2], 1.0);
    }

    #[test]
    fn the_host_window_holds_the_last_connections() {
        let mut window = HostWindow::default();
        for i in 0..300 {
            window.add(entry(
                i as f64,
                7,
                if i % 2 == 0 { 80 } else { 22 },
                false,
                false,
            ));
        }
        let f = window.add(entry(301.0, 7, 80, true, false));
        assert_eq!(f[0], 255.0);
        assert_eq!(f[1], 128.0);
        assert_eq!(f[2], 0.5);
        assert_eq!(f[6], 0.0, "one S-error in 255 rounds to 0.00");
        let f = window.add(entry(302.0, 9, 80, false, false));
        assert_eq!(f[0], 1.0);
        assert_eq!(f[5], 0.99, "http connections to another host");
    }
}
