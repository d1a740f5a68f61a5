"""How the bot reads patients who describe, follow up, misspell or write in another
language (issue #16), through the trained model and the real server. The figures
are in make test-nlu / make bench; these check each behaviour once."""
from __future__ import annotations

import os
import uuid
from typing import Any, Callable

import pytest

from clinic_assistant.clinic.answers import answer_key
from tests.harness.servers import Bot, texts
from clinic_assistant.triage.french import french_findings


def parse(nlu_agent: Any, text: str) -> dict[str, Any]:
    import asyncio

    return asyncio.run(nlu_agent.parse_message(text))


@pytest.mark.parametrize("text, answer", [
    ("my shoulders are always tight and knotted", "condition/chronic muscle pain"),
    ("had a knee replacement in the spring, still stiff", "condition/post-surgical rehabilitation"),
    ("fibro flare ups are killing me this week", "condition/fibromyalgia"),
    ("got bunions on both my feet", "condition/unlisted"),
    ("my wrist was surgically repaired last fall", "condition/post-surgical rehabilitation"),
    ("my chiro thinks a nerve got pinched in my low back", "condition/sciatica and nerve pain"),
])
def test_a_statement_gets_the_condition_answer(nlu_agent: Any, text: str, answer: str) -> None:
    assert answer_key(parse(nlu_agent, text)) == answer


def test_a_typo_is_read_as_the_word_meant_and_kept_as_typed(nlu_agent: Any) -> None:
    parsed = parse(nlu_agent, "can dry needeling help my siatica")
    assert answer_key(parsed) == "condition/sciatica and nerve pain"
    assert "needling" in parsed["text"]  # corrected for the classifier; the log keeps "needeling"
    # texting shortcuts spelled out, so a misspelled English message is not "another language"
    assert answer_key(parse(nlu_agent, "cya l8r")) == "goodbye"
    assert answer_key(parse(nlu_agent, "wut's ur phone nmbr")) == "faq_contact"


def test_a_message_in_french_gets_the_other_language_answer(nlu_agent: Any) -> None:
    parsed = parse(nlu_agent, "bonjour, est-ce que quelqu'un parle français à la clinique?")
    assert parsed["intent"]["name"] == "other_language"
    assert {"entity": "language", "value": "fr"}.items() <= parsed["entities"][-1].items()
    assert parse(nlu_agent, "what are your hours on monday")["intent"]["name"] != "other_language"


@pytest.mark.parametrize("text", [
    "请问你们星期六营业吗？",  # Chinese: one "word" to the English checks
    "ਤੁਹਾਡਾ ਫ਼ੋਨ ਨੰਬਰ ਕੀ ਹੈ?",  # Punjabi, Gurmukhi
    "c'est tu cher le dry needling?",  # French borrowing English words
])
def test_other_scripts_and_french_with_english_words_get_the_other_language_answer(
        nlu_agent: Any, text: str) -> None:
    assert parse(nlu_agent, text)["intent"]["name"] == "other_language"


@pytest.mark.parametrize("text, language", [
    ("do yuo do ims", None),  # the clinic's own words are English here
    ("I have hypermobile Ehlers-Danlos", None),
    ("r u guys open sat", None),
    ("¿Cuánto cuesta una sesión de punción seca?", "es"),
    ("combien coûte une séance de physio?", "fr"),
])
def test_the_language_check_counts_the_clinics_words_as_english(text: str, language: Any) -> None:
    from clinic_assistant.rasa.components import OtherLanguageDetector

    detector = OtherLanguageDetector(OtherLanguageDetector.get_default_config())
    assert detector.language(text) == language


def test_a_french_emergency_gets_the_emergency_reply(nlu_agent: Any) -> None:
    parsed = parse(nlu_agent, "j'ai une douleur à la poitrine et je n'arrive pas à respirer")
    assert parsed["intent"]["name"] == "red_flag_emergency"
    assert [f.category for f in french_findings("ma mère a le visage qui tombe d'un côté")] == ["stroke"]
    assert french_findings("combien coûte une séance de physio?") == []


def new_sender() -> str:
    return f"rest:understand-{uuid.uuid4().hex[:10]}"


