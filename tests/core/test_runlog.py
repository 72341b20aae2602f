"""The run log survives crashes: a half-written last line is skipped, never fatal."""

from __future__ import annotations

from pathlib import Path

import pytest

from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.runlog import append_record, find_record, new_run_id, read_log


def test_records_are_appended_one_line_each(tmp_path: Path) -> None:
    log = tmp_path / "runs.jsonl"
    append_record(log, {"id": "a1", "prompt": "fox"})
    append_record(log, {"id": "b2", "prompt": "owl"})
    assert log.read_text().count("\n") == 2
    assert [r["id"] for r in read_log(log).records] == ["a1", "b2"]


def test_a_truncated_last_line_is_skipped_and_the_next_append_starts_a_fresh_line(tmp_path: Path) -> None:
    log = tmp_path / "runs.jsonl"
    append_record(log, {"id": "a1"})
    with open(log, "a", encoding="utf-8") as handle:
        handle.write('{"id": "crashed", "prom')  # the process died mid-write
    result = read_log(log)
    assert [r["id"] for r in result.records] == ["a1"]
    assert result.skipped_lines == [2]
    append_record(log, {"id": "c3"})
    assert [r["id"] for r in read_log(log).records] == ["a1", "c3"]


def test_find_by_unique_prefix(tmp_path: Path) -> None:
    log = tmp_path / "runs.jsonl"
    first, second = "20261123-101010-aaaaaa", "20261123-101010-bbbbbb"
    append_record(log, {"id": first})
    append_record(log, {"id": second})
    assert find_record(log, "20261123-101010-b")["id"] == second
    with pytest.raises(BadInputError, match="matches 2 runs"):
        find_record(log, "20261123")
    with pytest.raises(BadInputError, match="No run with id"):
        find_record(log, "nope")


def test_a_missing_log_reads_as_empty(tmp_path: Path) -> None:
    assert read_log(tmp_path / "none.jsonl").records == []


def test_run_ids_are_unique_and_sortable() -> None:
    ids = {new_run_id() for _ in range(200)}
    assert len(ids) == 200


def test_a_rating_is_stored_in_the_run_record_and_summarised(tmp_path: Path) -> None:
    from hear2see_desktop.core.runlog import mean_ratings, rate_run

    log = tmp_path / "runs.jsonl"
    for run_id, steps in (("a1", 20), ("b2", 20), ("c3", 40)):
        append_record(log, {"id": run_id, "steps": steps, "scheduler": "dpmpp-2m", "size": [512, 512],
                            "settings": {"mode": "classic"}})
    with open(log, "a", encoding="utf-8") as handle:
        handle.write('{"id": "broken"')  # a crash's half line stays as it was
    rate_run(log, "a1", 4)
    rate_run(log, "b2", 2)
    rate_run(log, "c3", 5)
    records = {r["id"]: r for r in read_log(log).records}
    assert records["a1"]["rating"] == 4 and records["c3"]["rating"] == 5
    assert '{"id": "broken"\n' in log.read_text()  # ended by the next line, not changed
    assert mean_ratings(list(records.values())) == [
        ("classic dpmpp-2m 40 steps 512x512", 5.0, 1),
        ("classic dpmpp-2m 20 steps 512x512", 3.0, 2),
    ]
    with pytest.raises(BadInputError, match="from 1 to 5"):
        rate_run(log, "a1", 6)


def test_lines_json_cannot_parse_are_skipped_not_fatal(tmp_path: Path) -> None:
    # Found by test_fuzz_parsers: these raised RecursionError and ValueError out of read_log.
    log = tmp_path / "runs.jsonl"
    append_record(log, {"id": "a1"})
    with open(log, "a", encoding="utf-8") as handle:
        handle.write("[" * 100_000 + "\n")  # nested deeper than the parser's recursion limit
        handle.write("1" * 5000 + "\n")  # more digits than Python converts to an int
    append_record(log, {"id": "b2"})
    result = read_log(log)
    assert [r["id"] for r in result.records] == ["a1", "b2"]
    assert result.skipped_lines == [2, 3]


def test_rating_keeps_every_line_byte_for_byte(tmp_path: Path) -> None:
    # A prompt with a line separator (U+2028) split the record for str.splitlines, so the rating was lost;
    # a half line cut inside a UTF-8 character came back with U+FFFD in it. A rating is appended now.
    from hear2see_desktop.core.runlog import rate_run

    log = tmp_path / "runs.jsonl"
    append_record(log, {"id": "a1", "prompt": "fox\u2028owl\x85\x1c"})
    append_record(log, {"id": "b2", "prompt": "f\u00fcchse"})
    whole = log.read_bytes()
    cut = whole[: whole.index("ü".encode()) + 1]  # the last record ends in the middle of "ü"
    log.write_bytes(cut)
    rate_run(log, "a1", 5)
    assert log.read_bytes().startswith(cut + b"\n")  # the half line is ended, never changed
    assert read_log(log).records[0] == {"id": "a1", "prompt": "fox\u2028owl\x85\x1c", "rating": 5}


def test_a_prompt_with_an_undecodable_argument_byte_is_still_logged(tmp_path: Path) -> None:
    # On Linux a byte of argv that isn't UTF-8 arrives as a lone surrogate, which UTF-8 can't encode.
    log = tmp_path / "runs.jsonl"
    append_record(log, {"id": "a1", "prompt": "fox \udcff"})
    assert read_log(log).records == [{"id": "a1", "prompt": "fox \udcff"}]


def test_the_ratings_summary_skips_what_it_cannot_read() -> None:
    from hear2see_desktop.core.runlog import mean_ratings

    records = [
        {"id": "a", "rating": 4, "steps": 20, "scheduler": "ddim", "size": [64, 64], "settings": {"mode": "fast"}},
        {"id": "b", "rating": "five"},
        {"id": "c", "rating": 9},
        {"id": "d", "rating": True},
        {"id": "e", "rating": 2, "settings": [1], "size": 64},
    ]
    assert mean_ratings(records) == [("fast ddim 20 steps 64x64", 4.0, 1), ("classic ? ? steps ?x?", 2.0, 1)]
