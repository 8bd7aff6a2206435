"""Newline-delimited JSON to bronze rows, accounting for every line.

Four paths, all giving the same rows:
- canonical lines (a flat object with every field, in the declared order, plain scalar values) are
  parsed by one regular expression with a group per field, in one vectorized pass;
- other flat objects of known fields with plain scalars (any order, fields missing) get one
  vectorized extraction per field;
- a line that cannot be a JSON object (truncated, garbage, an array or a scalar) is rescued whole;
- everything else (escapes, nested values, unknown fields, other invalid JSON) takes the exact path
  through Python's ``json``.
A JSON number keeps the text it was written with (``12.50`` stays ``"12.50"``). Blank lines are
skipped and counted.

A line that is not valid UTF-8 (as Spark's JSON source does) is parsed with each bad byte replaced
by U+FFFD, and its raw bytes are kept losslessly in ``_rescued_data``: a JSON object whose key
``_raw_line_base64`` holds the line's bytes in base64, beside the unknown fields of the line, if
any. Such lines are counted (``invalid_utf8_lines``); the other lines and files are unaffected.
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass, field

import polars as pl

from mlplatform.lakehouse.landing import FilePart, fs_path, read_part

RESCUED = "_rescued_data"
SOURCE_FILE = "_source_file"
SCHEMA_MODES = ("rescue", "addNewColumns", "failOnNewColumns", "none")
RAW_LINE_KEY = "_raw_line_base64"

_NUMBER = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
_SCALAR = rf'"[^"\\]*"|{_NUMBER}|null|true|false'
_WS = r"[ \t\r\n]*"  # JSON's whitespace (RFC 8259); \s would also take Unicode spaces


class NewColumnsError(ValueError):
    """``failOnNewColumns``: the files carry fields the table does not have."""


@dataclass
class ParsedLines:
    """Rows parsed from a set of files, with the counts reported as metadata."""

    frame: pl.DataFrame
    rows: int = 0
    rescued_rows: int = 0
    malformed_rows: int = 0
    blank_lines: int = 0
    new_columns: list[str] = field(default_factory=list)
    ignored_fields: dict[str, int] = field(default_factory=dict)
    invalid_utf8_lines: int = 0


def _fast_line_regex(fields: list[str]) -> str:
    names = "|".join(re.escape(f) for f in fields)
    kv = rf'"(?:{names})"{_WS}:{_WS}(?:{_SCALAR})'
    return rf"^{_WS}\{{{_WS}(?:{kv}(?:{_WS},{_WS}{kv})*)?{_WS}\}}{_WS}$"


def _canonical_regex(fields: list[str]) -> str:
    """Every field in the declared order with a plain scalar. Group ``m`` (empty) marks a match;
    per field, ``s<i>`` holds a string's content and ``o<i>`` a number's text or true/false
    (null captures nothing)."""

    def value(i: int) -> str:
        return rf'(?:"(?P<s{i}>[^"\\]*)"|(?P<o{i}>{_NUMBER}|true|false)|null)'

    pairs = f"{_WS},{_WS}".join(
        rf'"{re.escape(f)}"{_WS}:{_WS}{value(i)}' for i, f in enumerate(fields)
    )
    return rf"^(?P<m>){_WS}\{{{_WS}{pairs}{_WS}\}}{_WS}$"


def _canonical_fields(fields: list[str]) -> list[pl.Expr]:
    groups = pl.col("_groups").struct
    return [
        pl.coalesce(groups.field(f"s{i}"), groups.field(f"o{i}")).alias(name)
        for i, name in enumerate(fields)
    ]


def _field_token(name: str, column: str = "line") -> pl.Expr:
    token = r'("[^"\\]*"|[^ \t\r\n,}]+)'
    raw = pl.col(column).str.extract(rf'"{re.escape(name)}"{_WS}:{_WS}{token}', 1)
    return (
        pl.when(raw.str.starts_with('"'))
        .then(raw.str.strip_chars('"'))
        .when(raw != "null")
        .then(raw)
        .alias(name)
    )


def _text(value) -> str | None:
    """Render a parsed JSON value as bronze text (strings as is, others as compact JSON)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return _TEXT.encode(value)


