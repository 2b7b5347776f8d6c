"""The argument parser, built from the SDK's method signatures (stdlib argparse).

`COMMANDS` is the only table: subcommand -> `Influencers` method. Every other option of a
subcommand comes from that method's keyword-only parameters and their annotations (see
_options), so an endpoint added to the SDK is one line here.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any, NoReturn

from .. import MAX_CONCURRENCY, MAX_PAGE_SIZE, Influencers, KeyAPI, __version__
from ._errors import PROG, UsageError
from ._options import Param, Signature, sdk_default, signature_of
from ._output import FORMATS
from ._shared_state import add_shared_state_options

__all__ = ["COMMANDS", "build_parser", "normalize_argv"]

# subcommand of `keyapi-async influencers` -> method of keyapi_async.Influencers
COMMANDS: dict[str, str] = {
    "list": "list",
    "detail": "detail",
    "videos": "videos",
    "ranking": "ranking",
    "livestreams": "livestreams",
}


_PAGING_HELP = {
    "limit": "stop after N records (no page is bought that they do not need)",
    "max_pages": "stop after N pages",
    "page_size": f"records per page, 1..{MAX_PAGE_SIZE} (default %(default)s)",
    "start_page": "the first page to fetch (default %(default)s)",
    "concurrency": f"pages in flight at once, 1..{MAX_CONCURRENCY} (default %(default)s)",
}

# Optional: shown under a subcommand's --help.
_EXAMPLES = {
    "list": f"{PROG} influencers list --region US --influencer-category-name Beauty "
    "--min-total-followers-cnt 50000 -o beauty.jsonl",
    "detail": f"{PROG} influencers detail --unique-ids bible._.verse --ids-file ids.txt -o d.jsonl",
    "videos": f"{PROG} influencers videos --unique-id bible._.verse --influencer-video-sort-field "
    "total_views_cnt --sort-type desc --limit 100",
    "ranking": f"{PROG} influencers ranking --date 2025-06-02 --region US --rank-type week "
    "--influencer-rank-field total_followers_cnt --limit 50 --format csv -o top.csv",
    "livestreams": f"{PROG} influencers livestreams --user-id 7288986759428588590",
}

_DESCRIPTION = """\
Pull KeyAPI's TikTok influencer analytics into JSON Lines, CSV, Parquet or SQLite.

The API key is read from KEYAPI_API_KEY (or KEYAPI_TOKEN); --sandbox needs none. Every request
costs one credit. Writing to a file keeps FILE.checkpoint beside it: an interrupted run continues
with --resume, without buying a page twice.
"""

_EPILOG = """\
example:
  keyapi-async --sandbox influencers list --region US --limit 500 --output influencers.jsonl

exit codes: 0 ok, 2 bad usage or invalid parameter, 3 no key / 401 / 402 / --max-credits reached,
4 other API or network failure (after retries), 5 done but some creators failed (listed in
FILE.failures.jsonl), 130 interrupted, 141 stdout closed by its reader.
"""


class _Parser(argparse.ArgumentParser):
    """argparse with errors raised as one-line UsageError instead of usage + exit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see: {self.prog} --help)")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=40, width=100)


def _add_common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """Options accepted both before and after the subcommand.

    On the subcommands their default is SUPPRESS, so a value given before the subcommand is
    not overwritten by the subcommand's default.
    """

    def default(value: Any) -> Any:
        return value if top else argparse.SUPPRESS

    out = parser.add_argument_group("output")
    out.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        default=default(None),
        help="write to FILE (default: stdout); FILE.checkpoint is kept beside it while running",
    )
    out.add_argument(
        "--format",
        choices=FORMATS,
        default=default("jsonl"),
        help="jsonl (default); csv (the documented field names as header); parquet (typed "
        "columns; pip install 'keyapi-async[parquet]'); sqlite (a table per endpoint, upserted "
        "on the record's key, so reruns add no duplicates); parquet and sqlite need --output",
    )
    out.add_argument(
        "--fields",
        metavar="A,B,...",
        default=default(None),
        help="only these fields, in this order (jsonl, csv, parquet); the documented names",
    )
    out.add_argument(
        "--resume",
        action="store_true",
        default=default(False),
        help="continue an interrupted run from FILE.checkpoint (same command, same parameters); "
        "when done the checkpoint is kept, marked complete, so a rerun buys nothing",
    )
    out.add_argument(
        "--no-progress",
        action="store_true",
        default=default(False),
        help="no progress line on stderr (it is only drawn when stderr is a terminal)",
    )
    out.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=default(False),
        help="no summary line on stderr at the end (errors are still reported)",
    )
    add_shared_state_options(parser, default)
    client = parser.add_argument_group("client")
    client.add_argument(
        "--sandbox",
        action="store_true",
        default=default(False),
        help="run against an embedded fake API with a deterministic dataset; no key needed",
    )
    client.add_argument(
        "--api-key",
        metavar="KEY",
        default=default(None),
        help="the API key (default: env KEYAPI_API_KEY or KEYAPI_TOKEN; prefer those: "
        "a command line is visible to other users)",
    )
    client.add_argument(
        "--base-url",
        metavar="URL",
        default=default(None),
        help="API root (default: env KEYAPI_BASE_URL, else KEYAPI_API_BASE_URL, else https://api.keyapi.ai)",
    )
    client.add_argument(
        "--qps",
        metavar="X",
        default=default(None),
        help=f"requests started per second at most (default {sdk_default(KeyAPI, 'qps')}; "
        "0: no pacing; the sandbox default is no pacing)",
    )
    client.add_argument(
        "--max-credits",
        metavar="N",
        default=default(None),
        help="send at most N requests in this run, retries included (exit 3 when reached)",
    )
    client.add_argument(
        "--max-retries",
        metavar="N",
        default=default(None),
        help="retries of a failed request (429, 5xx, network) after the first try "
        f"(default {sdk_default(KeyAPI, 'max_retries')})",
    )
    client.add_argument(
        "--timeout",
        metavar="SECONDS",
        default=default(None),
        help=f"seconds for one whole attempt (default {sdk_default(KeyAPI, 'timeout')})",
    )


