"""Readers for local task files: TSV (with or without header), CSV, and JSONL.

Each reader yields ``(line_number, record)`` where ``record`` maps a column key to its raw value:
the header's column names when the file has a header, else 0-based column positions. Line
numbers are 1-based and count the header, so an error message points at the line an editor
shows. A UTF-8 byte-order mark (MRPC's files start with one) is removed; a last line without a
newline (CoLA) is read like any other; rows with extra trailing columns (a few STS-B rows) keep
the columns that are asked for. Values are never unquoted in TSV: GLUE's TSVs contain literal
``"`` characters that are part of the text.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Callable, Iterator

from autopeft.tasks.errors import DataFormatError, TaskError

Record = dict[Any, Any]


def _open(path: Path) -> Any:
    try:
        return path.open("r", encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise TaskError(f"data file {str(path)!r} cannot be read: {exc.strerror}") from None


def read_delimited(path: Path, *, delimiter: str, header: bool, quoting: bool) -> Iterator[tuple[int, Record]]:
    """Rows of a TSV/CSV file. ``quoting`` enables CSV quote handling (CSV yes, GLUE TSV no)."""
    with _open(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE)
        names: list[str] | None = None
        try:
            for row in reader:
                line = reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank line
                if header and names is None:
                    names = [name.strip() for name in row]
                    continue
                if names is None:
                    yield line, dict(enumerate(row))
                else:
                    yield line, {name: value for name, value in zip(names, row)} | {
                        index: value for index, value in enumerate(row)
                    }
        except csv.Error as exc:
            raise DataFormatError(str(path), reader.line_num, None, f"not valid {'CSV' if quoting else 'TSV'}: {exc}") from None
        if header and names is None:
            raise DataFormatError(str(path), 1, None, "the file is empty; expected a header line with column names")


def header_of(path: Path, delimiter: str, quoting: bool) -> list[str]:
    """The column names of a delimited file's first line (for error messages)."""
    with _open(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter, quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE)
        return [name.strip() for name in next(reader, [])]


def read_jsonl(path: Path) -> Iterator[tuple[int, Record]]:
    """One JSON object per line; blank lines are skipped."""
    with _open(path) as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                raise DataFormatError(str(path), line, None, f"not valid JSON: {exc.msg} at character {exc.colno}") from None
            if not isinstance(record, dict):
                raise DataFormatError(str(path), line, None, f"expected a JSON object per line, got {type(record).__name__}")
            yield line, record


def tsv_reader(header: bool) -> Callable[[Path], Iterator[tuple[int, Record]]]:
    return lambda path: read_delimited(path, delimiter="\t", header=header, quoting=False)


#: File extension -> reader for custom tasks (all with a header line / named keys).
READERS_BY_SUFFIX: dict[str, Callable[[Path], Iterator[tuple[int, Record]]]] = {
    ".tsv": tsv_reader(True),
    ".csv": lambda path: read_delimited(path, delimiter=",", header=True, quoting=True),
    ".jsonl": read_jsonl,
    ".json": read_jsonl,
}
