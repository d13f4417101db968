"""moto's server with its recorded SMS readable: runs moto's ThreadedMotoServer on
127.0.0.1:PORT and serves, on 127.0.0.1:PORT+1, GET /sms: the SNS backend's
`sms_messages` of every account and region as JSON [{"phone": ..., "message": ...}]
(what SNS Publish with a PhoneNumber recorded; moto keeps no other trace of them).

  moto_sms.py PORT
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from moto.server import ThreadedMotoServer
from moto.sns.models import sns_backends


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        messages = []
        for account in list(sns_backends.keys()):
            for region, backend in sns_backends[account].items():
                for phone, message in backend.sms_messages.values():
                    messages.append({"phone": phone, "message": message, "region": region})
        body = json.dumps(messages).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    port = int(sys.argv[1])
    ThreadedMotoServer(ip_address="127.0.0.1", port=port).start()
    HTTPServer(("127.0.0.1", port + 1), Handler).serve_forever()


if __name__ == "__main__":
    main()
