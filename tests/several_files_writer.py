"""A writer that makes two files (for tests/test_build.py: a writer may return several)."""


def render(doc, options, resolver):
    return {"": doc.meta.title.encode(), "_files/a.txt": b"A"}
