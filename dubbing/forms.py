"""The "Dub this video" form: its fields, its glossary parsing, and what it shows around it
(the choices the engines offer, the cost per language, the balance before confirming). The dub
page (dubbing.views) and the video page's dubbing panel (dubbing_tags) both build it here."""

from __future__ import annotations

import math

from django import forms
from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.selectors import user_must_verify_email
from billing.selectors import credits_balance
from dubbing import selectors
from dubbing.backgrounds import background_modes
from dubbing.cloning import CONSENT_TEXT
from dubbing.languages import language_name, language_support
from dubbing.pipeline.options import DEFAULT_MAX_SPEED, MAX_SPEAKERS, MAX_SPEED, MIN_SPEED
from dubbing.pipeline.subtitles import SubtitleError, decode_subtitle_bytes
from dubbing.pricing import dubbing_job_cost
from dubbing.services import MAX_TARGET_LANGUAGES
from onevoice.errors import ServiceError
from videos.models import SpokenLanguageStatus, Video, VideoStatus


# What each background puts under the dub, said in full under the dropdown's short labels.
BACKGROUND_HELP = {
    "separate": _("the original voice is removed; its music and effects stay under the dub."),
    "duck": _("the original sound, its voice included, plays quieter under the dub."),
    "keep": _("the original sound plays at its own level under the dub."),
    "drop": _("only the dubbed voice is heard."),
}
MAX_SUBTITLE_BYTES = 2 * 1024 * 1024  # a few thousand cues; the API's body limit is the same order


def parse_glossary(text: str) -> dict[str, str]:
    """ "term = translation" lines -> {term: translation}; blank lines are ignored."""
    glossary: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        term, sep, translation = line.partition("=")
        if not sep or not term.strip() or not translation.strip():
            raise forms.ValidationError(gettext('Line %(number)d is not "term = translation".') % {"number": number})
        glossary[term.strip()] = translation.strip()
    return glossary


