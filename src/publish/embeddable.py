"""Images a writer would refuse, predicted before rendering (``publish check``).

The reader accepts only real PNG, JPEG and GIF files of sane size; a few of
those still cannot be embedded by one writer. Each is asked here with that
writer's own rules:

* DOCX: python-docx parses the header itself. It refuses a JPEG without a JFIF
  or Exif segment (CMYK JPEGs from some editors) and divides by a resolution
  that rounds to 0 dpi (a PNG ``pHYs`` under 20 pixels per metre).
* PDF: WeasyPrint writes RGB, grey and CMYK images (after turning 1-bit,
  palette and 32-bit ones into RGB); any other mode (16-bit PNGs) is a warning
  the PDF writer refuses.
"""

from __future__ import annotations

import io
import warnings

PDF_MODES = ("RGB", "RGBA", "L", "LA", "CMYK")


def docx_problem(data: bytes) -> str | None:
    """Why python-docx cannot embed these bytes, or None."""
    try:
        from docx.image.exceptions import UnrecognizedImageError
        from docx.image.image import Image
    except ImportError:  # the DOCX writer is not installed: nothing to predict
        return None
    try:
        img = Image.from_blob(data)
        _ = (img.width, img.height)
    except UnrecognizedImageError:
        return ("the DOCX writer cannot read its header (a JPEG without a JFIF or Exif segment, "
                "e.g. CMYK?); re-save it as an RGB JPEG or a PNG")
    except ZeroDivisionError:
        return "the DOCX writer cannot size it: its resolution is under 1 dpi; re-save it at 72 dpi or more"
    except Exception as exc:  # noqa: BLE001 - whatever python-docx raises, the DOCX would fail
        return f"the DOCX writer cannot embed it ({type(exc).__name__}: {exc})"
    return None


def pdf_problem(data: bytes) -> str | None:
    """Why WeasyPrint would not write these bytes as a PDF image, or None."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                mode = im.mode
                if "transparency" in im.info:
                    mode = "RGBA"
                elif mode in ("1", "P", "I"):
                    mode = "RGB"
    except Exception:  # noqa: BLE001 - the reader has already judged the file
        return None
    if mode not in PDF_MODES:
        return f"the PDF cannot hold a {mode} image (16-bit or unusual colour mode); save it as 8-bit RGB or greyscale"
    return None


PROBLEMS = {"docx": docx_problem, "pdf": pdf_problem}
