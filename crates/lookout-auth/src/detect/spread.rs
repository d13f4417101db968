//! Distinct users one address tried within a window (user enumeration).
//!
//! A password spray or a dictionary of account names shows as many different users from
//! one address; a person mistyping a password tries one. Keeps, per address, the last
//! time each user was tried, at most `cap` users (the least recent dropped). Misses:
//! enumeration spread over many addresses, one user each. Cost: O(cap) per failure
//! (the cap is small), one string per held user.

use std::collections::VecDeque;

/// Users tried by one address, most recent last.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserSpread {
    users: VecDeque<(i64, String)>,
}

impl UserSpread {
    /// Records `user` tried at `now_ms`, keeping at most `cap` users.
    pub fn push(&mut self, user: &str, now_ms: i64, cap: usize) {
        if let Some(at) = self.users.iter().position(|(_, u)| u == user) {
            self.users.remove(at);
        }
        self.users.push_back((now_ms, user.to_string()));
        while self.users.len() > cap.max(1) {
            self.users.pop_front();
        }
    }

    /// Distinct users tried within `window_ms` before `now_ms`.
    pub fn distinct_within(&self, now_ms: i64, window_ms: i64) -> usize {
        self.users
            .iter()
            .filter(|(t, _)| now_ms - *t <= window_ms)
            .count()
    }

    /// The users held, oldest first.
    pub fn users(&self) -> impl Iterator<Item = &str> {
        self.users.iter().map(|(_, u)| u.as_str())
    }

    pub fn clear(&mut self) {
        self.users.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_distinct_recent_users() {
        let mut s = UserSpread::default();
        for (t, u) in [(0, "root"), (1, "admin"), (2, "root"), (900, "oracle")] {
            s.push(u, t, 8);
        }
        assert_eq!(s.distinct_within(900, 1000), 3);
        assert_eq!(s.distinct_within(900, 10), 1);
        assert_eq!(s.users().collect::<Vec<_>>(), ["admin", "root", "oracle"]);
        for i in 0..20 {
            s.push(&format!("u{i}"), 1000, 4);
        }
        assert_eq!(s.users().count(), 4);
    }
}
