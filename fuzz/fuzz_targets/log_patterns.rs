#![no_main]
//! Log pattern mining: the input's lines, one after another, through one
//! `lookout_logpattern::Miner` whose limits the first five bytes pick (small, so that
//! eviction, the `<*>` child of a full node and line and token cuts are reached).
//!
//! Checked for each line: it gets a pattern id, a new one above every id before and an
//! old one still held; the template returned is the held one; at most `max_clusters`
//! patterns are held; a line repeated right after itself gets the same id while nothing
//! has been evicted. (An identical line further back may legitimately get another id:
//! an older pattern of its leaf may have generalised since, and ties go to the oldest.)
use libfuzzer_sys::fuzz_target;
use lookout_logpattern::{Config, Miner};

fuzz_target!(|data: &[u8]| {
    let Some((params, rest)) = data.split_first_chunk::<5>() else {
        return;
    };
    let config = Config {
        depth: usize::from(params[0] % 5),
        similarity: f64::from(params[1]) / 255.0,
        max_children: 1 + usize::from(params[2] % 8),
        max_clusters: 1 + usize::from(params[3] % 16),
        max_tokens: 2 + usize::from(params[4] % 31),
        max_line_bytes: 1 + usize::from(params[4]) * 4,
        max_vocabulary: 64,
    };
    let max_clusters = config.max_clusters;
    let mut miner = Miner::new(config).expect("limits in range");
    let text = String::from_utf8_lossy(rest);
    let mut highest = 0u64;
    let mut previous: Option<(&str, u64)> = None;
    for line in text.lines() {
        let evicted = miner.evicted();
        let found = miner.add(line);
        let (id, new, template) = (found.id, found.new, found.template.to_string());
        if new {
            assert!(id.0 > highest, "new id {id} not above {highest}");
            highest = id.0;
        } else {
            assert!(id.0 <= highest, "old id {id} above {highest}");
        }
        assert_eq!(miner.template(id), Some(template.as_str()));
        assert!(miner.len() <= max_clusters);
        if let Some((before, before_id)) = previous {
            if before == line && miner.evicted() == 0 && evicted == 0 {
                assert_eq!(id.0, before_id, "{line:?} repeated");
                assert!(!new);
            }
        }
        previous = Some((line, id.0));
    }
});
