"""``publish preview``: the HTML edition, served to the editor's browser and
rebuilt on every save.

* **Fast path, in this process:** a save of the source, a side file or a style
  file is read, checked and rendered to the HTML edition here (no worker
  process to start), written to ``OUT/<stem>.html`` (atomically, one
  self-contained file), and the open page is told to reload by a server-sent event. The page keeps its
  scroll position: the preview shell loads the new page in a hidden frame,
  scrolls it to where the reader was, then swaps it in.
* **Errors** (with their ``file:line:col``) go to the shell as an overlay over
  the last good page, which stays as it was (nothing is written).
* **The other formats** (PDF, EPUB, DOCX by default) are rebuilt in the
  background by an ordinary ``publish build`` child process (at a lower CPU
  priority, one at a time, the latest save last); their status and links are
  in a small bar.
* **Locked down:** the server binds 127.0.0.1 unless another host is asked for,
  answers only requests whose ``Host`` is that address (no DNS rebinding),
  serves only the shell, the event stream and the files it wrote (the HTML
  edition from memory, the other outputs once their build has written them),
  and stops on Ctrl-C (a running background build is interrupted and keeps its
  previous outputs, as every build does).

The HTML edition is written without the build lock: a background build here
never writes it, and the file is replaced by an atomic rename.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .diagnostics import Diagnostic, PublishError
from .options import RenderOptions
from .resources import Resolver
from .writers import WRITERS

HTML = "html"
SHELL = "preview/shell.html"
SHELL_SCRIPT = "preview/shell.js"
KEEPALIVE = 15.0  # seconds between SSE comments (proxies, sleeping laptops)
_SUMMARY = re.compile(r"^(?P<path>.+)\t(?P<size>\d+)\t(?P<secs>\S+)\t(?P<status>\w+)$")
_TYPES = {".html": "text/html; charset=utf-8", ".pdf": "application/pdf",
          ".epub": "application/epub+zip",
          ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
          ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
          ".svg": "image/svg+xml", ".webp": "image/webp"}


@dataclass
class _State:
    version: int = 0  # of the HTML edition served
    building: bool = True
    diagnostics: list[dict] = field(default_factory=list)  # errors of the last build (overlay)
    warnings: list[dict] = field(default_factory=list)
    seconds: float = 0.0  # of the last fast build
    formats: dict[str, dict] = field(default_factory=dict)  # name -> {status, href, message}


class Preview:
    """The server, the watcher and the background builds of one source."""

    def __init__(self, source: Path, out_dir: Path, *, host: str = "127.0.0.1", port: int = 0,
                 formats: tuple[str, ...] = ("pdf", "epub", "docx"), paper: str = "a4",
                 strict: bool = False, timeout: float = 300.0,
                 on_message=None) -> None:
        self.source = Path(source)
        self.out_dir = Path(out_dir)
        self.stem = self.source.stem
        self.formats = tuple(f for f in formats if f != HTML)
        self.paper = paper
        self.strict = strict
        self.timeout = timeout
        self.say = on_message or (lambda msg: None)
        self.state = _State(formats={f: {"status": "waiting", "href": None, "message": ""} for f in self.formats})
        self.lock = threading.Lock()  # guards state, files and clients
        self.files: dict[str, bytes] = {}  # URL path -> bytes of the HTML edition written
        self.clients: list[queue.Queue] = []
        self.stopping = threading.Event()
        self._build_lock = threading.Lock()  # one fast build at a time
        self._bg_wanted = threading.Event()
        self._bg_proc: subprocess.Popen | None = None
        self.resolver = Resolver.for_source(self.source)
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.server.daemon_threads = True
        self.host, self.port = self.server.server_address[:2]
        self._shell = self._render_shell()
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in str(self.host) else self.host
        return f"http://{host}:{self.port}/"

    def start(self) -> None:
        from .build import prepare_out_dir

        prepare_out_dir(self.out_dir)
        ready = threading.Event()
        for target, args in ((self.server.serve_forever, (0.2,)), (self._watch, (ready,)),
                             (self._background, ())):
            t = threading.Thread(target=target, args=args, daemon=True, name=f"preview-{target.__name__}")
            t.start()
            self._threads.append(t)
        ready.wait(5)  # the watcher runs before the first build: a save during it is seen
        self.rebuild()

    def stop(self) -> None:
        self.stopping.set()
        self._bg_wanted.set()
        proc = self._bg_proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # the build rolls back and keeps the previous outputs
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.server.shutdown()
        self.server.server_close()
        with self.lock:
            for q in self.clients:
                q.put(None)
        for t in self._threads:
            t.join(5)

    # ------------------------------------------------------------------ events
    def _send(self, event: str, data: dict) -> None:
        msg = f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode("utf-8")
        with self.lock:
            for q in self.clients:
                q.put(msg)

    def snapshot(self) -> dict:
        with self.lock:
            s = self.state
            return {"version": s.version, "building": s.building, "diagnostics": s.diagnostics,
                    "warnings": s.warnings, "seconds": s.seconds, "formats": s.formats,
                    "page": f"/{WRITERS[HTML].filename(self.stem)}"}

    # ------------------------------------------------------------------ building
    def rebuild(self) -> bool:
        """Read, check and render the HTML edition here; write it; tell the page. True if it built."""
        from .build import read, write_atomic

        with self._build_lock:
            started = time.perf_counter()
            resolver = Resolver.for_source(self.source)
            try:
                doc, diag = read(self.source, resolver, formats=(HTML,), strict=self.strict)
                errors = [d for d in diag.sorted() if d.severity == "error"]
                warnings = [d for d in diag.sorted() if d.severity != "error"]
                files = WRITERS[HTML].render(doc, RenderOptions.from_env(self.paper), resolver) if doc else {}
            except PublishError as exc:
                errors, warnings, files = list(exc.diagnostics), [], {}
            except Exception as exc:  # noqa: BLE001 - shown, never a dead preview
                errors = [Diagnostic(str(self.source), 1, 1, "error", f"{type(exc).__name__}: {exc}")]
                warnings, files = [], {}
            if errors:
                with self.lock:
                    self.state.building = False
                    self.state.diagnostics = [d.as_dict() for d in errors]
                    self.state.warnings = [d.as_dict() for d in warnings]
                self._send("diagnostics", self.snapshot())
                self.say(f"{len(errors)} error(s): the last good page stays\n" + "\n".join(map(str, errors)))
                return False
            written: dict[str, bytes] = {}
            try:
                # images first, the page last: the page never points at a missing file
                for key in sorted(files, key=lambda k: k == ""):
                    name = WRITERS[HTML].filename(self.stem, key)
                    write_atomic(self.out_dir / name, files[key])
                    written["/" + name] = files[key]
            except OSError as exc:
                with self.lock:
                    self.state.diagnostics = [Diagnostic(str(self.out_dir), 0, 0, "error",
                                                         f"cannot write the HTML edition: {exc.strerror or exc}").as_dict()]
                self._send("diagnostics", self.snapshot())
                return False
            with self.lock:
                self.files = written
                self.state.version += 1
                self.state.building = False
                self.state.diagnostics = []
                self.state.warnings = [d.as_dict() for d in warnings]
                self.state.seconds = round(time.perf_counter() - started, 3)
            self._send("reload", self.snapshot())
            self.say(f"HTML edition rebuilt in {self.state.seconds:.2f} s"
                     + (f" ({len(warnings)} warning(s))" if warnings else ""))
            if self.formats:
                self._bg_wanted.set()
            return True

    def _watch(self, ready: threading.Event) -> None:
        from watchfiles import watch

        out_real = self.out_dir.resolve()
        paths = self.resolver.watch_roots()

        def relevant(_change, path: str) -> bool:
            p = Path(path)
            return not (p == out_real or out_real in p.parents or p.name.startswith(".")
                        or p.suffix in (".tmp", ".swp") or p.name.endswith("~"))

        ready_set = False
        for changes in watch(*paths, watch_filter=relevant, stop_event=self.stopping, step=20,
                             debounce=400, yield_on_timeout=True, rust_timeout=100, raise_interrupt=False):
            if not ready_set:
                ready.set()
                ready_set = True
            if changes and not self.stopping.is_set():
                self.rebuild()

    def _background(self) -> None:
        """One ``publish build`` child at a time for the other formats, the latest save last."""
        while not self.stopping.is_set():
            self._bg_wanted.wait()
            if self.stopping.is_set():
                return
            self._bg_wanted.clear()
            self._run_background_build()

    def _run_background_build(self) -> None:
        with self.lock:
            for f in self.formats:
                self.state.formats[f].update(status="rendering", message="")
        self._send("formats", self.snapshot())
        cmd = [sys.executable, "-m", "publish", "build", str(self.source), "--out", str(self.out_dir),
               "--paper", self.paper, "--timeout", str(self.timeout), "--jobs", "1",
               "--strict" if self.strict else "--no-strict"]
        for f in self.formats:
            cmd += ["--format", f]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=env, text=True)
        self._bg_proc = proc
        try:
            os.setpriority(os.PRIO_PROCESS, proc.pid, 10)  # the editor's page comes first
        except OSError:
            pass
        _, err = proc.communicate()
        self._bg_proc = None
        if self.stopping.is_set():
            return
        seen: dict[str, str] = {}
        for line in err.splitlines():
            m = _SUMMARY.match(line)
            if m:
                ext = Path(m["path"]).suffix.lstrip(".")
                fmt = next((f for f in self.formats if WRITERS[f].extension == ext), None)
                if fmt:
                    seen[fmt] = m["status"]
        problems = [ln for ln in err.splitlines() if ": error:" in ln][:5]
        with self.lock:
            for f in self.formats:
                status = seen.get(f) or ("failed" if proc.returncode else "unknown")
                ok = status in ("written", "unchanged", "cached")
                self.state.formats[f] = {
                    "status": status,
                    "href": f"/{WRITERS[f].filename(self.stem)}" if ok else None,
                    "message": "" if ok else "; ".join(problems) or f"exit code {proc.returncode}",
                }
        self._send("formats", self.snapshot())
        self.say("background build: " + ", ".join(f"{f} {self.state.formats[f]['status']}" for f in self.formats))

    # ------------------------------------------------------------------ serving
    def _render_shell(self) -> bytes:
        from .writers import templating

        env = templating.environment(self.resolver)
        script = env.loader.get_source(env, SHELL_SCRIPT)[0]
        digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
        csp = ("default-src 'none'; frame-src 'self'; connect-src 'self'; img-src 'self' data:; "
               f"style-src 'unsafe-inline'; script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'")
        from markupsafe import Markup

        return env.get_template(SHELL).render(
            csp=csp, script=Markup(script), title=self.source.name,
            page=f"/{WRITERS[HTML].filename(self.stem)}", formats=self.formats,
        ).encode("utf-8")

    def _file(self, path: str) -> bytes | None:
        with self.lock:
            if path in self.files:
                return self.files[path]
            allowed = {s["href"] for s in self.state.formats.values() if s["href"]}
        if path in allowed:
            try:
                with open(self.out_dir / path.lstrip("/"), "rb") as fh:
                    return fh.read()
            except OSError:
                return None
        return None

    def _handler(self):
        preview = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "publish-preview"
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # noqa: A002 - quiet
                pass

            def _host_ok(self) -> bool:
                host = (self.headers.get("Host") or "").lower()
                names = {str(preview.host), "localhost"} if str(preview.host) in ("127.0.0.1", "::1") \
                    else {str(preview.host)}
                return any(host in (n, f"{n}:{preview.port}", f"[{n}]:{preview.port}") for n in names)

            def _reply(self, status: int, body: bytes, ctype: str = "text/plain; charset=utf-8") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("X-Content-Type-Options", "nosniff")
                self.send_header("Referrer-Policy", "no-referrer")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_HEAD(self) -> None:  # noqa: N802
                self.do_GET()

            def do_GET(self) -> None:  # noqa: N802
                if not self._host_ok():
                    return self._reply(HTTPStatus.FORBIDDEN, b"forbidden host\n")
                path = unquote(urlsplit(self.path).path)
                if path == "/":
                    return self._reply(HTTPStatus.OK, preview._shell, "text/html; charset=utf-8")
                if path == "/events":
                    return self._events()
                if path == "/state":
                    return self._reply(HTTPStatus.OK, json.dumps(preview.snapshot()).encode(), "application/json")
                data = preview._file(path)
                if data is None:
                    return self._reply(HTTPStatus.NOT_FOUND, b"not found\n")
                return self._reply(HTTPStatus.OK, data, _TYPES.get(Path(path).suffix.lower(), "application/octet-stream"))

            def _events(self) -> None:
                q: queue.Queue = queue.Queue()
                with preview.lock:
                    preview.clients.append(q)
                try:
                    self.send_response(HTTPStatus.OK)
                    self.send_header("Content-Type", "text/event-stream; charset=utf-8")
                    self.send_header("Cache-Control", "no-store")
                    self.send_header("Connection", "keep-alive")
                    self.end_headers()
                    state = json.dumps(preview.snapshot(), ensure_ascii=False)
                    self.wfile.write(f"retry: 500\nevent: state\ndata: {state}\n\n".encode("utf-8"))
                    self.wfile.flush()
                    while not preview.stopping.is_set():
                        try:
                            msg = q.get(timeout=KEEPALIVE)
                        except queue.Empty:
                            msg = b": keep-alive\n\n"
                        if msg is None:
                            break
                        self.wfile.write(msg)
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with preview.lock:
                        if q in preview.clients:
                            preview.clients.remove(q)
                    self.close_connection = True

        return Handler


def run(source: Path, out_dir: Path, *, host: str, port: int, formats: tuple[str, ...], paper: str,
        strict: bool, timeout: float, open_browser: bool, say) -> int:
    """``publish preview``: serve until Ctrl-C."""
    import webbrowser

    preview = None
    for p in dict.fromkeys((port, 0) if port else (0,)):
        try:
            preview = Preview(source, out_dir, host=host, port=p, formats=formats, paper=paper,
                              strict=strict, timeout=timeout, on_message=say)
            break
        except OSError as exc:
            say(f"{host}:{p}: cannot listen: {exc.strerror or exc}")
    if preview is None:
        return 2
    preview.start()
    say(f"previewing {source} at {preview.url} (Ctrl-C to stop)")
    # Without a display, Python's webbrowser would start a text-mode browser in this
    # terminal (lynx, w3m): only a graphical one is opened; the address is printed anyway.
    graphical = sys.platform != "linux" or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if open_browser and graphical:
        try:
            webbrowser.open(preview.url)
        except Exception:  # noqa: BLE001 - no browser: the address is printed
            pass
    try:
        while not preview.stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        preview.stop()
        say("stopped")
    return 0
