"""The background trainer: approved additions in, a checked model loaded by every
running bot out.

    python -m clinic_assistant.training          (a process of `make run`)

About once a second (``TRAINER_POLL_SECONDS``) it compares what the bots should know
with what they answer with:

- *What they should know* is the repository's training inputs (config.yml, domain/,
  data/, the spaCy pipeline and the triage classifier built by make) plus every addition
  approved in the console, summed up as one fingerprint.
- When no model has that fingerprint, a **run** starts. It writes a workspace (the
  repository's domain/ and data/ with the additions as ``console_additions.yml``: a new
  topic is an intent ``faq_<name>``, a response with its answer and a rule joining
  them), trains a model into ``CONSOLE_MODELS_DIR`` with Rasa (its cache makes this
  quick), then **checks** it: the frozen test set (tests/nlu_eval/test.yml) must not be
  answered worse than by the model the bot answers with now, message by message
  (``compare``: not 3 or more messages wrong net, no answer losing 2 of its messages
  net; retraining with any change moves one or two borderline messages either way), and
  every test story (tests/stories/) must pass. Otherwise the model is refused, with the reason,
  and so are the additions it was trained for (staff see why; the bot keeps its model).
- A model that passed is **loaded** by every Rasa server in ``RASA_REPLICA_URLS``
  (default ``RASA_URL``) through the staff channel; a server that restarts later (and so
  answers with the repository's model again) gets it loaded again within a second.

Each step is recorded in ``training_runs`` with its time, for the console's progress
page. A run that fails (training crashed, the trainer was stopped) is not retried
until the trainer starts again; its additions wait, approved.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Optional

import requests
import sqlalchemy as sa
import yaml

from clinic_assistant.clinic.topics import domain_intents
from clinic_assistant.clinic.db import engine_for, training_additions, training_runs, worker_heartbeats
from clinic_assistant.settings import PROJECT_ROOT, Settings
from clinic_assistant.triage import CLASSIFIER_PATH
from clinic_assistant.training.additions import (
    APPROVED, LIVE, REFUSED, TAUGHT, TOPIC, TRAINING, WORDINGS, Addition, additions)

logger = logging.getLogger("clinic_assistant.training")

# run statuses
RUN_TRAINING, RUN_CHECKING, RUN_LOADING, RUN_LIVE = "training", "checking", "loading", "live"
RUN_REFUSED, RUN_FAILED, RUN_REPLACED = "refused", "failed", "replaced"
ACTIVE = (RUN_TRAINING, RUN_CHECKING, RUN_LOADING)
TEST_SET = PROJECT_ROOT / "tests" / "nlu_eval" / "test.yml"
# A new model is refused when, on the frozen test set against the bot's model, it gets
# this many more messages wrong than it gets newly right (adding one harmless topic at a
# time moved the set by 0, -1, -1, -1 of 440 on 2026-12-04: README, "Teaching the bot"),
NET_LOSS_REFUSED = 3
# or one answer loses this many of its messages net (a taught topic swallowing the
# questions of an answer the bot had). Not for the catch-alls, which pool unrelated
# messages (and a taught topic may rightly answer what was out of scope before).
SAME_ANSWER_LOSS_REFUSED = 2
CATCH_ALL_ANSWERS = frozenset({"out_of_scope", "condition/unlisted"})
# What the figures of a model depend on besides the model file and the test set: the
# repository's inputs (repository_digest) and what the evaluation reads at run time.
EVALUATION_CODE = [PROJECT_ROOT / "clinic_assistant/rasa/evaluation.py", PROJECT_ROOT / "clinic_assistant/clinic/answers.py",
                   PROJECT_ROOT / "clinic_assistant/clinic/context.py"]
RUN_TIME_FOLDERS = [PROJECT_ROOT / "build" / "clinic_spacy", PROJECT_ROOT / "clinic_assistant" / "triage",
                    PROJECT_ROOT / "clinic_assistant" / "nlp"]
TEST_STORIES = PROJECT_ROOT / "tests" / "stories"
ADDITIONS_FILE = "console_additions.yml"
STEP_TIMEOUT = 15 * 60  # seconds, for each of training, the test set and the stories
LOAD_TIMEOUT = 60  # a model loads in about 2 s
HEARTBEAT = "trainer"
HEARTBEAT_SECONDS = 5  # how often the trainer says it is running
# not heard from for this long: not running (it beats during each step, and around each load)
SILENT_AFTER = timedelta(seconds=90)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def repository_inputs() -> list[Path]:
    """What a model of the repository is made from (as the Makefile's model target)."""
    paths = [PROJECT_ROOT / "config.yml", PROJECT_ROOT / "clinic_assistant" / "rasa" / "components.py",
             PROJECT_ROOT / "build" / "clinic_spacy" / "meta.json", PROJECT_ROOT / CLASSIFIER_PATH]
    paths += sorted((PROJECT_ROOT / "domain").glob("*.yml")) + sorted((PROJECT_ROOT / "data").rglob("*.yml"))
    return paths


_repository_digest: tuple[tuple[Any, ...], str] = ((), "")


def repository_digest() -> str:
    """The SHA-256 of the repository's inputs, read again only when a file's size or
    time changed (the trainer asks about once a second)."""
    global _repository_digest
    paths = repository_inputs()
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) if p.exists() else (str(p),) for p in paths)
    if stamp != _repository_digest[0]:
        _repository_digest = (stamp, _hash_files(hashlib.sha256(), paths).hexdigest())
    return _repository_digest[1]


