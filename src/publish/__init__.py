"""publish: one semantic article source to PDF, EPUB 3 and DOCX."""

__version__ = "0.1.0"
