"""A pool of long-lived render workers on this machine (the batch's local executor).

Each worker is a spawned process (spawn, not fork: it holds only what it renders)
that imports the writers once (WeasyPrint included) and then takes one
``build.RenderTask`` after another over its own pipe, so the pool always knows
which task a worker holds. That is what lets a task be timed out: the worker is
killed and replaced, which no ``ProcessPoolExecutor`` can do for one task. A
worker that dies (killed, out of memory) is replaced and its task retried once
on a fresh worker; the batch never sees a torn result, only a whole one or a
failure.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import multiprocessing.connection
import signal
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Hashable

from .diagnostics import Diagnostic

RETRIES = 1  # a task whose worker died is run once more on a fresh worker

Completion = tuple[Hashable, str, Any, float, list[str]]
# (key, "ok"|"error", payload, seconds, the INFO lines the writer logged: build.run_task_logged)


def _serve(conn, preload: tuple[str, ...]) -> None:
    """A worker's life: import the writers once, then render tasks until told to stop."""
    from .build import run_task_logged

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    for name in preload:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the task that needs it reports the failure
            pass
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        conn.send(run_task_logged(task))


@dataclass
class _Slot:
    proc: Any
    conn: Any
    key: Hashable | None = None
    task: Any = None
    attempts: int = 0
    started: float = 0.0


def preload_modules(formats: tuple[str, ...]) -> tuple[str, ...]:
    from .writers import WRITERS

    mods = [WRITERS[f].module for f in formats if f in WRITERS]
    if "pdf" in formats:
        mods.insert(0, "weasyprint")
    return tuple(mods)


class LocalPool:
    """``size`` long-lived worker processes; ``submit`` queues, ``poll`` collects."""

    def __init__(self, size: int, timeout: float, preload: tuple[str, ...] = (),
                 on_start: Callable[[Hashable], None] | None = None) -> None:
        self.ctx = mp.get_context("spawn")
        self.timeout = timeout
        self.preload = preload
        self.on_start = on_start or (lambda key: None)
        self.queue: deque[tuple[Hashable, Any, int]] = deque()
        self.slots = [self._spawn() for _ in range(max(size, 1))]

    @property
    def capacity(self) -> int:
        return len(self.slots)

    def pids(self) -> list[int]:
        return [s.proc.pid for s in self.slots]

    def busy(self) -> int:
        return sum(1 for s in self.slots if s.key is not None) + len(self.queue)

    def _spawn(self) -> _Slot:
        parent, child = self.ctx.Pipe(duplex=True)
        proc = self.ctx.Process(target=_serve, args=(child, self.preload), daemon=True)
        proc.start()
        child.close()
        return _Slot(proc, parent)

    def _replace(self, slot: _Slot) -> _Slot:
        if slot.proc.is_alive():
            slot.proc.kill()
        slot.proc.join()
        slot.conn.close()
        new = self._spawn()
        self.slots[self.slots.index(slot)] = new
        return new

    def submit(self, key: Hashable, task: Any) -> None:
        self.queue.append((key, task, 0))
        self._dispatch()

    def _dispatch(self) -> None:
        for slot in self.slots:
            if not self.queue:
                return
            if slot.key is None:
                key, task, attempts = self.queue.popleft()
                try:
                    slot.conn.send(task)
                except (BrokenPipeError, OSError):  # died while idle: a fresh one takes it
                    slot = self._replace(slot)
                    slot.conn.send(task)
                slot.key, slot.task, slot.attempts, slot.started = key, task, attempts, time.monotonic()
                self.on_start(key)

    def poll(self, wait: float = 0.1) -> list[Completion]:
        """Tasks that ended (or timed out, or whose worker died twice) since the last call."""
        busy = [s for s in self.slots if s.key is not None]
        if not busy:
            self._dispatch()
            return []
        ready = mp.connection.wait([s.conn for s in busy], timeout=wait)
        done: list[Completion] = []
        now = time.monotonic()
        for slot in busy:
            key, task, elapsed = slot.key, slot.task, now - slot.started
            logs: list[str] = []
            if slot.conn in ready:
                try:
                    status, payload, logs = slot.conn.recv()
                except (EOFError, OSError):  # the worker died without a word (killed, crashed)
                    code = slot.proc.exitcode
                    self._replace(slot)
                    if slot.attempts < RETRIES:
                        self.queue.appendleft((key, task, slot.attempts + 1))
                        continue
                    status, payload = "error", [_diag(task, f"{task.writer.name.upper()} writer process died "
                                                             f"(exit code {code}), twice").as_dict()]
                else:
                    slot.key = slot.task = None
                done.append((key, status, payload, elapsed, logs))
            elif elapsed > self.timeout:
                self._replace(slot)
                done.append((key, "error", [_diag(task, f"{task.writer.name.upper()} rendering timed out after "
                                                        f"{self.timeout:g} s").as_dict()], elapsed, []))
        self._dispatch()
        return done

    def cancel(self) -> list[Hashable]:
        """Drop the queue and stop every running task (its worker is replaced); their keys."""
        keys = [k for k, _, _ in self.queue]
        self.queue.clear()
        for slot in list(self.slots):
            if slot.key is not None:
                keys.append(slot.key)
                self._replace(slot)
        return keys

    def close(self) -> None:
        for slot in self.slots:
            try:
                if slot.key is None:
                    slot.conn.send(None)
            except OSError:
                pass
        deadline = time.monotonic() + 5
        for slot in self.slots:
            slot.proc.join(max(0.0, deadline - time.monotonic()))
            if slot.proc.is_alive():
                slot.proc.kill()
                slot.proc.join()
            slot.conn.close()
        self.slots = []

    def terminate(self) -> None:
        """Kill every worker now (``publish watch`` stopping: a worker holds nothing to lose)."""
        for slot in self.slots:
            if slot.proc.is_alive():
                slot.proc.kill()
            slot.proc.join()
            slot.conn.close()
        self.slots = []

    @classmethod
    def warm(cls, formats: tuple[str, ...], jobs: int, timeout: float) -> "LocalPool":
        """One long-lived worker per format (at most ``jobs`` if set), each with every
        writer of ``formats`` (and WeasyPrint) imported once: ``publish watch``'s renderer."""
        size = len(formats) if not jobs else min(len(formats), jobs)
        return cls(size, timeout, preload=preload_modules(formats))

    def __enter__(self) -> "LocalPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _diag(task: Any, message: str) -> Diagnostic:
    return Diagnostic(task.doc.source_path, 1, 1, "error", message)
