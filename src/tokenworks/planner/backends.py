"""Where confirmations run: this process, a local process pool, or a Ray cluster.

A backend maps a pure function over tasks and calls ``on_done(index, result)`` as each one
finishes (in completion order; the planner re-orders by index, so results never depend on the
backend). Ray is an optional extra: it is imported only by ``RayBackend``, and an address that
cannot be reached is one ``ConfigError`` line. A local worker that dies (killed, out of
memory) breaks the pool: the unfinished tasks are retried once in a fresh pool; results that
finished were already handed to ``on_done`` (and stored), so nothing finished is lost.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from tokenworks.errors import ConfigError, TokenworksError

__all__ = ["BACKENDS", "Backend", "LocalBackend", "PlanInterrupted", "RayBackend",
           "SerialBackend", "make_backend"]

OnDone = Callable[[int, Any], None]


class PlanInterrupted(TokenworksError):
    """Workers died twice in a row; the finished candidates are stored, re-run to resume."""


class Backend(Protocol):
    name: str

    def run(self, fn: Callable[[Any], Any], tasks: Sequence[Any], on_done: OnDone) -> None: ...


class SerialBackend:
    """Every task in this process, in order (tests, one core, debugging)."""

    name = "serial"

    def run(self, fn: Callable[[Any], Any], tasks: Sequence[Any], on_done: OnDone) -> None:
        for i, t in enumerate(tasks):
            on_done(i, fn(t))


class LocalBackend:
    """A pool of worker processes on this machine (default: one per core)."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise ConfigError(f"--workers {workers}: give at least 1 worker.")
        self.workers = workers or os.cpu_count() or 1

    def run(self, fn: Callable[[Any], Any], tasks: Sequence[Any], on_done: OnDone) -> None:
        if self.workers == 1 or len(tasks) <= 1:
            SerialBackend().run(fn, tasks, on_done)
            return
        todo = list(range(len(tasks)))
        for _attempt in range(2):
            todo = self._pool(fn, tasks, todo, on_done)
            if not todo:
                return
        raise PlanInterrupted(
            f"worker processes died twice; {len(tasks) - len(todo)} of {len(tasks)} candidates "
            f"finished and are stored. Re-run the same plan to finish the other {len(todo)} "
            f"(finished ones are skipped), or use fewer --workers if memory is short.")

    def _pool(self, fn: Callable[[Any], Any], tasks: Sequence[Any], todo: list[int],
              on_done: OnDone) -> list[int]:
        """Run ``todo``; return the indexes that did not finish because the pool broke."""
        left = set(todo)
        with ProcessPoolExecutor(max_workers=min(self.workers, len(todo))) as pool:
            futures = {pool.submit(fn, tasks[i]): i for i in todo}
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in sorted(finished, key=lambda f: futures[f]):
                    try:
                        result = f.result()
                    except BrokenProcessPool:
                        continue
                    i = futures[f]
                    left.discard(i)
                    on_done(i, result)
        return sorted(left)


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast (one line) when a ``host:port`` or ``ray://host:port`` address is closed."""
    if address in ("auto", "local"):
        return
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"Ray address '{address}' is not host:port (or ray://host:port, auto, "
                          f"local).")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            pass
    except OSError as e:
        raise ConfigError(f"cannot reach the Ray cluster at {address} ({e.strerror or e}); "
                          f"start it (ray start --head) or check --address, or use "
                          f"--backend local.") from None


class RayBackend:
    """Tasks as Ray remote functions: a running cluster at ``address``, or a local Ray
    instance started for the run (``address=None``)."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        try:
            import ray  # noqa: F401
        except ImportError:
            raise ConfigError("--backend ray needs Ray: pip install 'tokenworks[ray]' (or use "
                              "--backend local).") from None
        if address is not None:
            _check_reachable(address)
        self.address = address
        self.workers = workers

    def run(self, fn: Callable[[Any], Any], tasks: Sequence[Any], on_done: OnDone) -> None:
        import ray

        started = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "configure_logging": False}
            if self.address is None:
                kwargs["num_cpus"] = self.workers or os.cpu_count() or 1
            try:
                ray.init(address=self.address, **kwargs)
            except (ConnectionError, RuntimeError) as e:
                raise ConfigError(f"cannot start or join Ray at {self.address or 'local'}: "
                                  f"{str(e).splitlines()[0]}. Use --backend local.") from None
            started = True
        try:
            remote = ray.remote(fn)
            refs = {remote.remote(t): i for i, t in enumerate(tasks)}
            pending = list(refs)
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                for r in ready:
                    on_done(refs[r], ray.get(r))
        finally:
            if started and self.address is None:
                ray.shutdown()


BACKENDS = ("serial", "local", "ray")


def make_backend(name: str, *, workers: int | None = None, address: str | None = None) -> Backend:
    if name == "serial":
        return SerialBackend()
    if name == "local":
        if address is not None:
            raise ConfigError("--address is for --backend ray; drop it or add --backend ray.")
        return LocalBackend(workers)
    if name == "ray":
        return RayBackend(address, workers)
    raise ConfigError(f"backend '{name}' is unknown; use one of {', '.join(BACKENDS)}.")
