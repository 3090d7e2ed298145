"""A writer that reports at INFO to the ``publish`` logger (tests: the info channel
and ``--verbose``). Its one file is the document's title."""

import logging
import os

log = logging.getLogger("publish.infotest")


def render(doc, options, resolver):
    log.info("INFO: %d layout, %s", 1, "3 mends")
    log.info("worker pid %d", os.getpid())
    log.debug("a debug line: never shipped")
    logging.getLogger("elsewhere").info("another logger's line: never shipped")
    return doc.meta.title.encode()
