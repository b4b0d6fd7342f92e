"""Deletions that cross apps against the dependency order (portal/__init__.py).

Deleting a video must first remove its dubbing jobs (refunding any still running, erasing their
stored outputs and workspaces, and with them their community posts); erasing an account removes
its jobs and videos before the user is anonymised. The apps below (videos, accounts) know
nothing of the apps above them, so the flows are composed here and the views, the API and the
admin call these.
"""

from __future__ import annotations

from accounts.models import User
from accounts.services import user_delete, user_password_verify
from dubbing.services import dubbing_jobs_delete
from videos.models import Video
from videos.services import video_delete, videos_delete_for_user


def video_delete_everything(*, video: Video) -> None:
    dubbing_jobs_delete(video=video)
    video_delete(video=video)


def account_delete(*, user: User, password: str) -> None:
    # A wrong password leaves everything as it was. Files go first and outside any transaction
    # (slow storage work): if that fails the account is untouched and the user can try again.
    user_password_verify(user=user, password=password)
    dubbing_jobs_delete(user=user)
    videos_delete_for_user(user=user)
    user_delete(user=user, password=password)
