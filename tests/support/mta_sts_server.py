#!/usr/bin/python3
"""An HTTPS server of MTA-STS policies (RFC 8461 §3.3) and TLS-RPT reports (RFC 8460 §3) for
the tests: Python's http.server and ssl, a certificate from tests/lib/testca.py (or a bad
one, to test refusals).

Listens on --host (127.0.0.x) and --port (default 443), printed as "PORT <n>" on stdout once
listening. Answers GET /.well-known/mta-sts.txt for Host "mta-sts.<domain>" from the file
--policies/<domain>.json, read at every request (so a test can change it while running):

  {"status": 200, "content_type": "text/plain", "body": "version: STSv1\\n...",
   "location": "https://elsewhere/"}          (every key optional but body)

A domain without a file gets 404. Each GET is one JSON line in --record:
  {"host": "mta-sts.a.example", "path": "/.well-known/mta-sts.txt", "sni": "mta-sts.a.example",
   "time": ...}
A POST (a TLS report) to any path is answered 200 and recorded with its body (at most 1 MiB):
  {"method": "POST", "host": ..., "path": ..., "sni": ..., "content_type": ...,
   "body_b64": ..., "time": ...}
"""

import argparse
import base64
import http.server
import json
import os
import ssl
import sys
import threading
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=443)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--policies", required=True)
    parser.add_argument("--record", required=True)
    args = parser.parse_args()

    lock = threading.Lock()
    sni = threading.local()

    def record(**event):
        event["time"] = time.time()
        with lock, open(args.record, "a", encoding="utf-8") as f:
            f.write(json.dumps(event) + "\n")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def do_GET(self):
            host = (self.headers.get("Host") or "").split(":")[0].lower()
            record(host=host, path=self.path, sni=getattr(self.connection, "sealpost_sni", None))
            domain = host[len("mta-sts."):] if host.startswith("mta-sts.") else ""
            path = os.path.join(args.policies, domain + ".json")
            if (not domain or "/" in domain or self.path != "/.well-known/mta-sts.txt"
                    or not os.path.exists(path)):
                return self.reply(404, "text/plain", b"not found\n")
            with open(path) as f:
                spec = json.load(f)
            self.reply(spec.get("status", 200), spec.get("content_type", "text/plain"),
                       spec["body"].encode(), spec.get("location"))

        def do_POST(self):
            host = (self.headers.get("Host") or "").split(":")[0].lower()
            length = int(self.headers.get("Content-Length") or "0")
            if length < 0 or length > 1024 * 1024:
                return self.reply(413, "text/plain", b"too large\n")
            body = self.rfile.read(length)
            record(method="POST", host=host, path=self.path,
                   sni=getattr(self.connection, "sealpost_sni", None),
                   content_type=self.headers.get("Content-Type"),
                   body_b64=base64.b64encode(body).decode())
            self.reply(200, "text/plain", b"thank you\n")

        def reply(self, status, content_type, body, location=None):
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                if location:
                    self.send_header("Location", location)
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client stopped reading (a body over its limit): expected
            self.close_connection = True

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(args.cert, args.key)

    def on_sni(ssl_socket, server_name, _context):
        ssl_socket.sealpost_sni = server_name

    context.sni_callback = on_sni

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def get_request(self):
            sock, addr = self.socket.accept()
            # The handshake runs in the handler's thread, so one slow client blocks nobody.
            return context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

        def finish_request(self, request, client_address):
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError):
                return  # the client refused our certificate: nothing to answer
            super().finish_request(request, client_address)

    server = Server((args.host, args.port), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