def test_a_follow_up_is_read_with_the_previous_message(bot: Bot, expected_text: Callable[[str], str]) -> None:
    sender = new_sender()
    bot.send(sender, "hi")
    bot.send(sender, "what are your hours")
    # the hours answer for the day asked about ("We're closed on Saturday, December 5 ...")
    assert any("Saturday" in text for text in texts(bot.send(sender, "how about saturday")))
    other = new_sender()
    bot.send(other, "hi")
    # alone, at the start of a conversation, the same words are not an hours question
    # ("and on the weekend?" and "same on saturday?" now are, from the training data's
    # follow-up wordings)
    assert not any("Saturday" in text for text in texts(bot.send(other, "how about saturday")))


def test_french_gets_a_french_reply_with_the_phone(bot: Bot) -> None:
    replies = texts(bot.send(new_sender(), "bonjour, est-ce que vous parlez français s'il vous plaît?"))
    assert any("je ne réponds qu'en anglais" in text and "(780) 555-0100" in text for text in replies)
    assert any("composez le 911" in text for text in replies)  # an emergency, whatever the language


def test_an_emergency_written_in_french_still_gets_911(bot: Bot) -> None:
    """Whether triage reads it or the language check answers first, a patient who
    writes an emergency in another language is told to call 911."""
    replies = texts(bot.send(new_sender(), "j'ai une forte douleur à la poitrine et je n'arrive plus à respirer"))
    assert any("911" in text for text in replies)


def _parsed(text: str, intent: str, confidence: float, entities: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"text": text, "intent": {"name": intent, "confidence": confidence},
            "intent_ranking": [{"name": intent, "confidence": confidence}], "entities": entities or []}


def _reread(result: dict[str, Any]) -> Callable[[str], Any]:
    async def reparse(text: str) -> dict[str, Any]:
        return {**result, "text": text}
    return reparse


def test_a_follow_up_the_classifier_answers_keeps_its_own_answer() -> None:
    import asyncio

    from clinic_assistant.clinic.context import with_context

    knee = {"entity": "condition", "value": "sports injury"}
    # read together, the previous message (a knee sprain) dominates: not taken
    own = _parsed("how soon could I get in?", "faq_availability", 0.45)
    together = _reread(_parsed("", "ask_condition", 1.0, [knee]))
    assert asyncio.run(with_context(own, "would needling help my knee sprain?", together)) == own
    # declined alone, answered together: taken
    declined = _parsed("and weekends?", "out_of_scope", 0.5)
    hours = _reread(_parsed("", "faq_hours", 0.97))
    assert asyncio.run(with_context(declined, "what are your hours", hours))["intent"]["name"] == "faq_hours"
    # a condition question naming none takes the previous message's condition
    that = _parsed("would it help that too?", "ask_condition", 0.9)
    resolved = asyncio.run(with_context(that, "I have tennis elbow", _reread(_parsed("", "ask_condition", 1.0, [knee]))))
    assert answer_key(resolved) == "condition/sports injury"


def test_an_unsure_follow_up_takes_a_third_answer_from_the_two_read_together() -> None:
    import asyncio

    from clinic_assistant.clinic.context import with_context

    previous = "does needling improve blood flow?"

    def reads(together: str, previous_alone: str) -> Callable[[str], Any]:
        async def reparse(text: str) -> dict[str, Any]:
            name = previous_alone if text == previous else together
            return _parsed(text, name, 0.9)
        return reparse

    own = _parsed("why does that matter?", "faq_how_it_works", 0.34)
    taken = asyncio.run(with_context(own, previous, reads("faq_why_circulation_matters",
                                                          "faq_blood_circulation")))
    assert taken["intent"]["name"] == "faq_why_circulation_matters"
    assert taken["text"] == "why does that matter?" and taken["context"] == {"previous": previous}
    # not when together they only give the previous message's own answer again
    again = asyncio.run(with_context(own, previous, reads("faq_blood_circulation",
                                                          "faq_blood_circulation")))
    assert again == own
    # nor when the message is sure enough alone
    sure = _parsed("why does that matter?", "faq_how_it_works", 0.6)
    assert asyncio.run(with_context(sure, previous, reads("faq_why_circulation_matters",
                                                          "faq_blood_circulation"))) == sure


