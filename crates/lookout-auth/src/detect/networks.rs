//! New source networks per user: a learned profile of where each user logs in from.
//!
//! Every successful login teaches the user's profile its source network (IPv4 `/24`,
//! IPv6 `/48`, a host name as written). Once a user has `min_logins` successes, a
//! success from a network the profile has never seen is scored by how unlikely a new
//! network is *for this user*: the Good–Turing estimate of meeting an unseen network
//! is the share of logins whose network was seen once, smoothed to
//! `(singletons + 1) / (logins + 2)`, and the score is one minus it. A user who always
//! comes from the office network scores near 1 on the first login from elsewhere; a
//! user who roams (every login from another network) scores near 0 and raises
//! nothing. A finding needs the score to reach [`MIN_SCORE`].
//!
//! Misses: a user's first `min_logins` logins (nothing learned yet), an attacker inside
//! a network the user already used, addresses behind one NAT or VPN exit; learns from
//! successes only (failures say nothing about the real user). Bounded: at most
//! `max_users` profiles (the least recently seen out first, forgotten after
//! [`PROFILE_TTL_MS`] without a login) of at most [`MAX_NETWORKS`] networks each (the
//! least recently used out first). Cost per success: one bounded-map touch and a scan
//! of the user's networks.

use std::net::IpAddr;

use lookout_sketch::BoundedMap;

/// Networks remembered per user.
pub const MAX_NETWORKS: usize = 32;
/// A profile without a login for this long is forgotten (90 days).
pub const PROFILE_TTL_MS: i64 = 90 * 24 * 3_600_000;
/// The least score of a new network that makes a finding.
pub const MIN_SCORE: f64 = 0.75;

/// The network an address belongs to for the profile: IPv4 `/24`, IPv6 `/48`
/// (IPv4-mapped IPv6 as IPv4), anything else (a host name) as written.
pub fn network_of(address: &str) -> String {
    match address.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => network_of(&v4.to_string()),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
            }
        },
        Err(_) => address.to_string(),
    }
}

#[derive(Debug, Clone, Default)]
struct Profile {
    logins: u64,
    /// (network, logins from it, last login time), at most [`MAX_NETWORKS`].
    networks: Vec<(String, u64, i64)>,
}

/// A success from a network new to its user, with what the profile knew.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNetwork {
    pub network: String,
    /// The user's known networks, most used first (at most 5).
    pub known: Vec<String>,
    /// Successful logins the profile learned from before this one.
    pub logins: u64,
    /// How unlikely a new network was for this user (0..1).
    pub score: f64,
}

/// Every user's profile. See the module documentation.
#[derive(Debug)]
pub struct UserNetworks {
    profiles: BoundedMap<String, Profile>,
    min_logins: u64,
}

impl UserNetworks {
    pub fn new(max_users: usize, min_logins: u32) -> UserNetworks {
        UserNetworks {
            profiles: BoundedMap::new(max_users, PROFILE_TTL_MS),
            min_logins: u64::from(min_logins),
        }
    }

    /// Users profiled now.
    pub fn users(&self) -> usize {
        self.profiles.len()
    }

    /// Learns a success of `user` from `address` at `t`; the finding if its network is
    /// new to a learned profile and scores at least [`MIN_SCORE`].
    pub fn success(&mut self, user: &str, address: &str, t: i64) -> Option<NewNetwork> {
        let network = network_of(address);
        let min_logins = self.min_logins;
        let profile = self.profiles.touch(&user.to_string(), t, Profile::default);
        let known = profile.networks.iter().position(|(n, _, _)| *n == network);
        let finding = match known {
            Some(_) => None,
            None if profile.logins < min_logins => None,
            None => {
                let singletons = profile.networks.iter().filter(|(_, c, _)| *c == 1).count();
                let p_new = (singletons as f64 + 1.0) / (profile.logins as f64 + 2.0);
                let score = 1.0 - p_new;
                let mut by_use: Vec<&(String, u64, i64)> = profile.networks.iter().collect();
                by_use.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                (score >= MIN_SCORE).then(|| NewNetwork {
                    network: network.clone(),
                    known: by_use.iter().take(5).map(|(n, _, _)| n.clone()).collect(),
                    logins: profile.logins,
                    score,
                })
            }
        };
        profile.logins += 1;
        match known {
            Some(index) => {
                let entry = &mut profile.networks[index];
                entry.1 += 1;
                entry.2 = t;
            }
            None => {
                if profile.networks.len() >= MAX_NETWORKS {
                    let oldest = (0..profile.networks.len())
                        .min_by_key(|&i| profile.networks[i].2)
                        .unwrap_or(0);
                    profile.networks.swap_remove(oldest);
                }
                profile.networks.push((network, 1, t));
            }
        }
        finding
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_v4_slash_24_and_v6_slash_48() {
        assert_eq!(network_of("192.0.2.77"), "192.0.2.0/24");
        assert_eq!(network_of("2001:db8:1234:5678::1"), "2001:db8:1234::/48");
        assert_eq!(network_of("::ffff:198.51.100.9"), "198.51.100.0/24");
        assert_eq!(network_of("gateway.example"), "gateway.example");
    }

    #[test]
    fn a_user_who_always_comes_from_one_network_is_flagged_from_another() {
        let mut users = UserNetworks::new(100, 5);
        for n in 0..10 {
            let address = format!("10.1.2.{}", n + 1);
            assert_eq!(users.success("alice", &address, n * 1000), None, "learning");
        }
        let found = users
            .success("alice", "203.0.113.5", 20_000)
            .expect("new network");
        assert_eq!(found.network, "203.0.113.0/24");
        assert_eq!(found.known, ["10.1.2.0/24"]);
        assert_eq!(found.logins, 10);
        assert!(
            (found.score - (1.0 - 1.0 / 12.0)).abs() < 1e-9,
            "{}",
            found.score
        );
        // Seen now: the next login from there is not news.
        assert_eq!(users.success("alice", "203.0.113.6", 21_000), None);
    }

    #[test]
    fn nothing_before_the_profile_is_learned_and_nothing_for_a_roaming_user() {
        let mut users = UserNetworks::new(100, 5);
        for n in 0..4 {
            assert_eq!(users.success("bob", "10.0.0.1", n), None);
        }
        assert_eq!(
            users.success("bob", "198.51.100.1", 10),
            None,
            "4 logins only"
        );
        let mut roaming = UserNetworks::new(100, 5);
        for n in 0..20u8 {
            let address = format!("172.16.{n}.1");
            assert_eq!(roaming.success("carol", &address, i64::from(n)), None);
        }
    }

    #[test]
    fn memory_is_bounded_in_users_and_networks() {
        let mut users = UserNetworks::new(10, 5);
        for n in 0..100u32 {
            users.success(&format!("user{n}"), "10.0.0.1", i64::from(n));
        }
        assert_eq!(users.users(), 10);
        for n in 0..200u32 {
            let address = format!("10.{}.{}.1", n / 256, n % 256);
            users.success("dave", &address, 1_000 + i64::from(n));
        }
        let profile = users.profiles.peek(&"dave".to_string()).unwrap();
        assert_eq!(profile.networks.len(), MAX_NETWORKS);
    }
}
