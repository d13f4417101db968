#!/usr/bin/env bash
# Installs (idempotently) what the packet-capture tests and benchmarks need: libpcap
# (`libpcap-dev`, for live capture), hping3 (floods between the tests' own network
# namespaces), ping (ordinary traffic), tcpdump and tcpreplay (captures and replays), tshark (the side-by-side
# peer of bench/pcap.sh) and iproute2 (`ip netns`, veth pairs).
set -euo pipefail

missing=()
for pair in hping3:hping3 tcpdump:tcpdump tcpreplay:tcpreplay tshark:tshark ip:iproute2 ping:iputils-ping; do
    program=${pair%%:*}
    package=${pair##*:}
    if ! command -v "$program" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$program" ] && [ ! -x "/usr/bin/$program" ]; then
        missing+=("$package")
    fi
done
if [ ! -f /usr/include/pcap.h ] && [ ! -f /usr/include/pcap/pcap.h ]; then
    missing+=(libpcap-dev)
fi
if [ ${#missing[@]} -eq 0 ]; then
    echo "traffic peers already installed"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
# Wireshark asks whether non-root users may capture; the default (no) is fine.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
for attempt in 1 2 3 4 5; do
    if $SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"; then
        exit 0
    fi
    echo "apt-get failed (attempt $attempt), retrying in 10 s (another install may hold the lock)"
    sleep 10
done
exit 1