def test_an_opening_ok_is_read_past_when_the_rest_answers_better() -> None:
    import asyncio

    from clinic_assistant.clinic.context import without_acknowledgement

    def run(parse: dict[str, Any], rest: dict[str, Any]) -> dict[str, Any]:
        return asyncio.run(without_acknowledgement(parse, _reread(rest)))

    booking = _parsed("", "request_booking", 0.9)
    whole = _parsed("ok sounds good, sign me up", "affirm", 0.6)
    read = run(whole, booking)
    assert read["intent"]["name"] == "request_booking"
    assert read["text"] == "ok sounds good, sign me up"  # the log keeps the patient's words
    assert read["acknowledgement"] == {"read_without": "ok sounds good,", "instead_of": "affirm"}
    # the rest's entities are placed in the whole message
    knee = {"entity": "body_part", "value": "knee", "start": 8, "end": 12}
    placed = run(_parsed("thanks, and my knee?", "out_of_scope", 0.3),
                 _parsed("", "ask_condition", 0.8, [knee]))
    assert placed["entities"][0]["start"] == len("thanks, ") + 8
    # kept: a denial, a "yes", a red flag, a rest that is no better or declined
    assert run(_parsed("no chest pain, just a stiff neck", "ask_condition", 0.5),
               _parsed("", "red_flag_emergency", 1.0))["intent"]["name"] == "ask_condition"
    assert run(_parsed("yes please as soon as possible", "affirm", 0.5), booking)["intent"]["name"] == "affirm"
    assert run(_parsed("ok my chest is crushing", "red_flag_emergency", 1.0), booking)["intent"]["name"] \
        == "red_flag_emergency"
    assert run(_parsed("ok what are your hours", "faq_hours", 0.95), booking)["intent"]["name"] == "faq_hours"
    assert run(whole, _parsed("", "out_of_scope", 0.99))["intent"]["name"] == "affirm"
    assert run(_parsed("ok thanks", "thank", 0.9), booking)["intent"]["name"] == "thank"  # nothing left
    # an unsure rest is not taken, even over an unsure whole
    assert run(_parsed("ok what then", "out_of_scope", 0.3),
               _parsed("", "faq_medical_advice", 0.45))["intent"]["name"] == "out_of_scope"
    # a red flag is decided on the whole message: a part's reading is never taken
    assert run(_parsed("thanks, my breathing is fine now", "ask_condition", 0.4),
               _parsed("", "red_flag_emergency", 1.0))["intent"]["name"] == "ask_condition"
    # words that also start ordinary sentences count only before a comma or a stop
    assert "acknowledgement" not in run(_parsed("so my knee hurts when I kneel", "ask_condition", 0.3), booking)
    assert "acknowledgement" not in run(_parsed("great toe pain, can you help", "ask_condition", 0.3), booking)
    assert run(_parsed("so, can I book", "out_of_scope", 0.3), booking)["intent"]["name"] == "request_booking"


def test_ok_sign_me_up_starts_a_booking(bot: Bot) -> None:
    replies = texts(bot.send(new_sender(), "ok sounds good, sign me up"))
    assert any("what name should the request be under" in text for text in replies), replies


def test_a_jaw_complaint_gets_the_tmj_answer() -> None:
    from clinic_assistant.clinic.answers import condition_from_entities

    assert condition_from_entities([{"entity": "body_part", "value": "jaw"}]) == "TMJ dysfunction"
    assert condition_from_entities([{"entity": "body_part", "value": "jaw"},
                                    {"entity": "other_condition", "value": "arthritis"}]) == "unlisted"
    assert condition_from_entities([{"entity": "body_part", "value": "knee"}]) == "unlisted"


def test_a_contact_field_answer_that_reads_like_call_me_stays_the_answer() -> None:
    from clinic_assistant.clinic.context import as_form_answer

    parse = _parsed("call me on 555", "request_human", 0.35)
    parse["intent_ranking"] += [{"name": "unclear", "confidence": 0.23}]
    answered = as_form_answer(parse, "booking_form", "booking_contact")
    assert answered["intent"]["name"] == "unclear"
    # without a digit or "@", or outside a contact field, asking for a person still is
    assert as_form_answer(_parsed("can I talk to a person", "request_human", 0.9),
                          "booking_form", "booking_contact")["intent"]["name"] == "request_human"
    assert as_form_answer(parse, "booking_form", "booking_name")["intent"]["name"] == "request_human"


