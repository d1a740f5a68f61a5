"""Red-flag triage (clinic_assistant/triage/): every category in both directions, the
discounts only where they clearly apply, and the corpus's guarantees."""
from __future__ import annotations

from typing import Any

import pytest

from clinic_assistant.triage import RED_FLAG_INTENTS, TIER_INTENTS, Triage
from clinic_assistant.triage.corpus import ROUNDS, check_frozen, load_round, near_copy, split, words
from clinic_assistant.triage.phrases import compile_phrase, expand


@pytest.fixture(scope="module")
def triage() -> Triage:
    return Triage.load()


# (message, tier, category): each category caught, including the shapes that the
# first rules cancelled (worry, a question about now, old history beside a new
# symptom, hearsay beside a present symptom, a relative's emergency, typos).
CAUGHT = [
    ("i'm really worried about this crushing chest pain", "911", "cardiac"),
    ("could what is happening to me right now be a heart attack?", "911", "cardiac"),
    ("what should i do about chest pain right now", "911", "cardiac"),
    ("my left arm and jaw ache and im all sweaty", "911", "cardiac"),
    ("chest pian since this morning", "911", "cardiac"),
    ("cant breath", "911", "breathing"),
    ("i heard about dry needling causing lung problems and now i cant catch my breath", "911",
     "breathing"),
    ("since the needling near my shoulder blade it hurts every time i breathe in", "911",
     "breathing"),
    ("my dad's face is drooping on one side and he's slurring", "911", "stroke"),
    ("worst headache of my life, came on in seconds", "911", "thunderclap_headache"),
    ("since my neck was needled i'm seeing double and the room is spinning", "911",
     "cervical_artery"),
    ("i had back surgery years ago but since this morning i can't pee", "911", "cauda_equina"),
    ("it feels numb when i wipe and my back is killing me", "911", "cauda_equina"),
    ("the numbness in my leg is spreading higher every day", "same_day", "progressive_neuro"),
    ("my grandma fell and her wrist is bent the wrong way", "911", "trauma_fracture"),
    # a clinical reviewer's emergencies of 2026-12-04, missed or under-triaged before:
    # bleeding inside after an accident; heart pain the patient blames on a chest muscle
    ("a car clipped me on my bike, I'm dizzy and my belly is getting hard", "911",
     "trauma_fracture"),
    ("heavy pressure since shovelling, goes up into my jaw and I'm all sweaty, can needling "
     "loosen chest muscles", "911", "cardiac"),
    ("my wife collapsed while i was driving, what do i do", "911", "collapse"),
    ("my lips and tongue are swelling up after lunch", "911", "anaphylaxis"),
    ("the needle spot on my neck won't stop bleeding", "911", "bleeding"),
    ("my calf is swollen, red and warm since my flight home", "same_day", "dvt_pe"),
    ("my calf is swollen and red and now i'm short of breath", "911", "dvt_pe"),
    ("there's pus where the needle went in and i have chills", "same_day", "infection_sepsis"),
    ("my lower back hurts and i've had fevers and night sweats all week", "same_day",
     "infection_sepsis"),
    ("i had breast cancer years ago and now my back hurts at night and i've lost weight",
     "same_day", "spinal_malignancy"),
    ("i want to kill myself", "crisis", "crisis"),
    ("honestly there's no point living anymore", "crisis", "crisis"),
    ("everyone would be better off without me", "crisis", "crisis"),
]

# Near misses: no red flag for the person now. At least one per category.
NOT_CAUGHT = [
    "my stomach gets hard and bloated after I eat",  # no accident
    "I fell skiing last winter and my stomach muscles are hard from core work",
    "my chest muscles are tight after bench press and I was sweaty at the gym",
    "I get the usual tension headache after work, can needling help?",  # thunderclap
    "my neck is stiff after sleeping funny, no dizziness or anything",  # cervical artery
    "no numbness down there or bladder issues, just sciatica in my right leg",  # cauda equina
    "my foot isn't dragging, it's just plantar fasciitis pain in the morning",  # progressive
    "I broke my wrist last year, it's healed but still stiff",  # trauma
    "I'm allergic to penicillin, does that matter for needling?",  # anaphylaxis
    "a tiny drop of blood came out when the needle was removed and it stopped right away",
    "is there a risk of infection from dry needling?",  # infection
    "my wife had cancer years ago, is there a physio who can help her shoulder?",  # spinal
    "my back is sore after gardening all weekend",
    "my dad had a stroke last year, can needling help his recovery?",
    "my mom had a stroke and her arm is still weak, do you treat that?",
    "can dry needling cause a collapsed lung?",
    "what happens if someone faints during needling?",
    "no chest pain, just a stiff neck",
    "not numb, not tingling, just sore in my lower back",
    "this pain is killing me lol, can i book for tuesday",
    "i'm dying to try dry needling",
    "my shoulder is a bit sore and bruised after needling yesterday, is that normal?",
    "i had a blood clot in my leg 3 years ago, can i still get needling?",
    "i had a heart attack 5 years ago and i'm doing great now, is needling ok for me?",
    "my chest muscles are tight after bench press",
    "what is dry needling",
    "do you have any openings next week?",
]