def _hash_files(digest: Any, paths: Iterable[Path]) -> Any:
    """``digest`` updated with each file's path (in the repository) and contents."""
    for path in paths:
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
        digest.update(path.read_bytes() if path.exists() else b"-")
    return digest


def fingerprint(taught: Iterable[Addition]) -> str:
    digest = hashlib.sha256(repository_digest().encode())
    for addition in sorted(taught, key=lambda a: a.id):
        digest.update(json.dumps([addition.id, addition.kind, addition.intent, addition.answer_text,
                                  list(addition.examples)]).encode())
    return digest.hexdigest()


def write_workspace(folder: Path, taught: list[Addition]) -> dict[int, str]:
    """domain/ and data/ of the repository with the additions; returns the additions
    that cannot be taught, with why (wordings of a topic that is not taught)."""
    shutil.copytree(PROJECT_ROOT / "domain", folder / "domain")
    shutil.copytree(PROJECT_ROOT / "data", folder / "data")
    topics = [a for a in taught if a.kind == TOPIC]
    known = set(domain_intents(folder / "domain")) | {a.intent for a in topics}
    cannot = {a.id: "the answer these wordings were for is not taught (its topic was refused or rejected)"
              for a in taught if a.kind == WORDINGS and a.intent not in known}
    examples: dict[str, list[str]] = {}
    for addition in sorted(taught, key=lambda a: a.id):
        if addition.id not in cannot:
            examples.setdefault(addition.intent, []).extend(addition.examples)
    header = "# Written by the background trainer from what staff approved in the console.\n"
    (folder / "domain" / ADDITIONS_FILE).write_text(header + yaml.safe_dump({
        "version": "3.1",
        "intents": [a.intent for a in topics],
        "responses": {a.response: [{"text": a.answer_text}] for a in topics},
    }, sort_keys=False, allow_unicode=True), encoding="utf-8")
    (folder / "data" / "nlu" / ADDITIONS_FILE).write_text(header + yaml.safe_dump({
        "version": "3.1",
        "nlu": [{"intent": intent, "examples": "".join(f"- {text}\n" for text in texts)}
                for intent, texts in examples.items()],
    }, sort_keys=False, allow_unicode=True), encoding="utf-8")
    (folder / "data" / "rules" / ADDITIONS_FILE).write_text(header + yaml.safe_dump({
        "version": "3.1",
        "rules": [{"rule": f"answer {a.intent} (added in the console)",
                   "steps": [{"intent": a.intent}, {"action": a.response}]} for a in topics],
    }, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return cannot


# --- the runs' record ------------------------------------------------------------------
@dataclass
class Run:
    engine: sa.engine.Engine
    id: int
    steps: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def start(cls, engine: sa.engine.Engine, taught: list[Addition], print_: str) -> "Run":
        new_ids = [a.id for a in taught if a.status == APPROVED]
        step = {"step": "started", "at": _now().isoformat(),
                "detail": f"{len(taught)} addition(s) approved in the console, {len(new_ids)} new"}
        with engine.begin() as connection:
            run_id = int(connection.execute(training_runs.insert().values(
                status=RUN_TRAINING, additions=json.dumps([a.id for a in taught]), fingerprint=print_,
                steps=json.dumps([step]), started_at=_now())).inserted_primary_key[0])
            connection.execute(training_additions.update().where(training_additions.c.id.in_(new_ids))
                               .values(status=TRAINING, run_id=run_id))
        return cls(engine, run_id, [step])

    def step(self, name: str, detail: str = "", status: Optional[str] = None, **values: Any) -> None:
        logger.info("Training run %s: %s %s", self.id, name, detail)
        beat(self.engine)
        self.steps.append({"step": name, "at": _now().isoformat(), "detail": detail})
        changes: dict[str, Any] = {"steps": json.dumps(self.steps), **values}
        if status:
            changes["status"] = status
        with self.engine.begin() as connection:
            connection.execute(training_runs.update().where(training_runs.c.id == self.id).values(**changes))

    def end(self, status: str, detail: str, additions_status: Optional[str] = None, **values: Any) -> None:
        """Ends the run; its new additions take ``additions_status`` (approved: they wait)."""
        self.step(status, detail, status=status, finished_at=_now(),
                  reason=detail if status in (RUN_REFUSED, RUN_FAILED) else None, **values)
        if additions_status:
            with self.engine.begin() as connection:
                connection.execute(training_additions.update().where(
                    training_additions.c.run_id == self.id, training_additions.c.status == TRAINING)
                    .values(status=additions_status))


def runs_status(engine: sa.engine.Engine, run_id: int) -> Optional[str]:
    with engine.connect() as connection:
        found = connection.execute(sa.select(training_runs.c.status).where(training_runs.c.id == run_id)).scalar()
    return str(found) if found else None


def runs(engine: sa.engine.Engine, limit: int = 20) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(training_runs).order_by(training_runs.c.id.desc()).limit(limit))
        found = []
        for row in rows.mappings():
            item = dict(row)
            item["steps"] = json.loads(item["steps"])
            item["additions"] = json.loads(item["additions"])
            item["figures"] = json.loads(item["figures"]) if item["figures"] else None
            found.append(item)
        return found


OWNER = f"{os.uname().nodename}:{os.getpid()}"


def beat(engine: sa.engine.Engine, name: str = HEARTBEAT, owner: str = "") -> None:
    """Says this trainer is running (``owner``: this process)."""
    owner = owner or OWNER
    with engine.begin() as connection:
        changed = connection.execute(worker_heartbeats.update().where(worker_heartbeats.c.name == name)
                                     .values(owner=owner, seen_at=_now()))
        if changed.rowcount == 0:
            connection.execute(worker_heartbeats.insert().values(name=name, owner=owner, seen_at=_now()))


def other_trainer(engine: sa.engine.Engine) -> Optional[str]:
    """Another trainer that is running now (its host:pid), if any: one at a time."""
    with engine.connect() as connection:
        row = connection.execute(sa.select(worker_heartbeats.c.owner, worker_heartbeats.c.seen_at)
                                 .where(worker_heartbeats.c.name == HEARTBEAT)).first()
    if row is None or row.owner == OWNER:
        return None
    seen = row.seen_at if row.seen_at.tzinfo else row.seen_at.replace(tzinfo=timezone.utc)
    return str(row.owner) if _now() - seen < SILENT_AFTER else None


def trainer_running(engine: sa.engine.Engine) -> bool:
    """Whether a trainer said it was running within the last minute."""
    with engine.connect() as connection:
        seen = connection.execute(sa.select(worker_heartbeats.c.seen_at)
                                  .where(worker_heartbeats.c.name == HEARTBEAT)).scalar()
    if seen is None:
        return False
    if seen.tzinfo is None:  # SQLite returns it without its zone
        seen = seen.replace(tzinfo=timezone.utc)
    return bool(_now() - seen < SILENT_AFTER)


# --- the bots --------------------------------------------------------------------------
class Replicas:
    """The Rasa servers, through their staff channel."""

    def __init__(self, settings: Settings) -> None:
        self.urls = list(settings.training.replica_urls) or [settings.staff.rasa_url]
        self.urls = [url.rstrip("/") for url in self.urls]
        self.headers = {"Authorization": f"Bearer {settings.staff.api_token}"}

    def serving(self) -> dict[str, Optional[str]]:
        """Each server's model file (None: not reachable now)."""
        found: dict[str, Optional[str]] = {}
        for url in self.urls:
            try:
                answer = requests.get(f"{url}/webhooks/staff/model", headers=self.headers, timeout=5)
                found[url] = answer.json().get("model_file") if answer.ok else None
            except (requests.RequestException, ValueError):
                found[url] = None
        return found

    def load(self, url: str, model_file: Path) -> str:
        """Has one server answer with ``model_file``; "" or why it did not."""
        try:
            answer = requests.post(f"{url}/webhooks/staff/model", headers=self.headers,
                                   json={"model_file": str(model_file)}, timeout=LOAD_TIMEOUT)
        except requests.RequestException as error:
            return f"{url} could not be reached ({error.__class__.__name__})"
        if answer.ok:
            return ""
        try:
            return f"{url}: {answer.json().get('error')}"
        except ValueError:
            return f"{url} answered {answer.status_code}"


# --- the steps -------------------------------------------------------------------------
def _run_quietly(command: list[str], log: Path, stop: "Stopper") -> int:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "RASA_TELEMETRY_ENABLED": "false",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    with open(log, "ab") as out:
        out.write(f"\n$ {' '.join(command)}\n".encode())
        out.flush()
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        stop.child = process
        deadline = time.monotonic() + STEP_TIMEOUT
        try:
            while True:
                try:
                    return process.wait(timeout=HEARTBEAT_SECONDS)
                except subprocess.TimeoutExpired:
                    if time.monotonic() > deadline:
                        process.kill()
                        process.wait()
                        return -9
                    if stop.engine is not None:  # still running: say so to the console
                        beat(stop.engine)
        finally:
            stop.child = None


def _tail(log: Path, lines: int = 3) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:])


