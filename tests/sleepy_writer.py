"""A writer that takes 30 s (tests: a time-out on a warm worker)."""

import time


def render(doc, options, resolver):
    time.sleep(30)
    return b"late"
