"""What the landing sensor makes of a folder (tasks.arrivals): a file still being written (a temporary
name, a size or modification time that keeps changing, an empty file) is never part of a send; files
copied together are one send; a file that keeps changing does not hold the others back for ever; what
was announced or is already loaded is not announced again. Real files in a temporary folder, the
clock given by hand."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from branchkpi.tasks import arrivals
from branchkpi.tasks.arrivals import Announced, Sends, signature
from branchkpi.tasks.landing import expand_paths, is_landable

from ..conftest import SEED, TIDY_SEED

QUIET, MAX_WAIT = 5.0, 60.0


@pytest.mark.parametrize(
    ("name", "landable"),
    [
        ("yamaguchi_2026_11.csv", True),
        ("月報_山口.CSV", True),
        ("kpi.xlsx", True),
        ("kpi.xlsm", True),
        ("table.tsv", True),
        ("yamaguchi.csv.part", False),  # a copy in progress under a temporary name
        ("yamaguchi.csv.tmp", False),
        ("yamaguchi.csv.crdownload", False),
        ("~$kpi.xlsx", False),  # Excel's lock file while the workbook is open
        (".yamaguchi.csv", False),  # hidden (rsync's temporary copy: .name.XXXXXX)
        (".branchkpi-sensor.json", False),
        ("yamaguchi.csv~", False),
        ("notes.md", False),
        ("archive.zip", False),
    ],
)
def test_which_names_are_landed(name: str, landable: bool) -> None:
    assert is_landable(Path("/landing") / name) is landable


def test_a_folder_lands_only_its_landable_files(tmp_path: Path) -> None:
    for name in ("a.csv", "b.csv.part", "~$c.xlsx", ".d.csv", "e.xlsx"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in expand_paths([tmp_path])] == ["a.csv", "e.xlsx"]
    assert [p.name for p in arrivals.waiting_files(tmp_path)] == ["a.csv", "e.xlsx"]
    assert arrivals.waiting_files(tmp_path / "missing") == []


def write(path: Path, data: bytes, mtime_ns: int | None = None) -> Path:
    path.write_bytes(data)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def seen(sends: Sends, path: Path, now: float) -> None:
    sends.seen(path, now, signature(path))


def test_a_file_goes_once_it_has_stayed_unchanged_for_the_quiet_period(tmp_path: Path) -> None:
    sends = Sends(QUIET, MAX_WAIT)
    f = write(tmp_path / "a.csv", b"region,month\n")
    seen(sends, f, 100.0)
    assert sends.ready(101.0) == [] and sends.ready(104.9) == []
    assert sends.ready(105.0) == [f]
    assert sends.pending == {} and sends.ready(200.0) == []  # announced once


def test_a_file_still_being_written_is_not_picked_up_until_it_stops_changing(tmp_path: Path) -> None:
    sends = Sends(QUIET, MAX_WAIT)
    f = tmp_path / "slow.csv"
    content = b""
    for step in range(6):  # a chunk every 3 s, shorter than the quiet period
        content += b"row,%d\n" % step
        write(f, content, mtime_ns=(1_000 + step) * 10**9)
        seen(sends, f, 100.0 + 3 * step)
        assert sends.ready(100.0 + 3 * step + 2.9) == []
    # the watcher misses the last write: looking again finds it changed, and the clock starts over
    write(f, content + b"last,row\n", mtime_ns=2_000 * 10**9)
    assert sends.ready(200.0) == []
    assert sends.ready(204.0) == [] and sends.ready(205.0) == [f]


@pytest.mark.parametrize("change", ["size", "mtime", "inode"])
def test_any_change_of_size_time_or_inode_is_a_change(tmp_path: Path, change: str) -> None:
    sends = Sends(QUIET, MAX_WAIT)
    f = write(tmp_path / "a.csv", b"abc", mtime_ns=10**18)
    seen(sends, f, 0.0)
    if change == "size":
        write(f, b"abcd", mtime_ns=10**18)
    elif change == "mtime":
        write(f, b"abd", mtime_ns=10**18 + 1)
    else:  # replaced by a rename: the same bytes and time, another file
        other = write(tmp_path / "b.tmp", b"abc", mtime_ns=10**18)
        other.replace(f)
    assert sends.ready(4.0) == []  # looked at again: changed at 4.0
    assert sends.ready(8.9) == [] and sends.ready(9.0) == [f]


def test_an_empty_file_waits_for_its_content(tmp_path: Path) -> None:
    sends = Sends(QUIET, MAX_WAIT)
    f = write(tmp_path / "a.csv", b"")
    seen(sends, f, 0.0)
    assert sends.ready(30.0) == []
    write(f, b"data\n", mtime_ns=5 * 10**18)
    assert sends.ready(31.0) == [] and sends.ready(36.0) == [f]


def test_files_copied_within_the_quiet_period_are_one_send(tmp_path: Path) -> None:
    sends = Sends(QUIET, MAX_WAIT)
    files = [write(tmp_path / f"part_{i}.csv", b"x%d" % i) for i in range(3)]
    for i, f in enumerate(files):  # 2 s apart
        seen(sends, f, 10.0 + 2 * i)
        assert sends.ready(10.0 + 2 * i + 1) == []
    assert sends.ready(18.9) == []  # the last came at 14.0
    assert sends.ready(19.0) == sorted(files)


def test_files_further_apart_than_the_quiet_period_are_two_sends(tmp_path: Path) -> None:
    sends = Sends(QUIET, MAX_WAIT)
    first, second = write(tmp_path / "a.csv", b"a"), write(tmp_path / "b.csv", b"b")
    seen(sends, first, 0.0)
    assert sends.ready(5.0) == [first]
    seen(sends, second, 8.0)
    assert sends.ready(13.0) == [second]


def test_a_send_waits_for_a_file_still_changing_but_not_for_ever(tmp_path: Path) -> None:
    sends = Sends(QUIET, max_wait=20.0)
    done = write(tmp_path / "done.csv", b"complete")
    growing = tmp_path / "growing.csv"
    seen(sends, done, 0.0)
    for t in range(0, 40, 2):  # a writer that never stops
        write(growing, b"x" * (t + 1), mtime_ns=(t + 1) * 10**9)
        seen(sends, growing, float(t))
        assert sends.ready(float(t)) == ([done] if t >= 25 else []), t
        if t >= 25:
            break
    assert growing in sends.pending and done not in sends.pending  # it follows later, on its own


def test_a_file_gone_before_its_send_is_dropped(tmp_path: Path) -> None:
    sends = Sends(QUIET, MAX_WAIT)
    a, b = write(tmp_path / "a.csv", b"a"), write(tmp_path / "b.csv", b"b")
    seen(sends, a, 0.0)
    seen(sends, b, 0.0)
    b.unlink()  # renamed away, or landed by a run
    assert sends.ready(6.0) == [a]
    sends.seen(a, 7.0, None)
    assert sends.pending == {}


def test_a_temporary_name_renamed_into_place_is_seen_under_its_final_name(tmp_path: Path) -> None:
    sends = Sends(QUIET, MAX_WAIT)
    part = write(tmp_path / "yamaguchi.csv.part", b"half")
    seen(sends, part, 0.0)
    assert sends.pending == {}  # never a candidate
    final = tmp_path / "yamaguchi.csv"
    part.write_bytes(b"half and the rest")
    part.rename(final)
    seen(sends, final, 3.0)
    assert sends.ready(8.0) == [final]


# --- what was announced, what is loaded -------------------------------------------------------------


def test_the_announced_files_survive_a_restart(tmp_path: Path) -> None:
    f = write(tmp_path / "a.csv", b"a")
    state = Announced()
    state.record([(f, "sha-a", signature(f)), (tmp_path / "gone.csv", "sha-g", None)], "event-1")
    state.save(tmp_path)
    again = Announced.load(tmp_path)
    assert list(again.files) == [str(f)]  # a file no longer there is forgotten
    assert again.already(f, "sha-a") and not again.already(f, "sha-other")
    assert again.unchanged(f, signature(f))
    write(f, b"a corrected copy", mtime_ns=7 * 10**18)
    assert not again.unchanged(f, signature(f))
    assert json.loads((tmp_path / arrivals.STATE_FILE).read_text())["announced"][str(f)]["event"] == "event-1"


@pytest.mark.parametrize("text", ["", "not json", "[1, 2]", '{"announced": 3}'])
def test_an_unreadable_state_file_means_nothing_was_announced(tmp_path: Path, text: str) -> None:
    (tmp_path / arrivals.STATE_FILE).write_text(text)
    assert Announced.load(tmp_path).files == {}
    assert Announced.load(tmp_path / "nowhere").files == {}


def test_already_announced_or_loaded_files_are_left_out(tmp_path: Path) -> None:
    a, b, c, d = (tmp_path / n for n in ("a.csv", "b.csv", "c.csv", "d.csv"))
    state = Announced({str(a): {"sha256": "sha-a"}})
    keep, skipped = arrivals.to_announce(
        [(a, "sha-a"), (b, "sha-b"), (c, "sha-c"), (d, "sha-c")], state, loaded={"sha-b": "batch-7"}
    )
    assert keep == [(c, "sha-c")]
    assert skipped == [
        (a, "already announced"),
        (b, "already loaded (batch batch-7)"),
        (d, "the same content as another file of this send"),
    ]
    keep, _ = arrivals.to_announce([(a, "sha-a2")], state, loaded={})
    assert keep == [(a, "sha-a2")]  # the same name with new content: a correction, announced


def test_a_send_is_split_by_kind(tmp_path: Path) -> None:
    grouped = arrivals.by_kind(
        [(tmp_path / "z.csv", "kpi"), (tmp_path / "b.csv", "statistics"), (tmp_path / "a.csv", "kpi")]
    )
    assert list(grouped) == ["statistics", "kpi"]
    assert grouped["kpi"] == [tmp_path / "a.csv", tmp_path / "z.csv"]


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (TIDY_SEED, "statistics"),
        (SEED / "monthly_report_layout" / "yamaguchi_insured_persons.csv", "statistics"),
        (SEED / "kpi_actuals.csv", "kpi"),
        (SEED / "kpi_plan_items.csv", "kpi"),
        (SEED / "okayama_collection_rate_targets.csv", "kpi"),
    ],
)
def test_the_kind_of_a_file_is_told_by_its_headers(path: Path, kind: str) -> None:
    assert arrivals.file_kind(path, path.read_bytes()) == kind


def test_an_unreadable_file_goes_to_the_statistics_run_which_refuses_it(tmp_path: Path) -> None:
    assert arrivals.file_kind(tmp_path / "x.xlsx", b"PK\x03\x04 not a workbook") == "statistics"
    assert arrivals.file_kind(tmp_path / "x.csv", "\ufffd".encode() * 10) == "statistics"


def test_waiting_files_of_one_kind(tmp_path: Path) -> None:
    for source in (TIDY_SEED, SEED / "kpi_actuals.csv"):
        (tmp_path / source.name).write_bytes(source.read_bytes())
    assert [p.name for p in arrivals.waiting_files(tmp_path, "statistics")] == [TIDY_SEED.name]
    assert [p.name for p in arrivals.waiting_files(tmp_path, "kpi")] == ["kpi_actuals.csv"]


def test_the_event_of_a_send_names_its_kind_and_files() -> None:
    from branchkpi.flows.landing_sensor import EVENT, Arrived, send_event

    sig = arrivals.Signature(10, 1, 1)
    files = [
        Arrived(Path("/l/a.csv"), "a" * 64, 10, "statistics", sig),
        Arrived(Path("/l/b.csv"), "b" * 64, 20, "statistics", sig),
    ]
    event = send_event("statistics", files)
    assert event["event"] == EVENT == "branchkpi.landing.file-arrived"
    resource = event["resource"]
    assert resource["prefect.resource.id"].startswith("branchkpi.landing.send.")
    assert resource["branchkpi.landing.kind"] == "statistics" and resource["branchkpi.landing.files"] == "2"
    assert [r["prefect.resource.id"] for r in event["related"]] == [
        f"branchkpi.landing.file.{'a' * 64}",
        f"branchkpi.landing.file.{'b' * 64}",
    ]
    assert {r["prefect.resource.role"] for r in event["related"]} == {"landing-file"}
    assert event["payload"]["paths"] == ["/l/a.csv", "/l/b.csv"]
    assert event["payload"]["ja"] == "着信: 月報（統計） 2 件（a.csv, b.csv）"
    # the same files make the same send id, whatever their order
    assert send_event("statistics", files[::-1])["resource"]["prefect.resource.id"] == resource["prefect.resource.id"]