@pytest.mark.parametrize("previous, follow_up, expected", [
    ("Will I be sore after the needling?", "what should I do for it?", "aftercare instructions"),
    ("Will I be sore after the needling?", "for how long usually?", "for a day or two"),
    ("Do you do IMS?", "how is that different from dry needling?", "intramuscular stimulation"),
])
def test_a_follow_up_that_refers_back_gets_the_previous_topics_answer(
        bot: Bot, previous: str, follow_up: str, expected: str) -> None:
    sender = new_sender()
    bot.send(sender, previous)
    replies = texts(bot.send(sender, follow_up))
    assert any(expected in text for text in replies), replies


def test_words_that_refer_back_need_the_previous_topic() -> None:
    import asyncio

    from clinic_assistant.clinic.context import with_context

    def previous_reads(name: str) -> Callable[[str], Any]:
        async def reparse(text: str) -> dict[str, Any]:
            return _parsed(text, name, 0.95)
        return reparse

    own = _parsed("what should I do for it?", "faq_medical_advice", 0.7)
    after_soreness = asyncio.run(with_context(own, "will I be sore after?", previous_reads("faq_soreness_after")))
    assert after_soreness["intent"]["name"] == "faq_aftercare"
    assert after_soreness["context"]["continues"] == "faq_soreness_after"
    # after a pain of the patient's own, it stays a question for a doctor
    assert asyncio.run(with_context(own, "my back hurts", previous_reads("ask_condition"))) == own
    # nor without the words that refer back
    plain = _parsed("should I take ibuprofen?", "faq_medical_advice", 0.9)
    assert asyncio.run(with_context(plain, "will I be sore after?", previous_reads("faq_soreness_after"))) == plain


def test_a_longer_follow_up_that_says_it_refers_back_takes_the_previous_condition() -> None:
    import asyncio

    from clinic_assistant.clinic.context import with_context

    sciatica = {"entity": "condition", "value": "sciatica and nerve pain"}
    together = _reread(_parsed("", "ask_condition", 1.0, [sciatica]))
    previous = "sciatic pain down my butt and leg for about a month now"
    # 11 words, declined alone: "the same thing" and "too" refer back
    dad = _parsed("my dad has the same thing, would it work for him too", "out_of_scope", 0.66)
    assert answer_key(asyncio.run(with_context(dad, previous, together))) == "condition/sciatica and nerve pain"
    # as long, with nothing that refers back, it stands on its own
    alone = _parsed("do you sell the orthotics that the podiatrist down the road sells", "out_of_scope", 0.66)
    assert asyncio.run(with_context(alone, previous, together)) == alone
    # and never past 16 words
    long = _parsed("my dad has the same thing and he has had it for years and years and it "
                   "never gets better, would it work for him too", "out_of_scope", 0.66)
    assert asyncio.run(with_context(long, previous, together)) == long


@pytest.mark.parametrize("follow_up, expected", [
    ("how?", "faq_how_it_works"),
    ("but how does it do that?", "faq_how_it_works"),
    ("how long?", "out_of_scope"),  # not a "how?" of how it works
])
def test_how_after_what_it_helps_asks_how_it_works(follow_up: str, expected: str) -> None:
    import asyncio

    from clinic_assistant.clinic.context import with_context

    async def reparse(text: str) -> dict[str, Any]:
        return _parsed(text, "faq_pain_relief" if text == "does dry needling help with pain" else "out_of_scope", 0.9)

    own = _parsed(follow_up, "out_of_scope", 0.2)
    resolved = asyncio.run(with_context(own, "does dry needling help with pain", reparse))
    assert resolved["intent"]["name"] == expected


