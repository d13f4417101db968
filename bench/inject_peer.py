#!/usr/bin/env python3
"""libinjection (PyPI `libinjection-python`) side of bench/inject.sh.

accuracy ROOT    -- rates on the webattacks corpus (ROOT = unpacked `webattacks/`), printed
                    as JSON: libinjection on each line of its lists, and on each field of
                    each blazehttp request (path, query and form values, cookies, the
                    Referer/User-Agent and other client headers, JSON strings), URL-decoded,
                    the way WAFs apply it (ModSecurity's @detectSQLi/@detectXSS on ARGS,
                    REQUEST_COOKIES, REQUEST_HEADERS).
throughput FILE PROCS -- URL-decodes and classifies each line of FILE with PROCS processes,
                    prints {"inputs": N, "seconds": wall, "cpu_seconds": CPU time of all
                    processes}.
"""
import json
import os
import resource
import sys
import time
from multiprocessing import Pool
from urllib.parse import unquote, unquote_plus

import libinjection


def attack(text):
    return libinjection.is_sql_injection(text)["is_sqli"] or libinjection.is_xss(text)["is_xss"]


def pairs(s):
    for pair in s.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        yield unquote_plus(value)
        if name and not name.replace("_", "").replace("-", "").isalnum():
            yield unquote_plus(name)


def json_strings(v):
    if isinstance(v, str):
        yield v
    elif isinstance(v, list):
        for x in v:
            yield from json_strings(x)
    elif isinstance(v, dict):
        for k, x in v.items():
            yield k
            yield from json_strings(x)


SKIP = {"host", "connection", "content-length", "cache-control", "pragma", "accept-encoding",
        "upgrade-insecure-requests", "dnt", "sec-fetch-dest", "sec-fetch-mode", "sec-fetch-site",
        "sec-fetch-user"}


def request_fields(raw):
    text = raw.decode("utf-8", "replace")
    sep = "\r\n\r\n" if "\r\n\r\n" in text else "\n\n"
    head, _, body = text.partition(sep)
    lines = head.replace("\r\n", "\n").split("\n")
    parts = lines[0].split(" ")
    target = parts[1] if len(parts) > 1 else ""
    path, _, query = target.partition("?")
    yield unquote(path)
    yield from pairs(query)
    ctype = ""
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        value = value.strip()
        if name in SKIP:
            continue
        if name == "cookie":
            for c in value.split(";"):
                yield unquote_plus(c.partition("=")[2])
        elif name in ("referer", "origin"):
            p, _, q = value.partition("?")
            yield unquote(p)
            yield from pairs(q)
        else:
            if name == "content-type":
                ctype = value.lower()
            yield unquote(value)
    body = body.strip()
    if not body:
        return
    if "json" in ctype or body[:1] in "{[":
        try:
            yield from json_strings(json.loads(body))
            return
        except ValueError:
            pass
    if "x-www-form-urlencoded" in ctype:
        yield from pairs(body)
    else:
        yield unquote(body)


def request_attack(raw):
    return any(attack(f) for f in request_fields(raw))


def accuracy(root):
    out = {}
    data = os.path.join(root, "libinjection", "data")
    for prefix in ("sqli-", "xss-", "false_positives"):
        n = hits = 0
        for name in sorted(os.listdir(data)):
            if not (name.startswith(prefix) and name.endswith(".txt")):
                continue
            with open(os.path.join(data, name), "rb") as f:
                for line in f.read().split(b"\n"):
                    line = line.rstrip(b"\r")
                    if not line or line.startswith(b"#"):
                        continue
                    n += 1
                    hits += attack(unquote_plus(line.decode("utf-8", "replace")))
        out["libinjection " + prefix.rstrip("-")] = {"inputs": n, "flagged": hits}
    black = white = black_hits = white_hits = 0
    for d, _, files in os.walk(os.path.join(root, "blazehttp-dev")):
        for name in files:
            if not name.endswith((".black", ".white")):
                continue
            with open(os.path.join(d, name), "rb") as f:
                hit = request_attack(f.read())
            if name.endswith(".black"):
                black += 1
                black_hits += hit
            else:
                white += 1
                white_hits += hit
    out["blazehttp black"] = {"inputs": black, "flagged": black_hits}
    out["blazehttp white"] = {"inputs": white, "flagged": white_hits}
    print(json.dumps(out))


def classify_chunk(lines):
    return sum(1 for line in lines if attack(unquote_plus(line)))


def throughput(path, procs):
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    chunks = [lines[i:i + 20000] for i in range(0, len(lines), 20000)]
    def cpu():
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    start, cpu_start = time.monotonic(), cpu()
    with Pool(procs) as pool:
        flagged = sum(pool.map(classify_chunk, chunks))
    seconds, cpu_seconds = time.monotonic() - start, cpu() - cpu_start
    print(json.dumps({"inputs": len(lines), "flagged": flagged, "seconds": seconds,
                      "cpu_seconds": cpu_seconds}))


if __name__ == "__main__":
    if sys.argv[1] == "accuracy":
        accuracy(sys.argv[2])
    else:
        throughput(sys.argv[2], int(sys.argv[3]))
