"""Reading input workbooks: the only place that opens an input file.

The reader returns raw frames: one DataFrame per declared sheet, cells as Excel gave them,
plus a ``_row`` column with the Excel row number so every later message can point at the
cell. Typing and checking happen in :mod:`optimizer.validate`.

Reading rules that live here (the README's "Reading rules" list them for the planner):

- only the cells stored in the file are visited, so a stray value in XFD1048576 costs one
  cell, not a walk over billions of empty ones;
- a merged range counts as its top-left value in every cell it covers;
- a sheet or header that is not declared is ignored without a word when it is an
  annotation name (:data:`~optimizer.schema.ANNOTATION_SHEETS`,
  :data:`~optimizer.schema.ANNOTATION_COLUMNS`), is an error when it is close to a declared
  name ("did you mean ...?"), and is otherwise a warning;
- values under a blank header are an error, and so is any file that is not a readable
  .xlsx package.
"""

from __future__ import annotations

import difflib
import gc
import re
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from .errors import InputError, InputWarning, Problem
from .schema import ANNOTATION_COLUMNS, ANNOTATION_SHEETS, SHEET_BY_NAME

ROW = "_row"
"""Name of the column that carries each record's Excel row number."""

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SEPARATORS = re.compile(r"[\s_\-]+")
CLOSE_CUTOFF = 0.75
"""difflib ratio (on names without case, spaces, hyphens and underscores) above which an
unknown name is taken for a misspelt declared one."""


