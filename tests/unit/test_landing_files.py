"""What the landing folder may hold and still be read right: links (inside, duplicate, leading
outside the folder), names that are not UTF-8, files appended to while or after a run reads
them; and a progress line per micro-batch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from urllib.parse import unquote_to_bytes

import dagster as dg
import polars as pl
import pytest

from mlplatform.lakehouse import MissingFileError
from mlplatform.lakehouse.assets import build_table_asset
from mlplatform.lakehouse.landing import QUIET_S
from mlplatform.lakehouse.update.runner import RunOptions, TableRunner
from mlplatform.settings import get_settings
from tests.platform_resources import platform_resources
from tests.unit.test_incremental_tables import raw, read, rows, write_file


def landing(home):
    folder = home / "landing" / "events"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def ids(home) -> list[str]:
    return sorted(read(home, "bronze/raw")["customer_id"].to_list(), key=int)


def test_a_link_to_a_file_or_folder_already_listed_is_read_once(home):
    path = write_file(home, "a.json", rows(2))
    (landing(home) / "b.json").symlink_to("a.json")
    (landing(home) / "again").symlink_to(".")  # the folder itself, under another name
    run = TableRunner(raw, get_settings()).run()
    assert (run.written_rows, run.counts["duplicate_links_skipped"]) == (2, 2)
    assert ids(home) == ["0", "1"]
    assert set(read(home, "bronze/raw")["_source_file"]) == {str(path.resolve())}
    assert any("b.json links to a file or folder already listed" in w for w in run.warnings)
    assert any("again links to a file or folder already listed" in w for w in run.warnings)


def test_links_leading_outside_the_landing_folder_are_never_read_and_named(home):
    outside = home / "outside"
    outside.mkdir()
    (outside / "secret.json").write_text(json.dumps({"customer_id": "secret"}) + "\n")
    write_file(home, "a.json", rows(1))
    folder = landing(home)
    (folder / "direct.json").symlink_to(outside / "secret.json")
    (folder / "dots.json").symlink_to("../../outside/secret.json")
    (folder / "linked").symlink_to(outside)  # a folder outside
    (folder / "sub").mkdir()
    (folder / "sub" / "up.json").symlink_to("../../../outside/secret.json")
    runner = TableRunner(raw, get_settings())
    run = runner.run()
    assert ids(home) == ["0"]
    refused = sorted(os.path.basename(p) for p in run.counts["refused_files"])
    assert refused == ["direct.json", "dots.json", "linked", "up.json"]
    assert run.counts["refused_files_skipped"] == 4
    assert sum("leads outside the landing folder; refused" in w for w in run.warnings) == 4
    assert not runner.ledger.read()["source"].str.starts_with(str(outside)).any()
    again = runner.run()  # still refused, still named
    assert again.nothing_new and again.counts["refused_files_skipped"] == 4


def test_a_recorded_file_swapped_for_a_link_before_its_batch_is_read_is_not_read(home):
    outside = home / "secret.json"
    outside.write_text(json.dumps({"customer_id": "secret"}) + "\n")
    path = write_file(home, "a.json", rows(1))
    runner = TableRunner(raw, get_settings())
    runner.ledger.record([{"source": str(path.resolve()), "size": 10, "offset": 0}], 1)
    path.unlink()
    path.symlink_to(outside)  # swapped between the batch's record and its read
    with pytest.raises(MissingFileError, match="a.json, which no longer exist"):
        runner.run()
    assert not runner.main.exists()


def test_a_name_not_valid_utf8_is_ingested_under_a_lossless_escaped_name(home):
    folder = landing(home)
    write_file(home, "a.json", rows(1))
    bad = os.path.join(os.fsencode(folder), b"caf\xe9 100%.json")
    with open(bad, "wb") as handle:
        handle.write(b'{"customer_id": "1"}\n')
    runner = TableRunner(raw, get_settings())
    first = runner.run()
    assert first.written_rows == 2
    names = read(home, "bronze/raw")["_source_file"].to_list()
    escaped = next(n for n in names if "caf" in n)
    assert escaped.endswith("/caf%E9 100%25.json")
    assert unquote_to_bytes(escaped) == os.path.realpath(bad)  # the bytes, back
    assert runner.run().nothing_new  # the ledger knows it by its escaped name
    with open(bad, "ab") as handle:
        handle.write(b'{"customer_id": "2"}\n')
    assert runner.run().written_rows == 1
    assert ids(home) == ["0", "1", "2"]


def test_a_non_utf8_name_whose_escaped_form_is_taken_is_skipped_naming_its_bytes(home):
    folder = landing(home)
    write_file(home, "%E9.json", rows(1))
    with open(os.path.join(os.fsencode(folder), b"\xe9.json"), "wb") as handle:
        handle.write(b'{"customer_id": "1"}\n')
    run = TableRunner(raw, get_settings()).run()
    assert ids(home) == ["0"]
    (clash,) = run.counts["name_clashes"]
    assert clash.startswith("b'/") and clash.endswith("/\\xe9.json'")
    assert any("\\xe9.json': the name is not UTF-8" in w for w in run.warnings)


def test_appended_lines_are_taken_once_and_a_partial_last_line_waits(home):
    path = write_file(home, "a.json", rows(3))
    runner = TableRunner(raw, get_settings())
    assert runner.run().written_rows == 3
    with open(path, "a") as handle:
        handle.write(json.dumps({"customer_id": "3"}) + "\n" + '{"customer_id": "4", "am')
    second = runner.run()
    assert second.written_rows == 1 and second.counts["partial_lines_pending"] == 1
    assert any("a.json: its last line has no newline yet" in w for w in second.warnings)
    assert runner.run().nothing_new
    with open(path, "a") as handle:  # the last line completed; one more without a newline
        handle.write('ount": 1}\n{"customer_id": "5"}')
    third = runner.run()
    assert third.written_rows == 2 and third.counts["partial_lines_pending"] == 0
    with open(path, "a") as handle:  # its newline arrives late: a blank line, skipped
        handle.write('\n{"customer_id": "6"}\n')
    assert runner.run().written_rows == 1
    assert ids(home) == [str(i) for i in range(7)]
    assert read(home, "bronze/raw")["_rescued_data"].is_null().all()


def test_a_last_line_without_newline_is_taken_once_its_file_is_quiet(home):
    path = landing(home) / "a.json"
    path.write_text(json.dumps({"customer_id": "0"}) + '\n{"customer_id": "1", "trunc')
    runner = TableRunner(raw, get_settings())
    assert runner.run().written_rows == 1
    old = time.time_ns() - int((QUIET_S + 60) * 1e9)
    os.utime(path, ns=(old, old))  # the writer stopped long ago: the line is all there is
    quiet = runner.run()
    assert quiet.written_rows == 1 and quiet.counts["partial_lines_pending"] == 0
    rescued = read(home, "bronze/raw")["_rescued_data"].drop_nulls().to_list()
    assert rescued == ['{"customer_id": "1", "trunc']
    assert runner.run().nothing_new


def test_a_rewrite_that_keeps_growing_is_still_a_changed_file(home):
    path = write_file(home, "a.json", rows(2))
    runner = TableRunner(raw, get_settings())
    runner.run()
    write_file(home, "a.json", rows(3, start=10))  # longer, different first bytes
    skipped = runner.run()
    assert skipped.nothing_new and skipped.counts["changed_files_skipped"] == 1
    again = runner.run(RunOptions(allow_overwrites=True))
    assert again.written_rows == 3
    assert runner.ledger.read()["source"].to_list()[-1] == str(path.resolve())
    assert ids(home) == ["0", "1", "10", "11", "12"]


WRITER = """
import sys, time
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "a") as out:
    for start in range(0, n, 2000):
        line = '{"customer_id": "%d", "amount": 1}\\n'
        lines = "".join(line % i for i in range(start, start + 2000))
        half = len(lines) // 2 + 7  # a write ending inside a line
        out.write(lines[:half]); out.flush(); time.sleep(0.001)
        out.write(lines[half:]); out.flush()
