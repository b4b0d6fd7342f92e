"""JSON API for dubbing jobs (API.md "Dubbing jobs").

Views parse input, call a selector or a service, and shape the answer; the rules live in
dubbing.services. Another user's job is "not found" everywhere (selectors filter by owner).
"""

from __future__ import annotations

import json
import uuid
from typing import ClassVar

from django.core.serializers.json import DjangoJSONEncoder
from django.http import FileResponse, HttpResponse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.permissions import EmailVerifiedForPaidWork
from billing.errors import InsufficientCredits
from dubbing import selectors, services
from dubbing.cloning import consent_address, consent_text
from dubbing.errors import (
    ConsentRequired,
    InvalidOptions,
    InvalidSubtitles,
    JobNotCancellable,
    JobNotFound,
    JobNotRetryable,
    JobRunning,
    LineAudioNotFound,
    NothingToRender,
    PreviewUnavailable,
    SameLanguage,
    SegmentNotFound,
    SourceLanguageUnsure,
    SpeakerNotFound,
    SubtitleCueTooShort,
    SubtitlesOutsideMedia,
    TooManySubtitleCues,
    UnsupportedPair,
    VideoNotFound,
    VideoNotReady,
    VoiceCloningUnavailable,
    VoiceNotFound,
)
from dubbing.languages import language_support
from dubbing.models import DubbingJob, JobStatus, Segment
from dubbing.voices import line_audio, voice_preview
from dubbing.serializers import (
    JobCreateInputSerializer,
    JobOutputSerializer,
    LanguagesOutputSerializer,
    RenderQuoteOutputSerializer,
    SegmentOutputSerializer,
    SegmentUpdateInputSerializer,
    SpeakerOutputSerializer,
    SpeakerUpdateInputSerializer,
    job_representation,
)
from onevoice.auth import POLLING_AUTHENTICATION, bearer_token_user
from onevoice.errors import error_body
from onevoice.filters import query_language, query_uuid
from onevoice.idempotency import IDEMPOTENCY_KEY, idempotent
from onevoice.locale import token_user_locale_activate
from onevoice.pagination import PageNumberPagination
from onevoice.schema import raises
from onevoice.throttling import UserRateThrottle

JOB_ID = OpenApiParameter("job_id", OpenApiTypes.UUID, OpenApiParameter.PATH)


def _snapshot_of(job) -> dict:
    return job.snapshot or selectors.job_snapshot_build(job)


class LanguagesApi(APIView):
    """What the configured engines can dub. Public: a visitor may ask before signing up."""

    authentication_classes: ClassVar[list] = []
    permission_classes: ClassVar[list] = [AllowAny]

    @extend_schema(responses=LanguagesOutputSerializer, auth=[])
    def get(self, request):
        return Response({**language_support().as_dict(), "voice_cloning_consent_text": consent_text()})


# Starting paid work (a job, its retry, a re-render) waits for a confirmed email address when
# REQUIRE_EMAIL_VERIFICATION is on (403 email_unverified); reads stay open.
PAID_WORK = [IsAuthenticated, EmailVerifiedForPaidWork]


