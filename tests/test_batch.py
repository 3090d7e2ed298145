"""Batch builds (issue 16): many articles on a pool of long-lived local workers or
on a Dask cluster, each with its own folder, cache, lock and all-or-nothing set,
byte-identical to single builds."""

from __future__ import annotations

import os
import pickle
import shutil
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from publish.batch import BatchRequest, build_batch, expand_sources, output_folders
from publish.build import BuildRequest, RunSettings, build, plan_article, read_article, run_task, settings
from publish.diagnostics import PublishError
from publish.writers import WRITERS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import make_batch  # noqa: E402

ENV = {"SOURCE_DATE_EPOCH": "1632873600"}
PUBLISH = [sys.executable, "-m", "publish"]
ALL = tuple(WRITERS)


def _series(tmp_path: Path, count: int) -> list[Path]:
    return make_batch.make(tmp_path / "series", count, paragraphs=3)


def _outputs(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(out).parts)}


def _batch(sources: list[Path], out: Path, formats=ALL, jobs: int = 2, **kw) -> BatchRequest:
    base = BuildRequest(sources[0], out, formats=formats, jobs=jobs, lock_wait=0)
    return BatchRequest(tuple(sources), tuple(output_folders(sources, str(out / "{stem}"), "out")), base, **kw)


@pytest.fixture(scope="module")
def single_builds(tmp_path_factory) -> tuple[list[Path], dict[str, bytes]]:
    """Three generated articles and the bytes of their single builds (every format)."""
    tmp = tmp_path_factory.mktemp("single")
    sources = _series(tmp, 3)
    out = tmp / "single"
    for s in sources:
        report = build(BuildRequest(s, out / s.stem, formats=ALL, jobs=2), environ=ENV)
        assert report.exit_code == 0, report
    return sources, _outputs(out)


@pytest.fixture(scope="module")
def cluster():
    """One LocalCluster for the module: two worker processes on 127.0.0.1 only."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, worker_dashboard_address=None) as lc:
        with distributed.Client(lc, set_as_default=False) as client:
            yield lc, client


# --------------------------------------------------------------------------- sources and folders


def test_sources_are_files_folders_and_globs_each_article_once(tmp_path: Path) -> None:
    sources = _series(tmp_path, 3)
    (tmp_path / "series" / "notes.md").write_text("no front matter here\n")
    (tmp_path / "series" / ".hidden").mkdir()
    (tmp_path / "series" / ".hidden" / "x.md").write_text("---\ntitle: X\n---\n")
    found, missing = expand_sources([tmp_path / "series", str(tmp_path / "series" / "article-0[12].md"),
                                     sources[0], tmp_path / "nope.md", str(tmp_path / "none-*.md")])
    assert found == sources
    assert [(d.path, d.message) for d in missing] == [(str(tmp_path / "nope.md"), "source file not found"),
                                                      (str(tmp_path / "none-*.md"), "no source file matches")]


def test_output_folders_by_pattern_and_collisions(tmp_path: Path) -> None:
    a, b = tmp_path / "x" / "article.md", tmp_path / "y" / "article.md"
    assert output_folders([a], None, "out") == [Path("out")]
    for pattern in (None, "out/{stem}"):  # two article.md would write the same files
        with pytest.raises(PublishError) as exc:
            output_folders([a, b], pattern, "out")
        assert exc.value.exit_code == 2 and "{parent}" in exc.value.diagnostics[0].message
    assert output_folders([a, b], "out/{parent}/{stem}", "out") == [Path("out/x/article"), Path("out/y/article")]
    assert output_folders([a, tmp_path / "c.md"], "build", "out") == [Path("build/article"), Path("build/c")]


# --------------------------------------------------------------------------- the same bytes everywhere


def test_a_task_pickles_and_renders_from_its_snapshot_alone(tmp_path: Path, single_builds) -> None:
    """The resolver a task carries serves only its snapshot: with the project
    deleted, a fresh process renders every format to the same bytes, and opens
    no file of the project."""
    sources, expected = single_builds
    proj = tmp_path / "proj"
    shutil.copytree(sources[0].parent, proj / "series")
    shutil.copytree(ROOT / "src" / "publish" / "styles", proj / "styles")
    (proj / "publish.toml").write_text("")
    src = proj / "series" / sources[0].name
    req = BuildRequest(src, tmp_path / "out", formats=ALL, use_cache=False)
    req.out_dir.mkdir()
    a = plan_article(req, settings(req, ENV), lambda *x: None)
    read_article(a)
    blob = tmp_path / "tasks.pickle"
    blob.write_bytes(pickle.dumps(a.tasks()))
    shutil.rmtree(proj)
    log = tmp_path / "opens.log"
    script = textwrap.dedent(f"""
        import os, pickle, sys
        open_log = open({str(log)!r}, "w")
        sys.addaudithook(lambda ev, args: ev == "open" and isinstance(args[0], str)
                         and open_log.write(os.path.abspath(args[0]) + "\\n"))
        from publish.build import run_task
        tasks = pickle.loads(open({str(blob)!r}, "rb").read())
        out = {{fmt: run_task(t) for fmt, t in tasks.items()}}
        open_log.flush()
        sys.stdout.buffer.write(pickle.dumps(out))
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, env=dict(os.environ, **ENV), timeout=300)
    assert r.returncode == 0, r.stderr.decode()
    results = pickle.loads(r.stdout)
    for fmt, (status, payload) in results.items():
        assert status == "ok", payload
        files, _reads = payload
        assert files[""] == expected[f"{src.stem}/{src.stem}.{WRITERS[fmt].extension}"], fmt
    assert not [ln for ln in log.read_text().splitlines() if ln.startswith(str(proj))]


