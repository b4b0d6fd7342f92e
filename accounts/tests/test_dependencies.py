"""Accounts sits at the bottom of the apps (STYLE.md "Where things live"): nothing in it may
import an app above it. Flows that need both are composed in onevoice/ (account, deletion)."""

from __future__ import annotations

import ast
from pathlib import Path

import accounts

HIGHER_APPS = ("billing", "videos", "dubbing", "community", "integrations")
ACCOUNTS = Path(accounts.__file__).parent


def _imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):  # every level: a function-local import counts as much
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif (isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute))
              and getattr(node.func, "id", getattr(node.func, "attr", "")) in ("import_module", "__import__")
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value))
    return found


def _higher_imports(source: str, filename: str = "<test>") -> list[str]:
    return [
        f"{filename}:{line} imports {module}"
        for line, module in _imported_modules(ast.parse(source, filename))
        if module.split(".")[0] in HIGHER_APPS
    ]


def test_accounts_imports_no_app_above_it():
    files = [p for p in ACCOUNTS.rglob("*.py") if "tests" not in p.relative_to(ACCOUNTS).parts]
    assert len(files) > 10  # the scan really walked the app
    offenders = [hit for path in files for hit in _higher_imports(path.read_text(), str(path.relative_to(ACCOUNTS)))]
    assert offenders == []


def test_the_scan_catches_every_form_of_import():
    source = (
        "import billing.models\n"
        "from videos.services import video_delete\n"
        "def f():\n"
        "    from dubbing import services\n"
        "    try:\n"
        "        import community.selectors as c\n"
        "    except ImportError:\n"
        "        pass\n"
        "    importlib.import_module('integrations.tasks')\n"
        "from accounts.models import User\n"
        "from onevoice.account import account_register\n"
        "import billingsystem\n"
    )
    assert _higher_imports(source) == [
        "<test>:1 imports billing.models",
        "<test>:2 imports videos.services",
        "<test>:4 imports dubbing",
        "<test>:6 imports community.selectors",
        "<test>:9 imports integrations.tasks",
    ]
