"""Server-rendered pages for dubbing jobs, and the signed download view of their outputs.

The pages post plain forms to the same services as the API (they work without JavaScript);
the scripts add live progress (polling GET /api/v1/jobs/{id} with the session) and saving a
line without reloading (PATCH /api/v1/jobs/{id}/segments/{index}).
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
    require_safe,
)

from accounts.selectors import user_must_verify_email
from accounts.services import user_require_verified
from dubbing import selectors, services
from dubbing.cloning import consent_address
from dubbing.errors import JobNotFound
from dubbing.forms import DubForm, dub_form_context
from dubbing.languages import language_name, language_support
from dubbing.models import (
    ACTIVE_STATUSES,
    Artifact,
    ArtifactKind,
    DubbingJob,
    JobStatus,
)
from dubbing.pipeline.runner import STAGES
from dubbing.serializers import job_representation
from dubbing.speaker_pages import speaker_panel
from dubbing.storage import artifact_token_valid, artifact_url
from onevoice.errors import ServiceError
from videos import selectors as video_selectors
from videos import storage as video_storage
from videos.errors import VideoNotFound
from videos.models import VideoStatus
from videos.streaming import ranged_file_response

# How the job page names the pipeline's stages (dubbing.pipeline.runner.STAGES gives the order).
STAGE_LABELS = {
    "probe": _("Check the file"),
    "extract": _("Extract the sound"),
    "separate": _("Separate the voice from the music"),
    "transcribe": _("Recognize the speech"),
    "segment": _("Cut it into lines"),
    "translate": _("Translate the lines"),
    "synthesize": _("Speak the lines"),
    "fit": _("Fit each line to its time"),
    "mix": _("Mix the new sound track"),
    "mux": _("Build the dubbed video"),
    "publish": _("Publish the files"),
}
STEP_STATUS_LABELS = {
    "waiting": _("Waiting"),
    "running": _("Running"),
    "done": _("Done"),
    "skipped": _("Done earlier"),
    "failed": _("Failed"),
    "cancelled": _("Cancelled"),
}
# Downloads in the order the page lists them.
DOWNLOAD_KINDS = [
    ArtifactKind.DUBBED_VIDEO,
    ArtifactKind.DUBBED_AUDIO,
    ArtifactKind.SUBTITLES_TARGET_SRT,
    ArtifactKind.SUBTITLES_TARGET_VTT,
    ArtifactKind.SUBTITLES_SOURCE_SRT,
    ArtifactKind.SUBTITLES_SOURCE_VTT,
    ArtifactKind.SUBTITLES_BILINGUAL_SRT,
    ArtifactKind.SUBTITLES_BILINGUAL_VTT,
    ArtifactKind.REPORT,
]
LIST_FILTERS = [
    ("", _("All")),
    ("active", _("In progress")),
    (JobStatus.SUCCEEDED, JobStatus.SUCCEEDED.label),
    (JobStatus.FAILED, JobStatus.FAILED.label),
    (JobStatus.CANCELLED, JobStatus.CANCELLED.label),
]


# --- The dub form ---------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def video_dub_page(request, video_id: uuid.UUID):
    """GET: the dub form on its own page. POST (also from the video page): start the job."""
    try:
        video = video_selectors.video_get(owner=request.user, video_id=video_id)
    except VideoNotFound:
        raise Http404("Video not found.") from None
    form = DubForm(request.POST or None, request.FILES or None)
    error = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user_require_verified(user=request.user)
            jobs = services.dubbing_jobs_create(
                owner=request.user,
                video_id=video.id,
                target_languages=form.target_languages(),
                source_language=data["source_language"],
                background=data["background"],
                subtitles=data["subtitles"],
                max_speed=float(data["max_speed"]),
                glossary=data["glossary"] or None,
                num_speakers=data["num_speakers"],
                source_subtitles=data.get("source_subtitles"),
                target_subtitles=data.get("target_subtitles"),
                voice_cloning=bool(data.get("voice_cloning")),
                voice_cloning_consent=bool(data.get("voice_cloning_consent")),
                consent_address=consent_address(request),
            )
        except ServiceError as exc:
            error = exc
            for field, problems in (exc.errors or {}).items():
                if field in form.fields:
                    for problem in problems if isinstance(problems, list) else [problems]:
                        form.add_error(field, str(problem))
        else:
            job = jobs[0]
            total = sum(j.cost_credits for j in jobs)
            names = ", ".join(language_name(j.target_language) for j in jobs)
            messages.success(request, ngettext(
                "Dubbing into %(names)s started: %(total)s credit reserved.",
                "Dubbing into %(names)s started: %(total)s credits reserved.",
                total,
            ) % {"names": names, "total": total})
            return redirect("job_detail", job_id=job.id)
    status = 200 if request.method == "GET" else (error.status_code if error else 400)
    context = dub_form_context(user=request.user, video=video, form=form, error=error)
    return render(request, "dubbing/video_dub.html", context, status=status)


# --- My dubs ----------------------------------------------------------------------------------------


@require_GET
@login_required
def job_list_page(request):
    status = request.GET.get("status", "")
    if status not in dict(LIST_FILTERS):
        status = ""
    jobs = selectors.job_list(owner_id=request.user.pk, status=status or None).select_related("video").only(
        "id", "status", "stage", "progress", "target_language", "source_language", "detected_language",
        "cost_credits", "rendering", "created_at", "finished_at", "video__id", "video__title",
    )
    page = Paginator(jobs, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "dubbing/job_list.html",
        {
            "page": page,
            "filters": LIST_FILTERS,
            "status": status,
            "items": [{"job": job, "target_name": language_name(job.target_language)} for job in page],
        },
    )


# --- One job ----------------------------------------------------------------------------------------


def _owned_job(request, job_id) -> DubbingJob:
    try:
        return selectors.job_get_with_video(owner_id=request.user.pk, job_id=job_id)
    except JobNotFound:
        raise Http404("Job not found.") from None


def _stages() -> list[str]:
    return list(STAGES)


def step_rows(snapshot: dict, *, active: bool) -> list[dict]:
    """The step list: every stage while the job runs (those not reached yet are waiting), the
    stages of the run once it is over."""
    done = {step["name"]: step for step in snapshot.get("steps") or []}
    names = _stages() if active else [step["name"] for step in snapshot.get("steps") or []]
    rows = []
    for name in names:
        step = done.get(name) or {"name": name, "status": "waiting", "seconds": None}
        rows.append({
            **step,
            "label": STAGE_LABELS.get(name, name),
            "status_label": STEP_STATUS_LABELS.get(step["status"], step["status"]),
        })
    return rows


def download_param() -> str:
    """What a download link appends to ask for an attachment: nothing on S3 (a presigned URL
    breaks with any parameter added), `&download=1` for our own view."""
    return "" if video_storage.is_s3() else "&download=1"


def downloads(snapshot: dict, urls: dict[str, str]) -> list[dict]:
    labels = dict(ArtifactKind.choices)
    files = snapshot.get("artifacts") or {}
    suffix = download_param()
    return [
        {
            "kind": kind.value,
            "label": labels[kind.value],
            "url": urls[kind.value],
            "download_url": urls[kind.value] + suffix,
            "filename": files[kind.value].get("filename", ""),
            "size": files[kind.value].get("size", 0),
        }
        for kind in DOWNLOAD_KINDS
        if kind.value in urls
    ]


def time_left_text(seconds: int | None) -> str:
    """The job page's "About 3 minutes left" (dubbing_job.js says the same as the page polls)."""
    if seconds is None:
        return ""
    if seconds < 60:
        return gettext("Less than a minute left")
    minutes = int(seconds / 60 + 0.5)  # half up, as the script's Math.round
    return ngettext("About %(minutes)s minute left", "About %(minutes)s minutes left", minutes) % {"minutes": minutes}


