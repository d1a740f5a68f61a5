"""Issue #16, must-have 6: do dense sentence features from WordLlama help? Measured, not
adopted (see the README's "Understanding patients" section for the figures).

    make bench-dense      (installs bench/requirements-dense.txt into the venv, no deps)

WordLlama (a 16 MB, 256-dimension static embedding model shipped inside its PyPI wheel)
gives each message a mean-pooled, unit-length vector, added as dense features beside
the sparse ones, times ``scale`` (the classifier's sparse features are 0/1 counts, so
the dense part needs a comparable size to count). The comparison: config.yml as it is
against config.yml plus this featurizer after the last sparse featurizer, each
cross-validated on the training data (bench/cv.py, which also chooses its thresholds)
and then measured on the dev sets (tests/nlu_eval/dev.yml, dev2.yml, dev4.yml, dev5.yml, dev6.yml, dev7.yml). The frozen test
set takes no part in the choice. ``scale`` was chosen by the same cross-validation
(1, 3, 6, 10, 16, 25, 40: 25 was best).
"""
from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Text

import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

PROJECT = Path(__file__).resolve().parent.parent
SCALE = 25
DEV_SETS = ("tests/nlu_eval/dev.yml", "tests/nlu_eval/dev2.yml", "tests/nlu_eval/dev4.yml",
            "tests/nlu_eval/dev5.yml", "tests/nlu_eval/dev6.yml", "tests/nlu_eval/dev7.yml")


def load_wordllama() -> Any:
    """WordLlama's model from the files inside its own wheel (no download).

    ``WordLlama.load()`` looks for its tokenizer in ``wordllama/tokenizer/`` while the
    wheel ships it in ``wordllama/tokenizers/``, and then tries Hugging Face; reading
    the two files directly keeps it offline."""
    import wordllama
    from safetensors import safe_open
    from tokenizers import Tokenizer
    from wordllama.inference import WordLlamaInference

    root = Path(wordllama.__file__).parent
    with safe_open(str(root / "weights" / "l2_supercat_256.safetensors"), framework="np",
                   device="cpu") as weights:
        embedding = weights.get_tensor("embedding.weight")
    tokenizer = Tokenizer.from_file(str(root / "tokenizers" / "l2_supercat_tokenizer_config.json"))
    return WordLlamaInference(embedding, tokenizer)


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False
)
class WordLlamaFeaturizer(GraphComponent):
    """Dense features from WordLlama: each token's vector and the message's."""

    _model: Any = None

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"scale": 1.0, "alias": "wordllama"}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._scale = float(config["scale"])
        self._alias = config["alias"]
        if WordLlamaFeaturizer._model is None:
            WordLlamaFeaturizer._model = load_wordllama()

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "WordLlamaFeaturizer":
        return cls(config)

    def _featurize(self, message: Message) -> None:
        import numpy as np
        from rasa.nlu.constants import TOKENS_NAMES
        from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE
        from rasa.shared.nlu.training_data.features import Features

        text, tokens = message.get(TEXT), message.get(TOKENS_NAMES[TEXT]) or []
        if not text or not tokens:
            return
        model = WordLlamaFeaturizer._model
        sentence = model.embed([text], norm=True).astype(np.float32) * self._scale
        sequence = model.embed([t.text for t in tokens], norm=True).astype(np.float32) * self._scale
        message.add_features(Features(sequence, FEATURE_TYPE_SEQUENCE, TEXT, self._alias))
        message.add_features(Features(sentence, FEATURE_TYPE_SENTENCE, TEXT, self._alias))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._featurize(example)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._featurize(message)
        return messages


def with_wordllama(path: Path, scale: float = SCALE) -> None:
    config = yaml.safe_load((PROJECT / "config.yml").read_text())
    pipeline = config["pipeline"]
    last_sparse = max(i for i, c in enumerate(pipeline) if c["name"] == "CountVectorsFeaturizer")
    pipeline.insert(last_sparse + 1, {"name": "bench.dense.WordLlamaFeaturizer", "scale": scale})
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def use_cv_choice(path: Path) -> None:
    import json

    # the same rule as config.yml's: the settings in use unless CV beats them by more than noise
    chosen = json.loads((PROJECT / "bench" / "results" / f"cv-{path.stem}.json").read_text())["kept"]
    config = yaml.safe_load(path.read_text())
    for component in config["pipeline"]:
        if component["name"].endswith("ConditionStatementResolver"):
            component["prefer_entity_below"] = chosen["prefer_entity_below"]
        if component["name"] == "FallbackClassifier":
            component.update(threshold=chosen["threshold"], ambiguity_threshold=chosen["ambiguity_threshold"])
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    print(f"  thresholds for the dev sets: {chosen['prefer_entity_below']}, {chosen['threshold']}, "
          f"{chosen['ambiguity_threshold']} (by its CV, bench/cv.py's rule)", flush=True)


def dev_figures(config: Path, work: Path, name: str) -> list[str]:
    from rasa.model_training import train_nlu

    from clinic_assistant.rasa.evaluation import evaluate_set, load_set, model_parser

    model = train_nlu(str(config), str(PROJECT / "data" / "nlu"), str(work), fixed_model_name=name)
    parse = model_parser(Path(model))
    lines = []
    for data in DEV_SETS:
        report = asyncio.run(evaluate_set(load_set(PROJECT / data), parse))
        figures = report.figures()
        kinds = ", ".join(f"{k} {v:.1%}" for k, (v, _) in figures.items()
                          if v is not None and k in ("statement", "typo", "follow_up", "out-of-scope declined"))
        lines.append(f"  {name:16} {data}: answer accuracy {report.answer_accuracy:.1%} ({kinds})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=SCALE)
    args = parser.parse_args(argv)
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        dense = work / "with-wordllama.yml"
        with_wordllama(dense, args.scale)
        for name, config in (("config.yml", PROJECT / "config.yml"), ("with WordLlama", dense)):
            print(f"==> {name}: cross-validation (bench/cv.py)", flush=True)
            subprocess.run([sys.executable, "-m", "bench.cv", "--config", str(config)], check=True,
                           cwd=PROJECT)
            if config == dense:  # its own thresholds, chosen by its cross-validation
                use_cv_choice(dense)
            lines += dev_figures(config, work, name.replace(" ", "-").replace(".", "-"))
    print("Dev sets (tests/nlu_eval/dev.yml, dev2.yml, dev4.yml, dev5.yml, dev6.yml, dev7.yml; the frozen test set takes no part):")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
