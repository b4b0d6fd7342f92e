"""pytest fixtures around the loopback OpenAI server (imported by dubbing/tests/conftest.py)."""

from __future__ import annotations

import pytest

from testing.openai_server import OpenAIServer

__all__ = ["openai_server"]


@pytest.fixture
def openai_server():
    """A fresh loopback OpenAI server on a random 127.0.0.1 port, stopped after the test."""
    with OpenAIServer() as server:
        yield server
