"""Dates as people write them: ISO 8601 preferred, other unambiguous forms read.

``read_date(text)`` returns ``(iso, problem)``:

* ISO (``2006``, ``2006-07``, ``2006-07-17``, or a date-time whose date part is
  taken): ``("2006-07-17", None)``;
* an unambiguous other form (``July 17, 2006``, ``Mon, 17 Jul 2006``,
  ``17th July 2006``, ``July 2006``, ``2006/07/17``, ``17.07.2006``,
  ``07/17/2006`` where one number is above 12): the ISO form and a note saying it
  was read as such (the caller warns; the original text is kept for display);
* anything else, or an ambiguous form such as ``03/04/2006``: ``("", reason)``.
"""

from __future__ import annotations

import datetime as dt
import re

MONTHS = {
    name: n
    for n, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
         ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
         ("october", "oct"), ("november", "nov"), ("december", "dec")], start=1)
    for name in names
}
_WEEKDAY = r"(?:(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|rsday|urday)?\.?,?\s+)?"
_MONTH = r"(?P<month>[a-z]+)\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>\d{4})"
_ISO = re.compile(r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?)?)?$")
_WORDY = [
    re.compile(rf"^{_WEEKDAY}{_MONTH}\s+{_DAY},?\s+{_YEAR}$", re.I),  # July 17, 2006
    re.compile(rf"^{_WEEKDAY}{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}$", re.I),  # 17 July 2006
    re.compile(rf"^{_MONTH},?\s+{_YEAR}$", re.I),  # July 2006
    re.compile(rf"^{_YEAR}\s+{_MONTH}\s+{_DAY}$", re.I),  # 2006 July 17
]
_YMD = re.compile(r"^(?P<year>\d{4})[/.](?P<month>\d{1,2})[/.](?P<day>\d{1,2})$")  # 2006/07/17
_XXY = re.compile(r"^(?P<a>\d{1,2})(?P<sep>[/.])(?P<b>\d{1,2})(?P=sep)(?P<year>\d{4})$")  # 17/07/2006


def _iso(year: int, month: int | None = None, day: int | None = None) -> str | None:
    try:
        dt.date(year, month or 1, day or 1)
    except ValueError:
        return None
    if month is None:
        return f"{year:04d}"
    if day is None:
        return f"{year:04d}-{month:02d}"
    return f"{year:04d}-{month:02d}-{day:02d}"


def read_date(text: str) -> tuple[str, str | None]:
    """(ISO date or "", None if it was ISO else a sentence for the warning)."""
    s = re.sub(r"\s+", " ", text.strip())
    m = _ISO.match(s)
    if m:
        iso = _iso(int(m["year"]), int(m["month"]) if m["month"] else None, int(m["day"]) if m["day"] else None)
        if iso is None:
            return "", f"'{text}' is not a date in the calendar"
        return iso, None
    for pat in _WORDY:
        m = pat.match(s)
        if m:
            month = MONTHS.get(m["month"].lower())
            if month is None:
                break
            day = int(m["day"]) if "day" in m.groupdict() and m["day"] else None
            iso = _iso(int(m["year"]), month, day)
            if iso is None:
                return "", f"'{text}' is not a date in the calendar"
            return iso, f"read '{text}' as {iso}"
    m = _YMD.match(s)
    if m:
        iso = _iso(int(m["year"]), int(m["month"]), int(m["day"]))
        if iso:
            return iso, f"read '{text}' as {iso}"
        return "", f"'{text}' is not a date in the calendar"
    m = _XXY.match(s)
    if m:
        a, b, year = int(m["a"]), int(m["b"]), int(m["year"])
        readings = {x for x in (_iso(year, b, a), _iso(year, a, b)) if x}  # day first, month first
        if len(readings) == 1 and (a > 12 or b > 12 or a == b):
            iso = readings.pop()
            return iso, f"read '{text}' as {iso}"
        if len(readings) == 2:
            d1, d2 = sorted(readings)
            return "", f"'{text}' is ambiguous (day first or month first: {d1} or {d2})"
        return "", f"'{text}' is not a date in the calendar"
    return "", f"'{text}' is not a date publish can read"
