"""Translation by an OpenAI chat model, answering JSON keyed by segment id.

Segment ids are the only link between a line and its translation (nothing is matched by text),
so every answer is checked: exactly the ids asked for, each with a non-empty string. Lines are
sent in chunks that run concurrently; a chunk whose answer fails the check is asked again on its
own, never the whole run. Every request carries the transcript around the chunk (all of it when
it fits), the glossary, and the seconds each line has, so the model can keep lines speakable.
"""

from __future__ import annotations

import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor

from dubbing.engines.base import EngineError, Segment, UnsupportedLanguage
from dubbing.engines.openai_client import OpenAIClient, shared_client
from dubbing.engines.openai_languages import WHISPER_LANGUAGES, language_name

logger = logging.getLogger(__name__)

# Characters a voice says per second, to turn a line's seconds into a length the model can aim
# for. Scripts that pack a syllable into one character say fewer characters per second.
_CHARS_PER_SECOND = {"ja": 8.0, "zh": 6.0, "yue": 6.0, "ko": 8.0}
_DEFAULT_CHARS_PER_SECOND = 15.0

SYSTEM_PROMPT = """You translate the subtitle lines of a video for dubbing.
The user message is JSON with: task ("translate" or "shorten"), source_language, target_language,
glossary (source term -> required target term), transcript (the surrounding lines, for context
only), and lines: [{id, text, seconds, max_characters}].
For "translate": translate each line's text into the target language, naturally and faithfully,
using the context; use the glossary's terms; keep each translation short enough to be spoken in
its seconds (about max_characters).
For "shorten": rephrase each line, in the same language, so that it says the same thing in at most
max_characters characters.
When the request has rules ({line id: requirement}), the line with that id must meet its rule.
Answer with one JSON object whose keys are exactly the ids of `lines` and whose values are the
resulting texts. No other keys, no comments."""


class BadAnswer(Exception):
    """The model's answer is not what was asked for; the chunk is asked again."""


