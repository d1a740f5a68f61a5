"""The repository describes itself truthfully: every file path that the README, a
docstring, a comment or a config names is in the repository (issue #17: headers
citing files that are not there)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
TOP = ("clinic_assistant", "actions", "staff", "bench", "tests", "deploy", "scripts", "widget",
       "security", "data", "domain", "clinic")
PATH = re.compile(r"\b((?:%s)/[\w/.\-]*\.[a-z]+)" % "|".join(TOP))
NOT_FILES = ("tests/fixtures/trackers/NAME.json",)  # a pattern, named as one


def tracked() -> set[str]:
    out = subprocess.run(["git", "ls-files"], cwd=PROJECT, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_every_file_the_repository_names_is_in_it() -> None:
    files = tracked()
    readers = [f for f in files if f.endswith((".py", ".md", ".yml", ".toml", ".cfg", ".ts", ".mjs"))
               or f in ("Makefile", "Procfile", "deploy/Dockerfile")]
    readers = [f for f in readers if not f.startswith(("tests/nlu_eval/", "clinic_assistant/triage/corpus/",
                                                        "data/nlu/"))]
    missing = set()
    for reader in readers:
        for name in PATH.findall((PROJECT / reader).read_text(errors="ignore")):
            name = name.rstrip(".")
            if name.startswith("tests/artifacts/"):  # written by the test run (git-ignored)
                continue
            if name not in files and not (PROJECT / name).exists() and name not in NOT_FILES:
                missing.add(f"{reader} names {name}")
    assert not missing, sorted(missing)
