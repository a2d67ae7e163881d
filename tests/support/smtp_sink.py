#!/usr/bin/python3
"""A real SMTP receiver for the SMTP client's tests: aiosmtpd (Debian's python3-aiosmtpd),
told by its arguments how to behave, recording what it received.

Run with /usr/bin/python3 (aiosmtpd belongs to Debian's interpreter). Listens on
--host (127.0.0.x) and --port (default: an ephemeral port), printed as "PORT <n>" on stdout once listening.
Every event goes to --record as one JSON object per line:

  {"event": "connect", "conn": 1}
  {"event": "command", "conn": 1, "verb": "MAIL", "tls": false}
  {"event": "tls", "conn": 1, "version": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384"}
  {"event": "message", "conn": 1, "tls": true, "version": ..., "cipher": ...,
   "mail_from": ..., "mail_options": [...], "rcpt_tos": [...], "data_b64": ..., "reply": ...}
  {"event": "dropped", "conn": 1}
  {"event": "refused", "conn": 1, "address": ..., "mail_from": ..., "reply": ...}  (--rcpt-reply)
  {"event": "sni", "name": "mx.sealpost.test"}   (the server name the client's hello carried)

Each event also has "time" (seconds since the epoch, when the sink saw it).

Behaviours: STARTTLS with --cert/--key (or none without them), --tls-max 1.0 (TLS 1.0 only,
at SECLEVEL=0), --pipelining and --enhanced (advertised extensions), --rcpt-reply and
--data-reply ADDR=REPLY (repeatable), --drop-in-data, --sleep STAGE=SECONDS (greeting, ehlo,
mail, rcpt, data_end), --ehlo-refused (502 to EHLO), --inject-after-starttls (plain-text
bytes right after the 220 to STARTTLS), --size N (SIZE limit).
"""

import argparse
import asyncio
import base64
import json
import ssl
import sys
import time

from aiosmtpd.smtp import SMTP


class Recorder:
    def __init__(self, path):
        self.file = open(path, "a", encoding="utf-8")

    def write(self, **event):
        event["time"] = time.time()
        self.file.write(json.dumps(event) + "\n")
        self.file.flush()


def tls_facts(server):
    ssl_info = server.session.ssl if server.session is not None else None
    obj = ssl_info.get("ssl_object") if isinstance(ssl_info, dict) else None
    if obj is None:
        return {"tls": False, "version": None, "cipher": None}
    return {"tls": True, "version": obj.version(), "cipher": obj.cipher()[0]}


class Handler:
    def __init__(self, args, recorder):
        self.args = args
        self.recorder = recorder
        self.rcpt_replies = dict(kv.split("=", 1) for kv in args.rcpt_reply)
        self.data_replies = dict(kv.split("=", 1) for kv in args.data_reply)
        self.sleeps = {k: float(v) for k, v in (kv.split("=", 1) for kv in args.sleep)}

    async def pause(self, stage):
        if stage in self.sleeps:
            await asyncio.sleep(self.sleeps[stage])

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        await self.pause("ehlo")
        session.host_name = hostname
        # responses ends with "250 HELP"; our extensions go before it.
        extra = []
        if self.args.pipelining:
            extra.append("250-PIPELINING")
        if self.args.enhanced:
            extra.append("250-ENHANCEDSTATUSCODES")
        return responses[:-1] + extra + responses[-1:]

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        await self.pause("mail")
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK" if self.args.enhanced else "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        await self.pause("rcpt")
        if address in self.rcpt_replies:
            self.recorder.write(event="refused", conn=server.conn_id, address=address,
                                mail_from=envelope.mail_from, reply=self.rcpt_replies[address])
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK" if self.args.enhanced else "250 OK"

    async def handle_DATA(self, server, session, envelope):
        await self.pause("data_end")
        reply = "250 2.0.0 Message accepted" if self.args.enhanced else "250 Message accepted"
        for rcpt in envelope.rcpt_tos:
            if rcpt in self.data_replies:
                reply = self.data_replies[rcpt]
                break
        self.recorder.write(
            event="message",
            conn=server.conn_id,
            mail_from=envelope.mail_from,
            mail_options=envelope.mail_options,
            rcpt_tos=envelope.rcpt_tos,
            data_b64=base64.b64encode(envelope.original_content).decode(),
            reply=reply,
            **tls_facts(server),
        )
        return reply