def _letter(index: int) -> str:
    """0-based column index -> Excel column letters (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# ---------------------------------------------------------------- names


def _squash(name: str) -> str:
    """Case, spaces (also non-breaking), hyphens, underscores and invisible characters out."""
    return _SEPARATORS.sub("", name.translate(_INVISIBLE).lower())


def _abbreviates(found: str, known: str) -> bool:
    """'min_tonnes' ~ 'min_t', 'cap_t' ~ 'capacity_t': word by word, one starts the other."""
    a = [w for w in _SEPARATORS.split(found.translate(_INVISIBLE).lower()) if w]
    b = [w for w in _SEPARATORS.split(known) if w]
    return len(a) == len(b) > 1 and all(x.startswith(y) or y.startswith(x) for x, y in zip(a, b))


def match_name(found: str, known: Iterable[str], annotations: Iterable[str] = ()) -> tuple[str, str | None]:
    """Classify a sheet or header name against the declared ``known`` names.

    Returns ``("known", name)`` for an exact match ignoring case and surrounding spaces,
    ``("annotation", None)`` for an annotation name, ``("close", name)`` for a name that is
    probably a misspelt declared one, else ``("unknown", None)``.
    """
    known = list(known)
    annotations = {a.lower() for a in annotations}
    text = found.strip().lower()
    if text in known:
        return "known", text
    if text in annotations:
        return "annotation", None
    squashed = _squash(found)
    by_squash = {_squash(k): k for k in known}
    if squashed in by_squash:
        return "close", by_squash[squashed]
    if squashed in {_squash(a) for a in annotations}:
        return "annotation", None
    best = difflib.get_close_matches(squashed, list(by_squash), n=1, cutoff=CLOSE_CUTOFF)
    if best:
        return "close", by_squash[best[0]]
    for name in known:
        if _abbreviates(found, name):
            return "close", name
    return "unknown", None


def misspelt(what: str, found: str, suggestion: str) -> str:
    """The 'expected' text of a close-but-unknown name."""
    hidden = " (it contains an invisible character)" if found.translate(_INVISIBLE) != found else ""
    return (f"a known {what}{hidden}: did you mean {suggestion!r}? Rename it (an undeclared "
            f"{what} is not read)")


def unknown(what: str, known: Iterable[str]) -> str:
    """The 'expected' text of a warning about an unknown name."""
    return f"one of the {what}s {', '.join(known)}; it is not read"


def classify_headers(sheet: str, headers: dict[int, str], row: int | None,
                     problems: list[Problem], warnings: list[Problem] | None) -> dict[int, str]:
    """Header text by 0-based position -> declared column by position; reports the others.

    ``row`` is the Excel row of the header (None for DataFrames, which have no cells).
    """
    spec = SHEET_BY_NAME[sheet]
    columns: dict[int, str] = {}
    seen: set[str] = set()
    for i, text in headers.items():
        cell = f"{_letter(i)}{row}" if row is not None else None
        verdict, name = match_name(text, spec.column_names, ANNOTATION_COLUMNS)
        if verdict == "known":
            if name in seen:
                problems.append(Problem(sheet, row, name, text, "each column header once", cell))
            seen.add(name)
            columns[i] = name
        elif verdict == "close":
            problems.append(Problem(sheet, row, None, text, misspelt("column", text, name), cell))
        elif verdict == "unknown" and warnings is not None:
            warnings.append(InputWarning(sheet, row, None, text, unknown(f"column of {sheet}",
                                                                          spec.column_names), cell))
    return columns


def classify_sheets(titles: Iterable[str], problems: list[Problem],
                    warnings: list[Problem] | None) -> dict[str, str]:
    """Sheet titles -> declared sheet name for the titles to read; reports the others.

    A title close to a declared sheet is an error, unless that sheet is present too (a copy
    such as 'demand (2)' or 'demand_old'): then it is a warning.
    """
    titles = list(titles)
    read: dict[str, str] = {}
    later: list[tuple[str, str]] = []
    for title in titles:
        verdict, name = match_name(title, SHEET_BY_NAME, ANNOTATION_SHEETS)
        if verdict == "known":
            if name in read.values():
                problems.append(Problem(title, None, None, title, f"one sheet called {name!r}, found two"))
            else:
                read[title] = name
        elif verdict == "close":
            later.append((title, name))
        elif verdict == "unknown" and warnings is not None:
            warnings.append(InputWarning(title, None, None, title,
                                         unknown("sheet", SHEET_BY_NAME)))
    for title, name in later:
        if name in read.values():
            if warnings is not None:
                warnings.append(InputWarning(title, None, None, title,
                                             f"a known sheet; it looks like a copy of {name!r} "
                                             f"and is not read (the sheet {name!r} is)"))
        else:
            problems.append(Problem(title, None, None, title, misspelt("sheet", title, name)))
    return read


# ---------------------------------------------------------------- workbooks


def read_workbook(path: str | Path, *, warnings: list[Problem] | None = None,
                  problems: list[Problem] | None = None
                  ) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, str]]]:
    """Read every declared sheet of ``path`` into raw frames.

    Returns ``(frames, letters)``: ``letters[sheet][column]`` is the Excel column letter.
    Raises :class:`InputError` for a missing or unreadable file. Problems with names and
    cells (misspelt sheets and headers, values under a blank header, formulas without a
    cached value) are appended to ``problems`` when given, so that validation can list
    them with its own; without it they are raised here, all at once. Warnings (unknown
    names) are appended to ``warnings`` when given.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"input file not found: {path}")
    if path.is_dir():
        raise InputError(f"input path is a folder, expected an .xlsx file: {path}")
    if path.suffix.lower() not in WORKBOOK_SUFFIXES:
        old = " (.xls is Excel's old format)" if path.suffix.lower() == ".xls" else ""
        raise InputError(f"cannot read {path}: expected an Excel workbook (.xlsx), got a "
                         f"{path.suffix or 'file without an extension'}{old}. Save it in "
                         "Excel as 'Excel Workbook (*.xlsx)'.")
    found: list[Problem] = []
    frames: dict[str, pd.DataFrame] = {}
    letters: dict[str, dict[str, str]] = {}
    part = "the workbook structure"
    try:
        with _gc_paused():
            with _Book(path) as wb:
                sheets = {ws.title: ws for ws in wb.worksheets}
                for title, name in classify_sheets(sheets, found, warnings).items():
                    ws = sheets[title]
                    part = ws.part
                    frames[name], letters[name] = _read_sheet(name, ws, found, warnings)
    except Exception as exc:  # noqa: BLE001 - any parse failure of a user's file is a user error
        raise InputError(
            f"cannot read {path} as an Excel workbook (.xlsx): {part} is damaged or not what "
            f"Excel writes ({type(exc).__name__}: {exc}). Open it in Excel and save it as "
            "'Excel Workbook (*.xlsx)'."
        ) from None
    if problems is not None:
        problems.extend(found)
    elif found:
        raise InputError(found, source=str(path))
    return frames, letters


WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm")
"""What Excel saves as an Office Open XML workbook."""


# ---------------------------------------------------------------- the package
#
# The parts of the .xlsx package the reader needs, found the way openpyxl finds them (its
# reader/excel.py, reader/workbook.py, packaging/relationship.py and styles/), with the
# standard library: importing openpyxl is a tenth of a 1,000-scenario sweep.
# tests/test_reader_trust.py holds these equal to openpyxl's on many workbooks.

