"""A writer whose worker is slow to shut down (tests/test_build.py: a result is
used before its worker has exited). Its one file is the worker's pid."""

import atexit
import os
import time


def render(doc, options, resolver):
    atexit.register(time.sleep, 3)  # a spawned worker runs its atexit handlers when it ends
    return str(os.getpid()).encode()
