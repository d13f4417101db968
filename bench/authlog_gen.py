#!/usr/bin/env python3
"""Writes a large, deterministic auth log for bench/authlog.sh: sshd connections with
failed passwords, invalid users, PAM failures, pre-auth disconnects, accepted logins
(IPv4 and IPv6 sources), interleaved with other programs' lines, in syslog format.

Usage: authlog_gen.py LINES > auth.log
"""
import random
import sys

lines = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
rng = random.Random(13)
users = ["root", "admin", "oracle", "test", "ubuntu", "pi", "git", "postgres", "alice", "deploy"]
months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
out = sys.stdout
written = 0
t = 0
pid = 1000


def addr():
    if rng.random() < 0.15:
        return "2001:db8:%x::%x" % (rng.randrange(1 << 16), rng.randrange(1 << 16))
    return "%d.%d.%d.%d" % (rng.randrange(1, 224), rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))


def stamp():
    day = 1 + (t // 86400) % 28
    s = t % 86400
    return "%s %2d %02d:%02d:%02d" % (months[(t // (86400 * 28)) % 12], day, s // 3600, s // 60 % 60, s % 60)


while written < lines:
    t += rng.randrange(0, 3)
    pid += 1
    ip = addr()
    port = rng.randrange(1024, 65535)
    user = rng.choice(users)
    head = "%s web-1 sshd[%d]: " % (stamp(), pid)
    kind = rng.random()
    if kind < 0.35:
        block = [
            "Connection from %s port %d on 10.0.0.1 port 22" % (ip, port),
            "Failed password for %s from %s port %d ssh2" % (user, ip, port),
            "Failed password for %s from %s port %d ssh2" % (user, ip, port),
            "Connection closed by authenticating user %s %s port %d [preauth]" % (user, ip, port),
        ]
    elif kind < 0.55:
        block = [
            "Invalid user %s from %s port %d" % (user + str(rng.randrange(100)), ip, port),
            "Failed password for invalid user %s from %s port %d ssh2" % (user, ip, port),
            "Received disconnect from %s port %d:11: Bye Bye [preauth]" % (ip, port),
        ]
    elif kind < 0.65:
        block = [
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=%s  user=%s" % (ip, user),
            "error: maximum authentication attempts exceeded for %s from %s port %d ssh2 [preauth]" % (user, ip, port),
            "Disconnecting: Too many authentication failures [preauth]",
        ]
    elif kind < 0.72:
        block = [
            "Did not receive identification string from %s port %d" % (ip, port),
            "Unable to negotiate with %s port %d: no matching key exchange method found. Their offer: diffie-hellman-group1-sha1 [preauth]" % (ip, port),
        ]
    elif kind < 0.80:
        block = [
            "Accepted publickey for %s from %s port %d ssh2: ED25519 SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG" % (user, ip, port),
            "pam_unix(sshd:session): session opened for user %s(uid=1000) by (uid=0)" % user,
        ]
    else:
        other = rng.choice([
            "%s web-1 CRON[%d]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
            "%s web-1 sudo[%d]:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/apt update",
            "%s web-1 systemd-logind[%d]: New session 42 of user alice.",
        ])
        out.write(other % (stamp(), pid) + "\n")
        written += 1
        continue
    for message in block:
        out.write(head + message + "\n")
        written += 1