def test_set_figures(model_file: Path, folder: Path, log: Path, stop: "Stopper") -> dict[str, Any]:
    """The frozen test set's figures for a model, with each message's outcome (kept
    beside the models, by the SHA-256 of the model, the test set, the repository's inputs
    and what the evaluation reads at run time: the spaCy pipeline, the triage, the code)."""
    files = [path for folder_ in RUN_TIME_FOLDERS for path in sorted(folder_.rglob("*"))
             if path.is_file() and "__pycache__" not in path.parts]
    digest = _hash_files(hashlib.sha256(model_file.read_bytes() + TEST_SET.read_bytes()
                                        + repository_digest().encode()), EVALUATION_CODE + files)
    cached = folder / "figures" / f"{digest.hexdigest()}.json"
    if cached.exists():
        return dict(json.loads(cached.read_text()))
    cached.parent.mkdir(parents=True, exist_ok=True)
    out = cached.with_suffix(".tmp")
    code = _run_quietly([sys.executable, "-m", "clinic_assistant.rasa.evaluation", "--model", str(model_file),
                         "--data", str(TEST_SET), "--no-misses", "--json", str(out)], log, stop)
    if code != 0 or not out.exists():
        raise StepFailed(f"the test set could not be run ({_tail(log)})")
    out.rename(cached)
    return dict(json.loads(cached.read_text()))