@pytest.mark.parametrize("text, answer", [
    # a statement about a condition, not about the time after a treatment
    ("I get headaches that drive me up the wall after night shifts", "condition/headaches and migraines"),
    ("lower back gets stiff and achy after a day on the combine and never really lets go",
     "condition/chronic muscle pain"),
    # ... unless a treatment, or the time after one, is named
    ("is my shoulder supposed to ache the day after needling?", "faq_soreness_after"),
    # naming one condition of the page gets its answer, not the list of all of them
    ("can dry needling help with sports injuries", "condition/sports injury"),
    ("tension in my neck and shoulders from stress", "condition/chronic muscle pain"),
    ("hurt my shoulder at the gym, think I strained it", "condition/sports injury"),
    # how serious a symptom is: the bot says it can't tell, and who can
    ("my knee has been sore for a month, is that something serious?", "faq_medical_advice"),
    ("is it bad that my neck still hurts after six weeks?", "faq_medical_advice"),
    ("do you take blue cross", "faq_insurance"),
    # asking to book in so many words is a booking, whatever the visit is for
    ("Can I make an appointment for my daughter? Her jaw clicks all the time", "request_booking"),
    ("I'd like to book my dad in for his sciatica", "request_booking"),
    ("ok can I book for Thursday then?", "request_booking"),  # read as availability
    ("ok how do I get in", "request_booking"),  # read as contact details
    # a second question after "or" is not left unanswered by the booking form
    ("can i book a weekend appointment or are you only open weekdays?", "faq_hours"),
    ("how do I get in touch with the clinic", "faq_contact"),
    ("do you have anything Thursday?", "faq_availability"),
    # a day or a time of day is about the hours, unless it asks what is free then
    ("do you take saturday appointments?", "faq_hours"),
    ("any chance of evening appointments after 5?", "faq_hours"),
    ("do you have any openings saturday morning?", "faq_availability"),
    ("how soon could I get in?", "faq_availability"),  # read as a booking request
    # whether it is safe given a condition not on the page: personal medical advice
    ("are they safe if I'm pregnant", "faq_medical_advice"),
    ("my wife is pregnant, is it ok for her?", "faq_medical_advice"),
    ("can needling help my arthritis?", "condition/unlisted"),
    ("can I book in, how soon could you see me?", "request_booking"),
    # dry needling compared with acupuncture, said with "it" (offering acupuncture is out of scope)
    ("is it kind of like acupuncture?", "faq_what_is_dry_needling"),
    ("do you do acupuncture", "out_of_scope"),
])
def test_what_a_message_names_decides_between_close_answers(nlu_agent: Any, text: str, answer: str) -> None:
    assert answer_key(parse(nlu_agent, text)) == answer


def test_a_rare_typo_of_the_training_data_is_read_as_the_word_it_misspells() -> None:
    from clinic_assistant.triage.spelling import Speller

    counts = {"needling": 475, "neeedling": 1, "session": 40, "sesion": 1, "physio": 30, "physios": 2,
              "fibro": 20, "fibros": 2}
    speller = Speller(counts, counts=counts, rare_typos=True)
    assert speller.correct_word("neeedling") == "needling"
    assert speller.correct_word("sesion") == "session"
    assert speller.correct_word("fibros") == "fibros"  # 10 times as frequent: read as written
    assert speller.correct_word("physios") == "physios"  # 15 times, under 20: kept too
    # the triage's speller leaves the lexicon's own words alone
    assert Speller(counts, counts=counts).correct_word("neeedling") == "neeedling"


def test_the_speller_corrects_the_same_way_in_every_process() -> None:
    """Equally close, equally frequent words: SymSpell returns them in the order they were
    added, which was a set's order and so changed with each process's string hashing
    (the triage's speller too). A letter left out is the likelier typo."""
    import subprocess
    import sys

    code = ("from clinic_assistant.triage.spelling import Speller;"
            "print(Speller(['replace', 'replaced', 'replica', 'repaced']).correct('had my knee replacd'))")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout.strip()
               for seed in range(6)}
    assert outputs == {"had my knee replaced"}


def test_keyboard_mash_is_unclear_and_texting_is_not() -> None:
    from clinic_assistant.rasa.components import ClinicSpeller

    speller = ClinicSpeller({}, None, None, {"needling": 40, "physio": 30})  # type: ignore[arg-type]
    for text in ("jkfdjkfd", "jsdhfjsdk", "asdfgh lkjhg"):
        assert speller.keyboard_mash(text), text
    for text in ("thnx", "k thx", "wknd hrs?", "needling", "nedling", "ok", "hmm", "pfft 2", "tmj pain",
                 "bonjour", "no sé", "where is the clinic"):
        assert not speller.keyboard_mash(text), text