@pytest.mark.parametrize("text,tier,category", CAUGHT)
def test_each_category_is_caught_at_its_tier(triage: Triage, text: str, tier: str,
                                             category: str) -> None:
    assessment = triage.assess(text)
    assert assessment.tier == tier, (text, assessment.findings)
    assert category in {f.category for f in assessment.findings}
    assert assessment.intent == TIER_INTENTS[tier]


@pytest.mark.parametrize("text", NOT_CAUGHT)
def test_near_misses_are_not_red_flags(triage: Triage, text: str) -> None:
    assessment = triage.assess(text)
    assert assessment.tier is None, (text, assessment.findings)


@pytest.mark.parametrize("text,tier,category", [c for c in CAUGHT])
def test_the_rules_alone_catch_the_examples(text: str, tier: str, category: str,
                                            triage: Triage) -> None:
    """The rule layer does not lean on the classifier for any of these."""
    assert category in {f.category for f in triage.rules.analyse(text).findings}


def test_a_present_symptom_wins_over_negation_of_something_else(triage: Triage) -> None:
    assert triage.assess("no fever, but my calf is red, swollen and hot").urgent
    assert triage.assess("no chest pain but i keep fainting today").urgent


def test_negation_governs_only_its_own_clause(triage: Triage) -> None:
    analysis = triage.rules.analyse("no chest pain but i can't breathe")
    negated = {c.concept for c in analysis.concepts if c.negated}
    active = {c.concept for c in analysis.active}
    assert "chest_feeling" in negated
    assert "breathless" in active


@pytest.mark.parametrize("text, tier", [
    ("i want to kill myself is that normal?", "crisis"),
    ("lost control of my bladder this morning, is this normal?", "911"),
    ("my dad can't catch his breath since lunch, is that ok or should we wait", "911"),
])
def test_asking_is_that_normal_denies_nothing(triage: Triage, text: str, tier: str) -> None:
    """"normal" after a symptom denies it ("it's normal now"); "is that normal?" asks."""
    assert triage.assess(text).tier == tier
    assert triage.assess("my chest pain from last week is fine now").tier is None


def test_a_risk_question_about_now_is_not_discounted(triage: Triage) -> None:
    assert triage.assess("can needling cause a collapsed lung? i can't breathe right now").urgent
    assert not triage.assess("can needling cause a collapsed lung?").urgent


def test_the_decision_names_its_evidence(triage: Triage) -> None:
    assessment = triage.assess("crushing chest pain")
    finding = assessment.findings[0]
    assert finding.source == "rules" and "chest" in " ".join(finding.evidence)


@pytest.mark.parametrize("text", [
    # sentences the rules miss and the classifier catches (a reviewer's, dev_round3/8.yml)
    "bleeding like a faucet from the gash on his head",
    "the numbness in my hand started in my pinky and over 4 days it's spread up my whole arm",
])
def test_the_classifier_is_a_second_opinion_at_911(triage: Triage, text: str) -> None:
    """Where the rules see nothing, the classifier's finding is 911, never same-day."""
    assert triage.rules.analyse(text).findings == []
    assessment = triage.assess(text)
    assert [f.source for f in assessment.findings] == ["classifier"]
    assert assessment.tier == "911"


def test_the_classifier_is_not_asked_about_a_denial_or_a_short_message(triage: Triage) -> None:
    assert triage.classifier_score(triage.rules.analyse(
        "I don't have any chest pain or shortness of breath")) == 0.0
    assert triage.classifier_score(triage.rules.analyse("nope not right now")) == 0.0


@pytest.mark.parametrize("text", [
    # a reviewer's follow-ups (2026-12-05); the first two only the classifier caught, for
    # their "and" (scored without it, as tried that day, they were missed): now the rules
    "and his speech is a bit off",
    "and he threw up twice after the fall",
    "and my arms go heavy when I mow the lawn",  # the classifier, 0.63 (0.13 without "and")
    # a reviewer's (dev_round3/8.yml) that only the classifier caught: vomiting after a
    # blow is now a rule too
    "it felt like someone swung a bat at my skull from behind and now im throwing up",
])
def test_an_emergency_told_as_a_follow_up_is_caught(triage: Triage, text: str) -> None:
    assert triage.assess(text).tier == "911"