def failed_stories(model_file: Path, folder: Path, log: Path, stop: "Stopper") -> list[str]:
    """The names of the test stories the model fails (Rasa writes them all to
    failed_test_stories.yml; with --fail-on-prediction-errors it would stop at the first
    and write none)."""
    files = sorted(TEST_STORIES.glob("test_*.yml"))  # Rasa reads test stories only from test_*.yml
    if not any((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("stories") for path in files):
        raise StepFailed(f"there are no test stories in {TEST_STORIES}, so the model cannot be checked")
    out = folder / "stories"
    code = _run_quietly([sys.executable, "-m", "clinic_assistant.rasa.cli", "test", "core", "--model", str(model_file),
                         "--stories", str(TEST_STORIES), "--e2e", "--out", str(out)], log, stop)
    failed = out / "failed_test_stories.yml"
    if code != 0 or not failed.exists():
        raise StepFailed(f"the test stories could not be run ({_tail(log)})")
    stories = (yaml.safe_load(failed.read_text(encoding="utf-8")) or {}).get("stories") or []
    # Rasa adds the story's file to its name: "name (/path/test_x.yml)"
    return [re.sub(r" \([^()]*\.yml\)$", "", str(story.get("story"))) for story in stories]


@dataclass(frozen=True)
class Comparison:
    """The new model against the bot's on the same messages of the frozen test set."""
    lost: int  # right now, wrong with the new model
    gained: int  # wrong now, right with the new model
    net_by_answer: dict[str, int] = field(default_factory=dict)  # answer key -> lost minus gained

    @property
    def reasons(self) -> list[str]:
        """Why the new model is worse (empty: it is not)."""
        found = []
        if self.lost - self.gained >= NET_LOSS_REFUSED:
            found.append(f"{self.lost - self.gained} more test messages answered wrong than before "
                         f"(retraining alone moves one or two)")
        for answer, net in sorted(self.net_by_answer.items()):
            if net >= SAME_ANSWER_LOSS_REFUSED and answer not in CATCH_ALL_ANSWERS:
                found.append(f"{net} test messages that should get the answer {answer} now get another one")
        return found

    @property
    def worse(self) -> bool:
        return bool(self.reasons)

    def summary(self) -> str:
        return f"{self.lost} answered right now and wrong by the new model, {self.gained} the other way"


def compare(before: list[bool], after: list[bool], expected: list[str]) -> Comparison:
    """The messages the two models disagree on (``expected``: each message's answer key).

    Retraining with any change to the data moves one or two borderline messages either
    way, so "not one message fewer" refuses good additions by chance (it refused three of
    four harmless topics); a model is refused when it loses 3 more than it gains, or 2
    more of one answer's messages than it gains of them."""
    if len(before) != len(after):
        raise StepFailed(f"the two models were measured on different test sets ({len(before)} and {len(after)} "
                         "messages)")
    if len(expected) != len(before):
        raise StepFailed(f"the answer keys ({len(expected)}) do not match the test set ({len(before)} messages)")
    net: dict[str, int] = {}
    for was, now, key in zip(before, after, expected, strict=True):
        if was != now:
            net[key] = net.get(key, 0) + (1 if was else -1)
    lost = sum(was and not now for was, now in zip(before, after, strict=True))
    return Comparison(lost, sum(now and not was for was, now in zip(before, after, strict=True)), net)


class StepFailed(RuntimeError):
    pass


class Stopper:
    def __init__(self, engine: Optional[sa.engine.Engine] = None) -> None:
        self.stopped = False
        self.child: Optional[subprocess.Popen[bytes]] = None
        self.engine = engine  # for the heartbeat while a step runs

    def __call__(self, signum: int, frame: Any) -> None:
        self.stopped = True
        if self.child is not None:
            self.child.terminate()


def _percent(figures: dict[str, Any]) -> str:
    return f"{figures['right']} of {figures['total']} ({figures['right'] / figures['total']:.1%})"


# --- the trainer -----------------------------------------------------------------------
class Trainer:
    def __init__(self, settings: Optional[Settings] = None) -> None:
        self.settings = settings or Settings.from_env()
        self.engine = engine_for(self.settings.database.url)
        self.models = Path(self.settings.training.models_dir).resolve()
        self.models.mkdir(parents=True, exist_ok=True)
        self.models.chmod(0o700)  # the bots load models from here: nobody else writes to it
        self.replicas = Replicas(self.settings)
        self.stop = Stopper(self.engine)
        self.failed: set[str] = set()  # fingerprints whose run failed (not retried until restart)
        self._load_failures: dict[str, tuple[int, float]] = {}  # bot -> (failed loads in a row, next try)
        self._waiting_logged = ""

    def desired(self, taught: list[Addition]) -> tuple[str, Optional[dict[str, Any]]]:
        wanted = fingerprint(taught)
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(training_runs).where(
                training_runs.c.fingerprint == wanted, training_runs.c.status.in_((RUN_LOADING, RUN_LIVE)))
                .order_by(training_runs.c.id.desc()).limit(1)).mappings().first()
        return wanted, dict(row) if row else None

    def once(self) -> None:
        """One look: start a run, or bring the servers to the newest checked model."""
        taught = list(reversed(additions(self.engine, TAUGHT)))
        if not taught and not self.ever_live():
            return  # nothing was ever taught: the bots answer with the repository's model
        wanted, ready = self.desired(taught)
        if ready and ready["model_file"] and Path(ready["model_file"]).exists():
            self.bring_servers_to(ready)
            return
        checked = self.checked_run()  # passed its checks, but more was approved meanwhile
        if checked is not None:
            if not self.bring_servers_to(checked):  # patients get it now; the next look trains the rest
                return
        if wanted not in self.failed and not self.refused_before(wanted):
            self.train(taught, wanted)

    def ever_live(self) -> bool:
        """Whether a model of the console was ever loaded (after everything taught was
        withdrawn, the bots get a model of the repository's data alone)."""
        with self.engine.connect() as connection:
            return connection.execute(sa.select(training_runs.c.id).where(
                training_runs.c.status.in_((RUN_LIVE, RUN_REPLACED))).limit(1)).first() is not None

    def refused_before(self, wanted: str) -> bool:
        """A model of exactly these inputs was refused already (training again would make
        the same model): it waits for a change, e.g. a new approval or a proposal withdrawn
        by forgetting its conversation."""
        with self.engine.connect() as connection:
            return connection.execute(sa.select(training_runs.c.id).where(
                training_runs.c.fingerprint == wanted, training_runs.c.status == RUN_REFUSED).limit(1)).first() \
                is not None

    def checked_run(self) -> Optional[dict[str, Any]]:
        """The newest run that passed its checks and is not live everywhere yet."""
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(training_runs).where(training_runs.c.status == RUN_LOADING)
                                     .order_by(training_runs.c.id.desc()).limit(1)).mappings().first()
        if row is None or not row["model_file"] or not Path(row["model_file"]).exists():
            return None
        return dict(row)

    def bring_servers_to(self, ready: dict[str, Any]) -> bool:
        """Loads the run's model where it is not served; True when every bot serves it."""
        model_file = Path(ready["model_file"])
        serving = self.replicas.serving()
        behind = [url for url, current in serving.items() if current is not None and Path(current) != model_file]
        problems = []
        for url in behind:
            if self._load_failures.get(url, (0, 0.0))[1] > time.monotonic():
                problems.append(f"{url}: waiting before trying again")
                continue
            beat(self.engine)
            why = self.replicas.load(url, model_file)
            beat(self.engine)
            if why:  # try again later, waiting longer each time (at most 5 minutes)
                count = self._load_failures.get(url, (0, 0.0))[0] + 1
                self._load_failures[url] = (count, time.monotonic() + min(300.0, 5.0 * 2 ** count))
                logger.warning("Could not load %s in %s: %s", model_file, url, why)
                problems.append(why)
            else:
                self._load_failures.pop(url, None)
        if ready["status"] == RUN_LIVE:
            if behind and not problems:
                logger.info("Loaded the console's model again in %s", ", ".join(behind))
            return not problems
        run = Run(self.engine, ready["id"], json.loads(ready["steps"]))
        unreachable = [url for url, current in serving.items() if current is None]
        if problems or unreachable:
            detail = "; ".join(problems + [f"{url} not reachable" for url in unreachable])
            if detail != self._waiting_logged:
                run.step("loading", f"waiting: {detail}")
                self._waiting_logged = detail
            return False
        self._waiting_logged = ""
        run.end(RUN_LIVE, f"every bot ({len(serving)}) answers with the new model", additions_status=LIVE)
        with self.engine.begin() as connection:
            connection.execute(training_runs.update().where(
                training_runs.c.status == RUN_LIVE, training_runs.c.id != run.id).values(status=RUN_REPLACED))
        self.tidy_models(keep=model_file)
        return True

    def tidy_models(self, keep: Path) -> None:
        """Keeps the live model and the one before it (for the bots not yet moved)."""
        models = sorted(self.models.glob("console-*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in [m for m in models if m != keep][1:]:
            old.unlink(missing_ok=True)

    def train(self, taught: list[Addition], wanted: str) -> None:
        run = Run.start(self.engine, taught, wanted)
        log = self.models / f"run-{run.id}.log"
        try:
            self._train(run, taught, log)
        except StepFailed as error:
            self.failed.add(wanted)
            run.end(RUN_FAILED, str(error), additions_status=APPROVED)
        except Exception as error:  # noqa: BLE001 - recorded for staff; the bot keeps its model
            logger.exception("Training run %s failed", run.id)
            self.failed.add(wanted)
            run.end(RUN_FAILED, f"{error.__class__.__name__}: {error}", additions_status=APPROVED)
        finally:  # only a model that passed its checks stays in the folder the bots load from
            if runs_status(self.engine, run.id) not in (RUN_LOADING, RUN_LIVE):
                (self.models / f"console-{run.id}.tar.gz").unlink(missing_ok=True)

    def _train(self, run: Run, taught: list[Addition], log: Path) -> None:
        if not TEST_SET.exists() or not TEST_STORIES.is_dir():
            raise StepFailed("the frozen test set or the test stories are missing on this machine, so no model "
                             "can be checked; the additions wait")
        with tempfile.TemporaryDirectory(prefix="clinic-training-") as scratch:
            folder = Path(scratch)
            cannot = write_workspace(folder, taught)
            if cannot:
                with self.engine.begin() as connection:
                    for addition_id in cannot:
                        connection.execute(training_additions.update().where(training_additions.c.id == addition_id)
                                           .values(status=REFUSED))
                run.step("workspace", "left out: " + "; ".join(f"#{i}: {why}" for i, why in cannot.items()),
                         fingerprint=fingerprint([a for a in taught if a.id not in cannot]))
            model_file = self.models / f"console-{run.id}.tar.gz"
            run.step("training", "training a model on the repository's data and the additions")
            code = _run_quietly([sys.executable, "-m", "clinic_assistant.rasa.cli", "train",
                                 "--domain", str(folder / "domain"), "--config", str(PROJECT_ROOT / "config.yml"),
                                 "--data", str(folder / "data"), "--fixed-model-name", model_file.name[:-len(".tar.gz")],
                                 "--out", str(self.models), "--skip-validation"], log, self.stop)
            if self.stop.stopped:
                raise StepFailed("the trainer was stopped; the additions wait for its next start")
            if code != 0 or not model_file.exists():
                raise StepFailed(f"training failed ({_tail(log)})")
            serving = next((Path(f) for f in self.replicas.serving().values() if f), None)
            if serving is None or not serving.exists():
                raise StepFailed("no bot could be asked which model it answers with (is the Rasa server running?)")
            run.step("checking", "the frozen test set, with the new model and with the bot's model now",
                     status=RUN_CHECKING, model_file=str(model_file))
            before = test_set_figures(serving, self.models, log, self.stop)
            after = test_set_figures(model_file, self.models, log, self.stop)
            per_message = ("outcomes", "expected")
            if any(key not in before or key not in after for key in per_message):
                raise StepFailed("the test set's figures have no per-message outcomes (an older evaluation?)")
            comparison = compare(before["outcomes"], after["outcomes"], before["expected"])
            figures = {"before": {k: v for k, v in before.items() if k not in per_message},
                       "after": {k: v for k, v in after.items() if k not in per_message},
                       "lost": comparison.lost, "gained": comparison.gained,
                       "net_by_answer": comparison.net_by_answer}
            run.step("test set", f"answered right: now {_percent(before)}, new model {_percent(after)}; "
                                 f"{comparison.summary()}", figures=json.dumps(figures))
            if comparison.worse:
                model_file.unlink(missing_ok=True)
                run.end(RUN_REFUSED, "refused: the new model answers the frozen test set worse than the bot does "
                                     "now: " + "; ".join(comparison.reasons) + f" ({comparison.summary()}; "
                                     f"right: now {_percent(before)}, new model {_percent(after)})",
                        additions_status=REFUSED)
                return
            run.step("test stories", f"running the {len(list(TEST_STORIES.glob('test_*.yml')))} files of test stories")
            failed = failed_stories(model_file, folder, log, self.stop)
            if self.stop.stopped:
                raise StepFailed("the trainer was stopped; the additions wait for its next start")
            if failed:
                model_file.unlink(missing_ok=True)
                run.end(RUN_REFUSED, f"refused: {len(failed)} test stor{'y fails' if len(failed) == 1 else 'ies fail'} "
                                     f"with the new model: " + "; ".join(failed[:5]), additions_status=REFUSED)
                return
            run.step("loading", "checks passed; the bots load the new model", status=RUN_LOADING)

    def forever(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        waited = False
        while not self.stop.stopped and (other := other_trainer(self.engine)):
            if not waited:
                logger.warning("Another trainer (%s) is running on this database; waiting until it stops", other)
                waited = True
            time.sleep(5)
        if self.stop.stopped:
            return
        beat(self.engine)
        self.recover()
        logger.info("Trainer ready: models in %s, bots %s", self.models, ", ".join(self.replicas.urls))
        last_beat = 0.0
        while not self.stop.stopped:
            try:
                if time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
                    beat(self.engine)
                    last_beat = time.monotonic()
                self.once()
            except Exception:  # noqa: BLE001 - a database or bot that is down: look again soon
                logger.exception("The trainer could not look at the additions; trying again")
            deadline = time.monotonic() + self.settings.training.poll_seconds
            while not self.stop.stopped and time.monotonic() < deadline:
                time.sleep(0.1)

    def recover(self) -> None:
        """Runs left unfinished by a trainer that stopped: failed; their additions wait."""
        with self.engine.begin() as connection:
            stale = [row.id for row in connection.execute(
                sa.select(training_runs.c.id).where(training_runs.c.status.in_((RUN_TRAINING, RUN_CHECKING))))]
        for run_id in stale:
            run = Run(self.engine, run_id, json.loads(self._steps(run_id)))
            run.end(RUN_FAILED, "the trainer stopped during this run; its additions are trained again",
                    additions_status=APPROVED)

    def _steps(self, run_id: int) -> str:
        with self.engine.connect() as connection:
            return str(connection.execute(sa.select(training_runs.c.steps)
                                          .where(training_runs.c.id == run_id)).scalar_one())


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s - %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    Trainer().forever()