def test_the_previous_topic_breaks_a_near_tie() -> None:
    import asyncio

    from clinic_assistant.clinic.context import with_context

    async def hours(text: str) -> dict[str, Any]:
        return _parsed(text, "faq_hours", 0.99)

    own = _parsed("same on saturday?", "faq_availability", 0.31)
    own["intent_ranking"] = [{"name": "faq_availability", "confidence": 0.31},
                             {"name": "faq_hours", "confidence": 0.31},
                             {"name": "out_of_scope", "confidence": 0.30}]
    assert asyncio.run(with_context(own, "what are your hours", hours))["intent"]["name"] == "faq_hours"
    # far from a tie, the previous message's answer is not taken again
    apart = {**own, "intent_ranking": [{"name": "faq_availability", "confidence": 0.45},
                                       {"name": "faq_hours", "confidence": 0.2}]}
    apart["intent"] = {"name": "faq_availability", "confidence": 0.45}
    assert asyncio.run(with_context(apart, "what are your hours", hours)) == apart


@pytest.mark.parametrize("text, not_answer", [
    # soreness after a treatment, said without the words "session" or "needling"
    ("my shoulder is sore since you worked on it yesterday", "condition/chronic muscle pain"),
    ("is it normal for my neck to still be sore 2 days later?", "condition/chronic muscle pain"),
    # how serious, about the treatment: not medical advice
    ("is it serious if I get a bruise from the needles?", "faq_medical_advice"),
    # not asking to book
    ("I don't want to book yet, just wondering if it helps my sciatica", "request_booking"),
    ("do I need to book for my knee or can I walk in?", "request_booking"),
])
def test_the_close_answer_rules_leave_other_questions_alone(nlu_agent: Any, text: str, not_answer: str) -> None:
    assert answer_key(parse(nlu_agent, text)) != not_answer


def test_a_possessive_without_its_noun_refers_back() -> None:
    """"and my sister's? she clenches hers at night" (9 words, dev10) leaves out the jaw
    of the previous message; "my sister's jaw clicks at night too" names its own."""
    import asyncio

    from clinic_assistant.clinic.context import with_context

    tmj = {"entity": "condition", "value": "TMJ dysfunction"}
    together = _reread(_parsed("", "ask_condition", 1.0, [tmj]))
    sister = _parsed("and my sister's? she clenches hers at night", "ask_condition", 0.99)
    assert answer_key(asyncio.run(with_context(sister, "can needling help tmj", together))) == "condition/TMJ dysfunction"
    named = _parsed("my sister's knee has been sore since she fell off her bike", "out_of_scope", 0.6)
    assert asyncio.run(with_context(named, "can needling help tmj", together)) == named
    # an unsure reading of 9+ words refers back only with such words (helper-74: the
    # sister's message above is carried by "hers" as well)
    husband = _parsed("and my husband's? he grinds all night long at the camp", "out_of_scope", 0.5)
    assert answer_key(asyncio.run(with_context(husband, "can needling help tmj", together))) \
        == "condition/TMJ dysfunction"


def test_a_condition_question_naming_none_takes_the_previous_condition_up_to_16_words() -> None:
    """Alone it could only get "not on our list" (dev12: "my mom has it, shes had it for
    about ten years" after "is fibro one of them")."""
    import asyncio

    from clinic_assistant.clinic.context import with_context

    fibro = {"entity": "condition", "value": "fibromyalgia"}
    together = _reread(_parsed("", "ask_condition", 1.0, [fibro]))
    mom = _parsed("my mom has it, shes had it for about ten years", "ask_condition", 1.0)
    assert answer_key(asyncio.run(with_context(mom, "is fibro one of them", together))) == "condition/fibromyalgia"
    longer = _parsed("my mom has it and she has had it for about ten years now and it is "
                     "getting worse every winter", "ask_condition", 1.0)
    assert asyncio.run(with_context(longer, "is fibro one of them", together)) == longer


def test_a_condition_reading_with_no_condition_to_carry_takes_the_answer_read_together() -> None:
    """"mine's through work, with sun life" after a question about insurance: the
    classifier's weak "condition" has nothing to carry; read together it is insurance."""
    import asyncio

    from clinic_assistant.clinic.context import with_context

    mine = _parsed("mine's through work, with sun life", "ask_condition", 0.57)
    insurance = _reread(_parsed("", "faq_insurance", 0.9))
    assert answer_key(asyncio.run(with_context(mine, "is dry needling covered by insurance", insurance))) \
        == "faq_insurance"
    unsure = _reread(_parsed("", "faq_insurance", 0.5))  # read together, not confident
    assert asyncio.run(with_context(mine, "is dry needling covered by insurance", unsure)) == mine