@pytest.mark.parametrize("text, tier", [
    # a reviewer's typos (2026-12-05) with two equally good corrections, the first of
    # which is no red flag ("cheet": "cheek" or "chest"): every reading is checked
    ("getting cheet pain when i walk fast", "911"),
    ("been out of bereath all day", "911"),
    ("something stuck in my throat, cant stallow it and cant get air", "911"),
    ("the bliod wont stop, soaking through towels", "911"),
    ("my dad cant fainish a sentence without stopping for air", "911"),
    ("thoughts of eading it all", "crisis"),
])
def test_a_typo_read_either_way_is_caught_if_either_reading_is_a_red_flag(
        triage: Triage, text: str, tier: str) -> None:
    assert triage.assess(text).tier == tier


def test_the_speller_offers_every_equally_good_reading() -> None:
    from clinic_assistant.triage.spelling import Speller

    speller = Speller(["cheek", "chest", "pain"])
    assert sorted(speller.options("cheet")) == ["cheek", "chest"]
    assert speller.correct("cheet pain") == speller.options("cheet")[0] + " pain"
    assert speller.alternatives("cheet pain") == [speller.options("cheet")[1] + " pain"]
    assert speller.alternatives("chest pain") == []


@pytest.mark.parametrize("text", [
    "my dad has had sciatica down his right leg since he retired from the rigs",
    "my husband has sciatica on his left side and it's been nagging him since the spring",
])
def test_a_statement_about_a_named_condition_is_not_an_emergency(triage: Triage, text: str) -> None:
    """The classifier alone would send these to 911 (its character n-grams learned
    "sciatica", "leg", "since" from emergencies); they name a condition and no red flag."""
    analysis = triage.rules.analyse(text)
    assert analysis.findings == []
    assert triage.classifier is not None
    assert triage.classifier.score(" ".join(analysis.text.split())) >= triage.classifier.threshold
    assert triage.assess(text).tier is None


@pytest.mark.parametrize("text", [
    "my sciatica suddenly got way worse and my foot drags",  # sudden, a symptom
    "I've had fibromyalgia for years but right now I can't catch my breath",
    "my sciatica has been bad since I finished chemo for breast cancer",  # cancer
    "I have fibro and my whole body aches right now",  # happening now
])
def test_a_red_flag_word_beside_a_condition_keeps_the_second_opinion(triage: Triage, text: str) -> None:
    analysis = triage.rules.analyse(text)
    assert triage.conditions is not None and triage.conditions(analysis.text)
    assert not triage._condition_statement(analysis)


@pytest.mark.parametrize("text", [
    # written by a reviewer against the first version of the condition-statement rule,
    # which silenced each of them (the classifier alone catches them)
    "herniated disc is acting up and my privates feel like they're asleep",
    "my sciatica has crept higher and my whole bottom feels like I'm sitting on cardboard",
    "I get migraines but this one went from nothing to a 10 faster than I could put my coffee down",
    "my migraine came on like a thunderstorm crack in my head while I was lifting the groceries",
    "after the chiropractor cracked my neck I've got a headache unlike any other at the back of "
    "my skull and my pupil on that side looks tiny",
    "my depression is back and I've been handing out my things to friends so they have "
    "something to remember me by",
    "I have fibromyalgia and I've got enough of my gabapentin put aside to make it all stop",
    "the stress has gotten to me and I'm not planning on being here next week",
    "I'm 34 weeks pregnant with a pounding headache and I'm seeing sparkly lights",
    "my fibro hurts all the time and I don't want to be here anymore",
])
def test_an_emergency_beside_a_condition_stays_urgent(triage: Triage, text: str) -> None:
    assessment = triage.assess(text)
    assert assessment.tier in ("911", "crisis")
    assert not triage._condition_statement(assessment.analysis)


