"""The ``classroom`` command: run the server, manage teachers, export lessons, regenerate docs."""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import sys
import time
from pathlib import Path

from classroom import __version__
from classroom.auth import MIN_PASSWORD_CHARS, hash_password
from classroom.classes import TeacherRecord, check_teacher_name
from classroom.errors import ClassroomError
from classroom.settings import Settings
from classroom.storage import open_store


def _port(raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is outside 1-65535")
    return port


def _store_url(raw: str) -> str:
    schemes = ("sqlite://", "redis://", "rediss://", "unix://", "redis+cluster://")
    if not raw.startswith((*schemes, "rediss+cluster://")):
        raise argparse.ArgumentTypeError(
            f"{raw!r}: use sqlite:///PATH/TO/FILE, redis://HOST:PORT/DB or "
            "redis+cluster://HOST:PORT[,HOST:PORT...]"
        )
    return raw


def _add_store_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        type=_store_url,
        metavar="URL",
        help="sqlite:///PATH (default: DATA_DIR/takhti.sqlite3) or "
        "redis://HOST:PORT/DB or redis+cluster://HOST:PORT[,HOST:PORT...] (env TAKHTI_STORE)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="where the embedded store and recordings live (default ./data, env TAKHTI_DATA_DIR)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="classroom",
        description="Takhti classroom server: live board, polls and quizzes for a class.",
    )
    parser.add_argument("--version", action="version", version=f"classroom {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve", help="run the server", description="Run the classroom server on this computer."
    )
    serve.add_argument("--host", help="address to listen on (default 0.0.0.0: the whole LAN)")
    serve.add_argument("--port", type=_port, help="port (default 8080, env TAKHTI_PORT)")
    serve.add_argument(
        "--public-url",
        metavar="URL",
        help="base URL students use, for join links and QR codes "
        "(default: the address the teacher's browser used)",
    )
    serve.add_argument(
        "--school",
        metavar="NAME",
        help="the school's name, shown with every recorded lesson (env TAKHTI_SCHOOL)",
    )
    _add_store_flags(serve)

    teacher = commands.add_parser(
        "teacher", help="manage teacher accounts", description="Manage teacher accounts."
    )
    teacher_cmds = teacher.add_subparsers(dest="teacher_command", required=True, metavar="ACTION")
    add = teacher_cmds.add_parser(
        "add",
        help="add a teacher",
        description="Add a teacher. The password is asked for at a prompt, or read from the "
        "first line of standard input when it is not a terminal.",
    )
    add.add_argument(
        "name",
        help="login name: letters of any language (Urdu too), digits, '.', '_', '-' or spaces;"
        " case does not matter",
    )
    _add_store_flags(add)
    passwd = teacher_cmds.add_parser(
        "passwd",
        help="change a teacher's password",
        description="Change a teacher's password (prompt or stdin).",
    )
    passwd.add_argument("name")
    _add_store_flags(passwd)

    lesson = commands.add_parser(
        "lesson", help="recorded lessons", description="Work on recorded lessons."
    )
    lesson_cmds = lesson.add_subparsers(dest="lesson_command", required=True, metavar="ACTION")
    attach = lesson_cmds.add_parser(
        "audio",
        help="attach a recording made on another device (a phone)",
        description="Attach an audio recording (WAV, MP3, M4A, Ogg ...) to a class: it is cut "
        "into Opus segments placed on the lesson's clock. By default it starts with the "
        "class's first event; give --starts-at (the recording's start, ISO 8601) or "
        "--offset-ms (from the first event) to align it. Running it again with the same file "
        "and alignment adds nothing twice.",
    )
    attach.add_argument("class_id", metavar="CLASS_ID")
    attach.add_argument("file", type=Path, metavar="FILE")
    when = attach.add_mutually_exclusive_group()
    when.add_argument(
        "--starts-at",
        metavar="ISO8601",
        help="when the recording started, e.g. 2026-12-01T09:30:00+05:00 (no offset: local time)",
    )
    when.add_argument(
        "--offset-ms",
        type=int,
        metavar="N",
        help="start N ms after the class's first event (negative: before it)",
    )
    _add_store_flags(attach)

    library = commands.add_parser(
        "library",
        help="the lesson library: carry published lessons to and from other schools",
        description="Published lessons travel as a folder of files named by their SHA-256 "
        "and a manifest (library.json); see docs/library.md.",
    )
    library_cmds = library.add_subparsers(dest="library_command", required=True, metavar="ACTION")
    lib_export = library_cmds.add_parser(
        "export",
        help="write the published lessons to a folder (a USB stick)",
        description="Write the published lessons to DIR; writing again adds only new files.",
    )
    lib_export.add_argument("dir", type=Path, metavar="DIR")
    _add_store_flags(lib_export)
    lib_import = library_cmds.add_parser(
        "import",
        help="import the lessons of a folder",
        description="Check every file of DIR against its hash and import the lessons whose "
        "files are all whole (a bad file is named); importing again adds nothing.",
    )
    lib_import.add_argument("dir", type=Path, metavar="DIR")
    _add_store_flags(lib_import)
    lib_pull = library_cmds.add_parser(
        "pull",
        help="fetch another Takhti server's published lessons over HTTP",
        description="Fetch the library of the server at URL (resuming a transfer that was "
        "cut), check every hash and import it.",
    )
    lib_pull.add_argument("url", metavar="URL", help="e.g. http://192.168.1.20:8080")
    _add_store_flags(lib_pull)
    from classroom.export.command import add_parser as add_export_parser

    add_export_parser(commands, _add_store_flags)
    simulate = commands.add_parser(
        "simulate",
        help="fill a class with simulated students (practice, demos, load tests)",
        description="Join a class with N simulated students: real Socket.IO clients that "
        "answer polls and quizzes after human-like delays, raise hands, draw when allowed and "
        "drop off and come back. The same --seed makes the same choices. Prints one JSON "
        "summary line when it stops (at --duration, when the class ends, or on Ctrl-C).",
    )
    from classroom.simulate import add_arguments

    add_arguments(simulate)

    docs = commands.add_parser(
        "docs",
        help="regenerate docs/protocol.md, asyncapi.json, openapi.json and the browser types",
        description="Write the protocol documentation generated from the schemas.",
    )
    docs.add_argument("--out-dir", type=Path, default=Path("docs"))
    docs.add_argument(
        "--ts-out",
        type=Path,
        default=Path("webclient/src/net/protocol.gen.ts"),
        help="the browser types",
    )
    docs.add_argument(
        "--check", action="store_true", help="exit 1 if the files on disk differ from the schemas"
    )
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    return settings.with_overrides(
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        store_url=getattr(args, "store", None),
        data_dir=getattr(args, "data_dir", None),
        public_url=getattr(args, "public_url", None),
        school=getattr(args, "school", None),
    )


