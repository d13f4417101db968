//! NSL-KDD's `service` of a connection, from its protocol and destination port (ICMP:
//! from the message type).
//!
//! The names are the dataset's own (`http`, `ftp_data`, `domain_u`, `eco_i`, …) for the
//! ports its services ran on; any other port is `other`. What it misses: a service on a
//! port not its own (a web server on 8080 is `other`), and the dataset's `private`, whose
//! port rule it never published. Cost: one `match`, no allocation.

use crate::decode::Protocol;

/// The service name of a connection to `port` (TCP/UDP) or of an ICMP message of `icmp_type`.
pub fn service(protocol: Protocol, port: u16, icmp_type: Option<u8>) -> &'static str {
    match protocol {
        Protocol::Tcp => tcp_service(port),
        Protocol::Udp => match port {
            53 => "domain_u",
            69 => "tftp_u",
            123 => "ntp_u",
            _ => "other",
        },
        Protocol::Icmp => match icmp_type {
            Some(0) | Some(129) => "ecr_i",
            Some(8) | Some(128) => "eco_i",
            Some(3) | Some(1) => "urp_i",
            Some(5) | Some(137) => "red_i",
            Some(13) | Some(14) => "tim_i",
            _ => "oth_i",
        },
        Protocol::Other(_) => "other",
    }
}

fn tcp_service(port: u16) -> &'static str {
    match port {
        7 => "echo",
        9 => "discard",
        11 => "systat",
        13 => "daytime",
        15 => "netstat",
        20 => "ftp_data",
        21 => "ftp",
        22 => "ssh",
        23 => "telnet",
        25 => "smtp",
        37 => "time",
        42 => "name",
        43 => "whois",
        53 => "domain",
        57 => "mtp",
        70 => "gopher",
        71..=74 => "remote_job",
        77 => "rje",
        79 => "finger",
        80 => "http",
        84 => "ctf",
        87 => "link",
        95 => "supdup",
        101 => "hostnames",
        102 => "iso_tsap",
        105 => "csnet_ns",
        109 => "pop_2",
        110 => "pop_3",
        111 => "sunrpc",
        113 => "auth",
        117 => "uucp_path",
        119 => "nntp",
        137 => "netbios_ns",
        138 => "netbios_dgm",
        139 => "netbios_ssn",
        143 => "imap4",
        150 => "sql_net",
        175 => "vmnet",
        179 => "bgp",
        194 | 6667 => "IRC",
        210 => "Z39_50",
        389 => "ldap",
        433 => "nnsp",
        443 => "http_443",
        512 => "exec",
        513 => "login",
        514 => "shell",
        515 => "printer",
        520 => "efs",
        530 => "courier",
        540 => "uucp",
        543 => "klogin",
        544 => "kshell",
        2784 => "http_2784",
        5190 => "aol",
        6000..=6063 => "X11",
        8001 => "http_8001",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_ports_have_the_datasets_names_and_the_rest_is_other() {
        assert_eq!(service(Protocol::Tcp, 80, None), "http");
        assert_eq!(service(Protocol::Tcp, 20, None), "ftp_data");
        assert_eq!(service(Protocol::Tcp, 6010, None), "X11");
        assert_eq!(service(Protocol::Tcp, 31337, None), "other");
        assert_eq!(service(Protocol::Udp, 53, None), "domain_u");
        assert_eq!(service(Protocol::Udp, 5353, None), "other");
        assert_eq!(service(Protocol::Icmp, 0, Some(8)), "eco_i");
        assert_eq!(service(Protocol::Icmp, 0, Some(0)), "ecr_i");
        assert_eq!(service(Protocol::Icmp, 0, Some(11)), "oth_i");
    }
}
