"""Planted secrets never reach the spool, the model, the report or the console.

A corpus of secrets is sent, in every place a witness can hold one, to a
real daemon in console mode; then every byte it wrote (its data folder, its
log) and every byte the console received is searched for them.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from akita_daemon.redact import PLACEHOLDER_JWT
from tests.daemon.daemon_process import witness
from tests.daemon.fake_console import FakeConsole, console_daemon

TRACE_ID = "lrn_PlantedSecrets00000001"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwbGFudGVkLXNlY3JldCJ9.cGxhbnRlZC1zaWduYXR1cmU"
AWS_KEY = "AKIAPLANTEDSECRET123"
AWS_KEY_IN_PATH = "AKIAPLANTEDSECRET456"
AWS_KEY_AS_KEY = "AKIAPLANTEDKEYASKEY1"
PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEplantedPRIVATEkeyBODY0123456789\n"
    "-----END RSA PRIVATE KEY-----"
)
OPAQUE_TOKEN = "plantedopaquetoken0123456789"
CARD = "4539 5787 6362 1486"
CARD_DIGITS = "4539578763621486"
PASSWORD = "hunter2-planted-password"
SESSION = "plantedsessionvalue42"
EMAIL = "planted.person@private.example"
API_KEY = "planted-api-key-7f3a"
BASIC = "cGxhbnRlZC11c2VyOnBsYW50ZWQtcHc="
GITHUB = "ghp_plantedGitHubToken0123456789abcdef"

SECRETS = [
    JWT,
    AWS_KEY,
    AWS_KEY_IN_PATH,
    AWS_KEY_AS_KEY,
    "MIIEplantedPRIVATEkeyBODY",
    OPAQUE_TOKEN,
    CARD,
    CARD_DIGITS,
    PASSWORD,
    SESSION,
    EMAIL,
    API_KEY,
    BASIC,
    GITHUB,
    "planted-user",
    "Planted Person",
]


def _witnesses() -> list[dict[str, object]]:
    with_everything = witness(
        f"/api/keys/{AWS_KEY_IN_PATH}/tokens/{JWT}?email={EMAIL}&key={AWS_KEY}",
        method="POST",
        body=json.dumps(
            {
                "password": PASSWORD,
                "card": CARD,
                "owner": {"name": "Planted Person", "email": EMAIL},
                "pem": PRIVATE_KEY,
                AWS_KEY_AS_KEY: True,
                "notes": [f"call me, token {OPAQUE_TOKEN}", GITHUB],
            }
        ),
        response_body=json.dumps({"token": JWT, "card_number": CARD_DIGITS}),
        headers=[
            {"name": "Authorization", "value": f"Bearer {JWT}"},
            {"name": "Cookie", "value": f"sessionid={SESSION}; theme=dark"},
            {"name": "X-Api-Key", "value": API_KEY},
            {"name": "Accept", "value": f"application/json; {AWS_KEY}"},
            {"name": "User-Agent", "value": f"client/1.0 ({EMAIL})"},
        ],
    )
    with_everything["request"]["queryString"] = [
        {"name": "email", "value": EMAIL},
        {"name": "key", "value": AWS_KEY},
    ]
    with_everything["request"]["cookies"] = [{"name": "sessionid", "value": SESSION}]
    with_everything["response"]["headers"].append(
        {"name": "Set-Cookie", "value": f"sessionid={SESSION}; Path=/; HttpOnly"}
    )
    with_everything["response"]["redirectURL"] = f"https://x.example/?t={JWT}"
    with_everything["comment"] = f"{PASSWORD} {OPAQUE_TOKEN}"

    form = witness("/api/login", method="POST")
    form["request"]["postData"] = {
        "mimeType": "application/x-www-form-urlencoded",
        "text": f"user=planted-user&password={PASSWORD}&card={CARD_DIGITS}",
    }
    form["request"]["headers"] = [
        {"name": "Authorization", "value": f"Basic {BASIC}"},
        {"name": "Proxy-Authorization", "value": f"Bearer {OPAQUE_TOKEN}"},
    ]
    form["response"]["content"] = {
        "size": 10,
        "mimeType": "text/plain",
        "text": f"Welcome Planted Person, your key is {AWS_KEY}\n{PRIVATE_KEY}",
    }
    form["request"]["url"] = f"https://planted-user:{PASSWORD}@x.example/api/login"
    return [with_everything, form]


def _all_bytes(folder: Path) -> dict[str, bytes]:
    return {
        str(path): path.read_bytes() for path in folder.rglob("*") if path.is_file()
    }


@pytest.mark.slow
def test_no_planted_secret_is_written_or_sent(tmp_path: Path) -> None:
    console = FakeConsole().start()
    console.activate("shop", TRACE_ID, "planted")
    data_dir = tmp_path / "data"
    daemon = console_daemon(data_dir, console, name="secret-daemon")
    try:
        daemon.post(
            "/v1/services/shop/middleware",
            {"client_name": "web-1", "active_trace_ids": []},
        )
        response = daemon.post(
            "/v1/services/shop/traces/planted/events",
            {"client_name": "web-1", "trace_events": _witnesses()},
        )
        assert response.status_code == 202, response.text
        console.deactivate("shop", TRACE_ID)
        trace = daemon.wait_for_state("planted", "done", timeout=60)
    finally:
        daemon.stop()
        console.stop()

    assert trace["uploaded"] == ["witnesses", "model", "report"]
    written = _all_bytes(data_dir)
    folder = data_dir / "traces" / TRACE_ID
    assert sorted(Path(name).name for name in written) == [
        "model.yaml",
        "report.html",
        "trace.json",
        "witnesses.jsonl",
    ]
    # A JWT is no identifier to path templating: it stays a (placeholder) word.
    model = (folder / "model.yaml").read_text()
    assert f"/api/keys/{{key_id}}/tokens/{PLACEHOLDER_JWT}:" in model
    assert "/api/login:" in model
    written[str(daemon.log_path)] = daemon.log_path.read_bytes()
    sent = {f"console request {n}": body for n, body in enumerate(console.raw_bodies)}
    sent.update(
        {f"upload {key}": upload.body for key, upload in console.uploads.items()}
    )
    sent.update(
        {
            f"console request {n}, decompressed": gzip.decompress(body)
            for n, body in enumerate(console.raw_bodies)
            if body.startswith(b"\x1f\x8b")
        }
    )
    assert upload_of(console, "witnesses") == (folder / "witnesses.jsonl").read_bytes()

    for where, data in {**written, **sent}.items():
        for secret in SECRETS:
            assert secret.encode() not in data, f"{secret!r} found in {where}"


def upload_of(console: FakeConsole, artefact: str) -> bytes:
    (upload,) = [u for u in console.uploads.values() if u.artefact == artefact]
    return upload.body