@require_GET
@login_required
def job_detail_page(request, job_id: uuid.UUID):
    job = _owned_job(request, job_id)
    snapshot = job.snapshot or selectors.job_snapshot_build(job)
    body = job_representation(snapshot)
    active = job.status in ACTIVE_STATUSES or job.rendering
    video = job.video
    source_url = (
        video_storage.media_url(
            name=video.storage_key, video_id=video.id, kind=video_storage.SOURCE, content_type=video.content_type
        )
        if video.status == VideoStatus.READY and video.storage_key
        else ""
    )
    thumbnail_url = video_storage.media_url(
        name=video.thumbnail, video_id=video.id, kind=video_storage.THUMBNAIL, content_type="image/jpeg"
    ) if video.thumbnail else ""
    source_code = job.detected_language or job.source_language
    return render(
        request,
        "dubbing/job_detail.html",
        {
            "job": job,
            "video": video,
            "snapshot": snapshot,
            "error": body["error"],  # in the reader's language (job_representation)
            "active": active,
            "steps": step_rows(snapshot, active=active),
            "stage_label": STAGE_LABELS.get(snapshot.get("stage") or "", ""),
            "time_left": time_left_text(body["eta_seconds"]) if active else "",
            "stage_labels": STAGE_LABELS,
            "download_param": download_param(),
            "artifact_labels": dict(ArtifactKind.choices),
            "language_names": language_support().as_dict()["names"],
            "download_order": [kind.value for kind in DOWNLOAD_KINDS],
            "step_status_labels": STEP_STATUS_LABELS,
            "stages": _stages(),
            "downloads": downloads(snapshot, body["artifacts"]),
            "artifact_urls": body["artifacts"],
            "source_url": source_url,
            "thumbnail_url": thumbnail_url,
            "portrait": bool(video.width and video.height and video.height > video.width),
            "source_code": source_code if source_code != "auto" else "",
            "target_name": language_name(job.target_language),
            "source_name": language_name(job.detected_language or job.source_language)
            if (job.detected_language or job.source_language) != "auto" else _("Detected automatically"),
            "can_cancel": job.status in ACTIVE_STATUSES,
            "can_retry": job.status in (JobStatus.FAILED, JobStatus.CANCELLED),
            "can_edit": job.status == JobStatus.SUCCEEDED and not job.rendering,
            "verify_first": user_must_verify_email(user=request.user),
        },
    )


