"""Glossaries that hold (issue "enforced glossaries"): every line whose source contains a
glossary term must contain the term's translation.

How a translator is held to it depends on what it is (its `glossary_strategy`):

- "instruct" (a chat model, the default): the glossary goes with the request; a line whose
  answer misses a term is asked again once, with the rule stated for that line;
- "protect" (rule-based MT, apertium): each term is replaced by a placeholder the engine passes
  through untouched (an unknown word), and the placeholder by the term's translation afterwards.

What still misses a term after that is listed per line (`misses`): on the Segment rows
(glossary_misses, shown by the line editor) and in the job's report.
"""

from __future__ import annotations

import re
from dataclasses import replace

PLACEHOLDER = "Zgl{}z"
_PLACEHOLDER_RE = re.compile(r"Zgl(\d+)z", re.IGNORECASE)


def _term_re(term: str) -> re.Pattern:
    # Word edges where the term has them (not inside another word); Unicode-aware.
    return re.compile(rf"(?<!\w){re.escape(term.strip())}(?!\w)", re.IGNORECASE)


def terms_in(text: str, glossary: dict[str, str]) -> list[tuple[str, str]]:
    """The (term, translation) pairs of `glossary` whose term occurs in `text`, longest first."""
    found = [(t, w) for t, w in glossary.items() if t.strip() and _term_re(t).search(text or "")]
    return sorted(found, key=lambda pair: -len(pair[0]))


def has_translation(target_text: str, translation: str) -> bool:
    # A plain casefolded search: word edges mean nothing in scripts without spaces.
    return " ".join(translation.split()).casefold() in " ".join((target_text or "").split()).casefold()


def misses(source_text: str, target_text: str, glossary: dict[str, str] | None) -> list[dict[str, str]]:
    """[{term, translation}] of the terms in the source whose translation the target lacks."""
    if not glossary:
        return []
    return [{"term": term, "translation": wanted} for term, wanted in terms_in(source_text, glossary)
            if not has_translation(target_text, wanted)]


def rule_for(missed: list[dict[str, str]]) -> str:
    wanted = "; ".join(f"'{m['term']}' must be translated as '{m['translation']}'" for m in missed)
    return f"This line must use the glossary: {wanted}. Keep those words exactly as given."


def protect(text: str, glossary: dict[str, str]) -> tuple[str, dict[str, str]]:
    """`text` with each glossary term replaced by a placeholder, and placeholder -> translation."""
    placeholders: dict[str, str] = {}
    for term, wanted in terms_in(text, glossary):
        def swap(match, wanted=wanted):
            token = PLACEHOLDER.format(len(placeholders))
            placeholders[token.casefold()] = wanted
            return token
        text = _term_re(term).sub(swap, text)
    return text, placeholders


def restore(text: str, placeholders: dict[str, str]) -> str:
    if not placeholders:
        return text
    return _PLACEHOLDER_RE.sub(lambda m: placeholders.get(m.group(0).casefold(), m.group(0)), text)


def translate_holding_glossary(translator, batch, source: str, target: str, context: dict) -> dict[str, str]:
    """`translator.translate(batch, ...)` with the glossary enforced as the translator's strategy says."""
    glossary = dict(context.get("glossary") or {})
    strategy = getattr(translator, "glossary_strategy", "instruct")
    if not glossary:
        return translator.translate(batch, source, target, context)
    if strategy == "protect":
        protected = {seg.id: protect(seg.text, glossary) for seg in batch}
        masked = [replace(seg, text=protected[seg.id][0]) for seg in batch]
        result = translator.translate(masked, source, target, {**context, "glossary": {}})
        return {sid: restore(text, protected[sid][1]) if sid in protected else text for sid, text in result.items()}
    result = translator.translate(batch, source, target, context)
    missed = {seg.id: misses(seg.text, result.get(seg.id, ""), glossary) for seg in batch}
    again = [seg for seg in batch if missed[seg.id] and seg.id in result]
    if not again:
        return result
    rules = {seg.id: rule_for(missed[seg.id]) for seg in again}
    retried = translator.translate(again, source, target, {**context, "rules": rules})
    for seg in again:
        text = retried.get(seg.id)
        if text and len(misses(seg.text, text, glossary)) < len(missed[seg.id]):
            result[seg.id] = text
    return result
