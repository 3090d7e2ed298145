"""Writers: the model to PDF, EPUB and DOCX (HTML fragments shared by PDF and EPUB)."""