class JobListCreateApi(APIView):
    pagination_class = PageNumberPagination
    permission_classes: ClassVar[list] = PAID_WORK

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status", str, enum=[*JobStatus.values, "active"],
                description='One status, or "active" for queued and running.',
            ),
            OpenApiParameter("video", OpenApiTypes.UUID, description="Only the jobs of this video."),
            OpenApiParameter("target_language", str),
        ],
        responses=JobOutputSerializer(many=True),
    )
    def get(self, request):
        jobs = selectors.job_list(
            owner_id=request.user.pk,
            status=request.query_params.get("status") or None,
            video_id=query_uuid(request, "video"),
            target_language=query_language(request, "target_language"),
        ).values_list("id", "snapshot")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(jobs, request, view=self)
        return paginator.get_paginated_response(
            [job_representation(snapshot or _snapshot_of(DubbingJob.objects.get(id=job_id)), request=request)
             for job_id, snapshot in page]
        )

    @extend_schema(
        parameters=[IDEMPOTENCY_KEY],
        request=JobCreateInputSerializer,
        responses={201: JobOutputSerializer},
        description=(
            "One job for `target_language`; or, with `target_languages` (up to 5) instead, one job per "
            'language answered as {"results": [job, ...]}, the sum reserved at once.'
        ),
    )
    @idempotent
    @raises(VideoNotFound, VideoNotReady, UnsupportedPair, SameLanguage, SourceLanguageUnsure, InvalidOptions, InvalidSubtitles,
            TooManySubtitleCues, SubtitleCueTooShort, SubtitlesOutsideMedia, ConsentRequired,
            VoiceCloningUnavailable, InsufficientCredits)
    def post(self, request):
        serializer = JobCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data["consent_address"] = consent_address(request)
        video_id = _uuid_or_none(data.pop("video_id"))
        if video_id is None:
            raise VideoNotFound()
        targets = data.pop("target_languages", None)
        if targets is None:
            _check_languages(data["source_language"], data["target_language"],
                             target_subtitles=bool(data.get("target_subtitles")))
            job = services.dubbing_job_create(owner=request.user, video_id=video_id, **data)
            return Response(job_representation(_snapshot_of(job), request=request), status=status.HTTP_201_CREATED)
        for target in targets:
            _check_languages(data["source_language"], target, field="target_languages",
                             target_subtitles=bool(data.get("target_subtitles")))
        jobs = services.dubbing_jobs_create(owner=request.user, video_id=video_id, target_languages=targets, **data)
        return Response(
            {"results": [job_representation(_snapshot_of(job), request=request) for job in jobs]},
            status=status.HTTP_201_CREATED,
        )


def _uuid_or_none(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _check_languages(source: str, target: str, *, field: str = "target_language", target_subtitles: bool = False) -> None:
    """A language the deployment cannot speak at all is named here, before the service is asked
    about the pair (which it decides with the engines it will really use). With the user's target
    subtitles, any language a voice here speaks will do."""
    if source == target:
        message = gettext("The source and target languages are the same.")
        raise SameLanguage(message, errors={field: [message]})
    support = language_support()
    if target not in support.targets and target in support.spoken:
        if target_subtitles:
            return
        message = support.pair_sentence(source, target)  # a voice speaks it: the user's subtitles would do
        raise UnsupportedPair(message, errors={field: [message]})
    if target not in support.targets:
        raise UnsupportedPair(
            gettext("Cannot dub into '%(target)s' here.") % {"target": target},
            errors={field: [
                gettext("'%(target)s' is not one of: %(choices)s.") % {"target": target, "choices": ", ".join(support.targets)}
                if support.targets else gettext("No language can be dubbed into here.")
            ]},
        )


class JobDetailApi(APIView):
    """Polled by clients while a job runs (every second): the token is trusted without loading
    the user, and the answer is the job's snapshot column (one indexed row read) plus signed
    artifact links.

    A GET with a valid Bearer token takes a short path around DRF's request wrapping, content
    negotiation and renderer: the same authentication class, the same throttles, the same JSON,
    at a fraction of the CPU (bench/api.py measures it against a bare Django view). Anything
    else (the pages' session, a missing or bad token, a throttled client, other methods) goes
    through DRF as usual and gets its usual answers.
    """

    authentication_classes = POLLING_AUTHENTICATION
    error_responses = (JobNotFound,)

    def dispatch(self, request, *args, **kwargs):
        if request.method == "GET":
            answer = self._bearer_poll(request, kwargs["job_id"])
            if answer is not None:
                return answer
        return super().dispatch(request, *args, **kwargs)

    def _bearer_poll(self, request, job_id) -> HttpResponse | None:
        user = bearer_token_user(request)
        if user is None:
            return None
        poll = _Poll(request, user)
        if not all(throttle.allow_request(poll, self) for throttle in self.get_throttles()):
            return None  # DRF throttles again and answers 429 with Retry-After
        try:
            snapshot = selectors.job_snapshot_get(owner_id=user.pk, job_id=job_id)
        except JobNotFound as exc:
            token_user_locale_activate(request, user)  # the detail in the token user's language
            return _json_response(error_body(exc.detail, exc.code), status=exc.status_code)
        if snapshot.get("error"):
            # A failed or cancelled job's detail is words: read the account's language for it
            # (one query, on a job that has stopped; a running job's poll stays one row read).
            token_user_locale_activate(request, user)
        return _json_response(job_representation(snapshot, request=request))

    @extend_schema(parameters=[JOB_ID], responses=JobOutputSerializer)
    def get(self, request, job_id):
        snapshot = selectors.job_snapshot_get(owner_id=request.user.pk, job_id=job_id)
        return Response(job_representation(snapshot, request=request))


class _Poll:
    """What DRF's throttles read from a request (user, META), for the short path."""

    def __init__(self, request, user):
        self.user = user
        self.META = request.META
        self._request = request


def _json_response(body: dict, *, status: int = 200) -> HttpResponse:
    # As DRF's JSONRenderer writes it (compact, UTF-8, U+2028/2029 escaped).
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder)
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    response = HttpResponse(text.encode(), status=status, content_type="application/json")
    response["Vary"] = "Accept, Authorization"
    response["Allow"] = "GET, HEAD, OPTIONS"
    return response


