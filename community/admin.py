"""Staff moderation: the report queue (open reports first), hiding and showing posts and comments
again, and resolving reports in bulk. Every action goes through community.services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from community import services
from community.models import Comment, GalleryItem, Post, Report


class OpenReportsFilter(admin.SimpleListFilter):
    """The queue opens on the open reports; "All" and "Resolved" are one click away."""

    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", _("Open")), ("resolved", _("Resolved")), ("all", _("All"))]

    def choices(self, changelist):
        value = self.value() or "open"
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or "open"
        if value == "open":
            return queryset.filter(resolved=False)
        if value == "resolved":
            return queryset.filter(resolved=True)
        return queryset


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "item_link", "item_text", "item_hidden", "reason", "reporter", "resolved",
                    "resolved_by")
    list_filter = (OpenReportsFilter, "created_at")
    search_fields = ("reason", "reporter__email", "post__title", "comment__body")
    list_select_related = ("reporter", "resolved_by", "post", "comment", "comment__post")
    readonly_fields = ("reporter", "post", "comment", "reason", "created_at", "resolved", "resolved_by", "resolved_at")
    actions = ["hide_and_resolve", "resolve", "unhide_items"]
    ordering = ("created_at",)

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description=_("Reported"))
    def kind(self, report: Report) -> str:
        return gettext("post") if report.post_id else gettext("comment")

    @admin.display(description=_("Item"))
    def item_link(self, report: Report):
        if report.post_id:
            return format_html('<a href="{}">{}</a>', reverse("community_post", args=[report.post_id]), report.post.title)
        url = reverse("community_post", args=[report.comment.post_id]) + f"#comment-{report.comment_id}"
        return format_html('<a href="{}">{}</a>', url,
                           gettext("comment on “%(title)s”") % {"title": report.comment.post.title})

    @admin.display(description=_("Text"))
    def item_text(self, report: Report) -> str:
        text = report.post.description if report.post_id else report.comment.body
        return text[:120] + ("…" if len(text) > 120 else "")

    @admin.display(description=_("Hidden"), boolean=True)
    def item_hidden(self, report: Report) -> bool:
        return report.item.hidden

    @admin.action(description=_("Hide the reported items and resolve the reports"))
    def hide_and_resolve(self, request, queryset):
        posts, comments = services.reports_hide_items(reports=queryset, staff=request.user)
        self.message_user(
            request,
            gettext("The reports are resolved. Posts hidden: %(posts)d, comments hidden: %(comments)d.")
            % {"posts": posts, "comments": comments},
            messages.SUCCESS,
        )

    @admin.action(description=_("Resolve the reports (change nothing else)"))
    def resolve(self, request, queryset):
        count = services.reports_resolve(reports=queryset, staff=request.user)
        self.message_user(
            request, ngettext("Resolved %(count)d report.", "Resolved %(count)d reports.", count) % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Show the reported items again"))
    def unhide_items(self, request, queryset):
        posts = services.posts_set_hidden(
            posts=Post.objects.filter(pk__in=queryset.exclude(post=None).values("post")), hidden=False, staff=request.user
        )
        comments = services.comments_set_hidden(
            comments=Comment.objects.filter(pk__in=queryset.exclude(comment=None).values("comment")),
            hidden=False, staff=request.user,
        )
        self.message_user(
            request,
            gettext("Posts shown again: %(posts)d, comments shown again: %(comments)d.")
            % {"posts": posts, "comments": comments},
            messages.SUCCESS,
        )


class _ModeratedAdmin(admin.ModelAdmin):
    actions = ["hide", "unhide"]
    # What the actions say, per kind of item: ngettext_lazy(..., "count"), formatted with the count.
    hidden_message = shown_message = None

    def has_add_permission(self, request) -> bool:
        return False

    def _set_hidden(self, queryset, *, hidden: bool, staff) -> int:
        raise NotImplementedError

    @admin.action(description=_("Hide the selected items"))
    def hide(self, request, queryset):
        count = self._set_hidden(queryset, hidden=True, staff=request.user)
        self.message_user(request, self.hidden_message % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Show the selected items again"))
    def unhide(self, request, queryset):
        count = self._set_hidden(queryset, hidden=False, staff=request.user)
        self.message_user(request, self.shown_message % {"count": count}, messages.SUCCESS)


@admin.register(Post)
class PostAdmin(_ModeratedAdmin):
    hidden_message = ngettext_lazy("Hid %(count)d post.", "Hid %(count)d posts.", "count")
    shown_message = ngettext_lazy("Showed %(count)d post again.", "Showed %(count)d posts again.", "count")
    list_display = ("title", "author", "language", "hidden", "likes", "open_reports", "created_at")
    list_filter = ("hidden", "created_at", "job__target_language")
    search_fields = ("title", "description", "author__email", "author__name")
    list_select_related = ("author", "job")
    readonly_fields = ("id", "author", "job", "hidden", "hidden_at", "hidden_by", "created_at", "updated_at", "page")
    fields = ("title", "description", *readonly_fields)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            n_likes=Count("likes", distinct=True), n_reports=Count("reports", distinct=True)
        )

    def _set_hidden(self, queryset, *, hidden, staff) -> int:
        return services.posts_set_hidden(posts=queryset, hidden=hidden, staff=staff)

    @admin.display(description=_("Language"), ordering="job__target_language")
    def language(self, post: Post) -> str:
        return post.job.target_language

    @admin.display(description=_("Likes"), ordering="n_likes")
    def likes(self, post: Post) -> int:
        return post.n_likes

    @admin.display(description=_("Reports"), ordering="n_reports")
    def open_reports(self, post: Post) -> int:
        return post.n_reports

    @admin.display(description=_("Page"))
    def page(self, post: Post):
        return format_html('<a href="{}">{}</a>', reverse("community_post", args=[post.pk]), gettext("Open the post"))


@admin.register(Comment)
class CommentAdmin(_ModeratedAdmin):
    hidden_message = ngettext_lazy("Hid %(count)d comment.", "Hid %(count)d comments.", "count")
    shown_message = ngettext_lazy("Showed %(count)d comment again.", "Showed %(count)d comments again.", "count")
    list_display = ("short_body", "author", "post", "hidden", "created_at")
    list_filter = ("hidden", "created_at")
    search_fields = ("body", "author__email", "author__name", "post__title")
    list_select_related = ("author", "post")
    readonly_fields = ("id", "post", "author", "body", "hidden", "hidden_at", "hidden_by", "created_at")

    def _set_hidden(self, queryset, *, hidden, staff) -> int:
        return services.comments_set_hidden(comments=queryset, hidden=hidden, staff=staff)

    @admin.display(description=_("Comment"))
    def short_body(self, comment: Comment) -> str:
        return comment.body[:80] + ("…" if len(comment.body) > 80 else "")


@admin.register(GalleryItem)
class GalleryItemAdmin(admin.ModelAdmin):
    list_display = ("job", "folder", "favorite", "updated_at")
    list_filter = ("favorite",)
    search_fields = ("folder", "job__owner__email")
    list_select_related = ("job",)
    readonly_fields = ("job", "folder", "favorite", "updated_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
