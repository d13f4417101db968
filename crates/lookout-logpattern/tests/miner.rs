//! The miner's contract: online ids, bounded memory with documented behaviour, templates.

use lookout_logpattern::{Config, ConfigError, Miner, PatternId};

#[test]
fn one_message_with_other_values_is_one_pattern() {
    let mut miner = Miner::new(Config::default()).unwrap();
    let a = miner.add("Jun 14 15:16:01 combo sshd[19939]: connection from 10.0.0.1 port 22");
    assert!(a.new);
    let id = a.id;
    let b = miner.add("Jun 15 02:04:59 combo sshd[20882]: connection from 10.0.0.2 port 2222");
    assert_eq!(b.id, id);
    assert!(!b.new);
    assert_eq!(
        b.template,
        "<*> <*> <*> combo sshd[<*>]: connection from <*> port <*>"
    );
    let c = miner.add("Jun 15 02:05:00 combo sshd[20882]: connection closed by 10.0.0.2 port 2222");
    assert_ne!(c.id, id);
    assert_eq!(miner.count(id), Some(2));
}

#[test]
fn different_words_are_different_patterns() {
    let mut miner = Miner::new(Config::default()).unwrap();
    let started = miner.add("2017-05-16 00:00:04.500 2931 INFO nova.compute.manager [instance: b9000564] VM Started (Lifecycle Event)").id;
    let paused = miner.add("2017-05-16 00:00:04.562 2931 INFO nova.compute.manager [instance: b9000564] VM Paused (Lifecycle Event)").id;
    assert_ne!(started, paused);
}

#[test]
fn clusters_past_the_cap_evict_the_least_recently_matched_and_ids_are_never_reused() {
    let config = Config {
        max_clusters: 3,
        ..Config::default()
    };
    let mut miner = Miner::new(config).unwrap();
    let words = ["alpha", "beta", "gamma", "delta"];
    let ids: Vec<PatternId> = words
        .iter()
        .map(|w| miner.add(&format!("service {w} ready")).id)
        .collect();
    assert_eq!(
        ids,
        [PatternId(1), PatternId(2), PatternId(3), PatternId(4)]
    );
    assert_eq!(miner.len(), 3);
    assert_eq!(miner.evicted(), 1);
    assert_eq!(miner.template(PatternId(1)), None);
    // alpha was evicted: it comes back under a new id.
    let again = miner.add("service alpha ready");
    assert!(again.new);
    assert_eq!(again.id, PatternId(5));
    assert_eq!(miner.len(), 3);
}

#[test]
fn tree_children_past_the_cap_route_through_the_wildcard() {
    let config = Config {
        max_children: 2,
        ..Config::default()
    };
    let mut miner = Miner::new(config).unwrap();
    let lines: Vec<String> = (0..50)
        .map(|i| {
            format!(
                "w{}x{} started",
                (b'a' + (i % 26) as u8) as char,
                "y".repeat(i / 26)
            )
        })
        .collect();
    let ids: Vec<PatternId> = lines.iter().map(|l| miner.add(l).id).collect();
    // Past the first two, the lines went through the `<*>` child: found there again.
    for (line, id) in lines.iter().zip(&ids) {
        let again = miner.add(line);
        assert_eq!((again.id, again.new), (*id, false), "{line}");
    }
}

#[test]
fn long_lines_are_cut_and_the_tail_folded() {
    let config = Config {
        max_tokens: 4,
        max_line_bytes: 64,
        ..Config::default()
    };
    let mut miner = Miner::new(config).unwrap();
    let line = format!("a b c {}", "d ".repeat(10_000));
    let found = miner.add(&line);
    assert_eq!(found.template, "a b c <*>");
    let multibyte = "é".repeat(100);
    assert_eq!(miner.add(&multibyte).template.chars().count(), 32);
}

#[test]
fn same_lines_same_ids() {
    let lines: Vec<String> = (0..500)
        .map(|i| format!("job {} step {} of {} done in {}ms", i % 7, i % 13, i % 5, i))
        .collect();
    let run = || {
        let mut miner = Miner::new(Config::default()).unwrap();
        lines.iter().map(|l| miner.add(l).id).collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

#[test]
fn parameters_out_of_range_are_refused_by_name() {
    let error = Miner::new(Config {
        similarity: 1.5,
        ..Config::default()
    })
    .unwrap_err();
    assert!(matches!(
        error,
        ConfigError::OutOfRange {
            name: "similarity",
            ..
        }
    ));
    assert!(error.to_string().contains("similarity"), "{error}");
}

/// OpenStack: the first metadata `GET` line made the component a variable of the `GET`
/// pattern, but the next one's component, seen once only, still weighed against the
/// pattern: with its `[-]` block it outweighed everything it shared, and 931 lines of one
/// message became three patterns.
#[test]
fn a_rare_token_where_the_template_holds_a_variable_does_not_split_the_pattern() {
    let mut miner = Miner::new(Config::default()).unwrap();
    let osapi = |i: usize| {
        format!(
            "nova-api.log 2017-05-16 00:00:{i:02}.008 25746 INFO nova.osapi_compute.wsgi.server \
             [req-{i}8101a0b 113d3a99 54fadb41 - - -] 10.11.10.1 \"GET /v2/54fadb41/servers/detail \
             HTTP/1.1\" status: 200 len: 1893 time: 0.2477829"
        )
    };
    // Other messages in between, so that the `GET` pattern's words are not on every line.
    let compute = |i: usize| {
        format!(
            "nova-compute.log 2017-05-16 00:00:{i:02}.500 2931 INFO nova.compute.manager \
             [-] VM {i} Started (Lifecycle Event)"
        )
    };
    let id = miner.add(&osapi(0)).id;
    for i in 1..40 {
        miner.add(&compute(i));
        assert_eq!(miner.add(&osapi(i)).id, id);
    }
    let first = miner.add(
        "nova-api.log 2017-05-16 00:00:16.795 25783 INFO nova.metadata.wsgi.server \
         [req-b40b44ea - - - - -] 10.11.21.122,10.11.10.1 \"GET /openstack/2012-08-10/meta_data.json \
         HTTP/1.1\" status: 200 len: 264 time: 0.2451560",
    );
    assert_eq!(first.id, id);
    let second = miner.add(
        "nova-api.log 2017-05-16 00:00:16.806 25783 INFO nova.metadata.wsgi.server \
         [-] 10.11.21.122,10.11.10.1 \"GET /openstack/2013-10-17 HTTP/1.1\" status: 200 \
         len: 157 time: 0.0008290",
    );
    assert_eq!(second.id, id, "template {}", second.template);
}