def test_a_sure_classifier_overrules_a_condition_statement(triage: Triage,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from clinic_assistant.triage import CONDITION_STATEMENT_BELOW

    text = "my dad has had sciatica down his right leg since he retired from the rigs"
    assert triage.classifier is not None
    monkeypatch.setattr(triage.classifier, "score", lambda _: CONDITION_STATEMENT_BELOW)
    assert triage.assess(text).tier == "911"
    monkeypatch.setattr(triage.classifier, "score", lambda _: CONDITION_STATEMENT_BELOW - 0.01)
    assert triage.assess(text).tier is None


def test_shortcuts_do_not_eat_words(triage: Triage) -> None:
    """"ill" is not "i'll": very ill and confused with an infected needle site is 911."""
    assert triage.prepare("she is very ill") == "she is very ill"
    assessment = triage.assess("she is very ill and confused, the needle spot is red, hot and full of pus")
    assert assessment.tier == "911"
    assert triage.prepare("I can\u00b4t breathe") == "i can not breathe"


def test_tier_intents_are_the_domain_intents() -> None:
    import yaml

    from clinic_assistant.settings import PROJECT_ROOT

    intents = yaml.safe_load((PROJECT_ROOT / "domain" / "assistant.yml").read_text())["intents"]
    assert set(RED_FLAG_INTENTS) <= set(intents)
    responses = yaml.safe_load((PROJECT_ROOT / "domain" / "assistant.yml").read_text())["responses"]
    for tier, intent in TIER_INTENTS.items():
        reply = responses[f"utter_{intent}"][0]
        assert reply["custom"] == {"urgent": True, "tier": tier}
        assert "911" in reply["text"]
    assert "9-8-8" in responses["utter_red_flag_crisis"][0]["text"]
    assert "811" in responses["utter_red_flag_same_day"][0]["text"]


# --- the corpus -------------------------------------------------------------------------

def test_the_frozen_test_set_is_unchanged() -> None:
    assert check_frozen() == []


def test_the_corpus_is_big_enough() -> None:
    examples = [e for name in ROUNDS for e in split(name)]
    assert sum(e.urgent for e in examples) >= 600
    assert sum(not e.urgent for e in examples) >= 600
    written = [e for files in ROUNDS.values() for f in files for e in load_round(f)]
    assert sum(e.urgent for e in written) >= 600


def test_no_sentence_is_on_both_sides() -> None:
    """No test sentence has a near copy (80% of words shared) in train or dev, and no
    dev sentence in train."""
    train, dev, test = split("train"), split("dev"), split("test")
    train_words = [words(e.text) for e in train]
    dev_words = [words(e.text) for e in dev]
    assert [e.text for e in test if near_copy(words(e.text), train_words + dev_words)] == []
    assert [e.text for e in dev if near_copy(words(e.text), train_words)] == []
    # the check itself: a sentence is a near copy of itself, not of an unrelated one
    assert near_copy(words("my chest hurts a lot"), [words("My chest hurts a lot!")])
    assert not near_copy(words("my chest hurts"), [words("what is dry needling")])


def test_templates_are_on_one_side_only() -> None:
    train = {e.source for e in split("train") if e.source.startswith("templates")}
    dev = {e.source for e in split("dev") if e.source.startswith("templates")}
    assert train and dev and not train & dev


# --- the pieces ---------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    # the worry after a session: a pneumothorax until a doctor says not
    "did the needle puncture my lung?",
    "I think the needle punctured my lung",
    "can it puncture a lung? since my session it hurts to breathe in",
    "can needling collapse a lung? my husband just collapsed after his session",
    # written by a reviewer against a version that read "can needling collapse a lung?"
    # as a figure of speech (it silenced these)
    "can needling collapse a lung? something popped when the needle went in and now I feel awful",
    "the physio warned me it can collapse a lung and now I feel awful since the session",
    "does needling collapse a lung? my dad looks grey and sweaty since his session",
])
def test_a_collapsed_lung_after_needling_is_urgent(triage: Triage, text: str) -> None:
    assert triage.assess(text).tier == "911"


@pytest.mark.parametrize("text", [
    # wordings of breathlessness that only the classifier caught in the blind breathing
    # round corpus/pending_round13.yml (re-worded here; the rules now read them)
    "my lungs feel like they just won't fill up since the needles in my back this morning",
    "i keep stopping mid sentence for air and i'm just sitting on the couch",
    "the air is just not getting in, what do i do",
    "a deep breath is impossible right now",
    "when I breathe in there is a sharp stab under my shoulder blade since yesterday's needling",
    # "no difference" denies nothing: the inhaler failed and the wheeze is now
    "took my ventolin and it made no difference, whistling every time i breathe in",
    "my puffer is doing nothing and my son sounds whistly",
])
def test_the_rules_read_breathlessness_in_other_words(triage: Triage, text: str) -> None:
    assert "breathing" in {f.category for f in triage.rules.analyse(text).findings}, text
    assert triage.assess(text).tier == "911"