class SinkSMTP(SMTP):
    counter = 0

    def __init__(self, handler, args, recorder, **kwargs):
        super().__init__(handler, **kwargs)
        SinkSMTP.counter += 1
        self.conn_id = SinkSMTP.counter
        self.args = args
        self.recorder = recorder
        self.sink = handler
        self.greeted = False
        self.tls_recorded = False
        recorder.write(event="connect", conn=self.conn_id)

    async def push(self, status):
        if not self.greeted and str(status).startswith("220 "):
            self.greeted = True
            await self.sink.pause("greeting")
        await super().push(status)

    def record(self, verb):
        facts = tls_facts(self)
        if facts["tls"] and not self.tls_recorded:
            self.tls_recorded = True
            self.recorder.write(event="tls", conn=self.conn_id, version=facts["version"],
                                cipher=facts["cipher"])
        self.recorder.write(event="command", conn=self.conn_id, verb=verb, tls=facts["tls"])

    async def smtp_EHLO(self, arg):
        self.record("EHLO")
        if self.args.ehlo_refused:
            await self.push("502 5.5.1 EHLO not implemented")
            return
        await super().smtp_EHLO(arg)

    async def smtp_HELO(self, arg):
        self.record("HELO")
        await super().smtp_HELO(arg)

    async def smtp_STARTTLS(self, arg):
        self.record("STARTTLS")
        if self.args.inject_after_starttls:
            # The 220 and a forged reply in one write, before any TLS (CVE-2011-0411's shape).
            self._writer.write(b"220 Ready to start TLS\r\n250 injected in clear\r\n")
            await self._writer.drain()
            self.transport.close()
            return
        await super().smtp_STARTTLS(arg)

    async def smtp_MAIL(self, arg):
        self.record("MAIL")
        await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg):
        self.record("RCPT")
        await super().smtp_RCPT(arg)

    async def smtp_RSET(self, arg):
        self.record("RSET")
        await super().smtp_RSET(arg)

    async def smtp_QUIT(self, arg):
        self.record("QUIT")
        await super().smtp_QUIT(arg)

    async def smtp_DATA(self, arg):
        self.record("DATA")
        if self.args.drop_in_data and self.envelope.rcpt_tos:
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            await self._reader.readline()
            self.recorder.write(event="dropped", conn=self.conn_id)
            self.transport.close()
            return
        await super().smtp_DATA(arg)


def tls_context(args, recorder):
    if not args.cert:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)

    def sni(ssl_object, server_name, context):
        recorder.write(event="sni", name=server_name)

    ctx.sni_callback = sni
    if args.tls_max == "1.0":
        # The only way OpenSSL 3 still speaks TLS 1.0: security level 0.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1
    return ctx


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)  # 0: an ephemeral port
    parser.add_argument("--record", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--tls-max", choices=["1.0", "default"], default="default")
    parser.add_argument("--pipelining", action="store_true")
    parser.add_argument("--enhanced", action="store_true")
    parser.add_argument("--rcpt-reply", action="append", default=[])
    parser.add_argument("--data-reply", action="append", default=[])
    parser.add_argument("--drop-in-data", action="store_true")
    parser.add_argument("--sleep", action="append", default=[])
    parser.add_argument("--ehlo-refused", action="store_true")
    parser.add_argument("--inject-after-starttls", action="store_true")
    parser.add_argument("--size", type=int, default=33554432)
    args = parser.parse_args()

    recorder = Recorder(args.record)
    handler = Handler(args, recorder)
    context = tls_context(args, recorder)
    loop = asyncio.get_running_loop()

    def factory():
        return SinkSMTP(handler, args, recorder, hostname="mx.sealpost.test",
                        tls_context=context, require_starttls=False, decode_data=False,
                        enable_SMTPUTF8=True, data_size_limit=args.size, timeout=60)

    server = await loop.create_server(factory, host=args.host, port=args.port)
    port = server.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