def test_batch_on_local_workers_gives_the_bytes_of_single_builds(tmp_path: Path, single_builds) -> None:
    sources, expected = single_builds
    out = tmp_path / "batch"
    events = []
    report = build_batch(_batch(sources, out), on_event=lambda k, i: events.append(k), environ=ENV)
    assert report.exit_code == 0, [a.all_diagnostics() for a in report.articles]
    assert [a.status for a in report.articles] == ["built"] * 3
    assert _outputs(out) == expected
    assert events.count("format") == 3 * len(ALL) and events.count("article") == 3
    # each article has its own cache entry: a second batch renders nothing
    again = build_batch(_batch(sources, out), environ=ENV)
    assert [a.status for a in again.articles] == ["cached"] * 3


def test_batch_on_a_dask_cluster_gives_the_bytes_of_single_builds(tmp_path: Path, single_builds, cluster) -> None:
    from publish.dask_executor import DaskPool

    sources, expected = single_builds
    _lc, client = cluster
    out = tmp_path / "dask"
    pool = DaskPool(client, timeout=300)
    report = build_batch(_batch(sources, out, executor="dask"), environ=ENV, executor=pool)
    assert report.exit_code == 0, [a.all_diagnostics() for a in report.articles]
    assert _outputs(out) == expected


def test_dask_workers_must_run_the_same_publish(cluster, monkeypatch) -> None:
    import publish
    from publish.dask_executor import ClusterError, check_workers

    _lc, client = cluster
    assert len(check_workers(client)) >= 1
    monkeypatch.setattr(publish, "__version__", "0.0.0-other")
    with pytest.raises(ClusterError) as exc:
        check_workers(client)
    assert exc.value.exit_code == 2
    assert "different publish" in exc.value.diagnostics[0].message


# --------------------------------------------------------------------------- faults


def test_a_worker_killed_mid_batch_has_its_task_retried(tmp_path: Path) -> None:
    from publish.pool import LocalPool

    sources = _series(tmp_path, 4)
    formats = ("docx", "html")
    ref = tmp_path / "ref"
    for s in sources:
        assert build(BuildRequest(s, ref / s.stem, formats=formats, jobs=2), environ=ENV).exit_code == 0
    out = tmp_path / "out"
    pool = LocalPool(2, timeout=300, preload=())
    killed = []

    def kill_a_busy_worker(kind: str, info: dict) -> None:
        if kind == "format" and not killed:
            busy = [s for s in pool.slots if s.key is not None]
            if busy:
                os.kill(busy[0].proc.pid, signal.SIGKILL)
                killed.append(busy[0].key)

    try:
        report = build_batch(_batch(sources, out, formats=formats), on_event=kill_a_busy_worker, environ=ENV,
                             executor=pool)
    finally:
        pool.close()
    assert killed, "no worker was busy to be killed"
    assert report.exit_code == 0, [a.all_diagnostics() for a in report.articles]
    assert _outputs(out) == _outputs(ref)
    assert not [p for p in out.rglob("*") if p.name.endswith((".tmp", ".bak"))]


