"""`make audit`: known vulnerabilities in the pinned Python packages (requirements.lock).

Runs pip-audit (PyPI's advisory data, per pinned version). A finding listed in
security/explained-findings.txt (advisory id, package, why it does not apply or what
is done about it) is shown and accepted; any other finding fails. When the advisory
service cannot be reached nothing was checked: it says so in capitals, and fails only
with AUDIT_REQUIRED=1 (set it in a CI that has the internet).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(PROJECT))  # the project's settings (standard library only)
from clinic_assistant.settings import Settings  # noqa: E402


def required() -> bool:
    """AUDIT_REQUIRED: an audit that could not run fails (a CI with the internet)."""
    return Settings.from_env().ci.audit_required


def explained() -> dict[str, str]:
    reasons = {}
    for line in (HERE / "explained-findings.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            advisory, _, reason = line.partition(" ")
            reasons[advisory] = reason.strip()
    return reasons


def main() -> int:
    audit = [str(Path(sys.executable).parent / "pip-audit"), "-r", str(PROJECT / "requirements.lock"),
             "--no-deps", "--disable-pip", "--progress-spinner", "off", "--format", "json"]
    run = subprocess.run(audit, capture_output=True, text=True, timeout=600)
    try:
        report = json.loads(run.stdout)
    except ValueError:
        print(run.stderr[-2000:], file=sys.stderr)
        print("AUDIT NOT RUN: pip-audit gave no report (above)")
        return 2 if required() else 0
    dependencies = report.get("dependencies", [])
    audited = [d for d in dependencies if "skip_reason" not in d]
    if not audited:
        print(f"AUDIT NOT CHECKED: the advisory service could not be reached from this machine "
              f"(0 of {len(dependencies)} packages audited). Run `make audit` where PyPI's JSON API is reachable.")
        return 2 if required() else 0
    reasons, unexplained = explained(), []
    for dependency in audited:
        for vuln in dependency.get("vulns", []):
            ids = [vuln["id"], *vuln.get("aliases", [])]
            why = next((reasons[i] for i in ids if i in reasons), None)
            line = f"{dependency['name']} {dependency['version']}: {vuln['id']} (fixed in {', '.join(vuln.get('fix_versions') or ['-'])})"
            if why:
                print(f"  explained  {line}: {why}")
            else:
                unexplained.append(line)
                print(f"  FINDING    {line}")
    skipped = len(dependencies) - len(audited)
    print(f"pip-audit: {len(audited)} packages audited ({skipped} not found in the advisory data), "
          f"{len(unexplained)} unexplained finding(s)")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
