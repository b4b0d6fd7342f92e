"""Korean for the loopback OpenAI server's chat model: no offline translator handles Korean (no
Marian, NLLB, M2M100 or Argos weights can be installed here), so the stand-in model knows the
sentences the Korean tests speak, both ways, and reads each line as the nearest of them, the way
a chat model reads recognised speech with its errors ("오선을 꽉 쾅기 세요" is still "우산을 꼭
챙기세요"). A line is cut into sentences first, so two sentences recognised as one line come back
as two translated sentences. Tests check the pipeline around the model, never the model.
"""

from __future__ import annotations

import difflib
import re

# (English, Korean): the fixtures' sentences (../shared/media/speech_en.txt, speech_ko.txt).
SENTENCES = [
    ("Welcome to our short demonstration.", "짧은 시연에 오신 것을 환영합니다."),
    ("Tomorrow the weather will be sunny and warm in the morning.", "내일 아침에는 날씨가 맑고 따뜻하겠습니다."),
    ("In the afternoon, please bring an umbrella.", "오후에는 우산을 챙겨 오세요."),
    ("Thank you for watching, and see you next time.", "시청해 주셔서 감사합니다. 다음에 또 만나요."),
    ("Hello.", "안녕하세요."),
    ("The weather is nice today.", "오늘은 날씨가 좋습니다."),
    ("It may rain in the afternoon.", "오후에는 비가 올 수도 있습니다."),
    ("Be sure to bring an umbrella.", "우산을 꼭 챙기세요."),
    ("Thank you for watching.", "시청해 주셔서 감사합니다."),
]
LANGUAGES = ("en", "ko")
_SENTENCE = re.compile(r"[^.!?。]+[.!?。]*")


def _key(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def _nearest(sentence: str, known: list[str]) -> int:
    key = _key(sentence)
    return max(range(len(known)), key=lambda i: difflib.SequenceMatcher(None, key, _key(known[i])).ratio())


def translate(texts: list[str], source: str, target: str) -> list[str]:
    """Each text in `target`, sentence by sentence; ValueError for a pair outside en<->ko."""
    if (source, target) not in (("en", "ko"), ("ko", "en")):
        raise ValueError(f"The phrasebook translates en<->ko only, not {source}->{target}.")
    known = [pair[LANGUAGES.index(source)] for pair in SENTENCES]
    said = [pair[LANGUAGES.index(target)] for pair in SENTENCES]
    results = []
    for text in texts:
        sentences = [s.strip() for s in _SENTENCE.findall(text) if _key(s)]
        results.append(" ".join(said[_nearest(s, known)] for s in sentences) or text)
    return results
