"""A small load generator, run as its own process: N threads with keep-alive connections hit
one URL on loopback for a fixed time and print latency figures as JSON.

    python benchmarks/_load.py --port 8123 --path /x --seconds 10 --threads 16 \
        [--method POST] [--header 'Name: value' ...] [--expect 200,204]
"""

import argparse
import http.client
import json
import threading
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body", default="")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--expect", default="200,204,302")
    args = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in args.header)
    expected = {int(code) for code in args.expect.split(",")}
    deadline = time.perf_counter() + args.seconds
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
        mine, codes = [], {}
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                conn.request(args.method, args.path, body=args.body or None, headers=headers)
                response = conn.getresponse()
                response.read()
                code = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
                code = 0
            mine.append((time.perf_counter() - started) * 1000)
            codes[code] = codes.get(code, 0) + 1
        with lock:
            latencies.extend(mine)
            for code, n in codes.items():
                statuses[code] = statuses.get(code, 0) + n

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] if latencies else 0

    unexpected = sum(n for code, n in statuses.items() if code not in expected)
    print(json.dumps({
        "requests": len(latencies), "rps": len(latencies) / elapsed, "p50_ms": pct(50),
        "p95_ms": pct(95), "statuses": statuses, "unexpected": unexpected,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
