#!/usr/bin/env python3
"""Constant HTTP load for the cluster-in-a-box tests, run inside a namespace with `ip netns exec`.

load.py URL [--host HOST] [--workers N] [--stop-file PATH] [--max-seconds S]
Each worker keeps one connection alive and sends GET after GET until the stop file appears. A request
fails when it gets no response or a status other than 200. While it runs it prints "progress OK FAILED" lines; at the end one JSON line:
{"ok": N, "failed": N, "errors": {"reason": count, ...}, "bodies": {"first line": count, ...}}
"""
import argparse
import http.client
import json
import os
import threading
import time
import urllib.parse
from collections import Counter

parser = argparse.ArgumentParser()
parser.add_argument("url")
parser.add_argument("--host")
parser.add_argument("--workers", type=int, default=4)
parser.add_argument("--stop-file", required=True)
parser.add_argument("--max-seconds", type=float, default=300)
args = parser.parse_args()

target = urllib.parse.urlsplit(args.url)
path = target.path or "/"
lock = threading.Lock()
ok = 0
failed = 0
errors = Counter()
bodies = Counter()


def worker():
    global ok, failed
    connection = None
    deadline = time.monotonic() + args.max_seconds
    while not os.path.exists(args.stop_file) and time.monotonic() < deadline:
        try:
            if connection is None:
                connection = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=10)
            headers = {"Host": args.host} if args.host else {}
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read()
            with lock:
                if response.status == 200:
                    ok += 1
                    bodies[body.decode("utf-8", "replace").splitlines()[0] if body else ""] += 1
                else:
                    failed += 1
                    errors[f"status {response.status}"] += 1
            if response.will_close:
                connection.close()
                connection = None
        except Exception as e:  # noqa: BLE001 - every failure is counted by its kind
            with lock:
                failed += 1
                errors[type(e).__name__] += 1
            if connection is not None:
                connection.close()
            connection = None
            time.sleep(0.05)


threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.workers)]
for t in threads:
    t.start()
# Progress for the test driving the load: "progress OK FAILED" a few times a second.
while any(t.is_alive() for t in threads):
    with lock:
        print(f"progress {ok} {failed}", flush=True)
    time.sleep(0.2)
for t in threads:
    t.join()
print(json.dumps({"ok": ok, "failed": failed, "errors": errors, "bodies": bodies}), flush=True)
