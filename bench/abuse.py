#!/usr/bin/env python3
"""The hardening probe against a running `lookout serve` with its default config.

While steady ingestion runs (JSON samples, every acknowledged one remembered) and
`/healthz` is probed every 100 ms, it throws the abuse of the hardening issue at the
server, phase after phase, each bounded in count and time:

  heavy_queries   4 concurrent `{__name__=~".+"}` range queries, 3 h at 1 s
  match_flood     2 POSTs of 10,000 `match[]` each to /api/v1/series
  idle_and_slow   2,000 idle connections and 200 slowloris header senders for 20 s
  held_bodies     150 connections each sending 16 MiB minus one byte of a body
  lying_length    `Content-Length: 90000000000`
  huge_labels     a sample with 100,000 labels, one with a 1 MB value, one with a 100 KB name

Then it reads every acknowledged sample back and prints one JSON line: peak RSS of the
server (from /proc), /healthz latency (p50, p99, max, failures), ingestion answers by
status, acknowledged and kept samples, and per phase what the server answered.

Usage: abuse.py BASE_URL SERVER_PID [PHASE...]   (stdlib only; loopback only)
"""

import http.client
import json
import socket
import sys
import threading
import time
import urllib.parse

BASE = sys.argv[1].rstrip("/")
PID = int(sys.argv[2])
PHASES = sys.argv[3:] or [
    "heavy_queries", "match_flood", "idle_and_slow", "held_bodies", "lying_length", "huge_labels",
]
HOST, PORT = urllib.parse.urlparse(BASE).hostname, urllib.parse.urlparse(BASE).port
assert HOST in ("127.0.0.1", "localhost", "::1"), "loopback only"
HOSTPORT = f"{HOST}:{PORT}"

stop = threading.Event()
lock = threading.Lock()
acked = []            # (name, labels host, ts_ms, value)
ingest_status = {}
health = []           # seconds, or None on failure
rss_peak_kib = [0]
phase_notes = {}