def _read_password(confirm: bool) -> str:
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if confirm and getpass.getpass("Again: ") != password:
            raise ClassroomError("the two passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < MIN_PASSWORD_CHARS:
        raise ClassroomError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
    return password


async def _teacher_add(settings: Settings, name: str, password: str) -> None:
    store = open_store(settings.store_url, data_dir=settings.data_dir)
    await store.open()
    try:
        await store.add_teacher(
            TeacherRecord(
                name=name,
                password_hash=hash_password(password),
                created_at=time.time_ns() // 1_000_000,
            )
        )
    finally:
        await store.close()


async def _teacher_passwd(settings: Settings, name: str, password: str) -> None:
    store = open_store(settings.store_url, data_dir=settings.data_dir)
    await store.open()
    try:
        if await store.get_teacher(name) is None:
            raise ClassroomError(f"no teacher named {name!r}")
        await store.set_teacher_password(name, hash_password(password))
    finally:
        await store.close()


def _calm_collector() -> None:
    """Fewer, shorter garbage-collector pauses for a long-running server.

    What exists after start-up (modules, classes, the app) lives as long as the process: frozen,
    it is left out of every later collection. And a full collection waits for 1,000 younger ones
    instead of 10: with a thousand students connected a full pass took 50-300 ms, and one in the
    middle of a vote burst held up every ack in flight (bench/votes.py).
    """
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 1000)


def _serve(settings: Settings) -> None:
    from classroom import logs, netaddr, serving
    from classroom.app import create_app

    logs.configure(settings.log_level)
    app = create_app(settings)
    if settings.host in ("0.0.0.0", "::", ""):
        hosts = netaddr.lan_addresses()
    else:
        hosts = [settings.host] if netaddr.usable(settings.host) else []
    lan_urls = [settings.public_url] if settings.public_url else []
    lan_urls += [f"http://{host}:{settings.port}" for host in hosts]

    async def announce() -> None:
        print(f"Takhti is running (store: {settings.store_url}, data: {settings.data_dir}).")
        # The address tablets open comes first: it is what a teacher reads out or writes up.
        for url in lan_urls:
            print(f"  Students open:     {url}   (teacher: {url}/teacher)")
        if not lan_urls:
            print("  No school network address found: tablets cannot reach this computer.")
            print("  Connect it to the school Wi-Fi or network (then restart), or start with")
            print("  --public-url http://ADDRESS:PORT.")
        print(f"  On this computer:  http://127.0.0.1:{settings.port}/teacher")
        print("Next: open the teacher page on the smartboard. The first time, it asks for a")
        print("teacher name and password (only on this computer); then press 'New class' and")
        print("show the join code or QR code. Students open the same address on their tablets.")
        sys.stdout.flush()

    _calm_collector()
    asyncio.run(
        serving.serve(
            app,
            settings.host,
            settings.port,
            idle_timeout_s=settings.http_idle_timeout_s,
            # One line per request floods the log under attack; kept for debugging only.
            access_log=settings.log_level == "DEBUG",
            on_listening=announce,
        )
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            _serve(_settings(args))
            return 0
        if args.command == "teacher":
            name = check_teacher_name(args.name)
            password = _read_password(confirm=True)
            if args.teacher_command == "add":
                asyncio.run(_teacher_add(_settings(args), name, password))
                print(f"teacher {name!r} added")
            else:
                asyncio.run(_teacher_passwd(_settings(args), name, password))
                print(f"password of {name!r} changed")
            return 0
        if args.command == "lesson":
            from classroom import audio_attach

            return audio_attach.main(args, _settings(args))
        if args.command == "library":
            from classroom import library_travel

            return library_travel.main(args, _settings(args))
        if args.command == "export":
            from classroom.export import command

            return command.main(args, _settings(args))
        if args.command == "simulate":
            from classroom import simulate as sim

            return asyncio.run(sim.run_cli(args))
        if args.command == "docs":
            from classroom import protocol_docs

            return protocol_docs.main(args.out_dir, check=args.check, ts_out=args.ts_out)
    except ClassroomError as exc:
        print(f"classroom: error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
