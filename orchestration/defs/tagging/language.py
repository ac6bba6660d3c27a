"""Language of a conversation, detected from the user's own words with py3langid.

py3langid ships its naive Bayes model inside the package (no download). It classifies about
2,000 short texts per second on one core, so it adds little to tagging.
"""

from __future__ import annotations

import functools
import re

# Characters of user text read, from the first user turns.
MAX_CHARS = 500
# Below this many letters a guess is noise ("ok", "hi" come out as Serbian), so the
# language is left unknown.
MIN_LETTERS = 12
# Normalised probability under which the language is left unknown.
MIN_PROBABILITY = 0.5

# Languages the detector chooses among. With all of py3langid's languages, short English or
# Spanish requests spread their probability over rare neighbours (Aragonese, Galician) and
# fall under MIN_PROBABILITY.
LANGUAGES = (
    "ar",
    "bg",
    "bn",
    "ca",
    "cs",
    "da",
    "de",
    "el",
    "en",
    "es",
    "et",
    "fa",
    "fi",
    "fr",
    "he",
    "hi",
    "hr",
    "hu",
    "id",
    "it",
    "ja",
    "ko",
    "lt",
    "lv",
    "ms",
    "nl",
    "no",
    "pl",
    "pt",
    "ro",
    "ru",
    "sk",
    "sl",
    "sr",
    "sv",
    "sw",
    "ta",
    "th",
    "tl",
    "tr",
    "uk",
    "ur",
    "vi",
    "zh",
)

_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
# Code blocks, URLs and placeholders such as [NAME] carry no sign of the human language.
_NOISE = re.compile(r"```.*?```|https?://\S+|\[[A-Z_]+\]", re.DOTALL)


@functools.cache
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(LANGUAGES)
    return identifier


def detect_language(user_turns: tuple[str, ...]) -> str | None:
    """Return the ISO 639-1 code of the user's language, or None when it is unclear."""
    text = _NOISE.sub(" ", " ".join(user_turns)[: MAX_CHARS * 2])[:MAX_CHARS]
    if len(_LETTER.findall(text)) < MIN_LETTERS:
        return None
    code, probability = _identifier().classify(text)
    return str(code) if probability >= MIN_PROBABILITY else None
