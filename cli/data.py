"""The one way camino reads and writes a table.

Every CSV camino touches goes through :func:`read_table`: the public train and
validate files in a participant's folder, the internal data and any data a
maintainer brings. These are the rules, the only dtype rules camino has:

* **Encoding** - UTF-8. A leading UTF-8 byte-order mark is accepted and
  stripped. UTF-16/UTF-32 (a BOM ``FF FE`` / ``FE FF`` or many NUL bytes), NUL
  bytes, invalid UTF-8 and a BOM later in the file (two files concatenated)
  are errors that name the line.
* **Delimiter** - ``,``, ``"`` quotes fields, ``""`` is a quote inside a
  quoted field. Line ends may be ``\\n``, ``\\r\\n`` or ``\\r``. A header that
  reads as one column but contains ``;`` or a tab is reported as a wrong
  delimiter. Only a maintainer's source (``source: {csv: PATH, sep: ";",
  decimal: ","}`` in playbook.yml) may name another delimiter and decimal
  mark; everything camino writes uses ``,`` and ``.``.
* **Header** - the first non-blank line. Every name must be non-empty (an
  empty first name is a saved row index), unique and free of
  leading/trailing whitespace. Nothing is renamed or stripped.
* **Rows** - at least one; each has as many fields as the header. Blank
  lines (empty or only spaces/tabs) are skipped, as pandas does.
* **Values** - pandas' default inference: numbers become int64/float64,
  ``True``/``False`` bool, everything else text (``str``; ``object`` before
  pandas 3). An empty cell and pandas' default NA strings (``NA``, ``nan``,
  ...) are NaN. Columns named in ``text`` (a playbook's ``id``) stay text,
  so the ID ``007`` is not the number 7. Text is not stripped, but a text
  column whose values differ only by surrounding whitespace (``" setosa"``
  next to ``"setosa"``) is an error, because it would make a phantom class.

:func:`write_table` writes what :func:`read_table` reads back exactly.
Errors are :class:`~camino.errors.DataError`; each message starts with the
file's display name (and line, where known), says what was expected and how
to fix it.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import io
import os
import re
import secrets
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

import pandas as pd

from camino.errors import DataError

UTF8_BOM = b"\xef\xbb\xbf"
RESAVE = "re-save it as 'CSV UTF-8'"

# The same line ends csv (newline="") and pandas split on.
_NEWLINE = re.compile(rb"\r\n|\r|\n")
# pandas names an empty header cell "Unnamed: N"; a file written from such a
# frame carries the name on (pandas-dev/pandas#13017).
_UNNAMED = re.compile(r"Unnamed: \d+")
# How much of the start of a file the NUL-byte share is measured on.
_SNIFF_BYTES = 4096


class _Records(Protocol):
    """What camino uses of a csv reader (the class is private to _csv)."""

    line_num: int

    def __next__(self) -> list[str]: ...


def read_table(
    path: Path | str,
    *,
    name: str | None = None,
    required: Sequence[str] = (),
    text: Sequence[str] = (),
    delimiter: str = ",",
    decimal: str = ".",
) -> pd.DataFrame:
    """Read a CSV by the rules above; ``name`` is how messages call the file.

    ``required`` lists columns that must be present, ``text`` columns read as
    text whatever they look like.
    """
    shown = str(path) if name is None else name
    content = _decode(_read_bytes(Path(path), shown), shown)
    header = _scan(content, shown, delimiter)
    _check_required(header, required, shown)

    frame = _parse(content, shown, delimiter, decimal, text)
    _check_text_values(frame, shown)
    return frame


def write_table(frame: pd.DataFrame, path: Path | str) -> None:
    """Write ``frame`` without its index: UTF-8 without BOM, ``,``, ``\\n``,
    floats at repr precision, so :func:`read_table` reads numbers back exactly
    (an empty string comes back as NaN, and a frame without rows as an error).

    The file is replaced atomically, so a reader never sees half of it.
    """
    target = Path(path)
    _check_writable_names(frame, target)
    text = frame.to_csv(index=False, lineterminator="\n")
    _replace_atomically(text.encode("utf-8"), target)


def check_same_columns(
    a: pd.DataFrame,
    b: pd.DataFrame,
    a_name: str,
    b_name: str,
    ignore: Sequence[str] = (),
) -> None:
    """Fail unless ``a`` and ``b`` have the same set of columns apart from
    ``ignore`` (e.g. the target, which only one of them has)."""
    skipped = set(ignore)
    only_a = [c for c in a.columns if c not in b.columns and c not in skipped]
    only_b = [c for c in b.columns if c not in a.columns and c not in skipped]
    if not only_a and not only_b:
        return

    diff = [
        f"only in {shown}: {', '.join(map(str, names))}"
        for shown, names in ((a_name, only_a), (b_name, only_b))
        if names
    ]
    raise DataError(
        f"{a_name} and {b_name} have different columns: {'; '.join(diff)}; "
        f"give both files the same columns"
    )


def _read_bytes(path: Path, shown: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DataError(
            f"{shown}: file not found (expected a CSV with a header row)"
        ) from None
    except IsADirectoryError:
        raise DataError(f"{shown}: is a folder (expected a CSV file)") from None
    except OSError as error:
        raise DataError(f"{shown}: cannot be read ({error.strerror})") from error


def _decode(data: bytes, shown: str) -> str:
    """UTF-8 text of ``data`` without its leading BOM, or a DataError."""
    _check_not_wide(data, shown)
    _check_no_nul(data, shown)
    start = len(UTF8_BOM) if data.startswith(UTF8_BOM) else 0
    try:
        text = data[start:].decode("utf-8")
    except UnicodeDecodeError as error:
        offset = start + error.start
        raise DataError(
            f"{shown} line {_line_at(data, offset)}: not UTF-8 (byte "
            f"0x{data[offset]:02X} at byte offset {offset}; Latin-1 and "
            f"Windows-1252 files look like this); {RESAVE}"
        ) from None

    # A second BOM means a file was appended to another one (`cat a b`);
    # pandas would read its line's first value as text.
    stray = data.find(UTF8_BOM, start)
    if stray >= 0:
        raise DataError(
            f"{shown} line {_line_at(data, stray)}: unexpected byte-order mark "
            f"(were two files concatenated?); delete the invisible character "
            f"U+FEFF (bytes EF BB BF) there"
        )
    return text


def _check_not_wide(data: bytes, shown: str) -> None:
    encoding = _wide_encoding(data)
    if encoding:
        raise DataError(f"{shown}: not UTF-8 (looks like {encoding}); {RESAVE}")


def _wide_encoding(data: bytes) -> str | None:
    """'UTF-16' or 'UTF-32' if ``data`` looks like one of them, else None."""
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"

    # Without a BOM, ASCII text in UTF-16 is half NUL bytes, in UTF-32 three
    # quarters; a UTF-8 text file has none.
    head = data[:_SNIFF_BYTES]
    share = head.count(0) / len(head) if head else 0.0
    if share >= 0.6:
        return "UTF-32"
    if share >= 0.25:
        return "UTF-16"
    return None


def _check_no_nul(data: bytes, shown: str) -> None:
    nul = data.find(0)
    if nul >= 0:
        raise DataError(
            f"{shown} line {_line_at(data, nul)}: contains a NUL byte (0x00), "
            f"which a text file does not have; {RESAVE}"
        )


def _line_at(data: bytes, offset: int) -> int:
    return len(_NEWLINE.findall(data, 0, offset)) + 1


def _scan(text: str, shown: str, delimiter: str = ",") -> list[str]:
    """Check the raw header and the field count of every row; return the
    header exactly as written (pandas would rename empty and repeated names).
    """
    with _field_limit(len(text) + 1):
        records: _Records = csv.reader(
            io.StringIO(text, newline=""), delimiter=delimiter, strict=True
        )
        found = _next_record(records, shown)
        if found is None:
            raise DataError(
                f"{shown}: has no rows: the file is empty (expected a header "
                f"row and at least one data row)"
            )

        header = found[1]
        _check_header(header, shown, delimiter)
        _check_rows(records, len(header), shown)
    return header


@contextlib.contextmanager
def _field_limit(limit: int) -> Iterator[None]:
    """Lift csv's 128 KiB field limit, which pandas does not have, so a long
    text field is no error; the limit is process-wide, hence the restore."""
    previous = csv.field_size_limit(max(limit, csv.field_size_limit()))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _next_record(records: _Records, shown: str) -> tuple[int, list[str]] | None:
    """The next non-blank record and the line it starts on; None at the end."""
    while True:
        line = records.line_num + 1
        try:
            record = next(records)
        except StopIteration:
            return None
        except csv.Error as error:
            raise DataError(_quote_message(str(error), line, shown)) from None
        if not _is_blank(record):
            return line, record


def _is_blank(record: list[str]) -> bool:
    # pandas skips empty lines ([]) and lines of only spaces or tabs, but
    # keeps '""' ([""]): the missing value of a one-column table.
    if len(record) != 1:
        return not record
    return record[0] != "" and not record[0].strip(" \t")


def _quote_message(error: str, line: int, shown: str) -> str:
    if "unexpected end of data" in error:
        problem = "a quoted field starts here and is never closed"
    else:
        problem = "text follows the closing '\"' of a quoted field"
    return (
        f"{shown} line {line}: {problem}; write a '\"' inside a quoted field "
        f"as '\"\"' and end every quoted field with '\"'"
    )


def _check_header(header: list[str], shown: str, delimiter: str) -> None:
    if delimiter == ",":
        _check_delimiter(header, shown)
    _check_unnamed(header, shown)
    _check_header_spaces(header, shown)
    _check_duplicates(header, shown)


def _check_delimiter(header: list[str], shown: str) -> None:
    if len(header) != 1:
        return
    for mark, label in ((";", "';'"), ("\t", "a tab")):
        if mark in header[0]:
            raise DataError(
                f"{shown}: 1 column detected; the header contains {label} — "
                f"expected ',' as the delimiter (and '.' as the decimal mark); in "
                "Excel save as 'CSV UTF-8 (comma delimited)', in pandas use "
                "to_csv(path, index=False)"
            )


def _check_unnamed(header: list[str], shown: str) -> None:
    unnamed = [
        position
        for position, cell in enumerate(header, start=1)
        if not cell.strip() or _UNNAMED.match(cell)
    ]
    if not unnamed:
        return
    if unnamed[0] == 1:
        raise DataError(
            f"{shown}: column 1 has no name (looks like a saved row index); "
            f"write the file with index=False"
        )
    positions = ", ".join(map(str, unnamed))
    raise DataError(
        f"{shown}: column {positions} has no name; name every column in the "
        f"header row (a ',' at the end of the header line makes an empty one)"
    )


def _check_header_spaces(header: list[str], shown: str) -> None:
    padded = [cell for cell in header if cell != cell.strip()]
    if padded:
        problems = "; ".join(
            f"header {cell!r} has leading/trailing spaces" for cell in padded
        )
        raise DataError(f"{shown}: {problems}; remove the spaces from the header")


def _check_duplicates(header: list[str], shown: str) -> None:
    repeated = [cell for cell, count in Counter(header).items() if count > 1]
    if repeated:
        places = "; ".join(
            f"{cell!r} is columns {_positions(header, cell)}" for cell in repeated
        )
        raise DataError(
            f"{shown}: the header repeats column names ({places}); give every "
            f"column its own name"
        )


def _positions(header: list[str], cell: str) -> str:
    found = [str(n) for n, name in enumerate(header, start=1) if name == cell]
    return ", ".join(found[:-1]) + " and " + found[-1]


def _check_rows(records: _Records, width: int, shown: str) -> None:
    rows = 0
    while (found := _next_record(records, shown)) is not None:
        line, record = found
        if len(record) != width:
            fields = f"{len(record)} field" + ("" if len(record) == 1 else "s")
            raise DataError(
                f"{shown} line {line}: {fields}, expected {width} "
                f"like the header; quote values that contain ',' and fill "
                f"every field (an empty field is a missing value)"
            )
        rows += 1

    if rows == 0:
        raise DataError(
            f"{shown}: has no rows, only a header (expected at least one data "
            f"row under it)"
        )


def _check_required(header: list[str], required: Sequence[str], shown: str) -> None:
    missing = [column for column in required if column not in header]
    if not missing:
        return

    listed = ", ".join(repr(column) for column in missing)
    subject = f"column {listed} is" if len(missing) == 1 else f"columns {listed} are"
    raise DataError(
        f"{shown}: {subject} missing{_did_you_mean(missing, header)}; "
        f"the columns are: {', '.join(header)}"
    )


def _did_you_mean(missing: list[str], header: list[str]) -> str:
    # A near miss ("Species" for "species") is the usual cause; naming it
    # saves the reader a character-by-character comparison.
    folded = {column.casefold(): column for column in header}
    guesses = []
    for column in missing:
        close = difflib.get_close_matches(column.casefold(), folded, n=1)
        if close:
            guesses.append(repr(folded[close[0]]))
    return f" (did you mean {', '.join(guesses)}?)" if guesses else ""


def _parse(
    text: str, shown: str, delimiter: str, decimal: str, text_columns: Sequence[str]
) -> pd.DataFrame:
    try:
        # low_memory=False: infer each column's type from all of its values,
        # not chunk by chunk, which can leave a big file with mixed columns.
        return pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            decimal=decimal,
            dtype={column: str for column in text_columns},
            low_memory=False,
        )
    except pd.errors.ParserError as error:
        # _scan checks what pandas checks, so this is only reached if the two
        # parsers disagree on a file; pandas' own words are the best we have.
        raise DataError(f"{shown}: not a CSV camino can read ({error})") from error


def _check_text_values(frame: pd.DataFrame, shown: str) -> None:
    for column in frame.columns:
        series = frame[column]
        if not _is_text(series):
            continue
        clashes = _whitespace_clashes(series)
        if clashes:
            examples = "; ".join(" vs ".join(map(repr, group)) for group in clashes)
            raise DataError(
                f"{shown}: column {column!r} has values that differ only by "
                f"surrounding spaces ({examples}); they would count as "
                f"different values (a phantom class), so remove the spaces"
            )


def _is_text(series: pd.Series) -> bool:
    return series.dtype == object or isinstance(series.dtype, pd.StringDtype)


def _whitespace_clashes(series: pd.Series, limit: int = 3) -> list[list[str]]:
    """Up to ``limit`` groups of distinct values that are equal once stripped."""
    variants: dict[str, set[str]] = {}
    for value in series.dropna().unique():
        if isinstance(value, str):
            variants.setdefault(value.strip(), set()).add(value)
    groups = [sorted(group) for group in variants.values() if len(group) > 1]
    return sorted(groups)[:limit]


def _check_writable_names(frame: pd.DataFrame, target: Path) -> None:
    # Refuse to write a header read_table would refuse, so the error shows
    # up where the frame was made, not later in some other reader.
    names = [str(column) for column in frame.columns]
    bad = [
        name
        for name in names
        if not name.strip() or _UNNAMED.match(name) or name != name.strip()
    ]
    bad += [name for name, count in Counter(names).items() if count > 1]
    if bad:
        raise DataError(
            f"{target}: cannot write column names {', '.join(map(repr, bad))}: "
            f"names must be non-empty, unique, not 'Unnamed: N' and without "
            f"leading/trailing spaces; rename the columns first"
        )


def _replace_atomically(data: bytes, target: Path) -> None:
    # The temporary file sits next to the target so os.replace is a rename on
    # one file system. os.open with 0o666 lets the umask set the mode, as a
    # plain open() would; mkstemp would leave the file private (0o600).
    temp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    descriptor = os.open(temp, flags, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
