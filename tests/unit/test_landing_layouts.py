"""Property: over landing-folder layouts (nested folders, links in and out of the folder,
duplicate links, odd names incl. bytes that are not UTF-8, empty files, files appended to
between runs, a last line written in two halves), nothing outside the folder is read and every
line of every file in it lands exactly once across runs (real Delta tables, real files)."""

from __future__ import annotations

import json
import os
import tempfile

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlplatform.lakehouse.update.runner import RunOptions, TableRunner
from mlplatform.settings import get_settings
from tests.unit.test_incremental_tables import raw

NAMES = [b"a.json", b"b c.json", b"caf\xe9.json", b"100%.json", b"\xff\xfe.json", b"z.json"]
FOLDERS = [b"", b"sub", b"sub/deeper", b"d\xe9j\xe0"]
LINKS = ["duplicate", "outside_file", "outside_folder", "dots", "parent_folder", "self_folder"]
EXAMPLES = {"n": 0, "files": 0, "links": 0, "runs": 0, "lines": 0, "non_utf8": 0}


def _line(cid: str) -> bytes:
    return json.dumps({"customer_id": cid, "amount": 1}).encode() + b"\n"


class Layout:
    """A landing folder being written, and every line that went into a file inside it."""

    def __init__(self, base: bytes):
        self.root = os.path.join(base, b"landing", b"events")
        self.outside = os.path.join(base, b"outside")
        os.makedirs(self.root)
        os.makedirs(os.path.join(self.outside, b"nested"))
        for i, where in enumerate([b"secret.json", b"nested/secret.json"]):
            with open(os.path.join(self.outside, where), "wb") as out:
                out.write(_line(f"outside-{i}"))
        self.files: list[bytes] = []
        self.written: list[str] = []
        self.partial: dict[bytes, bytes] = {}  # file -> the second half of its last line

    def add_file(self, folder: bytes, name: bytes, lines: int) -> None:
        path = os.path.join(self.root, folder, name)
        if os.path.lexists(path):
            return
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "wb").close()
        self.files.append(path)
        self.append(path, lines, half=False)

    def append(self, path: bytes, lines: int, half: bool) -> None:
        with open(path, "ab") as out:
            out.write(self.partial.pop(path, b""))
            for _ in range(lines):
                cid = f"{len(self.written)}"
                self.written.append(cid)
                out.write(_line(cid))
            if half:
                cid = f"{len(self.written)}"
                self.written.append(cid)
                whole = _line(cid)
                out.write(whole[:9])
                self.partial[path] = whole[9:]

    def link(self, kind: str, target: bytes | None) -> None:
        name = os.path.join(self.root, f"link-{kind}-{len(os.listdir(self.root))}".encode())
        if kind == "duplicate" and target is not None:
            os.symlink(target, name + b".json")
        elif kind == "outside_file":
            os.symlink(os.path.join(self.outside, b"secret.json"), name + b".json")
        elif kind == "outside_folder":
            os.symlink(self.outside, name)
        elif kind == "dots":
            os.symlink(b"../../outside/secret.json", name + b".json")
        elif kind == "parent_folder":
            os.symlink(b"..", name)
        elif kind == "self_folder":
            os.symlink(b".", name)

    def finish(self) -> None:
        for path in list(self.partial):
            self.append(path, 0, half=False)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_layout_reads_only_the_folder_and_every_line_once(home, monkeypatch, data):
    base = tempfile.mkdtemp(dir=home)
    monkeypatch.setenv("MLPLATFORM_HOME", base)
    layout = Layout(os.fsencode(base))
    for _ in range(data.draw(st.integers(1, 5), label="files")):
        layout.add_file(
            data.draw(st.sampled_from(FOLDERS)),
            data.draw(st.sampled_from(NAMES)),
            data.draw(st.integers(0, 4), label="lines"),
        )
    for kind in data.draw(st.lists(st.sampled_from(LINKS), max_size=4), label="links"):
        layout.link(kind, data.draw(st.sampled_from(layout.files)))
    opts = RunOptions(max_files_per_trigger=data.draw(st.sampled_from([None, 1, 2])))
    runner = TableRunner(raw, get_settings())
    runs = data.draw(st.integers(1, 3), label="runs")
    for _ in range(runs):
        runner.run(opts)
        for path in data.draw(st.lists(st.sampled_from(layout.files), max_size=3)):
            layout.append(path, data.draw(st.integers(0, 3)), half=data.draw(st.booleans()))
    layout.finish()
    runner.run(opts)
    assert runner.run(opts).nothing_new
    table = pl.read_delta(os.path.join(base, "lakehouse", "bronze", "raw"))
    assert sorted(table["customer_id"].to_list(), key=int) == layout.written
    root = os.path.realpath(os.fsdecode(layout.root))
    assert table["_source_file"].str.starts_with(root + "/").all()
    sources = runner.ledger.read()["source"].drop_nulls()
    assert sources.str.starts_with(root + "/").all()
    EXAMPLES["n"] += 1
    EXAMPLES["files"] += len(layout.files)
    EXAMPLES["links"] += sum(1 for n in os.listdir(layout.root) if n.startswith(b"link-"))
    EXAMPLES["runs"] += runs + 2
    EXAMPLES["lines"] += len(layout.written)
    EXAMPLES["non_utf8"] += sum(1 for p in layout.files if b"\xe9" in p or b"\xff" in p)
    print("landing layouts tried:", EXAMPLES)