class JobCancelApi(APIView):
    error_responses = (JobNotFound, JobNotCancellable)

    @extend_schema(parameters=[JOB_ID], request=None, responses=JobOutputSerializer)
    def post(self, request, job_id):
        job = selectors.job_get(owner_id=request.user.pk, job_id=job_id)
        job = services.dubbing_job_cancel(job=job)
        return Response(job_representation(_snapshot_of(job), request=request))


class JobRetryApi(APIView):
    permission_classes: ClassVar[list] = PAID_WORK
    error_responses = (JobNotFound, JobNotRetryable, VideoNotReady, InsufficientCredits)

    @extend_schema(parameters=[JOB_ID, IDEMPOTENCY_KEY], request=None, responses=JobOutputSerializer)
    @idempotent
    def post(self, request, job_id):
        job = selectors.job_get(owner_id=request.user.pk, job_id=job_id)
        job = services.dubbing_job_retry(job=job)
        return Response(job_representation(_snapshot_of(job), request=request))


class SegmentListApi(APIView):
    pagination_class = PageNumberPagination
    error_responses = (JobNotFound,)

    @extend_schema(parameters=[JOB_ID], responses=SegmentOutputSerializer(many=True))
    def get(self, request, job_id):
        job = selectors.job_get(owner_id=request.user.pk, job_id=job_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.segment_list(job=job), request, view=self)
        return paginator.get_paginated_response(SegmentOutputSerializer(page, many=True).data)


class SegmentDetailApi(APIView):
    error_responses = (JobNotFound, SegmentNotFound, JobRunning, InvalidOptions)

    @extend_schema(
        parameters=[JOB_ID, OpenApiParameter("index", int, OpenApiParameter.PATH)],
        request=SegmentUpdateInputSerializer,
        responses=SegmentOutputSerializer,
    )
    def patch(self, request, job_id, index: int):
        job = selectors.job_get(owner_id=request.user.pk, job_id=job_id)
        serializer = SegmentUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        segment = services.segment_update(job=job, index=index, **serializer.validated_data)
        return Response(SegmentOutputSerializer(segment).data)


class SegmentAudioApi(APIView):
    error_responses = (JobNotFound, SegmentNotFound, LineAudioNotFound)

    @extend_schema(parameters=[JOB_ID, OpenApiParameter("index", int, OpenApiParameter.PATH)],
                   responses={(200, "audio/wav"): OpenApiTypes.BINARY},
                   description="The line's dubbed clip as the last render placed it (16-bit PCM WAV).")
    def get(self, request, job_id, index: int):
        job = selectors.job_get(owner_id=request.user.pk, job_id=job_id)
        segment = Segment.objects.filter(job_id=job.id, index=index).first()
        if segment is None:
            raise SegmentNotFound()
        response = HttpResponse(line_audio(job=job, segment=segment), content_type="audio/wav")
        response["Cache-Control"] = "private, no-cache"  # a render replaces it
        return response


