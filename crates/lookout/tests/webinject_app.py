"""The small application behind nginx in e2e_webinject.rs: a shop's item page whose `id`
parameter is pasted into SQL (deliberately injectable, so sqlmap has something to find),
a search page and a download page. Python standard library only; loopback only."""
import sqlite3
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

db = sqlite3.connect(":memory:", check_same_thread=False)
db.execute("CREATE TABLE items (id INTEGER, name TEXT)")
db.executemany("INSERT INTO items VALUES (?, ?)", [(i, f"item {i}") for i in range(1, 20)])


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urlparse(self.path)
        query = parse_qs(url.query)
        status, body = 404, "not found"
        if url.path == "/item":
            try:
                sql = "SELECT name FROM items WHERE id=%s" % query.get("id", ["1"])[0]
                rows = db.execute(sql).fetchall()
                status = 200
                body = "<html><body>" + "".join(f"<p>{r[0]}</p>" for r in rows) + "</body></html>"
            except Exception:
                status, body = 500, "error"
        elif url.path in ("/", "/search", "/download"):
            status, body = 200, "ok"
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
