"""Community errors: each a ServiceError with the HTTP status and machine code API.md lists.

Another user's post or comment, a hidden one (for everyone but staff) and one that does not
exist are the same "not found": nothing tells them apart.
"""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _
from rest_framework import status

from onevoice.errors import Conflict, NotFound, ServiceError


class CommunityErrorCode(StrEnum):
    POST_NOT_FOUND = "post_not_found"
    COMMENT_NOT_FOUND = "comment_not_found"
    JOB_NOT_SUCCEEDED = "job_not_succeeded"
    ALREADY_PUBLISHED = "already_published"
    INVALID = "invalid"
    COMMENT_EMPTY = "comment_empty"
    COMMENT_TOO_LONG = "comment_too_long"


class PostNotFound(NotFound):
    code = CommunityErrorCode.POST_NOT_FOUND.value
    default_detail = _("Post not found.")


class CommentNotFound(NotFound):
    code = CommunityErrorCode.COMMENT_NOT_FOUND.value
    default_detail = _("Comment not found.")


class JobNotSucceeded(Conflict):
    code = CommunityErrorCode.JOB_NOT_SUCCEEDED.value
    default_detail = _("Only a dub that has finished successfully can be shared.")


class AlreadyPublished(Conflict):
    code = CommunityErrorCode.ALREADY_PUBLISHED.value
    default_detail = _("This dub is already shared in the community.")

    def __init__(self, detail: str | None = None, *, post=None):
        super().__init__(detail)
        self.post = post


class InvalidInput(ServiceError):
    """400 naming the field at fault in `errors`."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = CommunityErrorCode.INVALID.value
    default_detail = _("Some fields are invalid.")

    def __init__(self, detail: str, *, field: str, code: str | None = None):
        super().__init__(f"{field}: {detail}", errors={field: [detail]})
        if code:
            self.code = code
        self.field = field
        self.message = detail
