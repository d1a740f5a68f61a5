"""The background trainer (clinic_assistant/training/worker.py) against a real Rasa
server and action server on loopback: an approved new topic is trained, checked against
the frozen test set and the test stories, and loaded by the running bot while patients
keep writing (no failed or lost message, conversations go on); additions that make the
bot worse are refused with the reason and the bot keeps its model; a bot that restarts
gets the taught model back. The tests of this module run in order on one bot."""
from __future__ import annotations

import secrets
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from clinic_assistant.settings import Settings
from clinic_assistant.training import additions as teach
from clinic_assistant.training.worker import RUN_FAILED, RUN_LIVE, RUN_REFUSED, Trainer, runs
from tests.harness.servers import MODEL, running_bot, start_rasa_server, texts

TOKEN = secrets.token_urlsafe(32)
ANSWER = "Yes. Our entrance has no steps and the treatment rooms are on the ground floor. Call us at {clinic_phone} if you need a hand."
EXAMPLES = ["is the clinic wheelchair accessible", "can I get in with a wheelchair", "do you have a ramp for wheelchairs",
            "is there wheelchair access at your building", "my husband uses a wheelchair, can he get into the clinic"]
# deliberately wrong: questions about the clinic's hours taught as the parking answer
WRONG = ["what are your hours", "when are you open", "what time do you open", "what time do you close",
         "are you open on saturdays", "are you open today", "when do you close on fridays", "opening hours please",
         "are you open in the evenings", "what days are you open", "hours of the clinic", "are you open on sunday",
         "when can I come in, what are your hours", "is the clinic open tomorrow", "what time does the clinic open"]
KNOWN = ("faq_parking", "faq_hours")


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("training")
    models = folder / "models"
    env = {"STAFF_API_TOKEN": TOKEN, "CONSOLE_MODELS_DIR": str(models)}
    with ExitStack() as stack:
        running = stack.enter_context(running_bot(folder / "tracker.db", rasa_env=env))
        running.env = env
        running.models = models
        running.stack = stack
        yield running


@pytest.fixture(scope="module")
def trainer(bot: Any) -> Trainer:
    return Trainer(Settings.from_env({
        "DATABASE_URL": f"sqlite:///{bot.tracker_db}", "STAFF_API_TOKEN": TOKEN,
        "RASA_URL": bot.rasa.url, "CONSOLE_MODELS_DIR": str(bot.models)}))