def test_a_timed_out_task_kills_its_worker_and_the_pool_goes_on(tmp_path: Path) -> None:
    from publish.pool import LocalPool

    src = _series(tmp_path, 1)[0]
    req = BuildRequest(src, tmp_path / "out", formats=("pdf", "docx"), use_cache=False)
    req.out_dir.mkdir()
    a = plan_article(req, settings(req, ENV), lambda *x: None)
    read_article(a)
    tasks = a.tasks()
    with LocalPool(1, timeout=0.3) as pool:
        pid = pool.pids()[0]
        pool.submit("pdf", tasks["pdf"])
        done = []
        while not done:
            done = pool.poll(0.1)
        assert done[0][1] == "error" and "timed out after 0.3 s" in done[0][2][0]["message"]
        assert pool.pids()[0] != pid  # killed and replaced
        pool.timeout = 300
        pool.submit("docx", tasks["docx"])
        done = []
        while not done:
            done = pool.poll(0.1)
        assert done[0][1] == "ok"
        assert done[0][2][0][""] == run_task(tasks["docx"])[1][0][""]


@pytest.mark.parametrize("keep_going", [True, False], ids=["keep-going", "fail-fast"])
def test_one_bad_article_among_good_ones(tmp_path: Path, keep_going: bool) -> None:
    sources = _series(tmp_path, 3)
    bad = sources[0]
    bad.write_text(bad.read_text().replace("ref=review", "ref=missing"))
    out = tmp_path / "out"
    args = [*PUBLISH, "build", str(tmp_path / "series"), "--out", str(out / "{stem}"), "--format", "docx",
            "-j", "2", "--keep-going" if keep_going else "--fail-fast"]
    r = subprocess.run(args, capture_output=True, text=True, env=dict(os.environ, **ENV), timeout=300)
    assert r.returncode == 1, r.stderr
    assert f"{bad}:" in r.stderr and "unknown annotation 'missing'" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (out / bad.stem / f"{bad.stem}.docx").exists()
    built = [s for s in sources[1:] if (out / s.stem / f"{s.stem}.docx").is_file()]
    if keep_going:
        assert built == sources[1:]
        assert "3 articles: 2 built, 0 cached, 1 failed" in r.stderr
    else:
        assert built == []  # the bad one is read first; nothing else is started
        assert "not started" in r.stderr


def test_several_sources_on_the_command_line_with_the_default_folders(tmp_path: Path) -> None:
    sources = _series(tmp_path, 2)
    r = subprocess.run([*PUBLISH, "build", *map(str, sources), "--format", "html", "-q"], cwd=tmp_path,
                       capture_output=True, text=True, env=dict(os.environ, **ENV), timeout=300)
    assert r.returncode == 0, r.stderr
    assert sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "out").rglob("*.html")) == [
        "out/article-01/article-01.html", "out/article-02/article-02.html"]


def test_a_dask_worker_killed_mid_batch_has_its_tasks_rerun(tmp_path: Path, single_builds, cluster) -> None:
    """SIGKILL to a worker process of the LocalCluster while it renders: the
    scheduler reruns its tasks elsewhere; every article is whole and the bytes
    are a single build's."""
    from publish.dask_executor import DaskPool

    sources, expected = single_builds
    _lc, client = cluster
    formats = ("docx", "html")
    out = tmp_path / "dask"
    pool = DaskPool(client, timeout=300)
    killed = []

    def kill_a_worker(kind: str, info: dict) -> None:
        if kind == "format" and not killed:
            pids = client.run(os.getpid)
            addr, pid = sorted(pids.items())[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(addr)

    report = build_batch(_batch(sources, out, formats=formats, executor="dask"), on_event=kill_a_worker,
                         environ=ENV, executor=pool)
    assert killed
    assert report.exit_code == 0, [a.all_diagnostics() for a in report.articles]
    got = _outputs(out)
    assert got == {k: v for k, v in expected.items() if k.endswith((".docx", ".html"))}
    client.wait_for_workers(2, timeout=60)  # the nanny restarts it
