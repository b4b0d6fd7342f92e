"""The worker writes a job's lines in statements of at most SEGMENT_WRITE_BATCH rows (issue 25
item 1): 5,000 lines were one UPDATE with a 5,000-branch CASE that held PostgreSQL for minutes.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dubbing.models import Segment
from dubbing.pipeline.runner import SegmentResult
from dubbing.services.claims import SEGMENT_WRITE_BATCH, segments_upsert
from dubbing.tests.factories import DubbingJobFactory

pytestmark = pytest.mark.django_db

LINES = 2 * SEGMENT_WRITE_BATCH + 7


def _lines(text: str) -> list[SegmentResult]:
    return [SegmentResult(index=i, id=f"s{i + 1:04d}", start=i * 0.5, end=i * 0.5 + 0.4, speaker="S1",
                          source_text=f"line {i}", target_text=f"{text} {i}") for i in range(LINES)]


def _statements(queries, verb: str) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(verb) and "dubbing_segment" in q["sql"]]


def test_lines_are_created_and_updated_in_bounded_statements():
    job = DubbingJobFactory()

    with CaptureQueriesContext(connection) as created:
        assert segments_upsert(job=job, segments=_lines("uno"), stage="translate") == LINES
    inserts = _statements(created.captured_queries, "INSERT")
    # SQLite's parameter limit may split further; never fewer statements, never more rows in one.
    assert len(inserts) >= 3
    assert max(sql.count("), (") + 1 for sql in inserts) <= SEGMENT_WRITE_BATCH

    with CaptureQueriesContext(connection) as updated:
        assert segments_upsert(job=job, segments=_lines("dos"), stage="translate") == LINES
    updates = _statements(updated.captured_queries, "UPDATE")
    assert len(updates) >= 3
    # Each statement names at most a batch of rows in its CASE (one WHEN per row per field).
    assert max(sql.count("WHEN") for sql in updates) <= SEGMENT_WRITE_BATCH * 13

    texts = dict(Segment.objects.filter(job=job).values_list("index", "target_text"))
    assert len(texts) == LINES and texts[0] == "dos 0" and texts[LINES - 1] == f"dos {LINES - 1}"