_PKG = "{http://schemas.openxmlformats.org/package/2006/}"
_CONTENT, _RELS = _PKG.replace("}", "content-types}"), _PKG.replace("}", "relationships}")
_DOC_RELS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_SPREADSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.{}"
WORKBOOK_TYPES = tuple(_SPREADSHEET.format(f"{kind}.main+xml") for kind in ("template", "sheet"))
WORKBOOK_TYPES = ("application/vnd.ms-excel.template.macroEnabled.main+xml",
                  "application/vnd.ms-excel.sheet.macroEnabled.main+xml", *WORKBOOK_TYPES)
"""xltm, xlsm, xltx, xlsx: the order in which openpyxl looks for the workbook part."""
SHARED_STRINGS_TYPE = _SPREADSHEET.format("sharedStrings+xml")

# Excel's built-in number formats that show dates or times (openpyxl's BUILTIN_FORMATS);
# the other built-in ids show numbers.
BUILTIN_DATE_FORMATS = {14: "mm-dd-yy", 15: "d-mmm-yy", 16: "d-mmm", 17: "mmm-yy",
                        18: "h:mm AM/PM", 19: "h:mm:ss AM/PM", 20: "h:mm", 21: "h:mm:ss",
                        22: "m/d/yy h:mm", 45: "mm:ss", 46: "[h]:mm:ss", 47: "mmss.0"}
_FORMAT_NOISE = re.compile(r'".*?"|\[(?!hh?\]|mm?\]|ss?\])[^\]]*\]')  # quoted text, [colours]
_DATE_CODE = re.compile(r"(?<![_\\])[dmhysDMHYS]")
_DURATION_CODE = re.compile(r"\[hh?\](:mm(:ss(\.0*)?)?)?|\[mm?\](:ss(\.0*)?)?|\[ss?\](\.0*)?",
                            re.I)
WINDOWS_EPOCH, MAC_EPOCH = (1899, 12, 30), (1904, 1, 1)


def is_date_format(code: str | None) -> bool:
    """A number format that shows a date or a time (as openpyxl decides)."""
    return code is not None and _DATE_CODE.search(_FORMAT_NOISE.sub("", code.split(";")[0])) is not None


def is_duration_format(code: str | None) -> bool:
    """A number format that shows elapsed time, such as ``[h]:mm``."""
    return code is not None and _DURATION_CODE.search(code.split(";")[0]) is not None


class _Sheet:
    """One worksheet of a :class:`_Book`: its title and zip part."""

    def __init__(self, book: _Book, title: str, part: str):
        self.book, self.title, self.part = book, title, part

    def open(self):
        return self.book.zip.open(self.part)


class _Book:
    """An .xlsx package: its worksheets in order, shared strings, the cell styles that are
    dates or durations, and the date epoch."""

    def __init__(self, path: Path):
        import zipfile
        from xml.etree.ElementTree import fromstring

        self.zip = zipfile.ZipFile(path)
        try:
            names = set(self.zip.namelist())
            content = fromstring(self.zip.read("[Content_Types].xml"))
            overrides: dict[str, str] = {}
            for item in content.iter(_CONTENT + "Override"):
                overrides.setdefault(item.get("ContentType", ""), item.get("PartName", ""))
            defaults = {item.get("ContentType") for item in content.iter(_CONTENT + "Default")}
            main = next((overrides[t] for t in WORKBOOK_TYPES if t in overrides), None)
            if main is None:
                if not defaults & set(WORKBOOK_TYPES):
                    raise OSError("File contains no valid workbook part")
                main = "/xl/workbook.xml"
            main = main[1:]
            strings = overrides.get(SHARED_STRINGS_TYPE)
            self.strings = self._strings(strings[1:]) if strings else []
            workbook = fromstring(self.zip.read(main))
            props = workbook.find(_NS + "workbookPr")
            mac = props is not None and props.get("date1904", "").strip().lower() in ("1", "true")
            import datetime

            self.epoch = datetime.datetime(*(MAC_EPOCH if mac else WINDOWS_EPOCH))
            rels = self._relationships(main)
            self.worksheets = []
            for sheet in workbook.iter(_NS + "sheet"):
                rid = sheet.get(_DOC_RELS + "id")
                if not rid:  # openpyxl drops such a sheet element too (with a warning)
                    continue
                rel = rels[rid]  # a sheet without its part: the package is damaged
                if rel[1] in names and "chartsheet" not in rel[0]:
                    self.worksheets.append(_Sheet(self, sheet.get("name", ""), rel[1]))
            self.date_styles, self.duration_styles = self._date_styles(names)
        except BaseException:
            self.zip.close()
            raise

    def __enter__(self) -> _Book:
        return self

    def __exit__(self, *exc) -> None:
        self.zip.close()

    def _relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """{id: (type, target part)} of a part's relationships, targets made absolute."""
        import posixpath
        from xml.etree.ElementTree import fromstring

        folder, name = posixpath.split(part)
        path = posixpath.join(folder, "_rels", f"{name}.rels")
        out = {}
        for rel in fromstring(self.zip.read(path)).iter(_RELS + "Relationship"):
            target = rel.get("Target", "")
            if rel.get("TargetMode") != "External":
                target = target[1:] if target.startswith("/") else \
                    posixpath.normpath(posixpath.join(folder, target))
            out[rel.get("Id", "")] = (rel.get("Type", ""), target)
        return out

    def _strings(self, part: str) -> list[str]:
        """The shared strings: each item's text, or its rich-text runs' text joined."""
        from xml.etree.ElementTree import iterparse

        out = []
        with self.zip.open(part) as src:
            for _, el in iterparse(src):
                if el.tag == _NS + "si":
                    plain = el.findtext(_T)
                    runs = "".join(r.findtext(_T) or "" for r in el.findall(_R))
                    out.append(((plain or "") + runs).replace("x005F_", ""))
                    el.clear()
        return out

    def _date_styles(self, names: set[str]) -> tuple[set[int], set[int]]:
        """The cell style indexes whose number format is a date (and those that are durations)."""
        from xml.etree.ElementTree import fromstring

        if "xl/styles.xml" not in names:
            return set(), set()
        styles = fromstring(self.zip.read("xl/styles.xml"))
        custom = {}
        for fmt in styles.iter(_NS + "numFmt"):
            custom[int(fmt.get("numFmtId", "0"))] = fmt.get("formatCode")
        xfs = styles.find(_NS + "cellXfs")
        dates, durations = set(), set()
        for index, xf in enumerate(xfs if xfs is not None else []):
            number = int(xf.get("numFmtId", "0"))
            code = custom[number] if number in custom else BUILTIN_DATE_FORMATS.get(number)
            if is_date_format(code):
                dates.add(index)
            if is_duration_format(code):
                durations.add(index)
        return dates, durations