class DubForm(forms.Form):
    target_language = forms.ChoiceField(label=_("Dub into"))
    source_language = forms.ChoiceField(label=_("Spoken language"), initial="auto")
    background = forms.ChoiceField(
        label=_("Original sound"),
        # Short enough to read whole inside a phone's dropdown (390 px); the help below says each in full.
        choices=[("separate", _("Music and effects, no voice")), ("duck", _("Keep it all, quieter")),
                 ("keep", _("Keep it as it is")), ("drop", _("Silence under the dub"))],
    )
    subtitles = forms.ChoiceField(
        label=_("Subtitles in the video"),
        choices=[("soft", _("A track viewers can turn on")), ("burned", _("Burned into the picture")),
                 ("none", _("None"))],
        initial="soft",
    )
    max_speed = forms.DecimalField(
        label=_("Fastest speech"),
        min_value=MIN_SPEED, max_value=MAX_SPEED, decimal_places=2, initial=f"{DEFAULT_MAX_SPEED:.2f}",
        help_text=format_lazy(_("How much a line may be sped up to fit its time ({low:.1f}-{high:.1f}×)."),
                              low=MIN_SPEED, high=MAX_SPEED),
        widget=forms.NumberInput(attrs={"step": "0.05"}),
    )
    num_speakers = forms.TypedChoiceField(
        label=_("Number of speakers"), coerce=int, initial=0, required=False, empty_value=0,
        choices=[(0, _("Detect them")), *((n, str(n)) for n in range(1, MAX_SPEAKERS + 1))],
        help_text=_("How many people speak in the video. Each keeps a voice of their own."),
    )
    more_languages = forms.MultipleChoiceField(
        label=_("Also dub into"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("Optional. One dub per language, the video is transcribed once for all of them; "
                    "each language costs the same as the first."),
    )
    target_subtitles = forms.FileField(
        label=_("Your subtitles in the language to dub into"), required=False,
        help_text=_("Optional. An SRT or VTT file: its lines are spoken as they are, at their times, "
                    "instead of a translation."),
        widget=forms.ClearableFileInput(attrs={"accept": ".srt,.vtt,text/vtt,application/x-subrip"}),
    )
    source_subtitles = forms.FileField(
        label=_("Your subtitles of what is said"), required=False,
        help_text=_("Optional. An SRT or VTT file of the spoken words, used instead of recognising them."),
        widget=forms.ClearableFileInput(attrs={"accept": ".srt,.vtt,text/vtt,application/x-subrip"}),
    )
    glossary = forms.CharField(
        label=_("Glossary"), required=False, max_length=20000,
        help_text=_('Optional. One "term = translation" per line, e.g. "OneVoice = OneVoice".'),
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )
    # Offered only where the speech engine can clone (removed in __init__ otherwise).
    voice_cloning = forms.BooleanField(
        label=_("Clone each speaker's voice"), required=False,
        help_text=_("Each speaker speaks the new language in a copy of their own voice, made from their "
                    "clearest 10-30 seconds. A speaker with too little speech keeps a chosen voice."),
    )
    voice_cloning_consent = forms.BooleanField(label=CONSENT_TEXT, required=False)

    def __init__(self, *args, support=None, **kwargs):
        super().__init__(*args, **kwargs)
        support = support or language_support()
        self.fields["target_language"].choices = [(code, language_name(code)) for code in support.targets]
        self.fields["more_languages"].choices = self.fields["target_language"].choices
        detectable = sorted(support.auto_detect, key=language_name)
        heard = (
            ", ".join(language_name(code) for code in detectable)
            if len(detectable) <= 4
            else _("%(count)d languages") % {"count": len(detectable)}
        )
        self.fields["source_language"].choices = [
            ("auto", _("Detect it (%(heard)s)") % {"heard": heard} if heard else _("Detect it")),
            *((code, language_name(code)) for code in support.sources),
        ]
        offered = background_modes()
        self.fields["background"].choices = [c for c in self.fields["background"].choices if c[0] in offered]
        self.fields["background"].initial = offered[0]
        # Listed under the dropdown (one line per background offered); the text is what it describes it by.
        self.background_help = [(label, BACKGROUND_HELP[mode]) for mode, label in self.fields["background"].choices]
        self.fields["background"].help_text = " ".join(
            gettext("%(mode)s: %(what)s") % {"mode": label, "what": what} for label, what in self.background_help
        )
        if "es" in dict(self.fields["target_language"].choices):
            self.fields["target_language"].initial = "es"
        if not support.voice_cloning:
            del self.fields["voice_cloning"], self.fields["voice_cloning_consent"]

    def clean_glossary(self) -> dict[str, str]:
        return parse_glossary(self.cleaned_data.get("glossary") or "")

    def _subtitle_text(self, name: str) -> str | None:
        upload = self.cleaned_data.get(name)
        if not upload:
            return None
        if upload.size > MAX_SUBTITLE_BYTES:
            raise forms.ValidationError(gettext("A subtitle file can be at most %(size)d KB.") % {
                "size": MAX_SUBTITLE_BYTES // 1024})
        try:
            # UTF-8 with or without a BOM, UTF-16, CP949 or EUC-KR, as users' editors save them.
            return decode_subtitle_bytes(upload.read())
        except SubtitleError:
            raise forms.ValidationError(gettext("This is not a subtitle file we can read; save it as SRT or VTT "
                                                "in UTF-8.")) from None

    def clean_target_subtitles(self) -> str | None:
        return self._subtitle_text("target_subtitles")

    def clean_source_subtitles(self) -> str | None:
        return self._subtitle_text("source_subtitles")

    def chosen_languages(self) -> list[str]:
        """What the cost line counts: the languages asked for so far, valid or not yet checked
        (a bound form shows what was sent; an unbound one its initial language)."""
        offered = dict(self.fields["target_language"].choices)
        if self.is_bound:
            data = self.data
            extras = data.getlist("more_languages") if hasattr(data, "getlist") else data.get("more_languages") or []
            asked = [data.get("target_language", ""), *extras]
        else:
            asked = [self.fields["target_language"].initial or ""]
        return [code for code in dict.fromkeys(asked) if code in offered] or list(offered)[:1]

    def target_languages(self) -> list[str]:
        """The first language, then the extra ones (duplicates dropped)."""
        data = self.cleaned_data
        return list(dict.fromkeys([data["target_language"], *data.get("more_languages", [])]))

    def clean(self):
        data = super().clean()
        if data.get("target_language") and len(self.target_languages()) > MAX_TARGET_LANGUAGES:
            self.add_error("more_languages", gettext("At most %(count)d languages at once.") % {"count": MAX_TARGET_LANGUAGES})
        if data.get("target_subtitles") and len(self.target_languages()) > 1:
            # One file of subtitles is in one language.
            self.add_error("more_languages", gettext("Your subtitles are in one language: dub into that one only."))
        return data


def _spoken_language(video: Video) -> dict:
    """What the form says of the video's spoken language: detected (preselected, changeable),
    chosen by the owner, still being detected, or unsure (the user is asked to choose)."""
    status = video.spoken_language_status
    known = status in (SpokenLanguageStatus.DETECTED, SpokenLanguageStatus.USER) and video.spoken_language
    return {
        "status": status,
        "code": video.spoken_language if known else "",
        "name": language_name(video.spoken_language) if known else "",
        "confidence": round((video.spoken_language_confidence or 0) * 100),
    }


def dub_form_context(*, user, video: Video, form: DubForm | None = None, error: ServiceError | None = None) -> dict:
    """What the "Dub this video" form shows: the choices, the cost and the balance before confirming."""
    support = language_support()
    ready = video.status == VideoStatus.READY
    cost = dubbing_job_cost(duration_seconds=video.duration or 0.0) if ready else 0
    balance = credits_balance(user=user)
    spoken = _spoken_language(video)
    initial = {"source_language": spoken["code"]} if spoken["code"] in support.auto_detect else {}
    form = form or DubForm(support=support, initial=initial)
    chosen = form.chosen_languages()
    total = cost * len(chosen)
    return {
        "video": video,
        "ready": ready,
        "minutes": math.ceil((video.duration or 0.0) / 60) if ready else 0,
        "credits_per_minute": settings.CREDITS_PER_MINUTE,
        "form": form,
        "cost": cost,  # per language
        "chosen_names": ", ".join(language_name(code) for code in chosen),
        "total": total,
        "balance": balance,
        "balance_after": balance - total,
        "short_by": max(0, total - balance),
        "can_dub": ready and bool(support.targets),
        # What each language needs here when a video alone is not enough, in plain sentences.
        "spoken": spoken,
        "language_needs": [sentence for code in dict.fromkeys(support.targets + support.sources)
                           if (sentence := support.needs_sentence(code))],
        "unavailable": support.unavailable,
        "error": error,
        # The choices and the cost stay in view; the form waits for the confirmed address.
        "verify_first": user_must_verify_email(user=user),
        "recent_jobs": selectors.video_job_list(owner_id=user.pk, video_id=video.id, limit=5),
    }