def _paid(request, action):
    """A job action that spends credits: refused (email_unverified, said on the page) while the
    user's address waits for confirmation."""
    def run(*, job):
        user_require_verified(user=request.user)
        return action(job=job)
    return run


def _job_action(request, job_id, action, done_message: str):
    job = _owned_job(request, job_id)
    try:
        action(job=job)
    except ServiceError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, done_message)
    return HttpResponseRedirect(reverse("job_detail", kwargs={"job_id": job.id}))


@require_POST
@login_required
def job_cancel(request, job_id: uuid.UUID):
    return _job_action(request, job_id, services.dubbing_job_cancel,
                       gettext("The job is cancelled; its credits are refunded."))


@require_POST
@login_required
def job_retry(request, job_id: uuid.UUID):
    return _job_action(request, job_id, _paid(request, services.dubbing_job_retry), gettext("The job is queued again."))


@require_POST
@login_required
def job_render(request, job_id: uuid.UUID):
    return _job_action(request, job_id, _paid(request, services.dubbing_job_render),
                       gettext("Re-rendering the changed lines."))


# --- The line editor --------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def job_lines_page(request, job_id: uuid.UUID):
    """Each line's source and target text, speed and overrun. POST saves one line (the script
    saves with PATCH instead, without reloading)."""
    job = _owned_job(request, job_id)
    if request.method == "POST":
        try:
            index = int(request.POST.get("index", ""))
        except ValueError:
            index = -1
        text = " ".join(request.POST.get("target_text", "").split())
        if not text:
            messages.error(request, gettext("A line cannot be empty."))
        else:
            try:
                services.segment_update(job=job, index=index, target_text=text)
            except ServiceError as exc:
                messages.error(request, exc.detail)
            else:
                messages.success(request, gettext("Line %(number)d saved.") % {"number": index + 1})
        return HttpResponseRedirect(reverse("job_lines", kwargs={"job_id": job.id}) + f"#line-{index}")
    editable = job.status == JobStatus.SUCCEEDED and not job.rendering
    quote = selectors.render_quote(job=job) if editable else None
    segments = list(selectors.segment_list(job=job))
    return render(
        request,
        "dubbing/job_lines.html",
        {
            "job": job,
            "video": job.video,
            "segments": segments,
            "speakers": speaker_panel(job=job, segments=segments),
            "language_voices": language_support().voices.get(job.target_language, []),
            "editable": editable,
            "quote": quote,
            "target_name": language_name(job.target_language),
            "verify_first": user_must_verify_email(user=request.user),
        },
    )


# --- Downloads -------------------------------------------------------------------------------------


@require_safe  # players probe with HEAD before they GET ranges
def job_artifact(request, job_id: uuid.UUID, kind: str):
    """One output of a job, for a valid signed link (or the owner's session), with byte ranges.

    A link whose token is wrong or expired: 403, decided before any lookup, so it tells nothing
    about the job. No token and not the owner: 404, exactly like a job that does not exist.
    """
    if kind not in ArtifactKind.values:
        raise Http404()
    token = request.GET.get("t", "")
    artifacts = Artifact.objects.filter(job_id=job_id, kind=kind)
    if token:
        if not artifact_token_valid(token, job_id=job_id, kind=kind):
            raise PermissionDenied("This link has expired. Open the job's page for a new one.")
    elif request.user.is_authenticated:
        artifacts = artifacts.filter(job__owner_id=request.user.pk)
    else:
        raise Http404()
    artifact = artifacts.first()
    if artifact is None:
        raise Http404()
    media = video_storage.media_storage()
    if video_storage.is_s3(media):
        return HttpResponseRedirect(
            artifact_url(job_id=job_id, kind=kind, name=artifact.name, content_type=artifact.content_type)
        )
    try:
        response = ranged_file_response(
            request, storage=media, name=artifact.name, content_type=artifact.content_type, filename=artifact.filename
        )
    except FileNotFoundError:
        raise Http404() from None
    if request.GET.get("download"):
        response["Content-Disposition"] = content_disposition_header(True, artifact.filename)
    return response
