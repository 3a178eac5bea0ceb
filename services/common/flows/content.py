"""Does this URL, page title or search term reveal sensitive personal information? (Healthline 2025: article titles
implying a diagnosis went to advertisers.) A vocabulary classifier over the words of the text, percent-decoding
URLs first; it returns categories (§1798.140(ae) names), never the words it matched."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote_plus

# Conditions, treatments and tests whose mention in what a person reads or searches implies their health
# (§1798.140(ae)(2)(B)).
HEALTH_TERMS = frozenset({
    "diabetes", "diabetic", "cancer", "tumor", "tumour", "chemotherapy", "oncology", "hiv", "aids", "depression",
    "anxiety", "bipolar", "schizophrenia", "adhd", "autism", "alzheimer", "alzheimers", "dementia", "arthritis",
    "asthma", "migraine", "migraines", "epilepsy", "seizures", "hepatitis", "std", "stds", "sti", "herpes",
    "chlamydia", "gonorrhea", "syphilis", "pregnant", "pregnancy", "fertility", "infertility", "ivf", "miscarriage",
    "abortion", "menopause", "endometriosis", "pcos", "psoriasis", "eczema", "obesity", "ozempic", "wegovy",
    "insulin", "crohns", "celiac", "parkinson", "parkinsons", "hypertension", "ptsd", "ocd", "anorexia", "bulimia",
    "suicide", "suicidal", "opioid", "opioids", "rehab", "overdose", "lupus", "copd", "thyroid", "dialysis",
    "antidepressant", "antidepressants", "ssri", "prozac", "xanax", "adderall", "viagra", "incontinence",
    "diagnosis", "diagnosed", "symptoms", "prostate", "mastectomy", "leukemia", "lymphoma", "melanoma",
    "cholesterol", "osteoporosis", "fibromyalgia", "ibs", "gerd", "menstrual", "alopecia", "testosterone",
    "chemo", "psychiatrist", "psychiatric", "concussion", "glaucoma", "cataracts", "acne",
})  # fmt: skip
HEALTH_PHRASES = frozenset({
    "multiple sclerosis", "heart disease", "eating disorder", "erectile dysfunction", "breast cancer",
    "weight loss medication", "mental health", "long covid", "kidney disease", "substance use", "birth control",
    "morning after pill", "blood sugar", "sleep apnea", "heart attack", "heart attacks", "high blood pressure",
    "panic attack", "panic attacks", "chronic pain", "hair loss", "pregnancy test", "hormone therapy",
    "hormone replacement", "sexual health", "gender affirming", "yeast infection", "urinary tract infection",
})  # fmt: skip
ORIENTATION_TERMS = frozenset({
    "gay", "lesbian", "bisexual", "transgender", "queer", "lgbt", "lgbtq", "lgbtqia", "asexual", "pansexual",
    "nonbinary", "intersex",
})  # fmt: skip
ORIENTATION_PHRASES = frozenset({"coming out", "same sex", "non binary", "gender transition", "sexual orientation",
                                 "two spirit", "gender identity"})  # fmt: skip
# A latitude,longitude pair with four or more decimals (about 11 m): precise geolocation (§1798.140(w), 1,850 ft).
LAT_LON = re.compile(r"(?<![\d.])(-?\d{1,2}\.\d{4,}),\s*(-?\d{1,3}\.\d{4,})(?![\d.])")
LAT_OR_LON_PARAM = re.compile(r"(?:^|[?&;])(?:lat|latitude|lng|lon|long|longitude)=(-?\d{1,3}\.\d{4,})(?:$|[&;#])")
WORD = re.compile(r"[a-z0-9]+")
APOSTROPHES = re.compile("['\u2019\u02bc]")


def revealed_sensitive(text: str) -> frozenset[str]:
    """The sensitive sub-categories (services/common/sensitive.py names) the text reveals; empty when none."""
    if not text:
        return frozenset()
    return _classify(text[:4096])


@lru_cache(maxsize=65_536)
def _classify(text: str) -> frozenset[str]:
    decoded = unquote_plus(text)
    found: set[str] = set()
    if _precise_location(decoded):
        found.add("precise_geolocation")
    lowered = APOSTROPHES.sub("", decoded.lower())  # Crohn's, also with a title's typographic apostrophe
    words = WORD.findall(lowered)
    tokens = set(words) | {word[:-1] for word in words if len(word) > 4 and word.endswith("s")}
    joined = f" {' '.join(words)} "
    if tokens & HEALTH_TERMS or any(f" {phrase} " in joined for phrase in HEALTH_PHRASES):
        found.add("health")
    if tokens & ORIENTATION_TERMS or any(f" {phrase} " in joined for phrase in ORIENTATION_PHRASES):
        found.add("sex_life_orientation")
    return frozenset(found)


def _precise_location(text: str) -> bool:
    for match in LAT_LON.finditer(text):
        if abs(float(match.group(1))) <= 90 and abs(float(match.group(2))) <= 180:
            return True
    return bool(LAT_OR_LON_PARAM.search(text))
