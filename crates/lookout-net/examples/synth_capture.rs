//! Writes a generated capture for benchmarks and manual tests:
//! `synth_capture OUT.pcap SECONDS RATE [KIND@START+DURATION:PPS ...]`, e.g.
//! `synth_capture big.pcap 200 40000 syn@100+20:200000`. Kinds: syn, synack, udp,
//! dns, ntp, memcached, icmp, fin, rst, pushack, fragment, scan (all spoofed but scan).

use std::io::BufWriter;

use lookout_net::synth::{traffic, write_pcap, Attack, Flood};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: synth_capture OUT.pcap SECONDS RATE [KIND@START+DURATION:PPS ...]");
        std::process::exit(2);
    }
    let seconds: u64 = args[1].parse().expect("SECONDS is a whole number");
    let rate: u64 = args[2].parse().expect("RATE is a whole number");
    let attacks: Vec<Attack> = args[3..].iter().map(|spec| parse_attack(spec)).collect();
    let frames = traffic(11, 1_767_225_600_000_000_000, seconds, rate, &attacks);
    let file = std::fs::File::create(&args[0]).expect("create the output file");
    write_pcap(&mut BufWriter::new(file), &frames).expect("write the capture");
    eprintln!("{}: {} frames", args[0], frames.len());
}

fn parse_attack(spec: &str) -> Attack {
    let usage = || -> ! {
        eprintln!("attack {spec:?} is not KIND@START+DURATION:PPS");
        std::process::exit(2)
    };
    let (kind, rest) = spec.split_once('@').unwrap_or_else(|| usage());
    let (window, pps) = rest.split_once(':').unwrap_or_else(|| usage());
    let (start, duration) = window.split_once('+').unwrap_or_else(|| usage());
    let flood = match kind {
        "syn" => Flood::Syn,
        "synack" => Flood::SynAck,
        "udp" => Flood::Udp,
        "dns" => Flood::Amplification(53),
        "ntp" => Flood::Amplification(123),
        "memcached" => Flood::Amplification(11211),
        "icmp" => Flood::Icmp,
        "fin" => Flood::Fin,
        "rst" => Flood::Rst,
        "pushack" => Flood::PushAck,
        "fragment" => Flood::Fragment,
        "scan" => Flood::PortScan,
        _ => usage(),
    };
    Attack {
        flood,
        start_s: start.parse().unwrap_or_else(|_| usage()),
        duration_s: duration.parse().unwrap_or_else(|_| usage()),
        packets_per_second: pps.parse().unwrap_or_else(|_| usage()),
        spoofed: flood != Flood::PortScan,
    }
}
