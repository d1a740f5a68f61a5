"""``rasa`` (its command line, unchanged) with third-party deprecation warnings hidden.

    python -m clinic_assistant.rasa.cli train ...      (what make's training runs)
    python -m clinic_assistant.rasa.cli run actions ...  (the action server of make run)

pyparsing, click and distutils deprecations, raised while Rasa, spaCy and matplotlib
import, say nothing to whoever runs the bot and buried the progress lines of a first
``make run`` (about 40 of them). ``PYTHONWARNINGS`` cannot hide them: Sanic's import
puts a "once" filter for ``DeprecationWarning`` in front of any set before. Pytest
still reports warnings raised by the tests.
"""
from __future__ import annotations

import sys
import warnings


def quiet_third_party_warnings() -> None:
    import sanic  # noqa: F401  (its import adds the "once" filter this one must follow)

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import matplotlib.font_manager  # noqa: F401  (pyparsing, via Rasa's plotting)
        import packaging.requirements  # noqa: F401  (pyparsing)
        import spacy.cli  # noqa: F401  (click, via typer)


def main() -> None:
    quiet_third_party_warnings()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *sys.argv[1:]]
    rasa_main()


if __name__ == "__main__":
    main()
