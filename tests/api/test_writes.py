"""The API's writes: bearer tokens (401 without, 401 for a wrong one, 403 for a role that
does not grant it), findings and feedback labels stored in the SQLite sidecar and read back,
every field check, the body cap, the quota, the token file read again when it changes,
``censorscope token new``, and the sidecar written by many processes at once."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apikit import UNANALYSED_UID, WIDE_SETTINGS, ApiStore, client_for
from click.testing import CliRunner
from fastapi.testclient import TestClient

from censorscope.api import Settings, create_app
from censorscope.api.annotations import AnnotationStore, default_annotations_path
from censorscope.api.settings import Quota
from censorscope.api.tokencli import token as token_command
from censorscope.api.tokens import TokenFile, TokenFileError, append_token, token_hash

INCIDENT = "inc-501b60d137f0"
IR_UID = "20220815190130.000000_IR_webconnectivity_43aba56ef01712dd"


class Tokens:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.analyst = append_token(path, "analyst")
        self.admin = append_token(path, "admin")


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _error(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == status
    assert set(body["error"]) == {"code", "message", "detail"}
    error: dict[str, Any] = body["error"]
    return error


@pytest.fixture()
def tokens(tmp_path: Path) -> Tokens:
    return Tokens(tmp_path / "tokens")


@pytest.fixture()
def writer(api_store: ApiStore, tokens: Tokens, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(**{**WIDE_SETTINGS.__dict__, "tokens_file": str(tokens.path),
                           "annotations_file": str(tmp_path / "notes.sqlite")})
    with client_for(api_store.url, settings) as c:
        yield c


def _finding(**kw: Any) -> dict[str, Any]:
    return {"incident": INCIDENT, "text": "TikTok blocked at TLS on two networks.", **kw}


def test_writes_need_a_token_of_the_role(writer: TestClient, tokens: Tokens) -> None:
    r = writer.post("/api/v1/findings", json=_finding())
    assert _error(r, 401)["message"].startswith("this needs a bearer token")
    assert r.headers["www-authenticate"] == 'Bearer realm="censorscope"'
    r = writer.post("/api/v1/findings", json=_finding(), headers={"Authorization": "Basic x"})
    assert _error(r, 401) and r.headers["www-authenticate"].startswith("Bearer")
    r = writer.post("/api/v1/findings", json=_finding(), headers=_auth(tokens.analyst + "x"))
    assert _error(r, 401)["message"] == "the token is not valid"
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    # a line's hash given as the token is not the token
    r = writer.post("/api/v1/findings", json=_finding(),
                    headers=_auth(token_hash(tokens.analyst)))
    assert _error(r, 401)
    r = writer.post("/api/v1/findings", json=_finding(), headers=_auth(tokens.analyst))
    assert r.status_code == 201, r.text
    made = r.json()["finding"]
    # deleting is the admin's: 403 for the analyst, done for the admin
    r = writer.delete(f"/api/v1/findings/{made['id']}", headers=_auth(tokens.analyst))
    assert _error(r, 403)["detail"] == {"role": "analyst", "needs": "admin"}
    assert writer.get(f"/api/v1/findings/{made['id']}").json()["finding"] == made
    r = writer.delete(f"/api/v1/findings/{made['id']}", headers=_auth(tokens.admin))
    assert r.status_code == 200 and r.json()["finding"] == made
    assert _error(writer.get(f"/api/v1/findings/{made['id']}"), 404)
    assert _error(writer.delete(f"/api/v1/findings/{made['id']}",
                                headers=_auth(tokens.admin)), 404)
    # an admin may do what an analyst may
    assert writer.post("/api/v1/findings", json=_finding(),
                       headers=_auth(tokens.admin)).status_code == 201


def test_findings_are_stored_and_listed(writer: TestClient, tokens: Tokens,
                                        tmp_path: Path) -> None:
    links = ["https://ooni.org/post/2022-azerbaijan/", "http://example.org/a?b=c#d"]
    r = writer.post("/api/v1/findings", headers=_auth(tokens.analyst),
                    json=_finding(text="  Seen <b>from</b> two ISPs.\n\nSNI-based. ",
                                  links=[*links, links[0]]))
    assert r.status_code == 201 and r.headers["content-type"] == "application/json"
    one = r.json()["finding"]
    assert one["text"] == "Seen <b>from</b> two ISPs.\n\nSNI-based."  # kept as data
    assert one["links"] == links and one["incident_id"] == INCIDENT
    assert one["measurement_uid"] is None and one["role"] == "analyst"
    assert one["token_id"] == token_hash(tokens.analyst)[:12]
    assert one["id"].startswith("fnd-") and one["created"].endswith("Z")
    r = writer.post("/api/v1/findings", headers=_auth(tokens.admin),
                    json={"measurement_uid": IR_UID, "text": "Blockpage 10.10.34.36."})
    assert r.status_code == 201, r.text
    two = r.json()["finding"]
    assert writer.get("/api/v1/findings").json() == {
        "metadata": {"count": 2, "limit": 100, "offset": 0}, "findings": [one, two]}
    assert writer.get("/api/v1/findings", params={"incident": INCIDENT}).json()[
        "findings"] == [one]
    assert writer.get("/api/v1/findings", params={"measurement_uid": IR_UID}).json()[
        "findings"] == [two]
    page = writer.get("/api/v1/findings", params={"limit": 1, "offset": 1}).json()
    assert page["metadata"]["count"] == 2 and page["findings"] == [two]
    # the rows are in the sidecar file, in WAL mode
    con = sqlite3.connect(tmp_path / "notes.sqlite")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("SELECT id, text FROM findings ORDER BY rowid").fetchall() == [
        (one["id"], one["text"]), (two["id"], two["text"])]
    con.close()


@pytest.mark.parametrize(("body", "status", "name"), [
    (_finding(measurement_uid=IR_UID), 400, "measurement_uid"),
    ({"text": "no subject"}, 400, "incident"),
    (_finding(text="   "), 400, "text"),
    (_finding(text="x" * 10_001), 400, "text"),
    (_finding(text="€" * 3334), 400, "text"),  # 10,002 bytes of UTF-8
    (_finding(text="bell\x07"), 400, "text"),
    (_finding(links=["javascript:alert(1)"]), 400, "links"),
    (_finding(links=["https://"]), 400, "links"),
    (_finding(links=["https://a.example/ b"]), 400, "links"),
    (_finding(links=["https://[::1"]), 400, "links"),
    (_finding(links=[f"https://a.example/{i}" for i in range(21)]), 400, "links"),
    (_finding(links=["https://a.example/" + "x" * 2000]), 400, "links"),
    (_finding(incident="inc-000000000000"), 404, None),
    ({"measurement_uid": "nope", "text": "x"}, 404, None),
    (_finding(extra=1), 422, "extra"),
    (_finding(links="https://a.example/"), 422, "links"),
    (_finding(incident="bad id!"), 422, "incident"),
    ({"incident": INCIDENT}, 422, "text"),
])
def test_finding_fields_are_checked(writer: TestClient, tokens: Tokens, body: dict[str, Any],
                                    status: int, name: str | None) -> None:
    error = _error(writer.post("/api/v1/findings", json=body, headers=_auth(tokens.analyst)),
                   status)
    if status == 400:
        assert error["detail"]["parameter"] == name
    elif status == 422:
        assert name in [d["parameter"] for d in error["detail"]]
    assert writer.get("/api/v1/findings").json()["metadata"]["count"] == 0


def test_text_of_exactly_10_kb_and_bodies_over_the_cap(writer: TestClient,
                                                       tokens: Tokens) -> None:
    r = writer.post("/api/v1/findings", json=_finding(text="€" * 3333 + "x"),
                    headers=_auth(tokens.analyst))
    assert r.status_code == 201, r.text
    big = b'{"incident": "%s", "text": "%s"}' % (INCIDENT.encode(), b"x" * 70_000)
    r = writer.post("/api/v1/findings", content=big, headers={
        **_auth(tokens.analyst), "Content-Type": "application/json"})
    assert _error(r, 413)["detail"] == {"max_bytes": 65_536}

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it arrives
        yield big[:40_000]
        yield big[40_000:]

    r = writer.post("/api/v1/findings", content=chunks(), headers={
        **_auth(tokens.analyst), "Content-Type": "application/json"})
    assert _error(r, 413)
    r = writer.post("/api/v1/findings", content=b"{not json", headers={
        **_auth(tokens.analyst), "Content-Type": "application/json"})
    assert _error(r, 422)
    assert writer.get("/api/v1/findings").json()["metadata"]["count"] == 1


def test_feedback_on_verdicts(writer: TestClient, tokens: Tokens) -> None:
    url = f"/api/v1/verdicts/{IR_UID}/feedback"
    empty = writer.get(url).json()
    assert empty == {"measurement_uid": IR_UID, "feedback": [], "counts": {
        "correct": 0, "false_positive": 0, "false_negative": 0, "wrong_mechanism": 0}}
    version = writer.get("/api/v1/verdicts", params={"measurement_uid": IR_UID}).json()[
        "rules_versions"][-1]
    r = writer.post(url, json={"label": "correct", "comment": "the 10.10.34.36 blockpage"},
                    headers=_auth(tokens.analyst))
    assert r.status_code == 201, r.text
    first = r.json()["feedback"]
    assert first["label"] == "correct" and first["rules_version"] == version
    assert first["measurement_uid"] == IR_UID and first["comment"] == (
        "the 10.10.34.36 blockpage")
    r = writer.post(url, json={"label": "wrong_mechanism", "rules_version": version},
                    headers=_auth(tokens.admin))
    assert r.status_code == 201
    second = r.json()["feedback"]
    listed = writer.get(url).json()
    assert listed["feedback"] == [first, second]
    assert listed["counts"] == {"correct": 1, "false_positive": 0, "false_negative": 0,
                                "wrong_mechanism": 1}
    # refusals
    assert _error(writer.post(url, json={"label": "correct"}), 401)
    assert _error(writer.post(url, json={"label": "blocked"}, headers=_auth(tokens.analyst)),
                  422)
    assert _error(writer.post(url, json={"label": "correct", "comment": "y" * 10_001},
                              headers=_auth(tokens.analyst)), 400)["detail"][
        "parameter"] == "comment"
    error = _error(writer.post(url, json={"label": "correct", "rules_version": "cs-0"},
                               headers=_auth(tokens.analyst)), 404)
    assert error["detail"]["rules_versions"] == [version]
    unanalysed = f"/api/v1/verdicts/{UNANALYSED_UID}/feedback"
    assert _error(writer.post(unanalysed, json={"label": "correct"},
                              headers=_auth(tokens.analyst)), 404)["message"] == (
        "the measurement has no verdict")
    assert _error(writer.get("/api/v1/verdicts/nope/feedback"), 404)["message"] == (
        "no such measurement")
    assert writer.get(url).json()["feedback"] == [first, second]


def test_tokens_file_is_read_again_when_it_changes(writer: TestClient,
                                                   tokens: Tokens) -> None:
    later = append_token(tokens.path, "analyst")
    assert writer.post("/api/v1/findings", json=_finding(),
                       headers=_auth(later)).status_code == 201
    lines = tokens.path.read_text().splitlines()
    tokens.path.write_text("# the analyst's token was revoked\n" + "\n".join(lines[1:]) + "\n")
    assert _error(writer.post("/api/v1/findings", json=_finding(),
                              headers=_auth(tokens.analyst)), 401)
    assert writer.post("/api/v1/findings", json=_finding(),
                       headers=_auth(tokens.admin)).status_code == 201
    tokens.path.write_text("not a token line\n")
    error = _error(writer.post("/api/v1/findings", json=_finding(),
                               headers=_auth(tokens.admin)), 503)
    assert ":1: want '<sha256 hex of the token> <role>'" in error["detail"]["problem"]
    tokens.path.unlink()
    assert _error(writer.post("/api/v1/findings", json=_finding(),
                              headers=_auth(tokens.admin)), 503)


def test_without_a_token_file_nothing_is_written(api_store: ApiStore, tmp_path: Path,
                                                 tokens: Tokens) -> None:
    settings = Settings(**{**WIDE_SETTINGS.__dict__,
                           "annotations_file": str(tmp_path / "n.sqlite")})
    with client_for(api_store.url, settings) as c:
        assert _error(c.post("/api/v1/findings", json=_finding(),
                             headers=_auth(tokens.admin)), 401)
        assert c.get("/api/v1/findings").json()["findings"] == []
    assert not (tmp_path / "n.sqlite").exists()  # reads do not make the file
    bad = tmp_path / "bad-tokens"
    bad.write_text(f"{'0' * 64} root\n")
    with pytest.raises(TokenFileError, match="unknown role 'root'"):
        create_app(api_store.url, settings=Settings(tokens_file=str(bad)))


def test_writes_are_charged_to_the_quota(api_store: ApiStore, tokens: Tokens,
                                         tmp_path: Path) -> None:
    settings = Settings(tokens_file=str(tokens.path), quotas=(Quota(3600.0, 0.05),),
                        min_request_cost=0.03, annotations_file=str(tmp_path / "q.sqlite"))
    with client_for(api_store.url, settings) as c:
        statuses = [c.post("/api/v1/findings", json=_finding(),
                           headers=_auth(tokens.analyst)).status_code for _ in range(3)]
        assert statuses[0] == 201 and statuses[-1] == 429


def test_openapi_documents_the_bearer_scheme(writer: TestClient) -> None:
    doc = writer.get("/openapi.json").json()
    scheme = doc["components"]["securitySchemes"]["bearerToken"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    paths = doc["paths"]
    for path, method in (("/api/v1/findings", "post"), ("/api/v1/findings/{finding_id}",
                                                        "delete"),
                         ("/api/v1/verdicts/{measurement_uid}/feedback", "post")):
        op = paths[path][method]
        assert op["security"] == [{"bearerToken": []}], path
        assert {"201", "401", "403", "413"} & set(op["responses"]) >= {"401", "403"}
    assert "security" not in paths["/api/v1/findings"]["get"]
    assert "security" not in paths["/api/v1/measurements"]["get"]


def test_default_sidecar_paths() -> None:
    assert default_annotations_path("duckdb:///srv/cs/store.duckdb") == Path(
        "/srv/cs/store.annotations.sqlite")
    assert default_annotations_path("duckdb:lab.duckdb") == Path("lab.annotations.sqlite")
    assert default_annotations_path("/srv/x.duckdb") == Path("/srv/x.annotations.sqlite")
    for url in ("clickhouse://127.0.0.1:9000/cs", "duckdb:///:memory:"):
        assert default_annotations_path(url) == Path("censorscope-annotations.sqlite")


# --- censorscope token new -------------------------------------------------------------------

def test_token_new_prints_once_and_appends_its_hash(tmp_path: Path) -> None:
    path = tmp_path / "sub-tokens"
    runner = CliRunner()
    made = []
    for role in ("analyst", "admin"):
        r = runner.invoke(token_command, ["new", "--role", role, "--tokens", str(path)])
        assert r.exit_code == 0, r.output
        made.append(r.stdout.strip())
    assert all(t.startswith("cst_") and len(t) == 47 for t in made) and made[0] != made[1]
    text = path.read_text()
    assert text == f"{token_hash(made[0])} analyst\n{token_hash(made[1])} admin\n"
    assert made[0] not in text and made[1] not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    book = TokenFile(str(path))
    found = [book.check(t) for t in made]
    assert [p.role if p else None for p in found] == ["analyst", "admin"]
    r = runner.invoke(token_command, ["new", "--role", "root", "--tokens", str(path)])
    assert r.exit_code == 2
    path.write_text(text + "garbage\n")
    r = runner.invoke(token_command, ["new", "--role", "admin", "--tokens", str(path)])
    assert r.exit_code == 2 and ":3: want" in r.stderr
    assert path.read_text() == text + "garbage\n"  # nothing appended to a bad file


# --- many writer processes -------------------------------------------------------------------

def _write_findings(path: str, worker: int, count: int) -> list[str]:
    store = AnnotationStore(path)
    return [store.add_finding(token_id=f"w{worker}", role="analyst", incident_id=INCIDENT,
                              measurement_uid=None, text=f"{worker}-{i}", links=[])["id"]
            for i in range(count)]


def test_sidecar_takes_writes_from_many_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        results = pool.starmap(_write_findings, [(path, w, 25) for w in range(4)])
    ids = [i for ids in results for i in ids]
    store = AnnotationStore(path)
    count, rows = store.findings(limit=1000)
    assert count == 100 == len(set(ids)) and {r["id"] for r in rows} == set(ids)
    for w in range(4):  # each process's rows in the order it wrote them
        assert [r["text"] for r in rows if r["token_id"] == f"w{w}"] == [
            f"{w}-{i}" for i in range(25)]
    assert os.path.exists(path + "-wal") or sqlite3.connect(path).execute(
        "PRAGMA journal_mode").fetchone()[0] == "wal"


# --- censorscope serve --workers 2 --tokens … --annotations … -------------------------------

def _request(url: str, method: str = "GET", body: dict[str, Any] | None = None,
             token: str | None = None) -> tuple[int, Any]:
    import json
    import urllib.error
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **(_auth(token) if token else {})}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        with e:
            return e.code, json.loads(e.read())


def test_serve_workers_write_one_sidecar(api_store: ApiStore, tokens: Tokens,
                                         tmp_path: Path) -> None:
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.error
    from concurrent.futures import ThreadPoolExecutor

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    notes = tmp_path / "served.sqlite"
    base = f"http://127.0.0.1:{port}/api/v1"
    with subprocess.Popen([sys.executable, "-m", "censorscope.cli.main", "serve", "--store",
                           api_store.url, "--port", str(port), "--workers", "2",
                           "--tokens", str(tokens.path), "--annotations", str(notes),
                           "--log-level", "warning"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True) as server:
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    status, _ = _request(f"{base}/findings")
                    break
                except (urllib.error.URLError, ConnectionError):
                    assert server.poll() is None, server.stderr.read() if server.stderr else ""
                    assert time.monotonic() < deadline, "serve did not answer in 30 s"
                    time.sleep(0.2)
            assert status == 200
            assert _request(f"{base}/findings", "POST", _finding())[0] == 401

            def post(i: int) -> int:
                return _request(f"{base}/findings", "POST", _finding(text=f"n{i}"),
                                tokens.analyst if i % 2 else tokens.admin)[0]

            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(post, range(40)))
            assert statuses == [201] * 40
            status, body = _request(f"{base}/findings?limit=100")
            assert status == 200 and body["metadata"]["count"] == 40
            assert sorted(f["text"] for f in body["findings"]) == sorted(
                f"n{i}" for i in range(40))
        finally:
            os.kill(server.pid, signal.SIGINT)
            server.wait(timeout=30)
        stderr = server.stderr.read() if server.stderr else ""
    assert "Traceback" not in stderr
    bad = tmp_path / "bad"
    bad.write_text("x\n")
    r = subprocess.run([sys.executable, "-m", "censorscope.cli.main", "serve", "--store",
                        api_store.url, "--port", "1", "--tokens", str(bad)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and ":1: want '<sha256 hex of the token> <role>'" in r.stderr
