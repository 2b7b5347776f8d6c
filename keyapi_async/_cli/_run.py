"""Running one parsed command: key, sandbox, client, job, output, checkpoint, progress, signals.

Signals: the first SIGINT or SIGTERM stops starting pages; the pages already in flight are
awaited, written and checkpointed (they are paid for), then the run exits 130. So a resumed run
buys no page twice. A second signal cancels what is still in flight at once (exit 130 too); the
checkpoint then still names the last page written.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from .. import KeyAPI
from ._checkpoint import Checkpoint, checkpoint_path, remove, save, start_state
from ._errors import EXIT_PARTIAL, PROG, MissingKeyError, UsageError
from ._failures import report_failures
from ._fanjob import FanOutJob
from ._ids import read_ids_file
from ._jobs import DetailJob, Job, PagedJob
from ._lock import output_lock
from ._options import Signature, sdk_default
from ._output import Output, plan
from ._plan import print_plan
from ._progress import Progress
from ._shared_state import check_shared_state, shared_state
from ._summary import summary

__all__ = ["SANDBOX_INFLUENCERS", "SANDBOX_SEED", "Runner"]

# The sandbox dataset: 10,000 generated influencers (6,252 in the US) plus the 7 of the reference
# pages' examples, each with its videos, livestreams and rankings generated on demand. Built in
# about 0.3 s.
SANDBOX_INFLUENCERS = 10_000
SANDBOX_SEED = 0
_OFF = frozenset({"0", "off", "none"})


def _number(raw: str | None, kind: type[int] | type[float]) -> Any:
    """`raw` converted, or unchanged when it does not convert (the SDK then refuses it)."""
    if raw is None:
        return None
    try:
        return kind(raw.strip())
    except ValueError:
        return raw


class Runner:
    """One command run. `signals` counts SIGINT/SIGTERM received; see the module doc."""

    def __init__(self, args: argparse.Namespace, stderr: TextIO) -> None:
        self.args = args
        self.stderr = stderr
        self.signals = 0
        self.output: Path | None = None if args.output in (None, "-") else Path(args.output)
        self.state: Checkpoint | None = None
        self.job: Job | None = None
        self.progress: Progress | None = None
        self.out: Output | None = None
        self.file_ids: list[tuple[str, str]] = []  # --ids-file, read before the job is made

    # --- signals and reporting -----------------------------------------------------

    @property
    def started(self) -> bool:
        """A job is running: a first signal lets its pages in flight finish."""
        return self.job is not None

    def request_stop(self) -> None:
        """First signal: start no new page, finish the ones in flight."""
        if self.job is not None:
            self.job.stop()
        if self.progress is not None:
            self.progress.note = "stopping after the pages in flight (again to abort)"

    def whereabouts(self) -> str:
        """What is on disk and how to continue, for an error or interruption line."""
        state = self.state
        if state is None:
            return ""  # not started: nothing sent, nothing written
        if state.pages == 0:
            return "nothing was written"
        if self.output is None:
            return f"{state.items} records were written to stdout"
        if isinstance(self.job, FanOutJob):
            done = sum(1 for c in state.creators.values() if c.done or c.failed)
            return (
                f"{state.items} records written to {self.output} ({done} creators finished); "
                "rerun the same command with --resume to continue each from its next page"
            )
        return (
            f"{state.items} records written to {self.output}; rerun the same command "
            f"with --resume to continue from page {(state.last_page or 0) + 1}"
        )

    # --- the run -------------------------------------------------------------------

    async def run(self) -> int:
        args = self.args
        signature: Signature = args.signature
        if args.resume and self.output is None:
            raise UsageError("--resume needs --output FILE: the checkpoint is kept beside it")
        if args.sandbox and args.base_url:
            raise UsageError("--sandbox runs against an embedded fake API: drop --base-url")
        check_shared_state(args)
        ids_file = getattr(args, "ids_file", None)
        if ids_file:
            self.file_ids = await read_ids_file(ids_file)
        query = {
            param.name: param.convert(raw)
            for param in signature.query_params
            if (raw := getattr(args, param.name)) is not None
        }
        self.out = plan(  # before anything starts: a missing extra or a bad --fields is exit 2
            args.format,
            args.fields,
            model=signature.model,
            command=f"{args.group} {signature.method}",
            path=self.output,
            query=query,
        )
        if args.dry_run:
            return await self._dry_run(signature, query)
        stack = contextlib.AsyncExitStack()  # the sandbox, then the client: closed in reverse
        stack.enter_context(output_lock(self.output))  # one run per output file
        try:
            client, source = await self._connect(stack, signature)
            job = self._job(client, signature, query)
            return await self._pull(client, job, source)
        finally:
            await stack.aclose()

    async def _dry_run(self, signature: Signature, query: dict[str, Any]) -> int:
        """Validate the command and print its plan: no sandbox, no session, no request."""
        options = self._client_options(signature)
        key = self._key() if not self.args.sandbox else None
        client = KeyAPI(key or "dry-run", base_url=self.args.base_url, **options)
        try:
            job = self._job(client, signature, query)
            command = f"influencers {signature.method}"
            print_plan(
                sys.stdout,
                command,
                job.plan(),
                max_credits=options.get("max_credits"),
                max_retries=options.get("max_retries", int(sdk_default(KeyAPI, "max_retries"))),
            )
        finally:
            await client.aclose()
        return 0

    def _key(self) -> str | None:
        env = os.environ
        return self.args.api_key or env.get("KEYAPI_API_KEY") or env.get("KEYAPI_TOKEN")

    def _client_options(self, signature: Signature) -> dict[str, Any]:
        args = self.args
        options: dict[str, Any] = {}
        if args.qps is not None:
            options["qps"] = None if args.qps.strip().lower() in _OFF else _number(args.qps, float)
        for name, kind in (("max_credits", int), ("max_retries", int), ("timeout", float)):
            value = getattr(args, name)
            if value is not None:
                options[name] = _number(value, kind)
        if not signature.paginated:
            options["detail_batch_size"] = _number(args.batch_size, int)
        return options

    async def _connect(
        self, stack: contextlib.AsyncExitStack, signature: Signature
    ) -> tuple[KeyAPI, str]:
        args = self.args
        options = self._client_options(signature)
        qps = options.get("qps", float(sdk_default(KeyAPI, "qps")))
        shared = await shared_state(args, stack, qps=qps, max_credits=options.get("max_credits"))
        if "limiter" in shared:
            options.pop("qps", None)  # the fleet's limiter paces at it
        if "budget" in shared:
            options.pop("max_credits", None)  # the fleet's budget holds it
        options.update(shared)
        if args.sandbox:
            from ..testing import FakeKeyAPI  # only now: aiohttp.web and the dataset cost time

            fake = FakeKeyAPI(influencers=SANDBOX_INFLUENCERS, seed=SANDBOX_SEED)
            await stack.enter_async_context(fake)
            options.setdefault("qps", None)  # the sandbox has no plan to stay under
            client = KeyAPI(fake.api_key, base_url=fake.url, **options)
            source = f"sandbox(seed={SANDBOX_SEED}, influencers={SANDBOX_INFLUENCERS})"
        else:
            key = self._key()
            if not key:
                raise MissingKeyError(
                    "no API key: set KEYAPI_API_KEY (or pass --api-key), or try --sandbox"
                )
            client = KeyAPI(key, base_url=args.base_url, **options)
            source = client.base_url
        await stack.enter_async_context(client)
        return client, source

    def _job(self, client: KeyAPI, signature: Signature, query: dict[str, Any]) -> Job:
        args = self.args
        group = args.group
        ids_file = getattr(args, "ids_file", None)
        fan_out = bool(getattr(args, "user_ids_many", None) or ids_file is not None)
        file_ids = self.file_ids
        if signature.paginated:
            paging = {
                param.name: param.convert(raw)
                for param in signature.paging_params
                if (raw := getattr(args, param.name)) is not None
            }
            if not fan_out:
                for param in signature.query_params:
                    if param.required and getattr(args, param.name) is None:
                        raise UsageError(
                            f"the following arguments are required: {param.flag} "
                            "(or --user-ids / --ids-file for many creators)"
                        )
                return PagedJob(client, group, signature, query, paging)
            given = args.user_ids_many.split(",") if args.user_ids_many else []
            ids = [(f"user_ids[{i}]", raw.strip()) for i, raw in enumerate(given)] + file_ids
            raw = getattr(args, "concurrency", None)
            workers = _number(raw, int) if isinstance(raw, str) else None  # given, or the SDK's
            paging.pop("concurrency", None)
            return FanOutJob(client, group, signature, query, paging, ids, workers)
        concurrency = _number(args.concurrency, int)
        return DetailJob(client, group, signature, query, file_ids, concurrency)

    async def _pull(self, client: KeyAPI, job: Job, source: str) -> int:
        args = self.args
        out = self.out
        assert out is not None
        identity = {**job.identity, "format": args.format, "source": source}
        if out.fields is not None:
            identity["fields"] = out.fields
        ckpt = checkpoint_path(self.output) if self.output is not None else None
        state = start_state(identity, ckpt, self.output, resume=args.resume)
        enabled = not args.no_progress and bool(getattr(self.stderr, "isatty", bool)())
        progress = Progress(self.stderr, client.usage, enabled=enabled, total=job.total)
        if state is None:
            if not args.quiet:
                self.stderr.write(f"{PROG}: {self.output} is already complete; nothing to do\n")
            return 0
        resuming = state.pages > 0
        before = (state.pages, state.items)
        sink = out.open(
            self.output,
            keep_bytes=state.bytes,
            keep_records=state.items,
            page_size=getattr(job, "page_size", None),
        )
        self.state = state
        self.progress = progress
        progress.add(state.pages, state.items)
        started = time.monotonic()
        pages = job.pages(state)
        complete = pages is None
        try:
            if resuming and self.output is not None:
                job.resumed(self.output, args.format)
            progress.start()
            if pages is not None:
                self.job = job
                if self.signals:
                    job.stop()
                async for page in pages:
                    items, complete = job.accept(page, state)
                    sink.write(page.page_num, items)
                    state.pages += 1
                    state.items += len(items)
                    state.bytes = sink.size
                    state.complete = complete
                    if ckpt is not None and sink.durable:
                        save(ckpt, state)  # after the page is written: it never claims too much
                    progress.add(1, len(items))
                    if complete:
                        break
                # A listing that ends at an empty page ends without one more page to write.
                complete = complete or job.end(state)
            if complete:
                sink.finish()
                state.bytes = sink.size
        finally:
            await job.aclose()
            await progress.close()
            sink.close()
            if ckpt is not None and not sink.durable and state.pages:
                save(ckpt, state)  # the pages are in the output only now (Parquet's footer)
            failed = report_failures(self.stderr, state, self.output)
        if not complete:
            self.stderr.write(f"{PROG}: interrupted: {self.whereabouts()}\n")
            return 130
        if ckpt is not None:
            if args.resume:
                state.complete = True
                save(ckpt, state)
            else:
                remove(ckpt)
        if not args.quiet:
            self.stderr.write(
                summary(
                    client.usage,
                    pages=state.pages - before[0],
                    records=state.items - before[1],
                    total=state.items,
                    where=str(self.output or "stdout"),
                    region=out.query.get("region"),
                    elapsed=time.monotonic() - started,
                )
                + "\n"
            )
        return EXIT_PARTIAL if failed else 0
