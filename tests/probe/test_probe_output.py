"""The JSONL measurement file: durable writes, resume index, torn lines, write failures."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from censorscope.probe.output import JSONLWriter, scan_for_resume


def _m(report: str, url: str, pad: int = 0) -> dict[str, object]:
    return {"report_id": report, "input": url, "test_keys": {"pad": "x" * pad}}


def test_writer_appends_whole_lines_and_resume_indexes_by_report(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    with JSONLWriter(path) as w:
        w.write(_m("r1", "http://a/"))
        w.write(_m("r2", "http://b/"))
    with JSONLWriter(path) as w:  # a second run appends, never truncates
        w.write(_m("r2", "http://c/"))
    lines = path.read_text().splitlines()
    assert [json.loads(x)["input"] for x in lines] == ["http://a/", "http://b/", "http://c/"]
    state = scan_for_resume(path)
    assert state.report_id == "r2"
    assert state.done_in("r2") == {"http://b/", "http://c/"}
    assert state.done_in("r1") == {"http://a/"}
    assert state.torn_bytes == 0 and state.lines == 3


def test_torn_last_line_is_cut_and_its_input_redone(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    good = json.dumps(_m("r1", "http://a/")) + "\n"
    torn = json.dumps(_m("r1", "http://b/"))[:25]
    path.write_text(good + torn)
    state = scan_for_resume(path)
    assert state.torn_bytes == len(torn)
    assert state.done_in("r1") == {"http://a/"}
    assert path.read_text() == good


def test_complete_last_line_without_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text(json.dumps(_m("r1", "http://a/")))
    state = scan_for_resume(path)
    assert state.done_in("r1") == {"http://a/"}
    assert path.read_text().endswith("}\n")
    assert scan_for_resume(tmp_path / "missing.jsonl").lines == 0


_FULL_DISK = textwrap.dedent(
    """
    import json, resource, sys
    from pathlib import Path
    from censorscope.probe.output import JSONLWriter, OutputError
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), int(sys.argv[2])))
    w = JSONLWriter(Path(sys.argv[1]))
    try:
        for i in range(100):
            w.write({"report_id": "r", "input": f"http://{i}/", "pad": "x" * 900})
    except OutputError as exc:
        print(json.dumps({"written": exc.written, "message": str(exc)}))
    finally:
        w.close()
    """
)


def test_file_size_limit_keeps_every_written_measurement(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes the kernel refuse the write (EFBIG), like a full disk does."""

    path = tmp_path / "out.jsonl"
    proc = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(path), "3500"],
        capture_output=True, text=True, timeout=30, check=True,
    )
    report = json.loads(proc.stdout)
    assert "maximum size" in report["message"] and "intact" in report["message"]
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b"", "no partial line is left behind"
    parsed = [json.loads(x) for x in lines[:-1]]
    assert len(parsed) == report["written"] >= 2
    assert [p["input"] for p in parsed] == [f"http://{i}/" for i in range(len(parsed))]
