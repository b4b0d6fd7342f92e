"""Every environment variable the settings read is documented in .env.example and in
docs/deployment.md's environment table (the README links there)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READERS = re.compile(r'env_(?:bool|int|float|str|list|choice)\(\s*"([A-Z0-9_]+)"')


def _variables_read_by_settings() -> set[str]:
    names = set(READERS.findall((ROOT / "onevoice" / "settings.py").read_text()))
    names.update({"DATABASE_URL", "EMAIL_URL"})  # read through django-environ's URL parsers
    return names


def test_every_setting_is_in_env_example():
    documented = set(re.findall(r"^([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    missing = _variables_read_by_settings() - documented
    assert not missing, f".env.example lacks: {sorted(missing)}"


def test_every_setting_is_in_the_deployment_docs_table():
    table = (ROOT / "docs" / "deployment.md").read_text()
    missing = {name for name in _variables_read_by_settings() if f"`{name}`" not in table}
    assert not missing, f"docs/deployment.md's environment table lacks: {sorted(missing)}"
