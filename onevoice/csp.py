"""The parts of the Content-Security-Policy that depend on the set-up (django-csp writes the header).

The policy itself is CONTENT_SECURITY_POLICY in settings.py; the media bucket's hosts join it here,
at each response. Pages that need more (the credits page and PortOne's SDK, the API docs' data:
images) widen it for themselves with django-csp's decorators, never site-wide.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware as _DjangoCSPMiddleware
from django.conf import settings


def source_of(url: str) -> str | None:
    """The CSP source that allows `url`: its scheme://host[:port]; None when it is on the site itself."""
    parts = urlsplit(url)
    if not parts.netloc:
        return None  # a path: 'self' already allows it
    if not parts.scheme:
        return parts.netloc  # scheme-relative (//cdn.example/sdk.js): the host, on the page's scheme
    return f"{parts.scheme}://{parts.netloc}"


def s3_sources(*, bucket: str, endpoint_url: str | None, region: str | None) -> list[str]:
    """Where presigned media links and direct-upload parts point: the pages play, show and PUT them.

    boto3 may address the bucket either way (virtual host or path), so both hosts are allowed.
    """
    if not bucket:
        return []
    if endpoint_url:
        parts = urlsplit(endpoint_url)
        return [f"{parts.scheme}://{parts.netloc}", f"{parts.scheme}://{bucket}.{parts.netloc}"]
    regional = [f"{bucket}.s3.{region}.amazonaws.com", f"s3.{region}.amazonaws.com"] if region else []
    return [f"https://{host}" for host in (f"{bucket}.s3.amazonaws.com", "s3.amazonaws.com", *regional)]


class CSPMiddleware(_DjangoCSPMiddleware):
    """django-csp's middleware, with the media bucket's hosts where pages show, play and upload media.

    Read from the settings at each response rather than once in settings.py, so the policy follows
    the storage actually in use (tests point it at a loopback S3 server).
    """

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request=request, response=response, report_only=report_only)
        sources = s3_sources(bucket=settings.AWS_STORAGE_BUCKET_NAME, endpoint_url=settings.AWS_S3_ENDPOINT_URL,
                             region=settings.AWS_S3_REGION_NAME)
        if sources and not report_only:
            update = dict(parts.update or {})  # a view's decorator shares its dict between requests: copy
            for name in ("img-src", "media-src", "connect-src"):
                update[name] = [*update.get(name, ()), *sources]
            parts.update = update
        return parts