_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_CELL, _ROW_TAG, _MERGE = _NS + "c", _NS + "row", _NS + "mergeCell"
_V, _F, _IS, _T, _R = _NS + "v", _NS + "f", _NS + "is", _NS + "t", _NS + "r"
_ADDRESS = re.compile(r"([A-Z]{1,3})(\d+)$")
_COLUMN_INDEX: dict[str, int] = {}


def _column_index(letters: str) -> int:
    """'A' -> 0, 'AA' -> 26 (cached: a sheet has few distinct columns)."""
    index = _COLUMN_INDEX.get(letters)
    if index is None:
        index = 0
        for ch in letters:
            index = index * 26 + ord(ch) - 64
        index = _COLUMN_INDEX[letters] = index - 1
    return index


def _inline_text(element) -> str:
    """The text of an inline string: its <t>, or the <t> of each rich-text run."""
    node = element.find(_IS)
    if node is None:
        return ""
    text = node.findtext(_T)
    if text is not None:
        return text
    return "".join(run.findtext(_T) or "" for run in node.findall(_R))


@contextmanager
def _gc_paused():
    """Pause cyclic GC: a read allocates a tuple per cell, and GC passes would only rescan
    them (on 10^5 demand rows the read takes about a third of the time with GC paused)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _cell_value(el, strings, dates: set, durations: set, epoch) -> tuple | None:
    """(cached value, formula or None) of one <c> element; None for an empty cell.

    Values are what openpyxl would give: numbers, text, booleans, dates, and Excel errors
    as their text ('#REF!'). The formula is kept only when there is no cached value.
    """
    kind = el.get("t", "n")
    text = el.findtext(_V)
    if kind == "inlineStr":
        value = _inline_text(el)
    elif not text:
        value = None
    elif kind == "n":
        value = float(text) if ("." in text or "E" in text or "e" in text) else int(text)
        style = el.get("s")
        if style and int(style) in dates:
            from openpyxl.utils.datetime import from_excel

            value = from_excel(value, epoch, timedelta=int(style) in durations)
    elif kind == "s":
        value = strings[int(text)]
    elif kind == "b":
        value = text.strip() in ("1", "true")
    elif kind == "d":
        from openpyxl.utils.datetime import from_ISO8601

        value = from_ISO8601(text)
    else:  # "str" (a formula's text result) and "e" (an error such as #REF!)
        value = text
    if value is None or value == "":
        # t="str" with an empty <v> is a formula whose cached result is ""; openpyxl writes
        # an uncalculated formula as <v/> without t="str"
        formula = el.find(_F) if kind not in ("str", "inlineStr") or text is None else None
        if formula is not None:
            return None, "=" + (formula.text or "")
        return None
    return value, None


def _sheet_cells(ws) -> tuple[dict[int, dict[int, tuple]], list[str]]:
    """The cells stored in one sheet's XML: {row: {col: (value, formula)}} and merged ranges.

    Only stored cells are visited (openpyxl's ``iter_rows`` fills every gap up to the
    sheet's dimension, and its cell parser costs about twice this one). Columns are 0-based.
    """
    from xml.etree.ElementTree import iterparse

    wb = ws.book
    book = (wb.strings, wb.date_styles, wb.duration_styles, wb.epoch)
    rows: dict[int, dict[int, tuple]] = {}
    ranges: list[str] = []
    loose: list[tuple[int, tuple]] = []  # cells without an address, placed at their row's end
    last_row, col = 0, -1
    with ws.open() as src:
        for _, el in iterparse(src):
            tag = el.tag
            if tag == _CELL:
                place = _ADDRESS.match(el.get("r") or "")
                col = _column_index(place[1]) if place else col + 1
                cell = _cell_value(el, *book)
                if cell is not None:
                    if place:
                        rows.setdefault(int(place[2]), {})[col] = cell
                    else:
                        loose.append((col, cell))
                el.clear()
            elif tag == _ROW_TAG:
                number = el.get("r")
                last_row = int(number) if number and number.isdigit() else last_row + 1
                if loose:
                    rows.setdefault(last_row, {}).update(loose)
                    loose.clear()
                col = -1
                el.clear()
            elif tag == _MERGE:
                ranges.append(el.get("ref", ""))
    return rows, [r for r in ranges if r]


def _fill_merged(rows: dict[int, dict[int, tuple]], ranges: list[str]) -> None:
    """Give every cell of a merged range its top-left value.

    Only rows that hold a stored cell and columns that hold one somewhere are filled, so a
    merge over a whole sheet costs what the data costs.
    """
    from bisect import bisect_left, bisect_right

    order = sorted(rows)
    columns = sorted({c for cells in rows.values() for c in cells})
    for ref in ranges:
        corners = [_ADDRESS.match(corner.replace("$", "")) for corner in ref.split(":")]
        if len(corners) != 2 or not all(corners):
            raise ValueError(f"merged range {ref!r} is not two cell addresses")
        (min_col, min_row), (max_col, max_row) = ((_column_index(m[1]) + 1, int(m[2]))
                                                  for m in corners)
        top_left = rows.get(min_row, {}).get(min_col - 1)
        if top_left is None:
            continue
        cols = columns[bisect_left(columns, min_col - 1):bisect_right(columns, max_col - 1)]
        for r in order[bisect_left(order, min_row):bisect_right(order, max_row)]:
            for c in cols:
                rows[r][c] = top_left


def _read_sheet(name: str, ws, problems: list[Problem], warnings: list[Problem] | None
                ) -> tuple[pd.DataFrame, dict[str, str]]:
    """Header = first row with a stored value; every later row with a value is a record."""
    rows, ranges = _sheet_cells(ws)
    _fill_merged(rows, ranges)
    order = sorted(rows)
    if not order:
        return pd.DataFrame(columns=[ROW]), {}
    header_row = order[0]
    header = {c: str(v).strip() for c, (v, _) in rows[header_row].items() if not _blank(v)}
    columns = classify_headers(name, header, header_row, problems, warnings)
    blank_under: dict[int, int] = {}
    records: list[dict] = []
    for r in order[1:]:
        cells = rows[r]
        record: dict = {}
        for c, (value, formula) in cells.items():
            col = columns.get(c)
            if col is None:
                if c not in header and not (_blank(value) and not formula):
                    blank_under.setdefault(c, r)
                continue
            if formula and value is None:
                problems.append(Problem(
                    name, r, col, formula, "a value: this formula has no cached result. Open and "
                    "save the file in Excel, or type the number", cell=f"{_letter(c)}{r}"))
            record[col] = value
        if any(not _blank(v) for v in record.values()) or any(
                f for c, (_, f) in cells.items() if c in columns):
            record[ROW] = r
            records.append(record)
    for c, r in sorted(blank_under.items()):
        problems.append(Problem(name, header_row, None, None,
                                f"a column name: values under a blank header (first at "
                                f"{_letter(c)}{r})", cell=f"{_letter(c)}{header_row}"))
    names = list(dict.fromkeys(columns.values()))
    frame = pd.DataFrame.from_records(records, columns=[ROW, *names]).astype(object)
    first = {}
    for c, col in sorted(columns.items()):
        first.setdefault(col, _letter(c))
    return frame, first
