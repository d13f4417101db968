//! Development aid: times the stages of one adversarial 1 MB request.
use lookout_inject::{decode, request, Classifier};
use std::time::Instant;
fn main() {
    let unit = "%27(/*&#x%25%2%u00'\"<a on=";
    let mut q = String::from("GET /?q=");
    while q.len() < 1 << 20 {
        q.push_str(unit);
    }
    q.push_str(" HTTP/1.1\r\nHost: x\r\nCookie: ");
    q.push_str(&"a=%27;".repeat(1 << 14));
    q.push_str("\r\n\r\n");
    let t = Instant::now();
    let mut n = 0;
    request::fields(q.as_bytes(), |_| n += 1).unwrap();
    println!("split {n} fields: {:?}", t.elapsed());
    let t = Instant::now();
    let d = decode::url_decode(&q.as_bytes()[8..1 << 20], true);
    println!("decode {} -> {}: {:?}", 1 << 20, d.len(), t.elapsed());
    let mut c = Classifier::default();
    c.classify_input(b"x");
    let t = Instant::now();
    let v = c.classify_request(q.as_bytes()).unwrap();
    println!(
        "classify: {:?} {:?}",
        t.elapsed(),
        v.finding.map(|f| f.rule)
    );
}