def test_a_person_with_the_same_thing_gets_the_previous_answer_again() -> None:
    """An unsure follow-up does not take the previous message's own answer again ("how soon
    could I get in?" after a knee sprain), unless it says it refers back to it."""
    import asyncio

    from clinic_assistant.clinic.context import with_context

    sciatica = {"entity": "condition", "value": "sciatica and nerve pain"}
    together = _reread(_parsed("", "ask_condition", 0.95, [sciatica]))
    previous = "pain shoots from my butt down the back of my leg, any chance needling helps"
    husband = _parsed("my husband has the exact same thing", "faq_how_it_works", 0.42)
    assert answer_key(asyncio.run(with_context(husband, previous, together))) == "condition/sciatica and nerve pain"
    soon = _parsed("how soon could I get in?", "faq_availability", 0.45)
    assert asyncio.run(with_context(soon, previous, together)) == soon


def test_a_sure_out_of_scope_follow_up_is_not_read_with_the_previous_topic() -> None:
    """Read together, the previous topic dominates: "do you also sell running shoes?"
    after a hamstring question got the sports-injury answer (dev13, 6 such)."""
    import asyncio

    from clinic_assistant.clinic.context import with_context

    injury = _reread(_parsed("", "ask_condition", 0.9, [{"entity": "condition", "value": "sports injury"}]))
    shoes = _parsed("do you also sell running shoes?", "out_of_scope", 0.99)
    assert asyncio.run(with_context(shoes, "do you treat a pulled hamstring?", injury)) == shoes
    hours = _reread(_parsed("", "faq_hours", 0.9))
    weekends = _parsed("and weekends?", "out_of_scope", 0.5)  # unsure: read together
    assert answer_key(asyncio.run(with_context(weekends, "what are your hours", hours))) == "faq_hours"


def test_similar_after_a_question_about_ims_asks_about_ims() -> None:
    import asyncio

    from clinic_assistant.clinic.context import with_context

    async def reparse(text: str) -> dict[str, Any]:
        return _parsed(text, "faq_ims", 0.95)

    own = _parsed("is it similar to dry needling then?", "faq_what_is_dry_needling", 0.93)
    assert answer_key(asyncio.run(with_context(own, "my physio mentioned IMS, what is that", reparse))) == "faq_ims"


def test_what_stands_alone_is_not_given_the_previous_answer() -> None:
    """A reviewer's (helper-74): a disease the lexicon does not know, a longer message with
    nothing that points back, and "the same" said of something else than the condition."""
    import asyncio

    from clinic_assistant.clinic.context import with_context

    fibro = _reread(_parsed("", "ask_condition", 1.0, [{"entity": "condition", "value": "fibromyalgia"}]))
    price = _reread(_parsed("", "faq_price", 0.95))
    for text in ("what about Sever's disease, my daughter is 10 and plays soccer",
                 "what about costochondritis?",
                 "my daughter is ten and her feet are flat and she plays soccer every day"):
        own = _parsed(text, "ask_condition", 0.9)
        assert asyncio.run(with_context(own, "is fibro one of them", fibro)) == own, text
        assert asyncio.run(with_context(own, "how much does a session cost", price)) == own, text
    tmj = _reread(_parsed("", "ask_condition", 0.95, [{"entity": "condition", "value": "TMJ dysfunction"}]))
    therapist = _parsed("will I see the same therapist each visit", "faq_availability", 0.45)
    assert asyncio.run(with_context(therapist, "do you treat tmj?", tmj)) == therapist


def test_also_and_too_alone_do_not_make_a_long_message_a_follow_up() -> None:
    import asyncio

    from clinic_assistant.clinic.context import with_context

    sciatica = {"entity": "condition", "value": "sciatica and nerve pain"}
    together = _reread(_parsed("", "ask_condition", 1.0, [sciatica]))
    for text in ("my wife also wants to know if you sell orthotics or braces",
                 "can I bring my dog with me too when I come for the first visit"):
        own = _parsed(text, "out_of_scope", 0.7)
        assert asyncio.run(with_context(own, "does needling help sciatica?", together)) == own