def request(method, path, body=None, headers=None, timeout=30):
    conn = http.client.HTTPConnection(HOST, PORT, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def ingest_loop():
    n = 0
    while not stop.is_set():
        now = int(time.time() * 1000)
        batch = [
            {"name": "abuse_probe", "labels": {"slot": str(i)}, "timestamp": now, "value": float(n + i)}
            for i in range(50)
        ]
        try:
            status, _ = request("POST", "/api/v1/samples", json.dumps(batch),
                                {"content-type": "application/json"}, timeout=10)
        except OSError as error:
            status = type(error).__name__
        with lock:
            ingest_status[str(status)] = ingest_status.get(str(status), 0) + 1
            if status == 200:
                acked.extend((str(i), now, float(n + i)) for i in range(50))
        n += 50
        time.sleep(0.2)


def health_prober(path):
    """In its own process (the abuse threads hold the GIL): one GET /healthz every 100 ms,
    `wall_time latency_s` (or `wall_time fail`) per line."""
    with open(path, "w", buffering=1) as out:
        while True:
            began = time.monotonic()
            try:
                status, _ = request("GET", "/healthz", timeout=5)
                took = f"{time.monotonic() - began:.6f}" if status == 200 else "fail"
            except OSError:
                took = "fail"
            out.write(f"{time.time():.3f} {took}\n")
            time.sleep(max(0.0, 0.1 - (time.monotonic() - began)))


def rss_loop():
    while not stop.is_set():
        try:
            with open(f"/proc/{PID}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        rss_peak_kib[0] = max(rss_peak_kib[0], int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.2)


def parallel(count, work):
    results = [None] * count

    def run(i):
        try:
            results[i] = work(i)
        except Exception as error:  # noqa: BLE001 - every failure is a finding to report
            results[i] = type(error).__name__
    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def heavy_queries():
    end = time.time()
    query = urllib.parse.urlencode({"query": '{__name__=~".+"}', "start": end - 3 * 3600, "end": end, "step": "1s"})
    return parallel(4, lambda _: request("GET", f"/api/v1/query_range?{query}", timeout=120)[0])


def match_flood():
    body = "&".join(urllib.parse.urlencode({"match[]": f'abuse_probe{{slot="{i}"}}'}) for i in range(10_000))
    return parallel(2, lambda _: request("POST", "/api/v1/series", body,
                                         {"content-type": "application/x-www-form-urlencoded"}, timeout=120)[0])


def idle_and_slow():
    sockets, closed = [], 0
    for i in range(2_200):
        try:
            s = socket.create_connection((HOST, PORT), timeout=5)
        except OSError:
            break
        if i >= 2_000:
            s.sendall(f"POST /api/v1/samples HTTP/1.1\r\nHost: {HOSTPORT}\r\n".encode())
        sockets.append(s)
    opened = len(sockets)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for s in sockets[2_000:]:
            try:
                s.sendall(b"X-a: b\r\n")
            except OSError:
                pass
        time.sleep(2)
    for s in sockets:
        try:
            s.setblocking(False)
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        s.close()
    return {"opened": opened, "closed_by_server_within_20s": closed}


def held_bodies():
    size = 16 << 20
    chunk = b" " * (1 << 20)

    def hold(_):
        s = socket.create_connection((HOST, PORT), timeout=30)
        try:
            s.sendall(f"POST /api/v1/samples HTTP/1.1\r\nHost: {HOSTPORT}\r\nContent-Type: application/json\r\n"
                      f"Content-Length: {size}\r\n\r\n".encode())
            sent = 0
            while sent < size - 1:
                part = chunk[: min(len(chunk), size - 1 - sent)]
                s.sendall(part)
                sent += len(part)
            s.settimeout(15)
            answer = s.recv(200)
            return answer.split(b"\r\n", 1)[0].decode(errors="replace") or "closed"
        except OSError as error:
            return type(error).__name__
        finally:
            s.close()
    results = parallel(150, hold)
    counts = {}
    for result in results:
        counts[str(result)] = counts.get(str(result), 0) + 1
    return counts


def lying_length():
    s = socket.create_connection((HOST, PORT), timeout=10)
    try:
        s.sendall(f"POST /api/v1/samples HTTP/1.1\r\nHost: {HOSTPORT}\r\nContent-Type: application/json\r\n"
                  "Content-Length: 90000000000\r\n\r\n[".encode())
        return s.recv(200).split(b"\r\n", 1)[0].decode(errors="replace")
    finally:
        s.close()


def huge_labels():
    now = int(time.time() * 1000)
    cases = {
        "100k_labels": {f"l{i}": "v" for i in range(100_000)},
        "1MB_value": {"big": "v" * (1 << 20)},
        "100KB_name": {"n" * 100_000: "v"},
    }
    answers = {}
    for name, labels in cases.items():
        body = json.dumps([{"name": "abuse_labels", "labels": labels, "timestamp": now, "value": 1.0}])
        status, text = request("POST", "/api/v1/samples", body, {"content-type": "application/json"})
        answers[name] = f"{status} {text[:120].decode(errors='replace')}"
    return answers


def kept_samples():
    """Acknowledged samples found by a raw range query, per slot."""
    with lock:
        wanted = list(acked)
    if not wanted:
        return 0, 0
    start = min(t for _, t, _ in wanted) / 1000 - 1
    end = max(t for _, t, _ in wanted) / 1000 + 1
    found = set()
    for slot in sorted({s for s, _, _ in wanted}, key=int):
        query = urllib.parse.urlencode({"query": f'abuse_probe{{slot="{slot}"}}[{int(end - start) + 5}s]', "time": end})
        status, body = request("GET", f"/api/v1/query?{query}", timeout=60)
        if status != 200:
            continue
        for series in json.loads(body)["data"]["result"]:
            for ts, value in series["values"]:
                found.add((slot, int(round(float(ts) * 1000)), float(value)))
    kept = sum(1 for sample in wanted if sample in found)
    return len(wanted), kept


def main():
    import multiprocessing
    import tempfile
    probes = tempfile.NamedTemporaryFile(prefix="lookout-healthz-", delete=False).name
    prober = multiprocessing.Process(target=health_prober, args=(probes,), daemon=True)
    prober.start()
    workers = [threading.Thread(target=f, daemon=True) for f in (ingest_loop, rss_loop)]
    for worker in workers:
        worker.start()
    time.sleep(3)
    spans = []
    for phase in PHASES:
        began_wall, began = time.time(), time.monotonic()
        result = globals()[phase]()
        phase_notes[phase] = {"answers": result, "seconds": round(time.monotonic() - began, 1)}
        spans.append((phase, began_wall, time.time()))
        time.sleep(3)
    stop.set()
    prober.terminate()
    for worker in workers:
        worker.join(timeout=15)
    for line in open(probes):
        at, took = line.split()
        phase = next((name for name, a, b in spans if a <= float(at) <= b), "steady")
        health.append((phase, None if took == "fail" else float(took)))
    def summary(entries):
        times = sorted(t for _, t in entries if t is not None)
        pct = lambda q: round(1000 * times[min(len(times) - 1, int(q * len(times)))], 1) if times else None
        return {"p50": pct(0.5), "p99": pct(0.99), "max": round(1000 * times[-1], 1) if times else None,
                "probes": len(entries), "failed": sum(1 for _, t in entries if t is None)}
    for phase in phase_notes:
        phase_notes[phase]["healthz_ms"] = summary([e for e in health if e[0] == phase])
    total, kept = kept_samples()
    print(json.dumps({
        "rss_peak_mib": round(rss_peak_kib[0] / 1024, 1),
        "healthz_ms": summary(health),
        "ingest_answers": ingest_status,
        "acknowledged": total,
        "kept": kept,
        "phases": phase_notes,
    }))


if __name__ == "__main__":
    main()
