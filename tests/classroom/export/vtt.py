"""A strict WebVTT reader for chapter files: what a player's parser would refuse, this refuses."""

from __future__ import annotations

import html
import itertools
import re
from dataclasses import dataclass

_TIME = r"(\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3})"
_TIMING = re.compile(rf"{_TIME} --> {_TIME}")


@dataclass(frozen=True)
class ReadCue:
    id: str
    start_ms: int
    end_ms: int
    text: str


def _ms(hours: str, minutes: str, seconds: str, millis: str) -> int:
    return ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(millis)


def parse(text: str) -> list[ReadCue]:
    """Cues of a chapters file; ValueError for anything out of the WebVTT syntax."""
    if "\r" in text or text.startswith("\ufeff"):
        raise ValueError("only LF line ends and no BOM are written")
    blocks = text.rstrip("\n").split("\n\n")
    if blocks[0] != "WEBVTT":
        raise ValueError(f"bad header {blocks[0]!r}")
    cues: list[ReadCue] = []
    for block in blocks[1:]:
        lines = block.split("\n")
        if not lines or any(not line.strip() for line in lines):
            raise ValueError(f"empty line inside a block: {block!r}")
        cue_id = ""
        if "-->" not in lines[0]:
            cue_id, lines = lines[0], lines[1:]
        if not lines:
            raise ValueError(f"a block with no timing: {block!r}")
        match = _TIMING.fullmatch(lines[0])
        if match is None:
            raise ValueError(f"bad timing line {lines[0]!r}")
        body = lines[1:]
        if not body or any("-->" in line for line in body):
            raise ValueError(f"a cue needs text without '-->': {block!r}")
        if re.search(r"&(?!amp;|lt;|gt;)|<", "\n".join(body)):
            raise ValueError(f"unescaped markup in {body!r}")
        start = _ms(*match.groups()[:4])
        end = _ms(*match.groups()[4:])
        cues.append(ReadCue(cue_id, start, end, html.unescape("\n".join(body))))
    return cues


def check_chapters(cues: list[ReadCue], duration_ms: int) -> None:
    """Chapters tile the programme: from 0, in order, none empty, none overlapping, to its end."""
    if not cues:
        raise ValueError("no chapters")
    ids = [cue.id for cue in cues]
    if len(set(ids)) != len(ids):
        raise ValueError(f"cue ids repeat: {ids}")
    if cues[0].start_ms != 0:
        raise ValueError(f"the first chapter starts at {cues[0].start_ms} ms, not 0")
    for before, after in itertools.pairwise(cues):
        if not before.start_ms < after.start_ms or before.end_ms != after.start_ms:
            raise ValueError(f"{before} then {after}: not in order or not end to start")
    for cue in cues:
        if not 0 <= cue.start_ms < cue.end_ms <= duration_ms:
            raise ValueError(f"{cue} is empty or outside the programme (0-{duration_ms} ms)")
    if cues[-1].end_ms != duration_ms:
        raise ValueError(f"the last chapter ends at {cues[-1].end_ms}, not {duration_ms} ms")