class _RawNumber(str):
    """A JSON number kept as the text it was written with."""


# built once: json.loads/json.dumps with options build a new decoder/encoder on every call
_RAW = json.JSONDecoder(parse_float=_RawNumber, parse_int=_RawNumber)
_TEXT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_RESCUED_JSON = json.JSONEncoder(separators=(",", ":"))


def _exact_row(line: str, fields: list[str], mode: str) -> tuple[dict, list[str]]:
    """Parse one line the slow, exact way. Returns the row and the unknown keys it had."""
    try:
        raw_obj = _RAW.decode(line)
    except ValueError:
        raw_obj = None
    if not isinstance(raw_obj, dict):
        return {f: None for f in fields} | {RESCUED: line}, []
    obj = None  # the plain parse, only for nested values and rescued fields
    row: dict = {}
    for name in fields:
        value = raw_obj.get(name)
        if isinstance(value, dict | list):
            obj = obj if obj is not None else json.loads(line)
            value = _text(obj[name])
        elif isinstance(value, bool):
            value = "true" if value else "false"
        row[name] = value if value is None else str(value)
    unknown = [k for k in raw_obj if k not in fields]
    rescued = None
    if unknown and mode == "rescue":
        obj = obj if obj is not None else json.loads(line)
        rescued = _RESCUED_JSON.encode({k: obj[k] for k in unknown})
    elif unknown and mode == "addNewColumns":
        obj = obj if obj is not None else json.loads(line)
        row.update(
            {
                k: _text(obj[k]) if not isinstance(obj[k], bool) else str(obj[k]).lower()
                for k in unknown
            }
        )
    row[RESCUED] = rescued
    return row, unknown


def new_columns_error(unknown: dict[str, int]) -> NewColumnsError:
    """The ``failOnNewColumns`` error, naming the new fields and how many lines carry them."""
    return NewColumnsError(
        f"failOnNewColumns: new fields {sorted(unknown)} found in {sum(unknown.values())} "
        "lines; nothing was ingested. Add them to the schema or choose schemaEvolutionMode "
        "addNewColumns or rescue"
    )


