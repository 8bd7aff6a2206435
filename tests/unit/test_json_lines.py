"""Rescued data and schema evolution modes of the JSON-lines parser."""

import pytest

from mlplatform.lakehouse.json_lines import NewColumnsError, parse_files

FIELDS = ["customer_id", "event_type", "amount", "event_timestamp"]
LINES = [
    '{"customer_id": "1", "event_type": "login", "amount": 12.50, "event_timestamp": "t1"}',
    '{"customer_id": "2", "amount": ',  # truncated JSON
    "#garbage",
    "[1, 2]",  # a JSON array
    "42",  # a JSON scalar
    "",  # blank: skipped and counted
    '{"customer_id": 100123, "amount": "7.00", "coupon": "SAVE5"}',  # number as text, unknown
    '{"customer_id": "x\\"y", "event_type": null}',  # escaped quote, null
    "   ",
    '{"customer_id": "5", "event_type": {"a": 1}, "amount": 1e3}\r',  # nested value, CRLF
]


@pytest.fixture
def landing(tmp_path):
    path = tmp_path / "events.json"
    path.write_text("\n".join(LINES) + "\n")
    return str(path)


def test_every_line_is_accounted_for_in_rescue_mode(landing):
    out = parse_files([landing], FIELDS, "rescue")
    assert (out.rows, out.blank_lines, out.malformed_rows) == (8, 2, 4)
    rows = out.frame.to_dicts()
    assert rows[0] | {"_source_file": None} == {
        "customer_id": "1",
        "event_type": "login",
        "amount": "12.50",  # the number's text as written
        "event_timestamp": "t1",
        "_rescued_data": None,
        "_source_file": None,
    }
    assert [r["_rescued_data"] for r in rows[1:5]] == [
        '{"customer_id": "2", "amount": ',
        "#garbage",
        "[1, 2]",
        "42",
    ]
    assert all(r["customer_id"] is None for r in rows[1:5])
    assert rows[5]["customer_id"] == "100123" and rows[5]["amount"] == "7.00"
    assert rows[5]["_rescued_data"] == '{"coupon":"SAVE5"}'
    assert rows[5]["event_type"] is None  # a missing field is null
    assert rows[6]["customer_id"] == 'x"y' and rows[6]["event_type"] is None
    assert rows[7]["event_type"] == '{"a":1}' and rows[7]["amount"] == "1e3"
    assert out.rescued_rows == 5
    assert {r["_source_file"] for r in rows} == {landing}


def test_add_new_columns_mode_adds_the_field(landing):
    out = parse_files([landing], FIELDS, "addNewColumns")
    assert out.new_columns == ["coupon"]
    assert out.frame.get_column("coupon").to_list() == [None] * 5 + ["SAVE5", None, None]
    assert out.frame.row(5, named=True)["_rescued_data"] is None


def test_fail_on_new_columns_names_them(landing):
    with pytest.raises(NewColumnsError, match=r"new fields \['coupon'\]"):
        parse_files([landing], FIELDS, "failOnNewColumns")


def test_none_mode_ignores_new_fields_but_counts_them(landing):
    out = parse_files([landing], FIELDS, "none")
    assert "coupon" not in out.frame.columns
    assert out.frame.row(5, named=True)["_rescued_data"] is None
    assert out.ignored_fields == {"coupon": 1}
    assert out.rows == 8  # malformed lines are still rescued, not dropped


def test_unknown_mode_is_refused(landing):
    with pytest.raises(ValueError, match="schema evolution mode 'merge'"):
        parse_files([landing], FIELDS, "merge")


def test_the_three_parse_paths_give_the_same_row(tmp_path):
    canonical = '{"customer_id": "7", "event_type": "buy", "amount": 0.50, "event_timestamp": null}'
    reordered = '{"amount": 0.50, "customer_id": "7", "event_type": "buy"}'  # field missing
    exact = '{"customer_id": "\\u0037", "event_type": "buy", "amount": 0.50, "x": [1]}'
    path = tmp_path / "f.json"
    path.write_text("\n".join([canonical, reordered, exact]))
    out = parse_files([str(path)], FIELDS, "none").frame.drop("_source_file", "_rescued_data")
    assert (
        out.to_dicts()
        == [{"customer_id": "7", "event_type": "buy", "amount": "0.50", "event_timestamp": None}]
        * 3
    )


