"""Staff moderation: the report queue (open reports first), hiding and showing posts and comments
again, and resolving reports in bulk. Every action goes through community.services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from community import services
from community.models import Comment, GalleryItem, Post, Report


class OpenReportsFilter(admin.SimpleListFilter):
    """The queue opens on the open reports; "All" and "Resolved" are one click away."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("resolved", "Resolved"), ("all", "All")]

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


def _hidden_message(admin_, request, what: str, count: int, hidden: bool) -> None:
    verb = "Hid" if hidden else "Showed again"
    admin_.message_user(request, f"{verb} {count} {what}.", messages.SUCCESS)


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

    @admin.display(description="Reported")
    def kind(self, report: Report) -> str:
        return "post" if report.post_id else "comment"

    @admin.display(description="Item")
    def item_link(self, report: Report):
        if report.post_id:
            return format_html('<a href="{}">{}</a>', reverse("community_post", args=[report.post_id]), report.post.title)
        url = reverse("community_post", args=[report.comment.post_id]) + f"#comment-{report.comment_id}"
        return format_html('<a href="{}">comment on “{}”</a>', url, report.comment.post.title)

    @admin.display(description="Text")
    def item_text(self, report: Report) -> str:
        text = report.post.description if report.post_id else report.comment.body
        return text[:120] + ("…" if len(text) > 120 else "")

    @admin.display(description="Hidden", boolean=True)
    def item_hidden(self, report: Report) -> bool:
        return report.item.hidden

    @admin.action(description="Hide the reported items and resolve the reports")
    def hide_and_resolve(self, request, queryset):
        posts, comments = services.reports_hide_items(reports=queryset, staff=request.user)
        self.message_user(
            request, f"Hid {posts} post(s) and {comments} comment(s); the reports are resolved.", messages.SUCCESS
        )

    @admin.action(description="Resolve the reports (change nothing else)")
    def resolve(self, request, queryset):
        count = services.reports_resolve(reports=queryset, staff=request.user)
        self.message_user(request, f"Resolved {count} report(s).", messages.SUCCESS)

    @admin.action(description="Show the reported items again")
    def unhide_items(self, request, queryset):
        posts = services.posts_set_hidden(
            posts=Post.objects.filter(pk__in=queryset.exclude(post=None).values("post")), hidden=False, staff=request.user
        )
        comments = services.comments_set_hidden(
            comments=Comment.objects.filter(pk__in=queryset.exclude(comment=None).values("comment")),
            hidden=False, staff=request.user,
        )
        self.message_user(request, f"Showed {posts} post(s) and {comments} comment(s) again.", messages.SUCCESS)


class _ModeratedAdmin(admin.ModelAdmin):
    actions = ["hide", "unhide"]
    what = "item(s)"

    def has_add_permission(self, request) -> bool:
        return False

    def _set_hidden(self, queryset, *, hidden: bool, staff) -> int:
        raise NotImplementedError

    @admin.action(description="Hide the selected items")
    def hide(self, request, queryset):
        _hidden_message(self, request, self.what, self._set_hidden(queryset, hidden=True, staff=request.user), True)

    @admin.action(description="Show the selected items again")
    def unhide(self, request, queryset):
        _hidden_message(self, request, self.what, self._set_hidden(queryset, hidden=False, staff=request.user), False)


@admin.register(Post)
class PostAdmin(_ModeratedAdmin):
    what = "post(s)"
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

    @admin.display(description="Language", ordering="job__target_language")
    def language(self, post: Post) -> str:
        return post.job.target_language

    @admin.display(description="Likes", ordering="n_likes")
    def likes(self, post: Post) -> int:
        return post.n_likes

    @admin.display(description="Reports", ordering="n_reports")
    def open_reports(self, post: Post) -> int:
        return post.n_reports

    @admin.display(description="Page")
    def page(self, post: Post):
        return format_html('<a href="{}">Open the post</a>', reverse("community_post", args=[post.pk]))


@admin.register(Comment)
class CommentAdmin(_ModeratedAdmin):
    what = "comment(s)"
    list_display = ("short_body", "author", "post", "hidden", "created_at")
    list_filter = ("hidden", "created_at")
    search_fields = ("body", "author__email", "author__name", "post__title")
    list_select_related = ("author", "post")
    readonly_fields = ("id", "post", "author", "body", "hidden", "hidden_at", "hidden_by", "created_at")

    def _set_hidden(self, queryset, *, hidden, staff) -> int:
        return services.comments_set_hidden(comments=queryset, hidden=hidden, staff=staff)

    @admin.display(description="Comment")
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
