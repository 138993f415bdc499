"""Scrape an openfm metrics endpoint the way Prometheus would: a real HTTP
client (urllib) and Prometheus' own text-format parser (Debian's
python3-prometheus-client). Prints one JSON object:
  {"healthz": <HTTP status>, "content_type": ..., "families": {name: type},
   "samples": [[name, {labels}, value], ...]}
Exit 1 with the parser's message if the text does not parse."""
import json
import sys
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

base = sys.argv[1].rstrip("/")
try:
    with urllib.request.urlopen(base + "/healthz", timeout=10) as r:
        health = r.status
except urllib.error.HTTPError as e:
    health = e.code
with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
    ctype = r.headers.get("Content-Type", "")
    text = r.read().decode("utf-8")
try:
    fams = list(text_string_to_metric_families(text))
except Exception as e:  # the parser's own complaint is the useful message
    print("unparseable metrics: %s" % e, file=sys.stderr)
    sys.exit(1)
out = {"healthz": health, "content_type": ctype, "families": {}, "samples": []}
for f in fams:
    out["families"][f.name] = f.type
    for s in f.samples:
        out["samples"].append([s.name, s.labels, s.value])
print(json.dumps(out))
