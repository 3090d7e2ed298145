"""What every writer shares: dates and bylines as readers see them, reproducible zips."""

from __future__ import annotations

import io
import re
import time
import zipfile
from typing import Callable, Iterable


# Han ideographs, CJK punctuation, fullwidth forms, bopomofo: runs set in the CJK
# face and tagged Chinese, for line breaking and glyph choice, in every format.
CJK_RUN = re.compile(
    "[\u2e80-\u2fdf\u3000-\u303f\u3100-\u312f\u31a0-\u31bf\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003134f]+"
)

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
_ZIP_MIN_EPOCH = 315532800  # 1980-01-01: zip cannot date anything earlier


def human_date(iso: str) -> str:
    """'2021-09-20' → '20 September 2021'; '2021-09' → 'September 2021'; else as is."""
    m = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", iso.strip()) if iso else None
    if not m:
        return iso
    y, mo, d = m.groups()
    if mo and 1 <= int(mo) <= 12:
        month = MONTHS[int(mo) - 1]
        return f"{int(d)} {month} {y}" if d else f"{month} {y}"
    return y


def join_names(names: Iterable[str], conjunction: str = "and") -> str:
    """'A' · 'A and B' · 'A, B and C'."""
    names = tuple(names)
    if len(names) <= 2:
        return f" {conjunction} ".join(names)
    return ", ".join(names[:-1]) + f" {conjunction} " + names[-1]


def zip_time(epoch: int) -> tuple[int, int, int, int, int, int]:
    return time.gmtime(max(epoch, _ZIP_MIN_EPOCH))[:6]


def repack_zip(
    data: bytes,
    epoch: int,
    *,
    first: Iterable[str] = (),
    stored: Iterable[str] = (),
    drop: Iterable[str] = (),
    transform: Callable[[str, bytes], bytes] | None = None,
) -> bytes:
    """Rewrite a zip package reproducibly: every entry dated ``epoch``, unix
    attributes, deflated at level 9 (``stored`` entries uncompressed), the
    ``first`` entries first, ``drop`` entries left out, others in their order."""
    when = zip_time(epoch)
    stored, dropped, first = set(stored), set(drop), list(first)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        names = [n for n in src.namelist() if n not in dropped]
        names = [n for n in first if n in names] + [n for n in names if n not in first]
        for name in names:
            body = src.read(name)
            if transform is not None:
                body = transform(name, body)
            info = zipfile.ZipInfo(name, date_time=when)
            info.create_system = 3  # unix, whatever the platform
            info.external_attr = 0o100644 << 16
            if name in stored:
                info.compress_type = zipfile.ZIP_STORED
                dst.writestr(info, body)
            else:
                info.compress_type = zipfile.ZIP_DEFLATED
                dst.writestr(info, body, compresslevel=9)
    return out.getvalue()


# Languages and scripts written right to left (BCP 47 primary and script subtags).
_RTL_LANGS = {"ar", "arc", "ckb", "dv", "fa", "he", "iw", "ku-arab", "ps", "sd", "syr", "ug", "ur", "yi"}
_RTL_SCRIPTS = {"arab", "hebr", "syrc", "thaa", "nkoo", "adlm", "rohg", "mand", "samr"}
_LTR_SCRIPTS = {"latn", "cyrl", "grek", "deva"}


def is_rtl(lang: str) -> bool:
    """Whether text tagged ``lang`` is written right to left (``ar``, ``fa``, ``he``,
    ``az-Arab`` yes; ``ar-Latn`` no): the script subtag decides, else the language."""
    parts = (lang or "").lower().split("-")
    for sub in parts[1:]:
        if len(sub) == 4 and sub.isalpha():
            return sub in _RTL_SCRIPTS
    return parts[0] in _RTL_LANGS