"""


def test_a_file_appended_while_runs_read_it_loses_and_repeats_no_line(home):
    path = landing(home) / "growing.json"
    path.touch()
    n = 600_000
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(n)])
    runner = TableRunner(raw, get_settings())
    runs = 0
    try:
        while writer.poll() is None:
            runner.run()
            runs += 1
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.wait()
    assert writer.returncode == 0
    runner.run()
    table = read(home, "bronze/raw")
    assert runs >= 2 and table.height == n
    assert table["customer_id"].cast(pl.Int64).sort().to_list() == list(range(n))
    assert table["_rescued_data"].is_null().all()


def test_each_micro_batch_logs_a_progress_line(home):
    for i in range(3):
        write_file(home, f"f{i}.json", rows(2, start=10 * i))
    (landing(home) / "x.json").symlink_to("/etc/hostname")
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [build_table_asset(raw, "polars")],
        resources=platform_resources(),
        instance=instance,
        run_config={"ops": {"bronze__raw": {"config": {"max_files_per_trigger": 1}}}},
    )
    assert result.success
    lines = [
        e.user_message for e in instance.all_logs(result.run_id) if "micro-batch" in e.user_message
    ]
    assert len(lines) == 3
    for n, line in enumerate(lines, start=1):
        size = (landing(home) / f"f{n - 1}.json").stat().st_size
        assert line.startswith(
            f"bronze/raw: micro-batch {n} (batch {n}): 1 files, 2 rows, {size:,} bytes in "
        )
        assert line.endswith(" s")
    warnings = [e.user_message for e in instance.all_logs(result.run_id) if e.level == 30]
    assert any("x.json leads outside the landing folder; refused" in w for w in warnings)


def test_a_plan_reads_only_the_files_its_batch_takes(tmp_path):
    """The files a micro-batch leaves for later are not read by its plan (their last line is not
    looked at), so a large backlog is not read again by every micro-batch's plan."""
    from mlplatform.lakehouse.ingest import plan_files
    from mlplatform.lakehouse.landing import list_files

    for name in ("a", "b", "c"):  # each ends in a half-written line
        (tmp_path / f"{name}.json").write_bytes(b'{"customer_id": "1"}\n{"customer_id": "2"')
    listing = list_files(tmp_path, "*.json").files
    committed = pl.DataFrame(schema={"source": pl.String, "batch_id": pl.Int64})
    plan = plan_files(listing, committed, max_files=1)
    assert [os.path.basename(f["source"]) for f in plan.files] == ["a.json"]
    assert plan.files[0]["size"] == len(b'{"customer_id": "1"}\n')
    assert plan.deferred == 2
    assert [os.path.basename(p) for p in plan.pending] == ["a.json"]  # b and c were not read
    everything = plan_files(listing, committed)
    assert [os.path.basename(p) for p in everything.pending] == ["a.json", "b.json", "c.json"]
