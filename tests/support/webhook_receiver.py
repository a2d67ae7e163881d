#!/usr/bin/python3
"""A webhook endpoint for the tests: Python's http.server and ssl with a certificate from
tests/lib/testca.py (or a self-signed one). It checks each delivery's Standard Webhooks
signature with its own code, written from the specification, not sealpost's:

  signed content = webhook-id + "." + webhook-timestamp + "." + body
  webhook-signature = space-separated "v1,<base64 HMAC-SHA256(key, signed content)>", where
  key = base64-decode(secret without its "whsec_" prefix)

The secret is read from --secret-file at each request (the test writes it once `webhook
add` has printed it). How to answer is read from --mode-file at each request: "ok" (204),
"500", or "sleep <seconds>" (then 204). Listens on --host/--port (0 = any), printed as
"PORT <n>". Each POST is one JSON line in --record:
  {"path", "sni", "id", "timestamp", "signature", "verified", "body", "answered", "time"}
"""

import argparse
import base64
import hashlib
import hmac
import http.server
import json
import ssl
import sys
import threading
import time


def verify(secret, msg_id, timestamp, body, header):
    if not secret.startswith("whsec_") or not msg_id or not timestamp:
        return False
    key = base64.b64decode(secret[len("whsec_"):])
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for part in (header or "").split(" "):
        version, _, sig = part.partition(",")
        if version == "v1" and hmac.compare_digest(sig, expected):
            return True
    return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--secret-file", required=True)
    parser.add_argument("--mode-file", required=True)
    parser.add_argument("--record", required=True)
    args = parser.parse_args()
    lock = threading.Lock()

    def read(path, default):
        try:
            with open(path) as f:
                return f.read().strip()
        except OSError:
            return default

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or "0")
            if length < 0 or length > 1024 * 1024:
                return self.reply(413)
            body = self.rfile.read(length)
            mode = read(args.mode_file, "ok")
            if mode.startswith("sleep "):
                time.sleep(float(mode.split()[1]))
            status = 500 if mode == "500" else 204
            msg_id = self.headers.get("webhook-id")
            timestamp = self.headers.get("webhook-timestamp")
            signature = self.headers.get("webhook-signature")
            event = {"path": self.path, "sni": getattr(self.connection, "sealpost_sni", None),
                     "id": msg_id, "timestamp": timestamp, "signature": signature,
                     "content_type": self.headers.get("Content-Type"),
                     "verified": verify(read(args.secret_file, ""), msg_id, timestamp, body,
                                        signature),
                     "body": body.decode(errors="replace"), "answered": status,
                     "time": time.time()}
            self.reply(status)
            with lock, open(args.record, "a", encoding="utf-8") as f:
                f.write(json.dumps(event) + "\n")

        def reply(self, status):
            try:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.send_header("Connection", "close")
                self.end_headers()
            except OSError:
                pass  # the client gave up (its deadline): expected in the slow case
            self.close_connection = True

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(args.cert, args.key)

    def on_sni(ssl_socket, server_name, _context):
        ssl_socket.sealpost_sni = server_name

    context.sni_callback = on_sni

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True

        def get_request(self):
            sock, addr = self.socket.accept()
            return context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

        def finish_request(self, request, client_address):
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError):
                return  # the client refused our certificate
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
