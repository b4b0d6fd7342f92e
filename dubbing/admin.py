"""Staff tools for dubbing jobs: every job's stages, timings, errors, lines and outputs, and the
actions retry, cancel and refund (with a reason, through the ledger). Everything a job holds is
written by the services and the worker, so the admin shows it read-only and acts through them."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.template.response import TemplateResponse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from dubbing import services
from dubbing.models import (
    Artifact,
    ClonedVoice,
    DubbingJob,
    JobStep,
    Segment,
    SourceAnalysis,
    VoiceCloningConsent,
)
from onevoice.admin import breakable
from onevoice.errors import ServiceError


class JobRefundForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("Required; kept on the ledger entry."))
    # Generated when the form is rendered, so submitting it twice (or a retried POST) refunds once.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("A reason is required."))
        return reason


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class JobStepInline(_ReadOnlyInline):
    model = JobStep
    fields = ("attempt", "render", "name", "status", "started_at", "finished_at", "seconds", "error_code",
              "error_message", "detail")
    ordering = ("attempt", "render", "position")


class SegmentInline(_ReadOnlyInline):
    model = Segment
    fields = ("index", "segment_id", "start", "end", "speaker", "source_text", "target_text", "rendered_text",
              "speed", "displacement", "overrun", "shortened")
    ordering = ("index",)


class ArtifactInline(_ReadOnlyInline):
    model = Artifact
    fields = ("kind", "filename", "name", "size", "content_type", "render", "created_at")


class EngineFilter(admin.SimpleListFilter):
    """Jobs by an engine they used (recognizer, translator or voice), or by the engine set."""

    title = _("engine")
    parameter_name = "engine"

    def lookups(self, request, model_admin):
        names: set[str] = set()
        for used in DubbingJob.objects.order_by("-created_at").values_list("engines", flat=True)[:500]:
            names.update(str(v) for k, v in (used or {}).items() if k in ("asr", "translate", "tts") and v)
        sets = [("set:local", _("set: local")), ("set:openai", _("set: openai"))]
        return sets + [(name, name) for name in sorted(names)]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if value.startswith("set:"):
            return queryset.filter(options__engines=value.removeprefix("set:"))
        return queryset.filter(Q(engines__asr=value) | Q(engines__translate=value) | Q(engines__tts=value))


@admin.register(DubbingJob)
class DubbingJobAdmin(admin.ModelAdmin):
    # What staff scan a list for, status second so it is on screen at 1280 px; attempts, tries,
    # renders and the worker are on each job's page.
    # The video by its title (its id is on the job's page): with the id the column alone was wider
    # than the list at 1280 px. Long titles and addresses wrap (static/css/admin.css).
    list_display = ("video_title", "status", "stage", "progress", "target_language", "owner_email", "cost_credits",
                    "engine_names", "error_code", "created_at")
    list_display_links = ("video_title", "status")
    list_filter = ("status", "stage", EngineFilter, ("owner", admin.RelatedOnlyFieldListFilter), "created_at",
                   "target_language")
    search_fields = ("id", "owner__email", "video__title", "error_code", "error_message", "worker")
    list_select_related = ("owner", "video")
    date_hierarchy = "created_at"
    inlines = (JobStepInline, ArtifactInline, SegmentInline)
    actions = ("retry_jobs", "cancel_jobs", "refund_jobs")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in DubbingJob._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # jobs start from the site or the API, which reserve their credits

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the ledger entries refer to them; cancel or refund instead

    @admin.display(description=_("owner"), ordering="owner__email")
    def owner_email(self, obj: DubbingJob):
        return breakable(obj.owner.email)

    @admin.display(description=_("video"), ordering="video__title")
    def video_title(self, obj: DubbingJob) -> str:
        return obj.video.title

    @admin.display(description=_("engines"))
    def engine_names(self, obj: DubbingJob) -> str:
        used = obj.engines or {}
        return " / ".join(str(used[k]) for k in ("asr", "translate", "tts") if used.get(k)) or "-"

    def _each(self, request, queryset, action, done_message):
        """`done_message(count)`: what to say when `count` jobs were done."""
        done = 0
        for job in queryset.select_related("owner", "video"):
            try:
                action(job)
                done += 1
            except ServiceError as error:
                self.message_user(request, f"{job.id}: {error.detail}", messages.ERROR)
        if done:
            self.message_user(request, done_message(done), messages.SUCCESS)

    @admin.action(description=_("Retry the selected failed or cancelled jobs (reserves their cost again)"))
    def retry_jobs(self, request, queryset):
        self._each(request, queryset, lambda job: services.dubbing_job_retry(job=job), lambda count: ngettext(
            "Queued %(count)d job again.", "Queued %(count)d jobs again.", count) % {"count": count})

    @admin.action(description=_("Cancel the selected jobs (refunded when they had not succeeded)"))
    def cancel_jobs(self, request, queryset):
        self._each(request, queryset, lambda job: services.dubbing_job_cancel(job=job), lambda count: ngettext(
            "Cancelled (or asked to stop) %(count)d job.", "Cancelled (or asked to stop) %(count)d jobs.", count,
        ) % {"count": count})

    @admin.action(description=_("Refund the selected jobs (with a reason)…"))
    def refund_jobs(self, request, queryset):
        if not request.user.has_perm("dubbing.change_dubbingjob"):
            raise PermissionDenied
        if "apply" in request.POST:
            form = JobRefundForm(request.POST)
        else:
            form = JobRefundForm(initial={"idempotency_key": uuid.uuid4().hex})
        if form.is_bound and form.is_valid():
            key, reason = form.cleaned_data["idempotency_key"], form.cleaned_data["reason"]
            for job in queryset.select_related("owner", "video"):
                try:
                    entry = services.dubbing_job_refund(
                        job=job, staff=request.user, reason=reason, idempotency_key=f"staff_job_refund:{key}:{job.id}"
                    )
                except ServiceError as error:
                    self.message_user(request, f"{job.id}: {error.detail}", messages.ERROR)
                    continue
                self.message_user(request, ngettext(
                    "%(owner)s: %(credits)d credit given back for job %(job)s.",
                    "%(owner)s: %(credits)d credits given back for job %(job)s.",
                    entry.amount,
                ) % {"owner": job.owner, "credits": entry.amount, "job": job.id}, messages.SUCCESS)
            return None
        return TemplateResponse(
            request,
            "admin/dubbing/job_refund.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Refund dubbing jobs"),
                "form": form,
                "jobs": queryset.select_related("owner", "video"),
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            },
        )


@admin.register(SourceAnalysis)
class SourceAnalysisAdmin(admin.ModelAdmin):
    """The shared source side of a video's jobs; a claim with a stale heartbeat is taken over."""

    list_display = ["key", "video", "source_language", "recognizer", "uses", "claim_token", "heartbeat_at",
                    "updated_at"]
    search_fields = ["key", "video__id", "video__title"]
    readonly_fields = ["key", "video", "source_language", "recognizer", "uses", "claim_token", "heartbeat_at",
                       "created_at", "updated_at"]


@admin.register(VoiceCloningConsent)
class VoiceCloningConsentAdmin(admin.ModelAdmin):
    """Who agreed to have the voices of a job's speakers cloned: a record, read-only for staff
    (nobody adds, edits or deletes one here)."""

    list_display = ("created_at", "user", "job_ref", "ip_address", "language", "speakers")
    list_filter = ("created_at", "language")
    search_fields = ("user__email", "job_ref", "ip_address")
    list_select_related = ("user",)
    date_hierarchy = "created_at"
    fields = ("created_at", "user", "job", "job_ref", "ip_address", "language", "text", "speakers")

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ClonedVoice)
class ClonedVoiceAdmin(admin.ModelAdmin):
    """Voices cloned at a provider for jobs: deleted when their run ends, else by the sweep
    (`manage.py sweep_cloned_voices`); one still undeleted shows its attempts and last error."""

    list_display = ("created_at", "provider", "voice_id", "speaker", "job", "deleted_at", "delete_attempts",
                    "last_error")
    list_filter = ("provider", ("deleted_at", admin.EmptyFieldListFilter))
    search_fields = ("voice_id", "name", "job__id")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in ClonedVoice._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
