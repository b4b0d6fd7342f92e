"""`manage.py dub INPUT --to LANG`: the whole pipeline from the command line, offline by default."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dubbing.backgrounds import default_background
from dubbing.engine_config import build_engines
from dubbing.engines.base import EngineError
from dubbing.languages import language_support
from dubbing.pipeline.errors import PipelineError
from dubbing.pipeline.options import (
    BACKGROUNDS,
    DEFAULT_MAX_SPEED,
    ENGINE_SETS,
    MAX_SPEAKERS,
    MAX_SPEED,
    MIN_SPEED,
    SUBTITLE_MODES,
    DubOptions,
    OptionsError,
)
from dubbing.pipeline.publish import run_pipeline
from dubbing.pipeline.runner import STAGES
from dubbing.pipeline.subtitles import SubtitleError, decode_subtitle_bytes
from dubbing.pipeline.workspace import input_fingerprint


def _read_text(path: str | None, what: str) -> str | None:
    if not path:
        return None
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CommandError(f"Cannot read the {what} file {path}: {exc.strerror}.") from None
    try:
        return decode_subtitle_bytes(data)
    except SubtitleError as exc:
        raise CommandError(f"The {what} file {path}: {exc}") from None


def _read_glossary(path: str | None) -> dict[str, str]:
    """JSON object {"term": "translation"} or lines "term = translation" / "term<TAB>translation"."""
    if not path:
        return {}
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"Cannot read the glossary {path}: {exc}.") from None
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(f"The glossary {path} is not valid JSON: {exc}.") from None
        return {str(k): str(v) for k, v in data.items()}
    glossary = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        sep = "\t" if "\t" in line else "="
        if sep not in line:
            raise CommandError(f"The glossary {path}, line {number}: expected 'term = translation'.")
        term, translation = line.split(sep, 1)
        glossary[term.strip()] = translation.strip()
    return glossary


def pairs_epilog() -> str:
    """The pairs the configured engines can dub, grouped by how each is made (as GET
    /api/v1/languages says), for the end of `dub --help`."""
    import textwrap

    support = language_support()
    if support.unavailable:
        return f"No language pair can be dubbed here: {support.unavailable}"
    ways = {"direct": "direct", "pivot": "through a pivot language",
            "speech_translation": "Whisper's speech translation into English",
            "subtitles": "only with your own target subtitles (--target-subtitles)"}
    lines = ["language pairs the configured engines can dub, by how each is made:"]
    order = list(ways)
    for via in sorted({p["via"] for p in support.pairs}, key=lambda v: order.index(v) if v in order else len(order)):
        pairs = " ".join(f"{p['source']}->{p['target']}" for p in support.pairs if p["via"] == via)
        lines.append(textwrap.fill(pairs, 78, initial_indent=f"  {ways.get(via, via)}: ", subsequent_indent="    "))
    lines.append(f"--from auto detects: {' '.join(support.auto_detect)}" if len(support.auto_detect) <= 12 else
                 f"--from auto detects {len(support.auto_detect)} languages")
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Dub a video or audio file into another language (offline with the local engines)."

    def create_parser(self, prog_name, subcommand, **kwargs):
        import argparse

        parser = super().create_parser(prog_name, subcommand, **kwargs)

        class Formatter(parser.formatter_class, argparse.RawDescriptionHelpFormatter):
            pass

        parser.formatter_class = Formatter
        format_help = parser.format_help

        def with_pairs() -> str:  # the engines are asked only when help is printed
            parser.epilog = pairs_epilog()
            return format_help()

        parser.format_help = with_pairs
        return parser

    def add_arguments(self, parser):
        parser.add_argument("input", help="the video or audio file to dub")
        parser.add_argument("--to", dest="target", required=True, help="target language (ISO 639-1, e.g. es)")
        parser.add_argument("--from", dest="source", default="auto", help="source language, or auto")
        parser.add_argument(
            "--background", choices=BACKGROUNDS, default=default_background(),
            help="the original sound: its music and effects without the voice (separate: the default where "
                 "the voice separator is installed), all of it lowered under speech (duck), kept, or silence "
                 f"(drop) (default here: {default_background()})",
        )
        parser.add_argument(
            "--subtitles", choices=SUBTITLE_MODES, default="soft",
            help="a subtitle track (soft), drawn into the picture (burned, re-encodes), or none",
        )
        parser.add_argument("--source-subtitles", help="SRT/VTT of the original speech (skips recognition)")
        parser.add_argument("--target-subtitles", help="SRT/VTT of the translation (skips translation)")
        parser.add_argument(
            "--max-speed", type=float, default=DEFAULT_MAX_SPEED,
            help=f"never speed a line up past this ({MIN_SPEED}-{MAX_SPEED}, default {DEFAULT_MAX_SPEED}); "
                 "longer lines are shortened or run over",
        )
        parser.add_argument("--voice", help="voice name of the speech engine (default: the engine's voice for the language)")
        parser.add_argument(
            "--num-speakers", type=int, default=0,
            help=f"how many people speak (1-{MAX_SPEAKERS}); 0, the default, detects it from their voices",
        )
        parser.add_argument("--glossary", help="JSON object or 'term = translation' lines")
        parser.add_argument(
            "--engines", choices=ENGINE_SETS, help="engine set (default: the DUBBING_ENGINES setting, local)"
        )
        parser.add_argument(
            "--voice-cloning", action="store_true",
            help="speak each speaker in a clone of their own voice (an engine that can clone: fish, elevenlabs); "
                 "needs --voice-cloning-consent")
        parser.add_argument(
            "--voice-cloning-consent", action="store_true",
            help="you have the right to clone these voices and their owners agreed (see docs/api.md)")
        parser.add_argument("--workspace", help="work folder (default: DUBBING_WORKSPACE_DIR/<input fingerprint>)")
        parser.add_argument("--out", help="output folder (default: ./dubbed/<input name>-<lang>)")

    def handle(self, *args, **opts):
        input_path = Path(opts["input"]).expanduser()
        if not input_path.is_file():
            raise CommandError(f"{input_path} does not exist or is not a file.")
        try:
            options = DubOptions(
                target_language=opts["target"].strip().lower(),
                source_language=opts["source"].strip().lower(),
                background=opts["background"],
                subtitles=opts["subtitles"],
                voice=opts["voice"],
                max_speed=opts["max_speed"],
                num_speakers=opts["num_speakers"],
                glossary=_read_glossary(opts["glossary"]),
                engines=opts["engines"],
                source_subtitles=_read_text(opts["source_subtitles"], "source subtitles"),
                target_subtitles=_read_text(opts["target_subtitles"], "target subtitles"),
                voice_cloning=opts["voice_cloning"],
                voice_cloning_consent=opts["voice_cloning_consent"],
            )
        except OptionsError as exc:
            raise CommandError(str(exc)) from None
        try:
            fingerprint = input_fingerprint(input_path)
        except OSError as exc:
            raise CommandError(f"Cannot read {input_path}: {exc.strerror}.") from None
        workspace = Path(opts["workspace"] or Path(settings.DUBBING_WORKSPACE_DIR) / fingerprint)
        out_dir = Path(opts["out"] or Path("dubbed") / f"{input_path.stem}-{options.target_language}")

        # The command is the caller that knows the settings; the pipeline reads none itself.
        threads = os.cpu_count() or 1
        try:
            engines = build_engines(options, settings, threads=threads)
        except EngineError as exc:
            raise CommandError(f"Dubbing failed at check: {exc}") from None
        bar = _StageBar()
        try:
            report = run_pipeline(input_path, options, workspace=workspace, out_dir=out_dir, progress=bar,
                                  engines=engines, duck_db=settings.DUCK_DB,
                                  separate_duck_db=settings.SEPARATE_DUCK_DB, threads=threads)
        except PipelineError as exc:
            bar.close()
            raise CommandError(f"Dubbing failed at {exc}") from None
        except EngineError as exc:
            bar.close()
            raise CommandError(f"Dubbing failed: {exc}") from None
        bar.close()
        self.stdout.write(f"Dubbed {input_path.name} ({report['source_language']} -> {options.target_language}), "
                          f"{len(report['segments'])} lines. Outputs in {out_dir.resolve()}:")
        for kind, path in report["outputs"].items():
            self.stdout.write(f"  {kind:<14} {path}")


class _StageBar:
    """One tqdm bar on stderr, advancing stage by stage, with the stage's own progress as text."""

    def __init__(self):
        from tqdm import tqdm

        self.bar = tqdm(total=len(STAGES), file=sys.stderr, unit="stage", dynamic_ncols=True,
                        bar_format="{desc} |{bar}| {n_fmt}/{total_fmt} stages [{elapsed}]")
        self.done: set[str] = set()

    def __call__(self, stage: str, fraction: float, message: str) -> None:
        self.bar.set_description_str(f"{stage:<10} {message}".rstrip())
        if fraction >= 1.0 and stage not in self.done:
            self.done.add(stage)
            self.bar.update(1)

    def close(self):
        self.bar.close()
