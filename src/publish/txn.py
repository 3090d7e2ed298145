"""All-or-nothing replacement of a set of files: the outputs of one build and
its cache manifest.

POSIX renames one file atomically, never several. So a set is replaced as a
small transaction with an *undo journal*, run only under the build lock:

1. **prepare** — every new file is written to a temporary file beside its
   target (``.<name>.publish-<token>.tmp``) and fsynced; every target that
   exists gets a hard link as its backup (``.<name>.publish-<token>.bak``: no
   data is copied, the old bytes stay where they are);
2. **journal** — ``.publish-txn.json`` in the output folder lists each target,
   its temporary file and its backup; it is written to a temporary file,
   fsynced, renamed into place and the folder fsynced;
3. **swap** — each temporary file is renamed over its target; the folders are
   fsynced;
4. **commit** — the journal is removed and the folder fsynced: from here on
   the new set is the set; the backups are then removed.

Any failure before step 4 (no space at a write, a failed fsync, link or
rename) rolls back in the process: renamed targets get their backups back
(a rename over an existing name needs no space), targets that did not exist
are removed, temporary files and backups are deleted; the previous set is
byte-identical, mtimes included (the backup *is* the old file). A process killed
before step 4 leaves the journal behind: :func:`recover`, which every build
runs first under the lock, rolls it back the same way. A process killed after
step 4 left a complete new set and perhaps some backups, which ``recover``
deletes. Either way no mixed set is ever seen by a later build, and no
temporary file outlives the next build.

Every file-system call goes through the ``os`` module (``os.open``,
``os.write``, ``os.fsync``, ``os.link``, ``os.replace``), so that the tests can
inject a fault at each step.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

JOURNAL = ".publish-txn.json"
_MARK = ".publish-"  # every temporary name holds it: .<name>.publish-<token>.tmp|.bak


class CommitError(OSError):
    """A commit failed and was rolled back; ``path`` is the file it was writing."""

    def __init__(self, path: Path, cause: OSError):
        super().__init__(cause.errno, cause.strerror or str(cause))
        self.path = Path(path)
        self.cause = cause


@dataclass
class _Entry:
    target: Path
    tmp: Path
    backup: Path | None = None
    swapped: bool = False


def _temp_name(target: Path, token: str, suffix: str) -> Path:
    return target.parent / f".{target.name}{_MARK}{token}{suffix}"


def write_file(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Create ``path`` (must not exist) with ``data``, fsynced."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as exc:  # some file systems cannot sync a folder; that is not a failure
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _backup(target: Path, backup: Path) -> bool:
    """Hard-link ``target`` to ``backup``; False if there is no target. Copies
    where the file system has no hard links."""
    try:
        os.link(target, backup, follow_symlinks=False)
        return True
    except FileNotFoundError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV):
            raise
    with open(target, "rb") as fh:
        write_file(backup, fh.read())
    return True


def commit(out_dir: Path, files: dict[Path, bytes],
           late: Callable[[dict[Path, os.stat_result]], dict[Path, bytes]] | None = None) -> None:
    """Replace every file in ``files`` (paths in or under ``out_dir``) or none.

    ``late``, if given, is called once the files are written (with the stat of
    each, as it will stand after its rename) and returns more files for the
    same transaction (the cache manifest, which records those stats).
    Raises :class:`CommitError` after rolling back."""
    out_dir = Path(out_dir)
    if not files and late is None:
        return
    token = secrets.token_hex(4)
    entries: list[_Entry] = []
    journal = out_dir / JOURNAL
    journal_tmp = _temp_name(journal, token, ".tmp")
    current = out_dir
    committed = False

    def prepare(items: dict[Path, bytes]) -> None:
        nonlocal current
        for target, data in items.items():
            e = _Entry(Path(target), _temp_name(Path(target), token, ".tmp"))
            current = e.target
            if not e.target.parent.is_dir():
                os.mkdir(e.target.parent)
            entries.append(e)
            write_file(e.tmp, data)
            bak = _temp_name(e.target, token, ".bak")
            if _backup(e.target, bak):
                e.backup = bak

    try:
        prepare(files)  # 1. prepare
        if late is not None:
            prepare(late({e.target: os.stat(e.tmp) for e in entries}))
        folders = sorted({e.target.parent for e in entries} | {out_dir})
        current = journal  # 2. journal
        record = {"version": 1, "entries": [
            {"target": os.path.relpath(e.target, out_dir), "tmp": os.path.relpath(e.tmp, out_dir),
             "backup": os.path.relpath(e.backup, out_dir) if e.backup else None} for e in entries]}
        write_file(journal_tmp, json.dumps(record, indent=1).encode("utf-8"))
        os.replace(journal_tmp, journal)
        for d in folders:
            fsync_dir(d)
        for e in entries:  # 3. swap
            current = e.target
            os.replace(e.tmp, e.target)
            e.swapped = True
        for d in folders:
            fsync_dir(d)
        current = journal  # 4. commit
        os.unlink(journal)
        committed = True
        fsync_dir(out_dir)
    except BaseException as exc:
        if not committed:
            _rollback(entries, journal, journal_tmp)
        if isinstance(exc, OSError) and not committed:
            raise CommitError(current, exc) from exc
        if not isinstance(exc, OSError):
            raise
        # the journal is gone: the new set is in place, only its durability is in doubt
    for e in entries:
        if e.backup is not None:
            try:
                _unlink(e.backup)
            except OSError:
                pass  # removed by the next build's recover()


def _rollback(entries: list[_Entry], journal: Path, journal_tmp: Path) -> None:
    """Undo a commit in this process; what cannot be undone now is left to
    :func:`recover` (the journal stays until the set is whole again)."""
    try:
        for e in reversed(entries):
            if e.swapped:
                if e.backup is not None:
                    os.replace(e.backup, e.target)
                    e.backup = None
                else:
                    _unlink(e.target)
                e.swapped = False
        for e in entries:
            _unlink(e.tmp)
            if e.backup is not None:
                _unlink(e.backup)
        _unlink(journal_tmp)
        _unlink(journal)
        fsync_dir(journal.parent)
    except OSError:
        pass


def recover(out_dir: Path, extra_dirs: tuple[Path, ...] = ()) -> bool:
    """Finish what a killed build left: roll back an interrupted commit (its
    journal), then delete every temporary file and backup of ours. True if a
    commit was rolled back. Run under the build lock only."""
    out_dir = Path(out_dir)
    journal = out_dir / JOURNAL
    rolled = False
    try:
        record = json.loads(journal.read_bytes())
        entries = record["entries"]
    except FileNotFoundError:
        entries = None
    except (OSError, ValueError, KeyError, TypeError):
        entries = []  # unreadable: it was never complete (it is renamed into place whole)
    if entries is not None:
        for e in entries:
            target = out_dir / e["target"]
            if e.get("backup"):
                backup = out_dir / e["backup"]
                if os.path.lexists(backup):
                    os.replace(backup, target)
            else:  # there was no file: whatever stands there now is the new one
                try:
                    if stat.S_ISREG(os.lstat(target).st_mode):
                        _unlink(target)
                except FileNotFoundError:
                    pass
            _unlink(out_dir / e["tmp"])
        for d in {out_dir, *((out_dir / e["target"]).parent for e in entries)}:
            fsync_dir(d)
        _unlink(journal)
        fsync_dir(out_dir)
        rolled = True
    for d in (out_dir, *extra_dirs):
        remove_leftovers(d)
    return rolled


def remove_leftovers(folder: Path) -> None:
    """Temporary files and backups of ours (``.<name>.publish-<token>.tmp|.bak``)."""
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in names:
        if name.startswith(".") and _MARK in name and name.endswith((".tmp", ".bak")):
            _unlink(Path(folder) / name)
