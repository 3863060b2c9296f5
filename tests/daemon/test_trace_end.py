"""A trace's end: its model and report are built beside its spool."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.daemon.daemon_process import DaemonProcess, witness


def test_an_ended_trace_has_its_model_and_report(data_dir: Path) -> None:
    daemon = DaemonProcess(data_dir, "--quiet-grace", "0.3").start()
    try:
        trace = daemon.start_trace("shop", name="end-trace")
        route = "api/articles/<slug:slug>/comments/<int:pk>"
        events = [
            witness(f"/api/articles/{slug}/comments/{pk}", route=route)
            for slug, pk in (("a", 1), ("b", 2), ("c", 3))
        ]
        response = daemon.post(
            "/v1/services/shop/traces/end-trace/events",
            {"client_name": "web-1", "trace_events": events},
        )
        assert response.status_code == 202
        daemon.post("/v1/local/traces/end-trace/stop")
        done = daemon.wait_for_state("end-trace", "done", timeout=30)
    finally:
        daemon.stop()

    folder = data_dir / "traces" / trace["trace_id"]
    model = yaml.safe_load((folder / "model.yaml").read_text())
    operation = model["paths"]["/api/articles/{slug}/comments/{pk}"]["get"]
    assert done["witnesses"] == 3
    assert model["info"]["title"] == "shop"
    assert operation["x-akita-witnesses"] == 3
    assert (folder / "report.html").stat().st_size > 0
    log = daemon.log()
    assert f"akita: [INFO] Trace end-trace ({trace['trace_id']}) ended with 3 " in log
    assert f"akita: [INFO] Built the model of {trace['trace_id']}: 3 witnesses, 1 " in (
        log
    )
