"""Builds the clinic spaCy pipeline from files in this repository.

No weights are downloaded: the pipeline is a blank English pipeline, the lookup
lemmatizer whose table ships in the ``spacy-lookups-data`` package, and an entity
ruler compiled from ``entities.yml``. The result is saved to a folder that Rasa's
``SpacyNLP`` loads by path (``config.yml``).

    python -m clinic_assistant.nlp.build --output build/clinic_spacy
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ENTITIES_FILE = HERE / "entities.yml"
PIPELINE_NAME = "clinic_en"


def source_files() -> list[Path]:
    """The files the pipeline is built from; their hash is stored in meta.json."""
    return [ENTITIES_FILE, Path(__file__).resolve()]


def source_hash() -> str:
    digest = hashlib.sha256()
    for path in source_files():
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def lexicon_words() -> list[str]:
    """Every word of the entity lexicon (its phrases and pattern strings), lower-cased:
    part of the vocabulary the spelling corrector corrects to (ClinicSpeller)."""
    import re

    spec = yaml.safe_load(ENTITIES_FILE.read_text())
    words: set[str] = set()

    def collect(value: Any) -> None:
        if isinstance(value, str):
            words.update(w.lower() for w in re.findall(r"[A-Za-z]+", value))
        elif isinstance(value, dict):
            for key, item in value.items():
                collect(key)
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    collect({label: {canonical: forms for canonical, forms in values.items()}
             for label, values in spec.items()})
    return sorted(w for w in words if len(w) > 2 and w not in {"lemma", "lower", "text", "orth", "op"})


def phrase_to_pattern(nlp: Any, phrase: str) -> list[dict[str, str]]:
    """One token pattern per word of ``phrase``, matched on the word's lemma."""
    doc = nlp.get_pipe("lemmatizer")(nlp.make_doc(phrase.lower()))
    return [{"LEMMA": token.lemma_} for token in doc]


def compile_entity_patterns(nlp: Any, spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Turns ``entities.yml`` into entity-ruler patterns whose id is the canonical value."""
    patterns: list[dict[str, Any]] = []
    for label, values in spec.items():
        for canonical, forms in values.items():
            for phrase in forms.get("phrases", []):
                patterns.append(
                    {"label": label, "id": canonical,
                     "pattern": phrase_to_pattern(nlp, str(phrase))}
                )
            for token_pattern in forms.get("patterns", []):
                patterns.append({"label": label, "id": canonical, "pattern": token_pattern})
    return patterns


def create_pipeline() -> Any:
    """The pipeline in memory: blank English, lookup lemmatizer, entity ruler."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    ruler = nlp.add_pipe("entity_ruler", config={"validate": True})
    # Loads the English lemma lookup table from the spacy-lookups-data package.
    nlp.initialize()
    spec = yaml.safe_load(ENTITIES_FILE.read_text(encoding="utf-8"))
    ruler.add_patterns(compile_entity_patterns(nlp, spec))
    nlp.meta["name"] = PIPELINE_NAME
    nlp.meta["version"] = "1.0.0"
    nlp.meta["description"] = (
        "GP Pain & Physiotherapy assistant: lookup lemmas and clinic entities "
        "(conditions, body parts), built from clinic_assistant/nlp/"
    )
    nlp.meta["source_hash"] = source_hash()
    return nlp


def build(output: Path) -> Path:
    nlp = create_pipeline()
    output.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(output)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("build/clinic_spacy"))
    args = parser.parse_args(argv)
    print(f"==> Building the clinic spaCy pipeline into {args.output}", flush=True)
    build(args.output)
    print(f"==> spaCy pipeline ready (source hash {source_hash()})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
