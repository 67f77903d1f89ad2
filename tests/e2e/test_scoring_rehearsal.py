"""The rehearsal command against the live local stack (small scale): it fills all 32 units
through the HTTP API, scores the current cycle and prints the ranking."""

from __future__ import annotations

import io

from scripts.rehearse import rehearse


def test_a_small_rehearsal_scores_all_32_units_and_prints_the_ranking(api, tmp_path):
    out = io.StringIO()
    export = tmp_path / "scores.csv"
    scores = rehearse(
        api.url, scale=0.01, events_per_batch=5, out=out, export=str(export), store=api.stack.moto_endpoint
    )
    assert scores["recount_clean"], out.getvalue()
    assert len(scores["provinces"]) == 32
    assert [p["rank"] for p in scores["provinces"]] == list(range(1, 33))
    assert any(p["indicators"]["reports"]["value"] > 0 for p in scores["provinces"])
    printed = out.getvalue()
    assert f"run {scores['run_id']}" in printed and "北京市" in printed
    assert "filing: " in printed and "s left" in printed and "counters == recount" in printed
    assert export.read_bytes().decode("utf-8-sig").count("\r\n") == 33


def test_the_export_command_writes_the_workbook_of_the_latest_run(api, tmp_path):
    from openpyxl import load_workbook

    from scripts.export_scores import main

    admin = api.token(role="national_admin", sub="admin")
    cycle = next(c["id"] for c in api.get("/cycles").json["items"] if c["status"] == "open")
    assert api.post(f"/cycles/{cycle}/scoring-runs", token=admin).status == 201
    path = tmp_path / "scores.xlsx"
    assert main([cycle, str(path), "--url", api.url]) == 0
    assert load_workbook(path)["排名"].max_row == 33
    refused = tmp_path / "public.csv"
    import pytest

    with pytest.raises(SystemExit, match="404"):
        main([cycle, str(refused), "--url", api.url, "--public"])
