"""`make audit`'s verdicts on pip-audit's JSON report (security/audit.py). pip-audit
itself needs PyPI's advisory data, which the test machines cannot reach, so these
tests give the checker reports in pip-audit's format."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "security"))
import audit  # noqa: E402


def run_with(monkeypatch: pytest.MonkeyPatch, report: dict[str, Any]) -> int:
    def fake_run(*args: Any, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(args, 1, stdout=json.dumps(report), stderr="")
    monkeypatch.setattr(audit.subprocess, "run", fake_run)
    return audit.main()


FINDING = {"name": "jinja2", "version": "3.1.2", "vulns": [
    {"id": "GHSA-h5c8-rqwp-cp95", "aliases": ["CVE-2024-22195"], "fix_versions": ["3.1.3"]}]}


def test_an_unexplained_finding_fails(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(audit, "explained", lambda: {})
    assert run_with(monkeypatch, {"dependencies": [FINDING, {"name": "rasa", "version": "3.6.21", "vulns": []}]}) == 1
    assert "FINDING    jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (fixed in 3.1.3)" in capsys.readouterr().out


def test_an_explained_finding_is_shown_and_accepted(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(audit, "explained", lambda: {"CVE-2024-22195": "xmlattr filter not used"})
    assert run_with(monkeypatch, {"dependencies": [FINDING]}) == 0
    assert "explained  jinja2 3.1.2" in capsys.readouterr().out


def test_nothing_audited_is_said_and_fails_where_required(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    report = {"dependencies": [{"name": "rasa", "version": "3.6.21", "skip_reason": "Dependency not found on PyPI"}]}
    assert run_with(monkeypatch, report) == 0
    assert "AUDIT NOT CHECKED" in capsys.readouterr().out
    monkeypatch.setenv("AUDIT_REQUIRED", "1")
    assert run_with(monkeypatch, report) == 2