def test_large_files_keep_file_and_line_order_on_every_path(tmp_path):
    """Many files and morsels: canonical, per-field and exact lines, blanks, all in order."""
    import json

    from mlplatform.lakehouse.json_lines import _exact_row

    files = []
    for f in range(3):
        lines = []
        for i in range(40_000):
            n = f * 100_000 + i
            if i % 997 == 0:
                lines.append("   ")
            elif i % 101 == 0:  # keys out of order: the per-field path
                lines.append(f'{{"amount": {n}.50, "customer_id": "{n}"}}')
            elif i % 89 == 0:  # an escape: the exact path
                lines.append(json.dumps({"customer_id": f'c"{n}', "event_type": "x"}))
            elif i % 83 == 0:  # cannot be an object: rescued whole
                lines.append(f'{{"customer_id": "{n}", "amo' if i % 2 else f" [{n}, 2]\t")
            elif i % 79 == 0:  # braces around invalid JSON: the exact path
                lines.append(f'{{"customer_id": "{n}",}}')
            else:
                lines.append(
                    f'{{"customer_id":"{n}","event_type":"login","amount":{n}.10,'
                    f'"event_timestamp":"2026-01-01T00:00:00"}}'
                )
        path = tmp_path / f"part-{f}.json"
        path.write_text("\n".join(lines) + "\n")
        files.append((str(path), lines))
    out = parse_files([p for p, _ in files], FIELDS)
    expected = [
        _exact_row(line, FIELDS, "rescue")[0] | {"_source_file": path}
        for path, lines in files
        for line in lines
        if line.strip()
    ]
    assert out.blank_lines == 3 * 41 and out.rows == len(expected) == 120_000 - 123
    assert out.frame.to_dicts() == expected
    assert out.malformed_rows == sum(
        1 for r in expected if r["_rescued_data"] is not None and r["customer_id"] is None
    )


def test_crlf_line_endings_on_every_path(tmp_path):
    path = tmp_path / "crlf.json"
    path.write_bytes(
        b'{"customer_id":"1","event_type":"login","amount":2.50,"event_timestamp":"t"}\r\n'
        b'{"amount":3,"customer_id":"2"}\r\n'
        b"not json\r\n"
        b"\r\n"
    )
    out = parse_files([str(path)], FIELDS)
    rows = out.frame.drop("_source_file").rows()
    assert rows == [
        ("1", "login", "2.50", "t", None),
        ("2", None, "3", None, None),
        (None, None, None, None, "not json"),
    ]
    assert out.blank_lines == 1


def test_the_canonical_pattern_marks_its_lines_and_leaves_null_uncaptured():
    import polars as pl

    from mlplatform.lakehouse.json_lines import _canonical_regex

    lines = pl.Series(
        [
            '{"customer_id":null,"event_type":"x","amount":1.50,"event_timestamp":"t"}',
            '{"customer_id": "7" , "event_type":true,"amount":-2e3,"event_timestamp":""} ',
            '{"event_type":"x","customer_id":"1","amount":1,"event_timestamp":"t"}',  # order
        ]
    )
    groups = lines.str.extract_groups(_canonical_regex(FIELDS)).struct.unnest()
    assert groups["m"].to_list() == ["", "", None]
    assert groups.select("s0", "o0", "s1", "o1", "o2", "s3").rows()[:2] == [
        (None, None, "x", None, "1.50", "t"),
        ("7", None, None, "true", "-2e3", ""),
    ]


def test_only_json_whitespace_separates_tokens_on_every_path(tmp_path):
    path = tmp_path / "ws.json"
    ok = '{ "customer_id":\t"1" ,"event_type":"a","amount":1,"event_timestamp":"t" }'
    nbsp = '{"customer_id":\u00a0"2","event_type":"a","amount":1,"event_timestamp":"t"}'
    path.write_text(ok + "\n" + nbsp + "\n", encoding="utf-8")
    rows = parse_files([str(path)], FIELDS).frame.drop("_source_file").rows()
    assert rows == [("1", "a", "1", "t", None), (None, None, None, None, nbsp)]  # as json.loads