@pytest.mark.parametrize("text", [
    "I stop for breath halfway up the stairs because my knees are so bad",
    "the stretches made no difference and my hamstring is still tight",
    "no difference in my back pain after three sessions, is that normal?",
    # written by a reviewer against the first version of the new breathing wordings
    "my air cast will not go in my shoe, can I wear a sandal to the appointment?",
    "I whistle when I breathe through my nose since I broke it playing hockey years ago",
    "my inhaler does nothing for the stitch in my side when I run, is that a muscle thing?",
    "my puffer did nothing for my knee pain haha, what should i take",
    "my chest does not open up in yoga because my pecs are so tight",
    # a reviewer's (2026-12-04): "still" no longer hides it, so the effort must
    "I still get out of breath running for the bus, I'm just unfit",
])
def test_breath_on_exertion_and_no_difference_are_ordinary(triage: Triage, text: str) -> None:
    assert triage.assess(text).tier is None, text


@pytest.mark.parametrize("text", [
    # written by a reviewer against a version where "all the time", "constantly",
    # "24/7" made a named condition long-standing (step 6 silenced each of them) and
    # one where "blade" counted only after a determiner
    "fibro 24/7, I keep thinking about just not waking up",
    "my sciatica is non stop and im saying goodbye to everyone",
    "My mom has fibro and hurts all the time, she has been talking about not being around much longer",
    "sciatica all the time and i went to pee and nothing came out",
    "my back spasms constantly and now i have no control down there",
    "my fibro hurts all the time and I don't want to be here anymore",
    "blades are in the drawer, i am going to do it",
    "just bought a pack of blades, planning to use them tonight",
])
def test_constant_pain_beside_a_red_flag_stays_urgent(triage: Triage, text: str) -> None:
    assert triage.assess(text).tier in ("crisis", "911")


@pytest.mark.parametrize("text, tier", [
    # gaps a reviewer found on 2026-12-03 (urgent in neither version before)
    ("fibro all the time, i took a bunch of pills an hour ago", "crisis"),
    ("my sciatica hurts 24/7 and i just swallowed all my gabapentin", "crisis"),
    ("back pain constantly, i just took the rest of my tramadol", "crisis"),
    ("my sciatica is nonstop, i downed the whole bottle of tylenol", "crisis"),
    ("fibro flares constantly and i just want it all to end", "crisis"),
    ("fibro pain constantly, i'm done, i've said my goodbyes", "crisis"),
    ("my sciatica is nonstop and i put my affairs in order this week", "crisis"),
    ("i keep blades in my pencil case for when it gets bad", "crisis"),
    ("sciatica constantly, I have razorblades and i'm going to use them", "crisis"),
    ("will it collapse my lung? it already feels like it is, I can only take tiny breaths", "911"),
    ("can dry needling puncture a lung?? it feels like mine is punctured", "911"),
    ("can ims puncture a lung?? i think it did, i feel really unwell", "911"),
    ("can needling puncture a lung? my mom has been really unwell since her appointment this afternoon", "911"),
    ("could it collapse my lung? i can hear a crackle under my skin near where it went in", "911"),
    # and what must stay ordinary
    ("I took a bunch of advil for my back this week", None),
    ("taking all my gabapentin at bedtime like the doctor said", None),
    ("this is my last message for today, thanks", None),
    ("I want the pain to stop", None),
])
def test_overdose_goodbyes_and_lung_worries(triage: Triage, text: str, tier: str) -> None:
    assert triage.assess(text).tier == tier


def test_phrase_groups_expand_and_nest() -> None:
    assert expand("{can't|cannot} breathe") == ["can't breathe", "cannot breathe"]
    assert sorted(expand("{a {b|c}|d}")) == ["a b", "a c", "d"]


def test_phrases_compile_to_compact_patterns() -> None:
    def lemmas(text: str) -> list[str]:
        return text.split()

    patterns = compile_phrase("{can not|could not} {breathe|breath}", lemmas)
    assert patterns == [[{"LEMMA": {"IN": ["can", "could"]}}, {"LEMMA": {"IN": ["not"]}},
                         {"LEMMA": {"IN": ["breath", "breathe"]}}]]
    gap = compile_phrase("chest ... tight", lemmas)[0]
    assert gap[0] == {"LEMMA": "chest"} and gap[-1] == {"LEMMA": "tight"}
    assert compile_phrase("=needled", lemmas) == [[{"LOWER": "needled"}]]
    with pytest.raises(ValueError):
        compile_phrase("chest ...", lemmas)


def test_spelling_fixes_lexicon_words_only(triage: Triage) -> None:
    assert triage.prepare("Chest pian and cant brethe") == "chest pain and can not breathe"
    # English words are never changed, even when close to a lexicon word
    assert triage.prepare("the plain truth") == "the plain truth"


