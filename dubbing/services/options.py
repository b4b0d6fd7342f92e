"""A dub's options from user input, and whether the configured engines can run them.

`dub_options_parse` turns what a form or the API sent into `DubOptions`, or refuses with
InvalidOptions (400) naming the field at fault in the user's language; `engines_check` builds the
engines the job would use and refuses (400 unsupported_pair) when they cannot dub the pair.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext

from dubbing.backgrounds import background_modes
from dubbing.engines.base import EngineError, EngineUnavailable, can_clone
from dubbing.engine_config import build_engines
from dubbing.errors import (
    ConsentRequired,
    InvalidOptions,
    SameLanguage,
    InvalidSubtitles,
    SeparationUnavailable,
    SubtitleCueTooShort,
    SubtitlesOutsideMedia,
    TooManySubtitleCues,
    UnsupportedPair,
    VoiceCloningUnavailable,
)
from dubbing.languages import VIA_SUBTITLES, language_name, language_support
from dubbing.pipeline.errors import ErrorCode, PipelineError
from dubbing.pipeline.options import (
    BACKGROUNDS,
    DEFAULT_MAX_SPEED,
    ENGINE_SETS,
    GLOSSARY_MAX_CHARS,
    GLOSSARY_MAX_TERMS,
    MAX_SPEAKERS,
    MAX_SPEED,
    MIN_SPEED,
    SUBTITLE_MODES,
    DubOptions,
    OptionsError,
)
from dubbing.pipeline.runner import check_engines
from dubbing.pipeline.subtitles import (
    MAX_CUES_PER_MINUTE,
    MEDIA_END_TOLERANCE_SECONDS,
    MIN_CUE_SECONDS,
    SubtitleError,
    max_cues,
    parse_subtitles,
)

MAX_TARGET_LANGUAGES = 5


def target_languages_check(target_languages) -> None:
    """400 invalid_options unless one to MAX_TARGET_LANGUAGES distinct target languages are given."""
    if not isinstance(target_languages, (list, tuple)) or not target_languages:
        raise InvalidOptions(gettext("Give at least one target language."),
                             errors={"target_languages": [gettext("Required.")]})
    if len(target_languages) > MAX_TARGET_LANGUAGES:
        message = gettext("At most %(count)d target languages at once.") % {"count": MAX_TARGET_LANGUAGES}
        raise InvalidOptions(message, errors={"target_languages": [message]})
    if len(set(target_languages)) != len(target_languages):
        message = gettext("A target language is listed twice.")
        raise InvalidOptions(message, errors={"target_languages": [message]})


def _input_errors(fields: dict) -> dict[str, list[str]]:
    """Check and tidy the values DubOptions cannot judge itself (types, blanks); the faults found."""
    errors: dict[str, list[str]] = {}
    glossary = fields.get("glossary")
    if glossary is None:
        fields["glossary"] = {}
    elif not isinstance(glossary, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k.strip() and v.strip() for k, v in glossary.items()
    ):
        errors["glossary"] = [gettext("The glossary maps source terms to target terms (text to text).")]
    elif len(glossary) > GLOSSARY_MAX_TERMS:
        errors["glossary"] = [gettext("At most %(count)d terms.") % {"count": GLOSSARY_MAX_TERMS}]
    elif any(len(k) > GLOSSARY_MAX_CHARS or len(v) > GLOSSARY_MAX_CHARS for k, v in glossary.items()):
        errors["glossary"] = [gettext("Each term must be 1-%(count)d characters.") % {"count": GLOSSARY_MAX_CHARS}]
    for name in ("target_language", "source_language"):
        value = fields.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > 16:
            errors[name] = [gettext("Give a language code such as en, es or ko.")]
        else:
            fields[name] = value.strip()
    try:
        fields["max_speed"] = float(fields.get("max_speed", DEFAULT_MAX_SPEED))
    except (TypeError, ValueError):
        errors["max_speed"] = [gettext("max_speed is a number between %(low)s and %(high)s.") % {
            "low": MIN_SPEED, "high": MAX_SPEED}]
    num_speakers = fields.get("num_speakers", 0)
    if num_speakers is None:
        fields["num_speakers"] = 0
    elif isinstance(num_speakers, bool) or not isinstance(num_speakers, (int, str)) or not _whole(num_speakers):
        errors["num_speakers"] = [_num_speakers_message()]
    else:
        fields["num_speakers"] = int(num_speakers)
    for name in ("voice", "source_subtitles", "target_subtitles"):
        value = fields.get(name)
        if value is not None and not isinstance(value, str):
            errors[name] = [gettext("Must be text.")]
        elif value is not None and not value.strip():
            fields[name] = None
    for name in ("voice_cloning", "voice_cloning_consent"):
        if not isinstance(fields.get(name, False), bool):
            errors[name] = [gettext("Must be true or false.")]
    return errors


def _whole(value: int | str) -> bool:
    return isinstance(value, int) or value.strip().isdigit()


def _num_speakers_message() -> str:
    return gettext("num_speakers is a whole number from 0 (detect them) to %(high)d.") % {"high": MAX_SPEAKERS}


def dub_options_parse(**fields) -> DubOptions:
    """DubOptions from user input; InvalidOptions (400) with the faulty fields named."""
    errors = _input_errors(fields)
    if errors:
        raise InvalidOptions(next(f"{k}: {v[0]}" for k, v in errors.items()), errors=errors)
    try:
        return DubOptions(**fields)
    except OptionsError as exc:
        message = _options_error_message(exc)
        refusal = {"same_language": SameLanguage, "consent_required": ConsentRequired}.get(exc.reason, InvalidOptions)
        raise refusal(message, errors={exc.field: [message]}) from None


def _options_error_message(exc: OptionsError) -> str:
    """DubOptions' refusal (plain English from the pipeline) in the user's language, from the
    field and the reason it names."""
    field = exc.field
    if exc.reason == "same_language":
        return gettext("The source and target languages are the same.")
    if exc.reason == "consent_required":
        return gettext("Cloning the speakers' voices needs your consent (voice_cloning_consent).")
    if field == "target_language":
        return gettext("Choose a target language.")
    choices = {"background": BACKGROUNDS, "subtitles": SUBTITLE_MODES, "engines": ENGINE_SETS}
    if field in choices:
        return gettext("%(field)s must be one of %(choices)s.") % {"field": field, "choices": ", ".join(choices[field])}
    if field == "num_speakers":
        return _num_speakers_message()
    if field == "max_speed":
        return gettext("max_speed is a number between %(low)s and %(high)s.") % {"low": MIN_SPEED, "high": MAX_SPEED}
    return str(exc)


def pair_check(options: DubOptions, *, field: str = "target_language") -> None:
    """400 unsupported_pair, in a plain sentence saying what the pair needs on this server, when
    no translator here makes it and the user gave no target subtitles: asked before the engines
    are built (`engines_check`), whose refusal names engines."""
    support = language_support()
    if support.unavailable or options.target_subtitles:
        return  # engines_check says why nothing runs; with the user's subtitles the engines decide
    source, target = options.source_language, options.target_language
    via = support.via(source, target)
    if via is not None and via != VIA_SUBTITLES:
        return
    heard = source == "auto" or source in support.auto_detect
    if via == VIA_SUBTITLES or (heard and target in support.spoken):
        message = support.pair_sentence(source, target)  # possible with the user's subtitles
    elif heard:
        message = gettext("This server cannot dub into %(target)s.") % {"target": language_name(target)}
    else:
        message = gettext("This server cannot recognise speech in %(source)s.") % {"source": language_name(source)}
        raise UnsupportedPair(message, errors={"source_language": [message]})
    raise UnsupportedPair(message, errors={field: [message]})


def engines_check(options: DubOptions) -> dict[str, str]:
    """The engine names a job with `options` would use; 400 when they cannot do the pair, or
    separation_unavailable when the background `separate` is asked where it is not installed."""
    if options.background == "separate" and "separate" not in background_modes():
        message = gettext("This server cannot separate the voice from the music; choose another background.")
        raise SeparationUnavailable(message, errors={"background": [message]})
    try:
        engines = build_engines(options, settings)
        _cloning_check(engines, options)
        check_engines(engines, options)
    except EngineUnavailable as exc:
        raise UnsupportedPair(gettext("The configured engines cannot run: %(reason)s") % {"reason": exc}) from None
    except PipelineError as exc:
        # The engines' own words (English, from the pipeline) name what is missing; the sentence
        # around them is in the user's language.
        if exc.code == ErrorCode.INVALID_OPTIONS:
            raise InvalidOptions(gettext("These options cannot be used: %(reason)s") % {"reason": exc.message}) from None
        raise UnsupportedPair(_pair_refusal(options, exc.message)) from None
    if options.voice is not None:
        _voice_check(engines.tts, options)
    return engines.names()


def _cloning_check(engines, options: DubOptions) -> None:
    if options.voice_cloning and not can_clone(engines.tts):
        message = gettext("This server's speech engine (%(engine)s) cannot clone voices.") % {
            "engine": engines.names()["tts"]}
        raise VoiceCloningUnavailable(message, errors={"voice_cloning": [message]})


def _voice_check(tts, options: DubOptions) -> None:
    """400 invalid_options naming `voice` unless it is one of the voices the job's speech engine
    lists for the target (what /languages shows): nothing else ever reaches an engine, whose
    back-end may be a subprocess taking it as an argument."""
    lister = getattr(tts, "voices", None)
    try:
        available = list(lister(options.target_language) or []) if callable(lister) else []
    except EngineError:
        available = []
    if options.voice in available:
        return
    if not available:
        message = gettext("This language's speech engine has one voice only.")
        raise InvalidOptions(message, errors={"voice": [message]})
    have = ", ".join(available)
    raise InvalidOptions(
        gettext("The voice '%(voice)s' is not one of this language's voices (%(voices)s).") % {
            "voice": options.voice[:100], "voices": have},
        errors={"voice": [gettext("Choose one of: %(choices)s.") % {"choices": have}]},
    )


def _pair_refusal(options: DubOptions, reason: str) -> str:
    names = {"target": language_name(options.target_language), "reason": reason}
    if options.source_language == "auto":
        return gettext("The configured engines cannot dub into %(target)s here: %(reason)s") % names
    return gettext("The configured engines cannot dub %(source)s into %(target)s here: %(reason)s") % {
        **names, "source": language_name(options.source_language)}


def subtitles_check(*, options: DubOptions, media_seconds: float) -> None:
    """Supplied subtitles read and held to the media before anything is charged: 400
    invalid_subtitles (unreadable: binary, prose, broken, negative or reversed timings),
    too_many_subtitle_cues (over MAX_CUES_PER_MINUTE of media), subtitle_cue_too_short (refused,
    not merged: the user's lines stay theirs) or subtitles_outside_media, naming the field and
    giving the numbers."""
    for field in ("source_subtitles", "target_subtitles"):
        text = getattr(options, field)
        if text:
            _subtitles_check(field, text, media_seconds)


def _subtitles_check(field: str, text: str, media_seconds: float) -> None:
    cap = max_cues(media_seconds)
    numbers = {"field": field, "cap": cap, "rate": MAX_CUES_PER_MINUTE, "media": round(media_seconds, 1)}
    # Counted before parsing: a body of thousands of timings is refused without reading it all.
    timings = text.count("-->")
    if timings > 2 * cap:
        _too_many(field, timings, numbers)
    try:
        cues = parse_subtitles(text)
    except SubtitleError as exc:
        # The parser's reason (English, from the pipeline) names the line; the sentence around it
        # is in the user's language.
        message = gettext("The subtitles cannot be read: %(reason)s") % {"reason": exc}
        raise InvalidSubtitles(f"{field}: {message}", errors={field: [message]}) from None
    if len(cues) > cap:
        _too_many(field, len(cues), numbers)
    for number, cue in enumerate(cues, start=1):
        seconds = cue.end - cue.start
        if seconds < MIN_CUE_SECONDS:
            message = gettext("Cue %(number)d (at %(start).2f s) lasts %(seconds).2f s; each cue must last at "
                              "least %(min).2f s. Join it with its neighbour.") % {
                "number": number, "start": cue.start, "seconds": seconds, "min": MIN_CUE_SECONDS}
            raise SubtitleCueTooShort(f"{field}: {message}", errors={field: [message]})
        if cue.end > media_seconds + MEDIA_END_TOLERANCE_SECONDS:
            message = gettext("Cue %(number)d ends at %(end).2f s, after the end of the video (%(media).2f s).") % {
                "number": number, "end": cue.end, "media": media_seconds}
            raise SubtitlesOutsideMedia(f"{field}: {message}", errors={field: [message]})


def _too_many(field: str, count: int, numbers: dict) -> None:
    message = gettext("%(count)d cues for a video of %(media)s s: at most %(cap)d (%(rate)d a minute).") % {
        **numbers, "count": count}
    raise TooManySubtitleCues(f"{field}: {message}", errors={field: [message]})
