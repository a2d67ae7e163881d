"""Helpers for the admin listener (O3): plain-HTTP GETs and a strict reader of the
Prometheus text exposition format (version 0.0.4)."""

import http.client
import re

# A sample line: metric name, optional {labels}, a value (and no timestamp: we send none).
_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:' + _LABEL + r')(?:,' + _LABEL +
                    r')*,?\})? (-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|[-+]?Inf|NaN)$')
HELP = re.compile(r'^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$')
TYPE = re.compile(r'^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$')
_LABEL_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def admin_get(port, path, method="GET", body=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def parse_metrics(text):
    """Parses exposition text strictly; returns {(name, frozenset(labels)): value}.
    Raises AssertionError naming the first line that is not in the grammar, a sample
    without a # TYPE for its family, or a family without # HELP."""
    samples = {}
    helped, typed = set(), {}
    for number, line in enumerate(text.split("\n"), 1):
        if line == "":
            continue
        if line.startswith("#"):
            m = HELP.match(line)
            if m:
                helped.add(m.group(1))
                continue
            m = TYPE.match(line)
            if m:
                typed[m.group(1)] = m.group(2)
                continue
            raise AssertionError(f"line {number} is a comment outside the grammar: {line!r}")
        m = SAMPLE.match(line)
        if not m:
            raise AssertionError(f"line {number} is not a sample: {line!r}")
        name = m.group(1)
        family = re.sub(r"_(bucket|count|sum)$", "", name)
        if name not in typed and family not in typed:
            raise AssertionError(f"line {number}: {name} has no # TYPE before it")
        labels = frozenset(_LABEL_PAIR.findall(m.group(2) or ""))
        key = (name, labels)
        if key in samples:
            raise AssertionError(f"line {number}: duplicate sample {line!r}")
        samples[key] = float(m.group(3))
    missing_help = set(typed) - helped
    if missing_help:
        raise AssertionError(f"families without # HELP: {sorted(missing_help)}")
    return samples


def metric(samples, name, **labels):
    """The value of one sample (0 when absent)."""
    return samples.get((name, frozenset(labels.items())), 0.0)