def test_the_fast_scorer_matches_scikit_learn(triage: Triage) -> None:
    from clinic_assistant.triage.classifier import FastScorer

    assert triage.classifier is not None
    scorer = FastScorer(triage.classifier.pipeline)
    texts = [triage.prepare(t) for t, _, _ in CAUGHT] + [triage.prepare(t) for t in NOT_CAUGHT]
    expected = triage.classifier.urgency(texts)
    assert max(abs(scorer(t) - p) for t, p in zip(texts, expected, strict=True)) < 1e-9


def test_the_threshold_was_chosen_on_dev(triage: Triage) -> None:
    """The threshold in use keeps the classifier's added false alarms on dev within the
    limit, and is not the "classifier off" fallback."""
    from clinic_assistant.triage.classifier import MAX_ADDED_FALSE_ALARMS, NEVER

    meta: dict[str, Any] = triage.classifier.meta  # type: ignore[union-attr]
    assert meta["dev_written"]["emergencies"] > 0
    assert triage.classifier.threshold < NEVER  # type: ignore[union-attr]
    added = meta["dev_false_alarms"] - meta["dev_rules_false_alarms"]
    assert added <= MAX_ADDED_FALSE_ALARMS + 1e-9
    assert meta["dev_recall"] > meta["dev_rules_recall"]


