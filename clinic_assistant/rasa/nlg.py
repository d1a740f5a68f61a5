"""Answer texts read from domain/ while the bot runs (endpoints.yml ``nlg``).

Rasa renders responses from the copy of the domain inside the trained model, so a
corrected answer text needed a retrain and a restart. This generator is Rasa's own
response renderer over the response texts in the domain files (``RESPONSES_DIR``,
default ``domain/``), read again when a file changes (checked at most once a second):
an edited answer is live within about a second, without retraining or restarting.
Texts approved in the staff console (clinic_assistant/clinic/answer_texts.py) are laid
over the files' texts, also within a second.

Only texts, buttons and custom data are taken this way. A *new* response, intent or
action in domain/ still needs `make run`/`make train` (which retrains because domain/
changed); a new topic added in the console comes with the model the background
trainer loads (clinic_assistant/training/).
A file that does not load (a YAML mistake) is reported in the log and the previous
texts stay in use.
"""
from __future__ import annotations

import asyncio
import logging
import re
import time
from pathlib import Path
from typing import Any, Optional

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain

from clinic_assistant.clinic.answer_texts import current_texts
from clinic_assistant.clinic.answers import WITHOUT_BUTTONS
from clinic_assistant.clinic.details import live_profile
from clinic_assistant.settings import PROJECT_ROOT, Settings

logger = logging.getLogger(__name__)

CHECK_EVERY_SECONDS = 1.0


def responses_dir() -> Path:
    return Path(Settings.from_env().servers.responses_dir or PROJECT_ROOT / "domain")


class LiveResponsesNLG(TemplatedNaturalLanguageGenerator):
    """Rasa's templated NLG over the domain files as they are now."""

    def __init__(self, endpoint_config: Any = None, domain: Optional[Domain] = None) -> None:
        super().__init__(dict(domain.responses) if domain else {})
        self.files_responses = dict(self.responses)  # domain/ as the files have it
        self.console_texts: dict[str, str] = {}  # texts approved in the staff console, laid over it
        self.directory = responses_dir()
        self._stamp: tuple[tuple[str, float], ...] = ()
        self._checked = 0.0
        self.refresh(force=True)

    def _files_stamp(self) -> tuple[tuple[str, float], ...]:
        files = sorted(self.directory.glob("*.yml")) if self.directory.is_dir() else []
        return tuple((str(path), path.stat().st_mtime) for path in files)

    def refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < CHECK_EVERY_SECONDS:
            return
        self._checked = now
        try:
            stamp = self._files_stamp()
            if stamp == self._stamp:
                return
            responses = Domain.load(str(self.directory)).responses
        except Exception as error:  # keep answering with the texts we have
            logger.error("Answer texts in %s could not be loaded (%s); keeping the previous ones",
                         self.directory, error)
            return
        if not force:
            logger.info("Answer texts reloaded from %s", self.directory)
        self.files_responses = {**self.files_responses, **responses}
        self._stamp = stamp
        self._lay_over(self.console_texts)

    def use_model_responses(self, responses: dict[str, Any]) -> None:
        """A model was loaded (``Agent.load_model`` sets ``responses`` to its domain's):
        keep its responses, under the files' and the console's texts. A new topic taught
        in the console (clinic_assistant/training/) has its response only in the model."""
        self.files_responses = {**responses, **self.files_responses}
        self._lay_over(self.console_texts)

    def _lay_over(self, texts: dict[str, str]) -> None:
        """The files' responses with the console's approved texts in place of theirs."""
        self.console_texts = texts
        self.responses = {
            name: ([{**variants[0], "text": texts[name]}] if name in texts and len(variants) == 1 else variants)
            for name, variants in self.files_responses.items()}

    async def generate(self, utter_action: str, tracker: Any, output_channel: str,
                       **kwargs: Any) -> Optional[dict[str, Any]]:
        self.refresh()
        # What staff approved in the console: answer texts, and the clinic's details over
        # the values the conversation's slots got at its start (an action's own values
        # still win). Read in a worker thread: the database is asked at most once a
        # second, and a slow database must not stop the server's other conversations.
        try:
            slots, texts = await asyncio.to_thread(console_state)
        except Exception:  # noqa: BLE001 - keep the texts and the slots' values we have
            logger.exception("Could not read what was approved in the staff console; using what we have")
        else:
            if texts != self.console_texts:
                self._lay_over(dict(texts))
            kwargs = {**slots, **kwargs}
        without_buttons = bool(kwargs.pop(WITHOUT_BUTTONS, False))
        message = await super().generate(utter_action, tracker, output_channel, **kwargs)
        if message and isinstance(message.get("text"), str):
            message["text"] = tidy(message["text"])
        if message and without_buttons:
            message.pop("buttons", None)
        return message


_DOUBLE_STOP = re.compile(r"\b([ap])\.m\.\.(?!\.)")


def tidy(text: str) -> str:
    """One full stop after a clock time that ends a sentence: a value ending in "p.m."
    followed by the text's own "." ("8 a.m. to 4 p.m.. Outside ...")."""
    return _DOUBLE_STOP.sub(r"\1.m.", text)


def console_state() -> tuple[dict[str, str], dict[str, str]]:
    """The clinic's details as response values, and the approved answer texts."""
    return live_profile().as_slots(), current_texts(Settings.from_env().database.url)