def model_of(bot: Any) -> str:
    answer = requests.get(f"{bot.rasa.url}/webhooks/staff/model",
                          headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert answer.status_code == 200
    return str(answer.json()["model_file"])


def settle(trainer: Trainer, seconds: float = 600) -> dict[str, Any]:
    """Lets the trainer work until its newest run has ended."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        trainer.once()
        latest = runs(trainer.engine, limit=1)
        if latest and latest[0]["status"] in (RUN_LIVE, RUN_REFUSED, RUN_FAILED):
            return latest[0]
    raise AssertionError("the training run did not end in time")


def approved(trainer: Trainer, proposal: int) -> None:
    teach.decide(trainer.engine, proposal, "cleo", "clinician", approve=True)


def test_the_staff_channel_loads_only_a_model_of_the_console_folder(bot: Any) -> None:
    url = f"{bot.rasa.url}/webhooks/staff/model"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert requests.get(url, timeout=10).status_code == 401
    assert model_of(bot) == str(MODEL.resolve())
    for body, reason in (({"model_file": str(MODEL)}, "only models in"),
                         ({"model_file": str(bot.models / "nothing.tar.gz")}, "there is no model file"),
                         ({"model_file": 3}, "must name a trained model"), ([], "must name a trained model")):
        answer = requests.post(url, json=body, headers=auth, timeout=10)
        assert answer.status_code == 400 and reason in answer.json()["error"], (body, answer.text)
    assert requests.post(url, data="not json", headers=auth, timeout=10).status_code == 400
    assert model_of(bot) == str(MODEL.resolve())


def test_an_approved_topic_is_trained_checked_and_loaded_while_patients_keep_writing(
        bot: Any, trainer: Trainer) -> None:
    asked = "can my wife get into your clinic with her wheelchair?"
    before = texts(bot.send("ongoing", "hi"))
    assert before and ANSWER[:20] not in " ".join(texts(bot.send("asked-before", asked)))
    proposal = teach.propose_topic(trainer.engine, "Wheelchair access", ANSWER, [], EXAMPLES,
                                   "patients ask", "frida", KNOWN)
    approved(trainer, proposal)
    trainer.once()  # trains and checks (about a minute); the bots load it on the next look
    assert runs(trainer.engine, limit=1)[0]["status"] == "loading"
    # more is approved before the checked model is loaded: it is loaded first, then the rest trained
    more = teach.propose_wordings(trainer.engine, "faq_parking", [], ["where do I leave my truck when I come in"],
                                  "patients ask", "frida", KNOWN)
    approved(trainer, more)

    failures: list[str] = []
    answered = 0
    stop = threading.Event()

    def patients(number: int) -> None:
        nonlocal answered
        while not stop.is_set():
            try:
                replies = texts(bot.send(f"load-{number}", "what is dry needling?", timeout=60))
            except Exception as error:  # noqa: BLE001 - counted and shown
                failures.append(repr(error))
                continue
            if replies:
                answered += 1
            else:
                failures.append("no reply")

    senders = [threading.Thread(target=patients, args=(n,)) for n in range(3)]
    for sender in senders:
        sender.start()
    try:
        time.sleep(1)
        run = settle(trainer, seconds=300)
        time.sleep(1)
    finally:
        stop.set()
        for sender in senders:
            sender.join(60)
    assert run["status"] == RUN_LIVE, run
    assert failures == [] and answered > 5
    assert model_of(bot) == str((bot.models / f"console-{run['id']}.tar.gz").resolve())
    first, second = runs(trainer.engine, limit=2)[::-1]
    assert (first["status"], second["id"]) == ("replaced", run["id"])
    for each in (first, second):
        assert [step["step"] for step in each["steps"]] == [
            "started", "training", "checking", "test set", "test stories", "loading", "live"]
        # staff see the message-by-message comparison the decision was made on
        checked = next(step for step in each["steps"] if step["step"] == "test set")
        assert "answered right now and wrong by the new model" in checked["detail"], checked
    assert [a.status for a in teach.additions(trainer.engine)] == [teach.LIVE, teach.LIVE]

    reply = " ".join(texts(bot.send("asked-after", asked)))
    assert ANSWER.replace("{clinic_phone}", "(780) 555-0100") in reply
    texts(bot.send("ongoing", "thanks"))  # the conversation begun before the swap goes on
    assert bot.user_texts("rest:ongoing") == ["hi", "thanks"]


def test_additions_that_make_the_bot_worse_are_refused_and_the_bot_keeps_its_model(
        bot: Any, trainer: Trainer) -> None:
    serving = model_of(bot)
    proposal = teach.propose_wordings(trainer.engine, "faq_parking", [], WRONG, "wrong on purpose", "frida", KNOWN)
    approved(trainer, proposal)
    run = settle(trainer, seconds=300)
    assert run["status"] == RUN_REFUSED, run
    assert run["reason"].startswith("refused: the new model answers the frozen test set worse than the bot does now")
    assert "test messages that should get the answer faq_hours now get another one" in run["reason"], run["reason"]
    assert teach.additions(trainer.engine, [teach.REFUSED])[0].id == proposal
    assert not (bot.models / f"console-{run['id']}.tar.gz").exists()  # a refused model is not kept
    assert model_of(bot) == serving
    trainer.once()  # what is taught now is what the bot has: nothing to do
    assert runs(trainer.engine, limit=1)[0]["id"] == run["id"] and model_of(bot) == serving
    assert "Our hours are" in " ".join(texts(bot.send("hours", "what are your hours?")))


def test_a_bot_that_restarts_gets_the_taught_model_back(bot: Any, trainer: Trainer) -> None:
    taught = model_of(bot)
    rasa_port = int(bot.rasa.url.rsplit(":", 1)[1])
    action_port = int(bot.actions.url.rsplit(":", 1)[1])
    bot.rasa.stop()
    bot.rasa = bot.stack.enter_context(start_rasa_server(rasa_port, action_port, bot.tracker_db, **bot.env))
    assert model_of(bot) == str(MODEL.resolve())
    trainer.once()
    assert model_of(bot) == taught
    assert ANSWER[:30] in " ".join(texts(bot.send("after-restart", "is there wheelchair access?")))
    assert Path(taught).exists()


def test_a_taught_topic_is_listed_with_the_answers_and_its_text_edited_like_any_other(
        bot: Any, trainer: Trainer) -> None:
    from clinic_assistant.clinic import answer_texts

    response = "utter_faq_wheelchair_access"
    assert answer_texts.known_responses(trainer.engine)[response] == [{"text": ANSWER}]
    assert answer_texts.kind_of(response) == answer_texts.CLINICAL  # a clinician approves its changes
    clearer = "Yes: there are no steps at our entrance, and every room is on the ground floor."
    draft = answer_texts.propose(trainer.engine, response, clearer, "clearer", "frida")
    with pytest.raises(answer_texts.AnswerError, match="approved or rejected by a clinician"):
        answer_texts.decide(trainer.engine, draft, "fred", "front_desk", approve=True)
    answer_texts.decide(trainer.engine, draft, "cleo", "clinician", approve=True)
    time.sleep(answer_texts.CHECK_EVERY_SECONDS + 0.2)
    assert clearer in texts(bot.send("edited", "is your clinic wheelchair accessible?"))


def test_a_model_that_fails_a_test_story_is_refused_with_the_story_named(
        bot: Any, trainer: Trainer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from clinic_assistant.training import worker

    stories = tmp_path / "stories"
    stories.mkdir()
    (stories / "test_wrong.yml").write_text("""version: "3.1"
stories:
- story: parking is answered with the hours (written wrong on purpose)
  steps:
  - user: |
      is there parking?
    intent: faq_parking
  - action: utter_faq_hours
""")
    monkeypatch.setattr(worker, "TEST_STORIES", stories)
    serving = model_of(bot)
    proposal = teach.propose_wordings(trainer.engine, "faq_parking", [], ["any spots for my truck out front"],
                                      "patients ask", "frida", KNOWN)
    approved(trainer, proposal)
    run = settle(trainer, seconds=300)
    assert run["status"] == RUN_REFUSED, run
    assert run["reason"] == ("refused: 1 test story fails with the new model: "
                             "parking is answered with the hours (written wrong on purpose)")
    assert model_of(bot) == serving and not (bot.models / f"console-{run['id']}.tar.gz").exists()


def test_when_everything_learned_is_withdrawn_the_bot_answers_as_the_repository_says(
        bot: Any, trainer: Trainer) -> None:
    for addition in teach.additions(trainer.engine, [teach.LIVE]):
        teach.withdraw(trainer.engine, addition.id, "cleo", "clinician")
    run = settle(trainer, seconds=300)
    assert run["status"] == RUN_LIVE and run["additions"] == [], run
    assert model_of(bot) == str((bot.models / f"console-{run['id']}.tar.gz").resolve())
    assert ANSWER[:30] not in " ".join(texts(bot.send("withdrawn", "is there wheelchair access?")))