def test_loading_triage_leaves_the_warning_filters_alone() -> None:
    """medspaCy ignores all warnings on import; triage must not let that leak (the Rasa
    server's log would lose every warning, e.g. an answer file that does not load)."""
    import subprocess
    import sys

    code = ("import warnings; from clinic_assistant.triage import Triage; Triage.load(None); "
            "assert ('ignore', None, Warning, None, 0) not in warnings.filters, 'all ignored'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


FIRST_REVIEW_EMERGENCIES = [
    # emergencies that only the classifier caught, now read by the rules too
    ("my husband cut his leg with the chainsaw and its spurting", "911"),
    ("my nose has been gushing for 45 minutes and wont quit", "911"),
    ("soaked 3 towels, cant get this gash on my arm to quit", "911"),
    ("bleeding a ton from where the needle was, its dripping down my arm", "911"),
    ("Blood keep coming from my leg cut, I press long time, not stopping", "911"),
    ("trying to pee but nothing comes out and my lower back and both legs ache like crazy", "911"),
    ("i cant control when i poop anymore since my back went out on tuesday, is that related??", "911"),
    ("the ache low in my back is worst when im in bed and it keeps waking me, ive also been really tired and not hungry", "same_day"),
    ("my mom's back has been getting steadily worse, she had cancer a few years ago and she's lost her appetite and a lot of weight", "same_day"),
    ("my mother's right calf is tender and warm, she's been laying in bed for a week with the flu", "same_day"),
    # a reviewer's emergencies (above) that only the classifier caught
    ("herniated disc is acting up and my privates feel like they're asleep", "911"),
    ("my sciatica has crept higher and my whole bottom feels like I'm sitting on cardboard", "911"),
    ("I get migraines but this one went from nothing to a 10 faster than I could put my coffee down", "911"),
    ("my migraine came on like a thunderstorm crack in my head while I was lifting the groceries", "911"),
    ("sciatica all the time and i went to pee and nothing came out", "911"),
    ("my back spasms constantly and now i have no control down there", "911"),
]


FIRST_REVIEW_ORDINARY = [
    # a reviewer's everyday messages that the first version of those words sent to 911 or
    # same-day (each matched a rule then): the words need a bleeding, a bladder, a headache
    # or a duration beside them
    "my neck went from nothing to a 10 when I turned my head to shoulder check",
    "I'd rate my migraines anywhere from nothing to a 10 depending on the weather",
    "storms trigger my migraines, the first crack of thunder and my head starts pounding",
    "I work rotating shifts so I can't control when I go in to work, do you have evening appointments?",
    "I can't control when she goes down for her nap, so I need a flexible booking time",
    "my butt falls asleep when I sit in my truck for long hauls",
    "the bottom of my foot falls asleep when I drive",
    "I get arm pump when I ride motocross, would needling my forearms help?",
    "my head is pumping after the gym, is that normal?",
    "my nose won't quit running from allergies, is it ok to come in for needling?",
    "my nose will not quit running",
    "hot yoga had me soaking two towels, can I do it the day after needling?",
    "I was soaked right through my shirt after shoveling, now my back is stiff",
    "I do my leg stretches lying in bed for a few minutes each morning, my calf still hurts",
    "the T3s for my back pain make me lose my appetite",
    "my back is sore after the session, no appetite for the gym today",
    "my lower back is stiff in the mornings and I'm never hungry that early, should I eat before an 8am needling?",
    "I'm a bit run down and not hungry since the needling yesterday, my back is sore though",
    "I can't get my kid to do his home exercises",
    "I've had this sciatica for months and it just won't quit",
    "my calf cramps lying in bed at night",
    "I'm not hungry in the mornings, is it ok to come in before breakfast?",
    "my wife was gushing about her last session with you",
]


SECOND_REVIEW_EMERGENCIES = [
    # a second review's emergencies (and three more beside its everyday ones): the narrowed
    # phrases, and the figures of speech that now cancel some of them, still read each
    ("his leg is spurting", "911"),
    ("her arm is gushing", "911"),
    ("his hand is spurting", "911"),
    ("losing control down there", "911"),
    ("I'm losing control down there, my back has been bad for a week", "911"),
    ("I can't control when I go anymore, back is really sore", "911"),
    ("he's soaked 3 towels already", "911"),
    ("I can't get him to move, he's just lying there", "911"),
    ("I can't get her to talk to me, she's just staring", "911"),
    ("her arm is gushing and we can't stop it", "911"),
    ("I can't get him to open his eyes", "911"),
    ("I can't get her to open her eyes", "911"),
    ("I've lost control down there and my back is killing me", "911"),
    ("the saddle area feels asleep since my back went", "911"),
    ("his nose won't quit bleeding and he's on Eliquis", "911"),
    ("my nose won't quit bleeding, I'm on blood thinners", "911"),
    ("it won't quit bleeding", "911"),
    ("the cut won't quit, I've been pressing on it for half an hour", "911"),
    ("I can't get the cut to stop, it's been 20 minutes of pressure", "911"),
    ("can't get this gash on his head to stop, what do I do", "911"),
    ("it's soaked right through the towel", "911"),
    ("it went from nothing to a 10 in my head, never had that", "911"),
    ("I've been in bed for two days with my back and now my calf really hurts", "911"),
    ("it keeps pumping out every time his heart beats", "911"),
    ("she's been in bed since Monday and her calf is really swollen", "same_day"),
    ("dad has been lying in bed for 10 days since his fall, his calf is tender and sore", "911"),
    ("I can't get a response out of my dad", "911"),
    ("the weight is just melting off her and her back aches all the time", "same_day"),
    ("pounds are just coming off me without trying and my lower back hurts", "same_day"),
    ("I had an accident in my pants and didn't even feel it, back pain for 3 days", "911"),
    ("I lost control down there in the night and my back is agony", "911"),
    ("I can't control when I go to the bathroom anymore and my back is wrecked", "911"),
    ("I lost control down there on the way to the bathroom, back pain for days", "911"),
]


@pytest.mark.parametrize("text, tier", FIRST_REVIEW_EMERGENCIES + SECOND_REVIEW_EMERGENCIES)
def test_the_rules_read_what_the_classifier_alone_caught(triage: Triage, text: str, tier: str) -> None:
    """Emergencies two reviews wrote (or that only the classifier had caught): the rules read
    each, at its tier, after the lexicon was narrowed for their everyday look-alikes."""
    a = triage.assess(text)
    assert a.analysis.findings, text  # the rules, not only the classifier
    assert a.tier == tier, (text, a.tier)


SECOND_REVIEW_ORDINARY = [
    # the same review's everyday messages that use those words
    # ("wound" still reads as "winded", a lemma clash, and is left: see clinic_assistant/triage/README.md)
    "my pants and shoes, what should I wear to the session?",
    "I can't get my physio to answer the phone, can someone call me back",
    "I can't get my insurance company to respond to my claim",
    "I've been stuck in bed with a cold and my calves are a bit achy",
    "my nose is gushing from allergies, can I still come in for needling",
    "my groin aches when I fall asleep",
    "my migraines go from nothing to a 10 when the weather changes, can physio help?",
    "my knee is pulsing with every heartbeat after the game",
    "my thumb is throbbing and pulsing with my pulse after I jammed it in the door",
    "the ice pack has soaked through the towel again",
    "I can't get the online form to respond when I click submit",
    "I was skiing and lost control down there on the icy part of the run and twisted my knee",
    "I work rotating shifts so I can't control when I go in to work, do you have evening appointments?",
    "I can't get the cut from my surgery to stop itching, is that normal",
    "hot yoga had me soaking two towels, can I do it the day after needling?",
]


@pytest.mark.parametrize("text", FIRST_REVIEW_ORDINARY + SECOND_REVIEW_ORDINARY)
def test_the_new_words_alone_are_ordinary(triage: Triage, text: str) -> None:
    assert triage.assess(text).tier is None, text


@pytest.mark.parametrize("text", [
    # angina: effort brings it on, rest eases it (Heart & Stroke); chest words not needed
    "pressure in my jaw and left arm every time I walk the dog",
    "my throat gets tight and achy when I climb the stairs at work",
    "a heavy ache between my shoulder blades comes on when I walk uphill and goes away when I stop",
    "burning in my upper stomach like heartburn but only when I'm hiking, it settles once I rest",
    "my dad's left shoulder aches whenever he shovels the driveway and he has to stop for a bit",
])
def test_effort_angina_is_a_heart_emergency(triage: Triage, text: str) -> None:
    assert "cardiac" in {f.category for f in triage.rules.analyse(text).findings}, text
    assert triage.assess(text).tier == "911"


@pytest.mark.parametrize("text", [
    # claudication of the spine or the legs eases with rest too; the site decides
    "my lower back and legs ache when I walk and it goes away when I sit down",
    "calf cramps walking uphill, stops when I rest",
    "my knees hurt going up the stairs",
    "my jaw is sore from clenching when I exercise",
    "I get heartburn after pizza",
])
def test_effort_pain_elsewhere_is_ordinary(triage: Triage, text: str) -> None:
    assert triage.assess(text).tier is None, text


@pytest.mark.parametrize("text", [
    # a reviewer's everyday messages that the first version of the effort rules sent to 911
    "my left arm is sore when I carry the groceries in from the car",
    "my left arm aches every time I carry my toddler, the physio thinks it's tennis elbow",
    "my throat gets dry and sore when I go jogging in the cold air",
    "both my arms are sore from shovelling the driveway yesterday",
    "my frozen left shoulder hurts when I'm mowing the lawn, it settles once I stop",
    "my left shoulder aches when I carry the laundry basket up the stairs and eases if I rest it",
    "I get a knot between my shoulder blades when I carry my backpack, it goes away when I sit down",
    "my left arm gets pins and needles when I'm hiking with poles, it stops when I rest",
    "my jaw clicks from clenching when I walk uphill and settles when I rest",
    "I had a heart attack years ago, these days my back aches when sitting",
    "I had a stroke 5 years ago and the exercises are doing nothing for my shoulder",
    "I had a DVT years ago and the compression socks are doing nothing for my ankle swelling",
])
def test_the_effort_rules_leave_everyday_effort_alone(triage: Triage, text: str) -> None:
    assert not triage.rules.analyse(text).findings, text


@pytest.mark.parametrize("text", [
    # the reviewer's effort wordings the first version missed
    "I get this burning in the top of my stomach when I carry the shopping up the hill, better once I stop",
    "my jaw aches when I run and goes away when I rest",
    "my jaw aches on the treadmill and calms down when I rest",
    # after needling, the chest wall is where a collapsed lung hurts
    "sharp pain in my chest wall after they needled my upper back",
    # out of breath running for a bus is ordinary; with the chest or since the needles, not
    "I'm out of breath running for the bus and my chest is crushing",
    "out of breath running for the bus since the needling yesterday and it hurts to breathe in",
])
def test_the_rules_read_effort_wordings_and_the_chest_wall(triage: Triage, text: str) -> None:
    assert triage.rules.analyse(text).findings, text
    assert triage.assess(text).tier == "911"


@pytest.mark.parametrize("text", [
    # "still" makes a chronic ache long-standing, never a chest or breathing sign
    "my chest still hurts after the needling",
    "still short of breath since the needles",
    "I'm out of breath just sitting still",
    # "don't feel right" denies nothing that follows it
    "I just don't feel right, short of breath sitting here doing nothing",
])
def test_a_chest_or_breathing_sign_that_is_still_there_is_now(triage: Triage, text: str) -> None:
    assert triage.assess(text).tier == "911", text


def test_still_keeps_a_chronic_ache_long_standing(triage: Triage) -> None:
    assert triage.assess("I still get headaches sometimes").tier is None
    # the same words as two concepts ("hurts": chest_feeling and leg_red_hot) are read
    # apart: ConText's excluded concepts hold for each
    analysis = triage.rules.analyse("my chest still hurts")
    feelings = {c.concept: c.historical for c in analysis.concepts if c.text == "hurts"}
    assert feelings == {"chest_feeling": False, "leg_red_hot": True}
