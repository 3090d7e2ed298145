"""The batch on an existing Dask cluster (``publish build … --executor dask``).

Imported only when asked for: ``distributed`` is the optional extra
``publish[dask]``. Each article × format is one task whose argument is the
pickled ``build.RenderTask`` — the model, the options and a resolver holding
the bytes of every input — and whose result is the rendered bytes. Workers
therefore need no shared file system and read no project file; they need the
same ``publish`` (its version and a hash of its source files, checked on every
worker before anything is sent; a mismatch is an error) with the same writer
libraries, and the same Debian fonts as this machine.

The client writes the outputs with the same atomic commit and cache as a local
build. A worker that dies is the scheduler's to handle: its tasks are run again
on another worker (``distributed.scheduler.allowed-failures``). ``--timeout``
counts from submission (at most two tasks per worker thread are outstanding); a
task over time is reported failed and its future cancelled, but Dask cannot
stop the thread that runs it, which finishes and drops its result.
"""

from __future__ import annotations

import hashlib
import pickle
import time
import uuid
from typing import Any, Hashable

from .diagnostics import Diagnostic, PublishError


class ClusterError(PublishError):
    exit_code = 2


def fingerprint() -> dict[str, Any]:
    """What a worker must share with the client: publish's version, a hash of its
    source files (an edited checkout counts as different) and the writer libraries."""
    from . import __version__
    from .build import _library_versions, _package_files
    from .resources import PACKAGE_DIR
    from .writers import WRITERS

    h = hashlib.sha256()
    for p in _package_files():
        h.update(str(p.relative_to(PACKAGE_DIR)).encode() + b"\0" + p.read_bytes() + b"\0")
    libs: dict[str, str] = {}
    for fmt in WRITERS:
        libs.update(_library_versions(fmt))
    return {"version": __version__, "source": h.hexdigest()[:16], "libraries": dict(sorted(libs.items()))}


def render_blob(blob: bytes) -> tuple[str, Any, list[str]]:
    """Runs on a Dask worker: render one pickled RenderTask, return ('ok', (files, reads), lines)
    or ('error', diags, lines); lines: the INFO records the writer logged (build.run_task_logged)."""
    from .build import run_task_logged

    return run_task_logged(pickle.loads(blob))


def check_workers(client) -> dict[str, dict]:
    """Every worker's fingerprint must equal this process's; ClusterError otherwise."""
    mine = fingerprint()
    try:
        theirs = client.run(fingerprint)
    except Exception as exc:  # noqa: BLE001 - e.g. publish not importable on a worker
        raise ClusterError(Diagnostic(str(client.scheduler.address), 0, 0, "error",
                                      f"cannot ask the workers for their publish version: {type(exc).__name__}: {exc}")) from None
    if not theirs:
        raise ClusterError(Diagnostic(str(client.scheduler.address), 0, 0, "error", "the cluster has no workers"))
    bad = [(w, f) for w, f in sorted(theirs.items()) if f != mine]
    if bad:
        w, f = bad[0]
        what = ("publish " + f["version"] + " vs " + mine["version"] if f["version"] != mine["version"] else
                "publish's source files differ" if f["source"] != mine["source"] else
                "writer libraries differ: " + ", ".join(f"{k} {f['libraries'].get(k)} vs {v}"
                                                        for k, v in mine["libraries"].items()
                                                        if f["libraries"].get(k) != v))
        raise ClusterError(Diagnostic(w, 0, 0, "error", f"worker runs a different publish ({what}; "
                                                       f"{len(bad)} of {len(theirs)} workers); install the same version"))
    return theirs


class DaskPool:
    """The batch's executor on a Dask cluster: the same submit/poll/cancel/close as pool.LocalPool."""

    def __init__(self, scheduler: str | Any, timeout: float, on_start=None) -> None:
        from distributed import Client

        if isinstance(scheduler, str):
            try:
                self.client = Client(scheduler, timeout="20s", set_as_default=False)
            except Exception as exc:  # noqa: BLE001 - an unreachable scheduler is one line, exit 2
                raise ClusterError(Diagnostic(scheduler, 0, 0, "error",
                                              f"cannot reach the Dask scheduler: {type(exc).__name__}: {exc}")) from None
            self.own_client = True
        else:
            self.client, self.own_client = scheduler, False
        check_workers(self.client)
        self.timeout = timeout
        self.on_start = on_start or (lambda key: None)
        self.futures: dict[Any, tuple[Hashable, Any, float]] = {}

    @property
    def capacity(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    def busy(self) -> int:
        return len(self.futures)

    def submit(self, key: Hashable, task: Any) -> None:
        blob = pickle.dumps(task, protocol=pickle.HIGHEST_PROTOCOL)
        fut = self.client.submit(render_blob, blob, key=f"publish-{task.writer.name}-{uuid.uuid4().hex}", pure=False)
        self.futures[fut] = (key, task, time.monotonic())
        self.on_start(key)

    def poll(self, wait: float = 0.1) -> list[tuple[Hashable, str, Any, float, list[str]]]:
        deadline = time.monotonic() + wait
        while True:
            done = []
            now = time.monotonic()
            for fut, (key, task, started) in list(self.futures.items()):
                logs: list[str] = []
                if fut.status == "finished":
                    status, payload, logs = fut.result()
                elif fut.status in ("error", "cancelled", "lost"):
                    try:
                        exc = fut.exception()
                        why = f"{type(exc).__name__}: {exc}"
                    except Exception as e:  # noqa: BLE001
                        why = f"{type(e).__name__}"
                    status, payload = "error", [Diagnostic(task.doc.source_path, 1, 1, "error",
                                                           f"{task.writer.name.upper()} task failed on the cluster: {why}").as_dict()]
                elif now - started > self.timeout:
                    fut.cancel()
                    status, payload = "error", [Diagnostic(task.doc.source_path, 1, 1, "error",
                                                           f"{task.writer.name.upper()} rendering timed out after {self.timeout:g} s").as_dict()]
                else:
                    continue
                del self.futures[fut]
                fut.release()
                done.append((key, status, payload, now - started, logs))
            if done or time.monotonic() >= deadline or not self.futures:
                return done
            time.sleep(0.02)

    def cancel(self) -> list[Hashable]:
        keys = [k for k, _, _ in self.futures.values()]
        self.client.cancel(list(self.futures))
        self.futures.clear()
        return keys

    def close(self) -> None:
        if self.futures:
            self.cancel()
        if self.own_client:
            self.client.close()
