"""The audit hook the hostile-input and corpus tests install in every process of a build.

Installed as sitecustomize (PYTHONPATH), so every Python process of the build (the
CLI and its spawned format workers) records what it opens, connects to or runs.
"""

from __future__ import annotations

import re
import textwrap

AUDIT = textwrap.dedent('''
    import os, sys
    if os.environ.get("PUBLISH_AUDIT_LOG"):
        LOG = os.open(os.environ["PUBLISH_AUDIT_LOG"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        def hook(event, args):
            if event == "open" and isinstance(args[0], (str, bytes)):
                p = os.fsdecode(args[0])
                os.write(LOG, ("open\\t" + os.path.abspath(p) + "\\n").encode("utf-8", "replace"))
            elif event.startswith("socket.") or event in ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn"):
                os.write(LOG, (event + "\\t" + repr(args)[:200] + "\\n").encode("utf-8", "replace"))
        sys.addaudithook(hook)
''')


def library_probe(event: str) -> bool:
    """WeasyPrint's cffi asks ldconfig/ld where libpango & co. live when it is imported
    (input-independent): the one process a build may start."""
    return bool(re.match(r"subprocess\.Popen\t\('(/sbin/ldconfig|ld|gcc|cc|x86_64-linux-gnu-gcc|/usr/bin/ld|"
                         r"/usr/bin/gcc|/usr/bin/cc)', \[", event))