def infer_fields(files: list[str], sample_lines: int = 10_000) -> list[str]:
    """Field names of the JSON objects in the first lines of ``files``, in order of appearance
    (schema inference for a files input declared without fields)."""
    seen: dict[str, None] = {}
    left = sample_lines
    for path in files:
        with open(fs_path(path), encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if left <= 0:
                    return list(seen)
                left -= 1
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if isinstance(obj, dict):
                    seen.update(dict.fromkeys(k for k in obj if not k.startswith("_")))
    return list(seen)


def parse_files(
    files: list[str] | list[FilePart], fields: list[str], mode: str = "rescue"
) -> ParsedLines:
    """Parse ``files`` (paths, or parts of files: ``landing.FilePart``) into rows of string
    ``fields`` plus ``_rescued_data`` and ``_source_file`` (the part's ledger name).

    The canonical pass runs on polars' streaming engine (morsels on every core, file order kept);
    the few other lines are parsed afterwards and written into their rows by position.

    Raises:
        NewColumnsError: in ``failOnNewColumns`` mode, when a line has a field not in ``fields``.
    """
    if mode not in SCHEMA_MODES:
        raise ValueError(f"schema evolution mode {mode!r} is not one of {', '.join(SCHEMA_MODES)}")
    columns = [*fields, RESCUED, SOURCE_FILE]
    parts = [p if isinstance(p, FilePart) else FilePart(p) for p in files]
    if not parts:
        return ParsedLines(pl.DataFrame(schema={c: pl.String for c in columns}))
    frame, invalid = _read_lines(parts, fields)
    at = frame.select(pl.col("_rest").is_not_null().arg_true()).to_series()
    rest = pl.DataFrame({"_line_no": at, "line": frame.get_column("_rest").gather(at)})
    rest = rest.with_columns(pl.col("line").str.strip_suffix("\r"))
    bare = pl.col("line").str.strip_chars(" \t\r\n")  # JSON's whitespace around the value
    rest = rest.with_columns(
        blank=pl.col("line").str.strip_chars() == "",
        fast=pl.col("line").str.contains(_fast_line_regex(fields)),
        # json.loads gives no object for these: truncated JSON, garbage, arrays, scalars
        not_object=~(bare.str.starts_with("{") & bare.str.ends_with("}")),
    )
    blank_rows = rest.filter(pl.col("blank")).get_column("_line_no")
    fast = rest.filter(pl.col("fast") & ~pl.col("blank")).select(
        "_line_no", *[_field_token(f) for f in fields]
    )
    not_object = rest.filter(pl.col("not_object") & ~pl.col("blank")).select(
        "_line_no", pl.col("line").alias(RESCUED)
    )
    slow_rows, unknown_counts, malformed = [], {}, not_object.height
    slow_lines = rest.filter(~pl.col("fast") & ~pl.col("blank") & ~pl.col("not_object"))
    for line_no, line in slow_lines.select("_line_no", "line").iter_rows():
        row, unknown = _exact_row(line, fields, mode)
        if row[RESCUED] is not None and not unknown:
            malformed += 1
        for key in unknown:
            unknown_counts[key] = unknown_counts.get(key, 0) + 1
        slow_rows.append(row | {"_line_no": line_no})
    if unknown_counts and mode == "failOnNewColumns":
        raise new_columns_error(unknown_counts)
    new_columns = sorted(unknown_counts) if mode == "addNewColumns" else []
    patch_columns = [*fields, *new_columns, RESCUED]
    schema = {c: pl.String for c in patch_columns} | {"_line_no": at.dtype}
    slow = pl.DataFrame(slow_rows or None, schema=schema, orient="row")
    fast = fast.with_columns(pl.lit(None, pl.String).alias(c) for c in [*new_columns, RESCUED])
    not_object = not_object.with_columns(
        pl.lit(None, pl.String).alias(c) for c in [*fields, *new_columns]
    )
    patch = pl.concat([t.select(list(schema)) for t in (fast, not_object, slow)])
    # columns as Series: adding columns to the streamed frame (one chunk per morsel) costs more
    series = {c: frame.get_column(c) for c in [*fields, SOURCE_FILE]}
    for c in [*new_columns, RESCUED]:
        series[c] = pl.repeat(None, frame.height, dtype=pl.String, eager=True).alias(c)
    if patch.height:  # the other lines' values, written into their rows by position
        where = patch.get_column("_line_no")
        for c in patch_columns:
            series[c] = series[c].scatter(where, patch.get_column(c))
    if invalid:
        series[RESCUED] = _rescue_raw_bytes(series[RESCUED], invalid)
    frame = pl.DataFrame([series[c] for c in [*fields, *new_columns, RESCUED, SOURCE_FILE]])
    if blank_rows.len():
        frame = frame.filter(pl.repeat(True, frame.height, eager=True).scatter(blank_rows, False))
    return ParsedLines(
        frame=frame,
        rows=len(frame),
        rescued_rows=int(frame.get_column(RESCUED).is_not_null().sum()),
        malformed_rows=malformed,
        blank_lines=blank_rows.len(),
        new_columns=new_columns,
        ignored_fields=unknown_counts if mode == "none" else {},
        invalid_utf8_lines=len(invalid),
    )


def _first_pass(lines: pl.LazyFrame, fields: list[str]) -> pl.DataFrame:
    """The canonical lines' fields, and the other lines whole in ``_rest``."""
    # a CRLF line's \r is trailing whitespace to the canonical pattern; the other lines drop it
    lines = lines.with_columns(_groups=pl.col("line").str.extract_groups(_canonical_regex(fields)))
    canonical = pl.col("_groups").struct.field("m").is_not_null()
    return lines.select(
        *_canonical_fields(fields),
        pl.when(~canonical).then(pl.col("line")).alias("_rest"),
        SOURCE_FILE,
    ).collect(engine="streaming")


def _scannable(part: FilePart) -> bool:
    """Whether polars may scan the part's file whole: it is the whole file as it is now, under a
    name polars can open."""
    if part.start or part.path != part.source:
        return False
    try:
        return part.end is None or os.stat(part.path).st_size == part.end
    except OSError:
        return False


def _read_lines(parts: list[FilePart], fields: list[str]) -> tuple[pl.DataFrame, dict[int, bytes]]:
    """The first pass over the parts' lines, and the raw bytes of the lines not valid UTF-8.

    Whole files are scanned by polars; when a file grew during the scan (append-only growth is
    monotonic, so an unchanged size after the scan means none of it was read), a part is not
    the whole file, or a line is not valid UTF-8, the parts are read as bytes up to their
    recorded ends."""
    if all(_scannable(p) for p in parts):
        paths = [p.path for p in parts]
        lines = pl.scan_lines(paths, name="line", include_file_paths=SOURCE_FILE, glob=False)
        try:
            frame = _first_pass(lines, fields)
            if all(_scannable(p) for p in parts):
                return frame, {}
        except pl.exceptions.ComputeError as err:
            if "utf8" not in str(err).lower() and "utf-8" not in str(err).lower():
                raise
    lines, invalid = _lines_of_bytes(parts)
    return _first_pass(lines, fields), invalid


def _split_lines(data: bytes) -> list[bytes]:
    """Lines as polars' line reader splits them (LF, a CRLF's CR dropped, no empty last line)."""
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    return [p[:-1] if p.endswith(b"\r") else p for p in parts]


def _lines_of_bytes(parts: list[FilePart]) -> tuple[pl.LazyFrame, dict[int, bytes]]:
    """The lines of the parts' bytes, with invalid UTF-8 bytes replaced (U+FFFD), in order, and
    the raw bytes of each such line by its position."""
    frames: list[pl.LazyFrame] = []
    invalid: dict[int, bytes] = {}
    offset = 0
    for part in parts:
        raw = _split_lines(read_part(part))
        try:
            text = pl.Series("line", [line.decode("utf-8") for line in raw], dtype=pl.String)
        except UnicodeDecodeError:
            decoded = []
            for i, line in enumerate(raw):
                try:
                    decoded.append(line.decode("utf-8"))
                except UnicodeDecodeError:
                    decoded.append(line.decode("utf-8", errors="replace"))
                    invalid[offset + i] = line
            text = pl.Series("line", decoded, dtype=pl.String)
        frames.append(
            pl.LazyFrame({"line": text, SOURCE_FILE: pl.repeat(part.source, len(raw), eager=True)})
        )
        offset += len(raw)
    return pl.concat(frames, how="vertical"), invalid


def _rescue_raw_bytes(rescued: pl.Series, invalid: dict[int, bytes]) -> pl.Series:
    """``_rescued_data`` of the invalid UTF-8 lines: their raw bytes (base64) beside the unknown
    fields they carried (a line that is no JSON object loses nothing: its bytes are the record)."""
    at = sorted(invalid)
    values = []
    for pos, before in zip(at, rescued.gather(at).to_list(), strict=True):
        record: dict = {}
        if before is not None:
            try:
                parsed = json.loads(before)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                record.update(parsed)
        record[RAW_LINE_KEY] = base64.b64encode(invalid[pos]).decode("ascii")
        values.append(_RESCUED_JSON.encode(record))
    return rescued.scatter(at, pl.Series(values, dtype=pl.String))
