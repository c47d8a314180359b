"""utils.logger: the run folder's name, log.txt rows in the original's layout, and a RunLog that
rewrites both text files to exactly what a checkpoint recorded (docs/training.md#outputs,
docs/training.md#resume)."""
from __future__ import annotations

import json
import re

import pytest

from utils import logger
from utils.logger import LOG_HEADER, RunLog, format_row, make_run_dir


def test_format_row_is_the_original_table_row():
    row = format_row([3, 1e-4, 51.234567891, 40.5, None, None, 0, 12.0])
    assert row == "3\t0.00010000\t51.23456789\t40.50000000\t\t\t0.00000000\t12.00000000"
    assert format_row([7.0, 0.0]) == "7\t0.00000000"             # the epoch is an integer
    assert len(row.split("\t")) == 8


def test_header_names_the_eight_columns_with_a_trailing_tab():
    assert LOG_HEADER.endswith("\t")
    assert LOG_HEADER.split("\t")[:-1] == ["epoch", "lr", "error_h36m_p1", "error_h36m_p2",
                                            "error_3dhp_p1", "error_3dhp_p2", "PCK", "AUC"]


def read_lines(path) -> list[str]:
    return path.read_text().splitlines()


def test_runlog_appends_and_remembers_what_it_wrote(tmp_path):
    log = RunLog(tmp_path)
    assert (tmp_path / "log.txt").read_text() == "" and (tmp_path / "metrics.jsonl").read_text() == ""
    log.text("Namespace(note='x')\nMLP(\n)")                    # multi-line text: one line each
    log.row([0, 0.001, 50.0, 40.0, None, None, None, None])
    log.record({"epoch": 0, "tag": "_real", "h36m": {"p1": 50.0}})
    assert read_lines(tmp_path / "log.txt") == ["Namespace(note='x')", "MLP(", ")",
                                                "0\t0.00100000\t50.00000000\t40.00000000\t\t\t\t"]
    assert json.loads(read_lines(tmp_path / "metrics.jsonl")[0]) == {
        "epoch": 0, "tag": "_real", "h36m": {"p1": 50.0}}
    assert log.state() == {"text_lines": read_lines(tmp_path / "log.txt"),
                           "json_lines": read_lines(tmp_path / "metrics.jsonl")}


def test_resume_rewrites_both_files_to_the_checkpoint_state(tmp_path):
    log = RunLog(tmp_path)
    log.text("header")
    log.row([0, 0.5])
    log.record({"epoch": 0})
    saved = log.state()                                           # what ckpt_last would hold
    log.row([1, 0.25])                                            # written after the checkpoint,
    log.record({"epoch": 1})                                      # then the run died
    resumed = RunLog(tmp_path, **saved)
    assert read_lines(tmp_path / "log.txt") == ["header", "0\t0.50000000"]
    assert read_lines(tmp_path / "metrics.jsonl") == ['{"epoch": 0}']
    resumed.row([1, 0.25])                                        # the epoch is redone once
    assert read_lines(tmp_path / "log.txt") == ["header", "0\t0.50000000", "1\t0.25000000"]
    assert resumed.state()["text_lines"] == read_lines(tmp_path / "log.txt")
    assert saved["text_lines"] == ["header", "0\t0.50000000"]     # the saved state is a copy


def test_run_dir_layout_and_a_new_folder_per_run(tmp_path, monkeypatch):
    monkeypatch.setattr(logger.time, "strftime", lambda fmt: "2026-01-02T03-04-05")
    first = make_run_dir(tmp_path / "ckpt", "videopose", "gt", "posefk")
    assert first == tmp_path / "ckpt" / "videopose" / "gt" / "2026-01-02T03-04-05_posefk"
    assert (first / "tmp").is_dir() and ":" not in first.name
    second = make_run_dir(tmp_path / "ckpt", "videopose", "gt", "posefk")
    third = make_run_dir(tmp_path / "ckpt", "videopose", "gt", "posefk")
    assert second.name == "2026-01-02T03-04-05-2_posefk" and third.name == "2026-01-02T03-04-05-3_posefk"
    assert len({first, second, third}) == 3 and all((p / "tmp").is_dir() for p in (second, third))


def test_real_timestamp_is_iso_8601_without_colons(tmp_path):
    name = make_run_dir(tmp_path, "gcn", "hr", "e2e").name
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d_e2e", name), name


@pytest.mark.parametrize("note", ["debug", "a b"])
def test_note_is_the_folder_suffix(tmp_path, note):
    assert make_run_dir(tmp_path, "mlp", "cpn_ft_h36m_dbb", note).name.endswith("_" + note)


def test_null_log_and_writer_keep_state_but_write_nothing(tmp_path):
    from utils.logger import NullRunLog, NullWriter
    real, null = RunLog(tmp_path / "a"), NullRunLog(tmp_path / "b")
    for log in (real, null):
        log.text("line one\nline two")
        log.row([3, 0.5, None])
        log.record({"epoch": 3})
    assert null.state() == real.state()          # a non-main rank's checkpoint matches rank 0's
    assert not (tmp_path / "b").exists()
    writer = NullWriter()
    assert writer.add_scalar("x", 1.0, 0) is None and writer.flush() is None