class VoicePreviewThrottle(UserRateThrottle):
    """How often one user may ask for previews (THROTTLE_VOICE_PREVIEW): a new voice-and-line
    pair costs a synthesis on the web process."""

    scope = "voice_preview"

    def get_rate(self) -> str:
        # Read at each request, not when the class is made, so a changed setting applies.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope) or "30/min"


class VoicePreviewApi(APIView):
    """A short sample of a voice, rendered by this server's speech engine and kept on disk."""

    throttle_classes: ClassVar[list] = [UserRateThrottle, VoicePreviewThrottle]
    error_responses = (VoiceNotFound, JobNotFound, SpeakerNotFound, InvalidOptions, PreviewUnavailable)

    @extend_schema(
        parameters=[
            OpenApiParameter("language", str, OpenApiParameter.PATH),
            OpenApiParameter("voice", str, OpenApiParameter.PATH),
            OpenApiParameter("job", OpenApiTypes.UUID, description="Say a line of this dub (mine, in this language)."),
            OpenApiParameter("speaker", str, description="With `job`: say a line of this speaker's."),
        ],
        responses={(200, "audio/wav"): OpenApiTypes.BINARY},
    )
    def get(self, request, language: str, voice: str):
        job = None
        if request.query_params.get("job"):
            job = selectors.job_get(owner_id=request.user.pk, job_id=request.query_params["job"])
        preview = voice_preview(language=language, voice=voice, job=job,
                                speaker=request.query_params.get("speaker") if job is not None else None)
        response = FileResponse(open(preview.path, "rb"), content_type="audio/wav")
        response["Cache-Control"] = "private, max-age=3600"
        response["X-Preview-Cached"] = "1" if preview.cached else "0"
        return response


class SpeakerListApi(APIView):
    pagination_class = PageNumberPagination
    error_responses = (JobNotFound,)

    @extend_schema(parameters=[JOB_ID], responses=SpeakerOutputSerializer(many=True))
    def get(self, request, job_id):
        job = selectors.job_get(owner_id=request.user.pk, job_id=job_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.speaker_list(job=job), request, view=self)
        return paginator.get_paginated_response(SpeakerOutputSerializer(page, many=True).data)


class SpeakerDetailApi(APIView):
    error_responses = (JobNotFound, SpeakerNotFound, JobRunning, InvalidOptions)

    @extend_schema(
        parameters=[JOB_ID, OpenApiParameter("speaker", str, OpenApiParameter.PATH)],
        request=SpeakerUpdateInputSerializer,
        responses=SpeakerOutputSerializer,
    )
    def patch(self, request, job_id, speaker: str):
        job = selectors.job_get(owner_id=request.user.pk, job_id=job_id)
        serializer = SpeakerUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.speaker_update(job=job, speaker=speaker, **serializer.validated_data)
        found = next(s for s in selectors.speaker_list(job=job) if s["speaker"] == speaker)
        return Response(SpeakerOutputSerializer(found).data)


class JobRenderApi(APIView):
    permission_classes: ClassVar[list] = PAID_WORK
    error_responses = (JobNotFound,)

    @extend_schema(parameters=[JOB_ID], responses=RenderQuoteOutputSerializer)
    def get(self, request, job_id):
        job = selectors.job_get(owner_id=request.user.pk, job_id=job_id)
        return Response(RenderQuoteOutputSerializer(selectors.render_quote(job=job)).data)

    @extend_schema(parameters=[JOB_ID, IDEMPOTENCY_KEY], request=None, responses={202: JobOutputSerializer})
    @idempotent
    @raises(JobRunning, NothingToRender, InsufficientCredits)
    def post(self, request, job_id):
        job = selectors.job_get(owner_id=request.user.pk, job_id=job_id)
        job = services.dubbing_job_render(job=job)
        return Response(job_representation(_snapshot_of(job), request=request), status=status.HTTP_202_ACCEPTED)

