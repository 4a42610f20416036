"""The stages of a run, in order: each a function of the config and the store that does one step of the job the
way its command does, and says what it did (counts) and how it ended (an exit code). Every stage can be run
again: lists record a version only when their content changed, ingest skips files already read, match and
crawl are incremental, exports and bundles are written atomically and bundles are prepared once per URL."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from crawler.run.config import CorpusSource, RunConfig
from crawler.run.outcome import ExitCode, crawl_outcome, outcome

STAGES = ("lists", "ingest", "match", "crawl", "exports", "bundles", "html")


@dataclass
class StageResult:
    counts: dict = field(default_factory=dict)
    exit_code: ExitCode = ExitCode.OK
    lines: list[str] = field(default_factory=list)  # what the stage says, a line each


def _is_url(source: str) -> bool:
    return "://" in source


def lists_stage(config: RunConfig, db: Path) -> StageResult:
    from pipelines.lists import EmptyList, FetchError, SuspiciousVersion, add_list

    result = StageResult(counts={"loaded": 0, "unchanged": 0, "failed": 0})
    for listed in config.lists:
        source = listed.source if _is_url(listed.source) else str(config.resolve(listed.source))
        list_format = f"hashes-{listed.algo}" if listed.kind == "hash" else listed.format
        try:
            load = add_list(
                db,
                listed.name,
                source,
                list_type="block" if listed.kind == "hash" else listed.kind,
                list_format=list_format,
                category=listed.category,
                subdomains=listed.subdomains,
                force=listed.force,
                two_reviewers=listed.two_reviewers,
                reportable=listed.reportable,
            )
        except (FetchError, EmptyList, SuspiciousVersion) as error:  # the list keeps its current version
            result.counts["failed"] += 1
            result.exit_code = ExitCode.INPUTS_FAILED
            result.lines.append(f"list {listed.name}: {error}")
            continue
        kept = load.unchanged or load.not_modified
        result.counts["unchanged" if kept else "loaded"] += 1
        result.lines.append(f"{load.kind} {listed.name}: {'unchanged' if kept else f'version {load.version}'}")
    return result


def corpus_specs(config: RunConfig, corpus: CorpusSource) -> list[str]:
    """The sources of one [[corpus]] as `linksweep ingest` takes them: local paths and patterns resolved against
    the config's folder (expand_sources expands the patterns, as for the command line); remote forms as they
    are."""
    return [
        spec if _is_url(spec) or spec.startswith(("cc:", "@")) else str(config.resolve(spec)) for spec in corpus.specs()
    ]


def ingest_stage(config: RunConfig, db: Path) -> StageResult:
    from crawler.ingest import DEFAULT_CC_BASE_URL, RemoteOptions, expand_sources, ingest

    sources: list = []
    for corpus in config.corpus:  # each [[corpus]] with its own sample, seed, base URL and network rules
        options = RemoteOptions(
            allow_http=corpus.allow_http, allow_network=corpus.allow_network, s3_endpoint_url=corpus.s3_endpoint_url
        )
        sources += expand_sources(
            corpus_specs(config, corpus),
            sample=corpus.sample,
            seed=corpus.seed,
            cc_base_url=corpus.base_url or DEFAULT_CC_BASE_URL,
            options=options,
        )
    remote = RemoteOptions(
        allow_http=any(corpus.allow_http for corpus in config.corpus),
        allow_network=tuple(dict.fromkeys(network for corpus in config.corpus for network in corpus.allow_network)),
        s3_endpoint_url=next((corpus.s3_endpoint_url for corpus in config.corpus if corpus.s3_endpoint_url), None),
    )
    summary = ingest(
        db,
        config.snapshot,
        sources,
        workers=config.workers,
        show_progress=None,
        remote=remote,
        engine=config.engine.name,
        ray_address=config.engine.ray_address,
    )
    counts = {
        "files": summary.files,
        "skipped": summary.skipped,
        "documents": summary.documents,
        "links": summary.links,
    }
    counts["problems"] = len(summary.problems)
    # the inputs the sources expanded to (a crawl's sample can be thousands of files): how many, and a digest
    # of their sorted names, so that two runs can be told to have read the same inputs
    names = sorted(str(getattr(source, "url", source)) for source in sources)
    counts["sources"] = len(names)
    counts["sources_sha256"] = hashlib.sha256("\n".join(names).encode()).hexdigest()
    return StageResult(counts, ExitCode.INPUTS_FAILED if summary.failed else ExitCode.OK, [summary.line()])


def match_stage(config: RunConfig, db: Path) -> StageResult:
    from crawler.engines import match_engine
    from pipelines.matching import match_snapshot
    from pipelines.store import open_store
    from pipelines.verdicts import DEFAULT_FLOOD_FACTOR, DEFAULT_FLOOD_URLS, FloodPolicy

    policy = FloodPolicy(
        config.match.flood_urls or DEFAULT_FLOOD_URLS, config.match.flood_factor or DEFAULT_FLOOD_FACTOR
    )
    engine = match_engine(config.engine.name, config.engine.ray_address)
    try:
        with open_store(db, create=False) as con:
            summary = match_snapshot(con, config.snapshot, policy, engine)
    finally:
        if engine is not None:
            engine.close()
    verdicts = summary.verdicts
    counts = {"urls_listed": summary.urls_matched, "verdicts_added": verdicts.added, "states": verdicts.states}
    code = ExitCode.REVIEW_NEEDED if verdicts.awaiting_review else ExitCode.OK
    return StageResult(counts, code, [summary.line(), *verdicts.lines()])


def crawl_stage(config: RunConfig, db: Path) -> StageResult:
    settings = config.crawl
    if not settings.enabled:
        return StageResult({"enabled": False}, ExitCode.OK, ["crawl: not enabled in the config"])
    from crawler.crawl import CrawlOptions, crawl_snapshot

    assignments = [f"LINKSWEEP_STATIC_HOSTS={json.dumps(settings.static_hosts)}"] if settings.static_hosts else []
    defaults = CrawlOptions()
    options = CrawlOptions(
        concurrency=settings.concurrency or defaults.concurrency,
        per_host=settings.per_host or defaults.per_host,
        timeout=settings.timeout or defaults.timeout,
        assignments=assignments,
    )
    hash_services = str(config.resolve(settings.hash_services)) if settings.hash_services else None
    summary = crawl_snapshot(
        db,
        config.snapshot,
        options,
        processes=settings.processes,  # None: every core, as `linksweep crawl`
        limit=settings.limit,
        verbosity=-1,
        allow_network=list(settings.allow_network),
        hash_content=settings.hash_content,
        hash_services=hash_services,
        engine=config.engine.name,
        ray_address=config.engine.ray_address,
    )
    code = crawl_outcome(summary)
    counts = {"queued": summary.queued, "outcomes": summary.outcomes, "unchecked": summary.unchecked}
    return StageResult(counts, code, [summary.line(), *summary.verdicts.lines(), *summary.warnings()])


def exports_stage(config: RunConfig, db: Path) -> StageResult:
    from pipelines.export import Redaction, export_snapshot, manifest_path

    result = StageResult(counts={"files": 0, "rows": 0})
    codes = []
    for target in config.exports:
        out = config.resolve(target.path)
        redaction = Redaction.asked_for(target.redact, target.hmac_key_env, dict(os.environ))
        written = export_snapshot(db, config.snapshot, out, redaction, target.include_review)
        result.counts["files"] += 1
        result.counts["rows"] += written.rows
        codes.append(ExitCode.REVIEW_NEEDED if written.awaiting_review else ExitCode.OK)
        result.lines.append(f"wrote {written.rows:,} removals to {out} (manifest: {manifest_path(out)})")
    result.exit_code = outcome(*codes)
    return result


def bundles_stage(config: RunConfig, db: Path) -> StageResult:
    from pipelines.reports import load_reporter, prepare_bundle
    from pipelines.store import open_store

    result = StageResult(counts={"bundles": 0, "reports": 0})
    for target in config.bundles:
        reporter = load_reporter(config.resolve(target.reporter)) if target.reporter else None
        with open_store(db, create=False) as con:
            summary = prepare_bundle(
                con,
                config.snapshot,
                target.profile,
                config.resolve(target.out),
                include_auto=target.include_auto,
                reporter=reporter,
                xsd=config.resolve(target.xsd) if target.xsd else None,
            )
        result.counts["bundles"] += 1 if summary.bundle_id else 0
        result.counts["reports"] += summary.reports
        result.lines.append(summary.line())
    return result


def html_stage(config: RunConfig, db: Path) -> StageResult:
    if not config.report.html:
        return StageResult({"written": False}, ExitCode.OK, ["html: no [report] html in the config"])
    from pipelines.reports import write_html_report
    from pipelines.store import open_store

    out = config.resolve(config.report.html)
    with open_store(db, read_only=True) as con:
        write_html_report(con, config.snapshot, out, redact=config.report.redact)
    return StageResult({"written": True}, ExitCode.OK, [f"wrote the report {out}"])


STAGE_FUNCTIONS: dict[str, Callable[[RunConfig, Path], StageResult]] = {
    "lists": lists_stage,
    "ingest": ingest_stage,
    "match": match_stage,
    "crawl": crawl_stage,
    "exports": exports_stage,
    "bundles": bundles_stage,
    "html": html_stage,
}
