"""Korean particles that agree with the word before them (base layer, plain Python).

A Korean sentence with a name in it needs the particle that fits the name's last sound: 을/를,
이/가, 은/는, 와/과, 으로/로. Translators write the pair as a marker after the placeholder
("%(title)s을(를)", "%(language)s(으)로"), and `particles()` picks one once the name is in:
“영상”을, 스페인어로, 서울로 (ㄹ takes 로), hd_ko를 (read "에이치디 케이오"), 10을 (십).
Text without a marker, including every English sentence, comes back unchanged.
"""

from __future__ import annotations

import html
import re

# Marker -> (after a final consonant, after a vowel).
_PAIRS = {
    "을(를)": ("을", "를"), "를(을)": ("을", "를"),
    "이(가)": ("이", "가"), "가(이)": ("이", "가"),
    "은(는)": ("은", "는"), "는(은)": ("은", "는"),
    "과(와)": ("과", "와"), "와(과)": ("과", "와"),
    "(으)로": ("으로", "로"),
    "(이)라": ("이라", "라"),
}
_MARKER = re.compile("|".join(re.escape(marker) for marker in _PAIRS))
# Closing quotes and brackets are not read aloud: the particle agrees with the word inside.
_TAG = re.compile(r"<[^<>]*>")
_SILENT = set("”’\"')]}」』>》〉.,!?…*_~` \u00a0")

# Final consonant as the syllable is read: None (open), "ㄹ", or "other".
_OPEN, _RIEUL, _CLOSED = None, "ㄹ", "other"
# How each digit is read (영 일 이 삼 사 오 육 칠 팔 구).
_DIGITS = {"0": _CLOSED, "1": _RIEUL, "2": _OPEN, "3": _CLOSED, "4": _OPEN, "5": _OPEN,
           "6": _CLOSED, "7": _RIEUL, "8": _RIEUL, "9": _OPEN}
# How a single Latin letter is read in Korean (에이, 비, 씨, ..., 엘, 엠, 엔, 알, 제트).
_LETTERS = {letter: _OPEN for letter in "abcdefghijkopqstuvwxy"}
_LETTERS.update({"l": _RIEUL, "r": _RIEUL, "m": _CLOSED, "n": _CLOSED, "z": _OPEN})


def _final_sound(word: str) -> str | None:
    """The last syllable's final consonant as read aloud, for the text before a marker."""
    # In HTML the name may sit inside a tag or be escaped: what is read is the text.
    text = _TAG.sub("", html.unescape(word)).rstrip("".join(_SILENT))
    if not text:
        return _OPEN
    last = text[-1]
    code = ord(last)
    if 0xAC00 <= code <= 0xD7A3:
        final = (code - 0xAC00) % 28
        return _OPEN if final == 0 else _RIEUL if final == 8 else _CLOSED
    if last.isdigit():
        digits = re.search(r"\d+$", text).group()
        if digits.endswith("0") and digits.strip("0"):
            return _CLOSED  # a round number is read by its unit: 십, 백, 천, 만 all close
        return _DIGITS.get(last, _OPEN)
    if last.isascii() and last.isalpha():
        return _latin_final(re.search(r"[A-Za-z]+$", text).group())
    return _OPEN


def _latin_final(word: str) -> str | None:
    """Names and codes in Latin letters, as Korean reads them: a lone letter or an acronym by
    its letter name (hd -> 에이치디), a word by its sound (Tom -> 톰, Paul -> 폴, Bob -> 밥)."""
    if len(word) == 1 or word.isupper() or not re.search(r"[aeiouy]", word.lower()):
        return _LETTERS.get(word[-1].lower(), _OPEN)
    word = word.lower()
    if word.endswith(("ng", "m", "n")):
        return _CLOSED
    if word.endswith("l") or word.endswith("le"):
        return _RIEUL
    if word[-1] in "bkpt" and len(word) > 1 and word[-2] in "aeiou":
        return _CLOSED
    return _OPEN


def particles(text: str) -> str:
    """`text` with every particle marker replaced by the particle that agrees with the word
    before it."""
    if "(" not in text:
        return text

    def choose(match: re.Match) -> str:
        closed, open_ = _PAIRS[match.group()]
        sound = _final_sound(text[:match.start()])
        if match.group() == "(으)로":
            return open_ if sound in (_OPEN, _RIEUL) else closed
        return open_ if sound is _OPEN else closed

    return _MARKER.sub(choose, text)