class OpenAITranslator:
    name = "openai"
    glossary_strategy = "instruct"  # asked again, the rule stated, when a line misses a term

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        model: str = "gpt-4o-mini",
        concurrency: int = 8,
        *,
        chunk_size: int = 30,
        max_attempts: int = 3,
        context_chars: int = 12_000,
        client: OpenAIClient | None = None,
    ) -> None:
        self.client = client or shared_client(
            base_url=base_url, api_key=api_key, concurrency=concurrency
        )
        self.model = model
        self.concurrency = concurrency
        self.chunk_size = chunk_size
        self.max_attempts = max_attempts
        self.context_chars = context_chars

    def languages(self) -> set[str]:
        return set(WHISPER_LANGUAGES)

    def supported_pairs(self) -> set[tuple[str, str]]:
        codes = self.languages()
        return {(a, b) for a in codes for b in codes if a != b}

    def routes(self) -> dict[tuple[str, str], str]:
        """Every pair is translated directly by the chat model."""
        return dict.fromkeys(self.supported_pairs(), "direct")

    def translate(
        self, segments: list[Segment], source: str, target: str, context: dict
    ) -> dict[str, str]:
        target_code = target.split("-")[0].lower()
        if target_code not in WHISPER_LANGUAGES:
            raise UnsupportedLanguage(f"OpenAI translation does not support {target!r}.")
        if not segments:
            return {}
        ids = [s.id for s in segments]
        if len(set(ids)) != len(ids):
            raise EngineError("Segment ids must be unique to translate them.")
        chunks = [segments[i:i + self.chunk_size] for i in range(0, len(segments), self.chunk_size)]
        # The whole transcript, for context: {"transcript": [{"id", "text"}]} from the pipeline
        # (or {"segments": [Segment]}); else just the lines being translated.
        all_lines = [
            {"id": line["id"], "text": line["text"]} if isinstance(line, dict)
            else {"id": line.id, "text": line.text}
            for line in (context.get("transcript") or context.get("segments") or segments)
        ]
        glossary = dict(context.get("glossary") or {})
        durations = dict(context.get("durations") or {})

        def run(chunk: list[Segment]) -> dict[str, str]:
            request = {
                "task": "translate",
                "source_language": source,
                "source_language_name": language_name(source) if source != "auto" else "detect it",
                "target_language": target,
                "target_language_name": language_name(target),
                "glossary": _relevant_glossary(glossary, chunk),
                "transcript": self._context_window(all_lines, chunk),
                "lines": [_line(s, s.text, durations.get(s.id), target) for s in chunk],
            }
            rules = {s.id: context["rules"][s.id] for s in chunk if s.id in (context.get("rules") or {})}
            if rules:  # a line asked again because its answer missed a glossary term
                request["rules"] = rules
            return self._ask(request, [s.id for s in chunk],
                             what=f"OpenAI translation of lines {chunk[0].id}-{chunk[-1].id}")

        workers = max(1, min(self.concurrency, len(chunks)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openai-translate") as pool:
            results = list(pool.map(run, chunks))
        merged: dict[str, str] = {}
        for result in results:
            merged.update(result)
        return merged

    def shorten(self, segment: Segment, text: str, max_seconds: float, language: str) -> str:
        request = {
            "task": "shorten",
            "source_language": language,
            "target_language": language,
            "target_language_name": language_name(language),
            "glossary": {},
            "transcript": [{"id": segment.id, "text": segment.text}],
            "lines": [_line(segment, text, max_seconds, language)],
        }
        answer = self._ask(request, [segment.id], what=f"OpenAI shortening of line {segment.id}")
        shorter = answer[segment.id]
        # A "shorter" line that is not shorter is no help; the fit stage then lets it run over.
        return shorter if len(shorter) < len(text) else text

    def _ask(self, request: dict, ids: list[str], *, what: str) -> dict[str, str]:
        payload = {
            "model": self.model,
            "temperature": 0.2,
            "response_format": {"type": "json_object"},
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": json.dumps(request, ensure_ascii=False)},
            ],
        }
        problem = ""
        for attempt in range(1, self.max_attempts + 1):
            answer = self.client.post_json("/chat/completions", payload, what=what)
            try:
                return validate_answer(answer, ids)
            except BadAnswer as exc:
                problem = str(exc)
                logger.warning("%s: attempt %d/%d: %s", what, attempt, self.max_attempts, problem)
        raise EngineError(f"{what}: the model's answer was unusable {self.max_attempts} times "
                          f"({problem}).")

    def _context_window(self, all_lines: list[dict], chunk: list[Segment]) -> list[dict]:
        """The whole transcript when it fits the budget, else the lines around the chunk,
        growing outwards evenly until the budget is spent."""
        cost = [len(line["text"]) + 12 for line in all_lines]
        if sum(cost) <= self.context_chars:
            return all_lines
        index = {line["id"]: i for i, line in enumerate(all_lines)}
        low = index.get(chunk[0].id, 0)
        high = index.get(chunk[-1].id, low)
        budget = self.context_chars - sum(cost[low:high + 1])
        while budget > 0 and (low > 0 or high < len(all_lines) - 1):
            if low > 0:
                low -= 1
                budget -= cost[low]
            if high < len(all_lines) - 1 and budget > 0:
                high += 1
                budget -= cost[high]
        return all_lines[low:high + 1]


def _line(segment: Segment, text: str, seconds: float | None, language: str) -> dict:
    seconds = seconds if seconds is not None else max(segment.end - segment.start, 0.0)
    rate = _CHARS_PER_SECOND.get(language.split("-")[0].lower(), _DEFAULT_CHARS_PER_SECOND)
    return {
        "id": segment.id,
        "text": text,
        "seconds": round(seconds, 2),
        "max_characters": max(1, int(seconds * rate)),
    }


def _relevant_glossary(glossary: dict[str, str], chunk: list[Segment]) -> dict[str, str]:
    if len(glossary) <= 50:
        return glossary
    text = " ".join(s.text for s in chunk).lower()
    return {term: wanted for term, wanted in glossary.items() if term.lower() in text}


_THINKING = re.compile(r"<think>.*?</think>", re.DOTALL)
_FENCE = re.compile(r"```(?:json)?\s*(\{.*\})\s*```", re.DOTALL)


def _json_text(content: str) -> str:
    """The JSON object of an answer, as local models served through OpenAI-compatible servers
    often wrap it: after a reasoning block (<think>...</think>), inside a Markdown fence, or
    between a sentence before and after. An answer that is plain JSON is returned as it is."""
    text = _THINKING.sub("", content).strip()
    if text.startswith("{"):
        return text
    fenced = _FENCE.search(text)
    if fenced:
        return fenced.group(1)
    start, end = text.find("{"), text.rfind("}")
    return text[start:end + 1] if 0 <= start < end else text


def validate_answer(answer: dict, ids: list[str]) -> dict[str, str]:
    """The chat completion's JSON content, keyed by exactly `ids`, every value a non-empty
    string. Raises BadAnswer saying what is wrong."""
    try:
        choice = answer["choices"][0]
        content = choice["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise BadAnswer("the answer has no message") from exc
    if choice.get("finish_reason") == "length":
        raise BadAnswer("the answer was cut off (too long)")
    try:
        data = json.loads(_json_text(content or ""))
    except (TypeError, ValueError) as exc:
        raise BadAnswer(f"the answer is not JSON: {str(content)[:80]!r}") from exc
    if not isinstance(data, dict):
        raise BadAnswer("the answer is not a JSON object")
    # Some models wrap the object once ({"translations": {...}}): unwrap that single level.
    if len(data) == 1 and set(data) - set(ids):
        (inner,) = data.values()
        if isinstance(inner, dict):
            data = inner
    missing = [i for i in ids if i not in data]
    extra = [k for k in data if k not in set(ids)]
    if missing or extra:
        raise BadAnswer(f"ids missing: {missing[:5]}, ids not asked for: {extra[:5]}")
    empty = [i for i in ids if not isinstance(data[i], str) or not data[i].strip()]
    if empty:
        raise BadAnswer(f"no text for ids {empty[:5]}")
    return {i: " ".join(data[i].split()) for i in ids}
