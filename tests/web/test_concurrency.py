"""Many clients at once against a real server: no error, and no one gets another's result.

24 clients start together (a barrier). Each submits an estimate whose request shape is its
own (input tokens 512 + 64 i) and every fourth a small simulation with its own request count;
each then reads its runs back — status, files, report — and checks that every number is the
one it asked for, and that its list holds its runs and nobody else's.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from webtools import wait_done

NUM_CLIENTS = 24


def _call(base: str, client: str, method: str, path: str, body: dict | None = None):
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"X-Tokenworks-Client": client,
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return r.status, json.loads(r.read() or b"null")


def _client_session(base: str, i: int, barrier: threading.Barrier) -> dict:
    client = f"{i:02x}" * 16
    input_tokens = 512 + 64 * i
    barrier.wait()
    status, est = _call(base, client, "POST", "/api/runs", {
        "kind": "estimate", "inputs": {"model": "llama-3.1-8b", "hardware": "h100-sxm",
                                       "num_gpus": 1, "tp": 1, "input_tokens": input_tokens,
                                       "output_tokens": 128}})
    assert status == 201 and est["status"] == "done", est
    runs = {est["id"]: input_tokens}
    sim = None
    if i % 4 == 0:
        n = 20 + i
        status, sim = _call(base, client, "POST", "/api/runs", {
            "kind": "simulate", "inputs": {"num_requests": n, "rate_per_s": 10, "seed": i}})
        assert status == 201, sim

    def get(path: str) -> dict:
        return _call(base, client, "GET", path)[1]

    _, result = _call(base, client, "GET", f"/api/runs/{est['id']}/files/result.json")
    assert result["input_tokens"] == input_tokens and result["output_tokens"] == 128
    report = get(f"/api/runs/{est['id']}/report.json")
    shape = next(b for b in report["blocks"] if b["id"] == "estimate-summary")["rows"][2][1]
    assert shape.startswith(f"{input_tokens:,} in / 128 out"), shape
    if sim is not None:
        st = wait_done(get, sim["id"], timeout_s=120)
        assert st["status"] == "done", st["error"]
        assert st["summary"]["num_requests"] == 20 + i and st["inputs"]["seed"] == i
        runs[sim["id"]] = None
    listed = {r["id"] for r in get("/api/runs")}
    assert listed == set(runs), (listed, runs)
    return runs


def test_many_clients_at_once_get_their_own_results(live_server):
    barrier = threading.Barrier(NUM_CLIENTS)
    with ThreadPoolExecutor(max_workers=NUM_CLIENTS) as pool:
        futures = [pool.submit(_client_session, live_server.url, i, barrier)
                   for i in range(NUM_CLIENTS)]
        results = [f.result() for f in futures]  # re-raises any client's failure
    ids = [rid for r in results for rid in r]
    assert len(ids) == len(set(ids)) == NUM_CLIENTS + NUM_CLIENTS // 4
    _, everyone = _call(live_server.url, "f" * 32, "GET", "/api/runs?all=true&limit=1000")
    assert {r["id"] for r in everyone} >= set(ids)