def _add_plan_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """--dry-run: before or after the subcommand, like the other common options."""
    parser.add_argument(
        "--dry-run",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="send nothing: print the requests the command would make and the most credits "
        "they can cost",
    )


_FAN_OUT = {"videos", "livestreams"}  # one creator's listing: also for many (videos_many, ...)


def _add_fan_out(query: Any) -> None:
    query.add_argument(
        "--user-ids",
        dest="user_ids_many",
        metavar="ID,ID,...",
        help="many creators (comma-separated): their pages in one pull, each line with its "
        f"user_id; --limit and --max-pages count per creator (default concurrency "
        f"{sdk_default(Influencers.videos_many, 'concurrency')})",
    )
    query.add_argument(
        "--ids-file",
        metavar="FILE",
        help="more creators, one per line ('-': stdin): a user ID, or a JSON object with a "
        "user_id (a line of `influencers list` output)",
    )


def _add_param(
    group: Any, param: Param, help_text: str | None = None, *, optional: bool = False
) -> None:
    text = help_text if help_text is not None else param.describe()
    group.add_argument(
        param.flag,
        dest=param.name,
        metavar=param.metavar,
        required=param.required and not optional,
        default=param.default,
        help=text or None,
    )


def _add_command(commands: Any, name: str, signature: Signature) -> None:
    required = " ".join(f"{p.flag} {p.metavar}" for p in signature.params if p.required)
    example = _EXAMPLES.get(name)
    sub = commands.add_parser(
        name,
        help=signature.summary,
        description=signature.summary,
        usage=f"%(prog)s {required} [options]".replace("  ", " "),
        epilog=f"example:\n  {example}" if example else None,
        formatter_class=_Formatter,
    )
    query = sub.add_argument_group("query parameters (the documented names)")
    fan_out = name in _FAN_OUT
    for param in signature.query_params:
        # with --user-ids / --ids-file, the one creator's --user-id is not needed
        _add_param(query, param, optional=fan_out and param.name == "user_id")
    if fan_out:
        _add_fan_out(query)
    paging = sub.add_argument_group("paging")
    for param in signature.paging_params:
        _add_param(paging, param, _PAGING_HELP.get(param.name, ""))
    if not signature.paginated:
        query.add_argument(
            "--ids-file",
            metavar="FILE",
            help="more IDs, one per line ('-': stdin): all digits: a user ID, else a handle; "
            "or a JSON object with a user_id (a line of `influencers list` output)",
        )
        paging.add_argument(
            "--batch-size",
            metavar="N",
            default=sdk_default(KeyAPI, "detail_batch_size"),
            help="IDs per request, 1..100 (default %(default)s); a batch is the unit of --resume",
        )
        paging.add_argument(
            "--concurrency",
            metavar="N",
            default=sdk_default(Influencers.detail_stream, "concurrency"),
            help=f"requests in flight at once, 1..{MAX_CONCURRENCY} (default %(default)s)",
        )
    _add_common(sub, top=False)
    _add_plan_options(sub, top=False)
    sub.set_defaults(signature=signature)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG, description=_DESCRIPTION, epilog=_EPILOG, formatter_class=_Formatter
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    _add_common(parser, top=True)
    _add_plan_options(parser, top=True)
    groups = parser.add_subparsers(dest="group", metavar="influencers", required=True)
    influencers = groups.add_parser(
        "influencers",
        help="TikTok influencer analytics: " + ", ".join(COMMANDS),
        description="TikTok influencer analytics.",
        formatter_class=_Formatter,
    )
    commands = influencers.add_subparsers(
        dest="command", metavar="{" + ",".join(COMMANDS) + "}", required=True
    )
    for name, method in COMMANDS.items():
        _add_command(commands, name, signature_of(method))
    return parser


def normalize_argv(argv: Sequence[str]) -> list[str]:
    """Accept the documented spelling too: `--min_total_followers_cnt` = `--min-total-...`."""
    out: list[str] = []
    options = True
    for arg in argv:
        if arg == "--":
            options = False
        elif options and arg.startswith("--") and "_" in arg.split("=", 1)[0]:
            name, sep, value = arg.partition("=")
            arg = name.replace("_", "-") + sep + value
        out.append(arg)
    return out
