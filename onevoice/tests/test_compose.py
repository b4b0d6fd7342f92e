"""Every `manage.py` command compose.yaml runs exists and takes the arguments it is given (the
`resend_webhooks --loop` service never started: --loop wants its interval)."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml
from django.core.management import get_commands, load_command_class

COMPOSE = Path(__file__).resolve().parents[2] / "compose.yaml"


def _manage_commands(command) -> list[list[str]]:
    argv = command if isinstance(command, list) else shlex.split(command)
    if argv[:2] == ["sh", "-c"]:
        return [part for chunk in argv[2].split("&&") for part in _manage_commands(chunk.strip())]
    return [argv] if argv[:2] == ["python", "manage.py"] else []


def test_every_manage_command_in_compose_exists_and_takes_its_arguments():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    commands = get_commands()
    checked = []
    for name, service in services.items():
        for argv in _manage_commands(service.get("command", [])):
            assert argv[2] in commands, f"{name} runs unknown command {argv[2]}"
            parser = load_command_class(commands[argv[2]], argv[2]).create_parser("manage.py", argv[2])
            parser.parse_args(argv[3:])  # SystemExit on an argument the command refuses
            checked.append(argv[2])
    assert {"migrate", "rundramatiq", "reap_jobs", "sync_billing", "resend_webhooks"} <= set(checked)
