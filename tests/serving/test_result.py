"""RequestLog: buffered rows must give the same table as the requests say (sim_result.py)."""

from __future__ import annotations

import math

import pytest

from tokenworks.serving import result as sim_result
from tokenworks.serving.request import Request
from tokenworks.serving.result import RequestLog


def _req(i: int) -> Request:
    r = Request(request_id=i, arrived_at_s=float(i), prompt_tokens=10 + i, output_tokens=2 + i,
                session_id=None if i % 3 == 0 else i // 2, priority=i % 2)
    if i % 4 != 1:  # every fourth request never ran
        r.replica_id = i % 2
        r.scheduled_at_s = i + 0.25
        r.first_token_at_s = i + 0.5
        r.finished_at_s = i + 1.5
        r.cached_tokens = i % 5
    if i % 7 == 3:
        r.prefill_replica_id = 1
    if i % 5 == 2:
        r.cached_tokens_by_tier = {"dram": i}
    if i % 11 == 4:
        r.cached_tokens_by_tier = {"nvme": 2 * i, "dram": 1}
    r.rejected = i % 4 == 1
    r.num_preemptions = i % 3
    return r


@pytest.mark.parametrize("flush_rows", [1, 3, 2048])
def test_table_matches_requests(monkeypatch, flush_rows):
    monkeypatch.setattr(sim_result, "_FLUSH_ROWS", flush_rows)
    log = RequestLog()
    reqs = [_req(i) for i in range(40)]
    for r in reqs:
        log.opened(r)
    open_ids = {5, 17, 30}
    for r in reqs:
        if r.request_id not in open_ids:
            log.closed(r)
    assert len(log) == 37
    rows = log.table().to_pylist()
    assert len(log) == 37  # unfinished rows are dropped again: the log stays reusable
    order = [r for r in reqs if r.request_id not in open_ids] + \
        [reqs[i] for i in sorted(open_ids)]
    assert [row["request_id"] for row in rows] == [r.request_id for r in order]
    for row, r in zip(rows, order, strict=True):
        assert row["finished"] == (r.request_id not in open_ids)
        for c in ("session_id", "priority", "replica_id", "prefill_replica_id", "arrived_at_s",
                  "scheduled_at_s", "first_token_at_s", "finished_at_s", "prompt_tokens",
                  "output_tokens", "cached_tokens", "num_preemptions", "rejected"):
            assert row[c] == getattr(r, c), c
        tiers = r.cached_tokens_by_tier or {}
        assert row["cached_tokens_dram"] == tiers.get("dram", 0)
        assert row["cached_tokens_nvme"] == tiers.get("nvme", 0)
        if r.finished_at_s is not None:
            assert math.isclose(row["e2e_s"], 1.5)
    # Appending after a table() keeps the columns aligned.
    log.closed(reqs[5])
    again = log.table(include_unfinished=False).to_pylist()
    assert len(again) == 38 and again[-1]["request_id"] == 5
    assert again[-1]["cached_tokens_nvme"] == 0
