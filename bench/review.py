"""Benchmark of the `linksweep review` commands on a store with 1,000,000 verdicts (issue 17: "the review
commands answer in under a second").

Generates once (cached under bench/review-data/) a store whose verdicts are made in SQL straight into
`verdicts` (ids by pipelines.verdicts.VERDICT_ID_SQL): 2 snapshots, 3 lists (one with two reviewers, one of
content hashes), ~50k list entries with a skewed popularity (the largest host has thousands of verdicts),
~200k hosts under reserved names, a few percent quarantined, confirmed, rejected, suppressed and expired, made
consistent by the real rule engine (pipelines.verdicts.apply_rules) over a few thousand review rules, each with
its audit log row. Then times each review command as a whole process, the way a user runs it
(`python -m crawler.cli --db DB review ...`), in rounds: each round runs every command once, in turn, and the
review actions of a round are undone (untimed, through pipelines.verdicts.undo) before the next, so every
round does the same real work on the same states. Prints each command's median, min and max, and the start-up
floor (`linksweep --version`). Never asserts a time.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_DIR = Path(__file__).resolve().parent
DATA_DIR = BENCH_DIR / "review-data"
GENERATOR_VERSION = 2
SNAPSHOTS = ("BENCH-REVIEW-2026-40", "BENCH-REVIEW-2026-44")
# name, list_type, category, format, two_reviewers, versions
LISTS = (
    ("hotline-domains", "block", "csam", "domains", True, 2),
    ("phishing-domains", "block", "phishing", "domains", False, 2),
    ("malware-hashes", "block", "malware", "sha256", False, 1),
)
REVIEWERS = ("alice", "bob", "carol", "dave")


def _shape(args: argparse.Namespace) -> dict:
    return {"verdicts": args.verdicts, "entries": args.entries, "generator": GENERATOR_VERSION}


# ---------------------------------------------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------------------------------------------

# one row per verdict: entry e (skewed: entry 0 is the most popular), its list (by e), the host under it
# (a domain entry: one of up to 8 subdomains of e<e>.test, skewed to the first; a hash entry: one of 20k CDN
# hosts under example.org), and the state the lists give it (3% quarantined entries, 3% expired)
_GENERATE_SQL = """
CREATE TEMP TABLE gen AS
SELECT i, e,
       CASE WHEN e % 10 IN (1, 4, 8) THEN 'hotline-domains' WHEN e % 10 IN (3, 6) THEN 'malware-hashes'
            ELSE 'phishing-domains' END AS list_name,
       (floor(pow((hash(i, 'sub') % 1000003) / 1000003.0, 2) * 8))::INTEGER AS sub,
       hash(i, 'cdn') % 20000 AS cdn,
       hash(i, 'expired') % 1000 < 30 AS expired,
       hash(i, 'redirect') % 20 = 0 AS redirected
FROM (SELECT i, (floor(pow((hash(i, 'entry') % 1000003) / 1000003.0, 3) * {entries}))::INTEGER AS e
      FROM range({verdicts}) AS r(i));

CREATE TEMP TABLE decisions AS
SELECT i, e, CASE WHEN i % 2 = 0 THEN '{snapshot_a}' ELSE '{snapshot_b}' END AS snapshot, list_name,
       CASE WHEN list_name = 'malware-hashes' THEN 'sha256' ELSE 'domain' END AS entry_kind,
       CASE WHEN list_name = 'malware-hashes' THEN sha256('bench-sample-' || e) ELSE 'e' || e || '.test' END AS entry,
       CASE WHEN list_name = 'malware-hashes' THEN 'cdn' || cdn || '.example.org'
            WHEN sub = 0 THEN 'www.e' || e || '.test' ELSE 'h' || sub || '.e' || e || '.test' END AS host,
       CASE WHEN list_name = 'malware-hashes' THEN 'content-hash' WHEN redirected THEN 'redirect' ELSE 'static' END
           AS detected_via,
       expired
FROM gen;

INSERT INTO verdicts (verdict_id, snapshot, url, host, list_name, category, entry, entry_kind, detected_via,
                      expression, version_id, list_version, evidence, origin, in_force, state)
SELECT {verdict_id_sql} AS verdict_id, snapshot, url, host, list_name, l.category, entry, entry_kind, detected_via,
       CASE WHEN entry_kind = 'sha256' THEN entry ELSE regexp_replace(host, '^(www|h[0-9])\\.', '') || '/' END,
       v.version_id, v.version,
       CASE detected_via
           WHEN 'content-hash' THEN '[{{"algorithm": "sha256", "distance": 0, "hash": "' || entry || '"}}]'
           WHEN 'redirect' THEN '[{{"redirect_chain": ["https://r' || (i % 97) || '.example.org/go?' || i
                                 || '", "' || url || '"]}}]'
           ELSE '[{{"expression": "' || entry || '/"}}]' END,
       CASE WHEN e % 20 = 7 THEN 'needs_review' ELSE 'auto' END, NOT expired,
       CASE WHEN expired THEN 'expired' WHEN e % 20 = 7 THEN 'needs_review' ELSE 'auto' END
FROM (SELECT *, 'https://' || host || '/' || CASE WHEN entry_kind = 'sha256' THEN 'media/' ELSE 'p/' END
                || i || '.html' AS url FROM decisions) AS d
JOIN lists AS l ON l.name = d.list_name
JOIN (SELECT list_name, max(version_id) AS version_id, max(version) AS version FROM list_versions GROUP BY 1) AS v
    USING (list_name);
"""

# review rules (each with its audit row): entry-wide confirmations of half the quarantined entries; verdict
# confirmations and rejections; host, entry and URL rejections; on the two-reviewer list, some rejections with
# one reviewer only (pending) and some with two; a few undone
_RULES_SQL = """
CREATE TEMP TABLE planned AS
SELECT * FROM (
    SELECT 'confirm' AS decision, 'entry' AS scope, arg_min(verdict_id, verdict_id) AS verdict_id FROM verdicts
    WHERE origin = 'needs_review' AND hash(entry, 'release') % 2 = 0 GROUP BY list_name, entry_kind, entry
    UNION ALL
    SELECT 'confirm', 'verdict', verdict_id FROM verdicts WHERE hash(verdict_id, 'c') % 400 = 0
    UNION ALL
    SELECT 'reject', 'verdict', verdict_id FROM verdicts WHERE hash(verdict_id, 'r') % 400 = 0
    UNION ALL
    SELECT 'reject', 'host', arg_min(verdict_id, verdict_id) FROM verdicts
    WHERE hash(host, 'h') % 400 = 0 AND host NOT LIKE 'www.e0.%' GROUP BY host
    UNION ALL
    SELECT 'reject', 'entry', arg_min(verdict_id, verdict_id) FROM verdicts
    WHERE hash(entry, 'e') % 50 = 0 AND entry <> 'e0.test' GROUP BY list_name, entry_kind, entry
    UNION ALL
    SELECT 'reject', 'url', verdict_id FROM verdicts WHERE hash(verdict_id, 'u') % 5000 = 0
) ORDER BY hash(verdict_id, scope);

INSERT INTO review_rules (rule_id, decision, scope, verdict_id, snapshot, list_name, entry_kind, entry, url, host,
                          reason, note, reviewers, created_at, until, revoked_at)
SELECT nextval('review_rule_id_seq'), p.decision, p.scope, v.verdict_id, v.snapshot,
       CASE WHEN p.scope = 'entry' THEN v.list_name END, CASE WHEN p.scope = 'entry' THEN v.entry_kind END,
       CASE WHEN p.scope = 'entry' THEN v.entry END, CASE WHEN p.scope = 'url' THEN v.url END,
       CASE WHEN p.scope = 'host' THEN v.host END,
       CASE WHEN p.decision = 'reject' THEN ['false_positive', 'benign_context', 'list_error', 'other'][
           (hash(v.verdict_id) % 4)::INTEGER + 1] END,
       'bench rule', CASE WHEN v.list_name = 'hotline-domains' AND p.decision = 'reject' AND hash(v.verdict_id) % 2 = 0
                          THEN ['alice', 'bob'] ELSE [{reviewers}[(hash(v.verdict_id, 'who') % 4)::INTEGER + 1]] END,
       TIMESTAMP '2026-11-01' + to_seconds((hash(v.verdict_id, 't') % 2500000)::BIGINT),
       CASE WHEN hash(v.verdict_id, 'until') % 10 = 0 THEN TIMESTAMP '2027-06-01' END,
       CASE WHEN hash(v.verdict_id, 'undo') % 50 = 0 THEN TIMESTAMP '2026-12-01' END
FROM planned AS p JOIN verdicts AS v USING (verdict_id);

INSERT INTO audit_log
SELECT nextval('audit_id_seq'), created_at, reviewers[1], decision, verdict_id, scope, reason, note, 'auto',
       CASE WHEN decision = 'confirm' THEN 'confirmed' WHEN scope = 'verdict' THEN 'false_positive'
            ELSE 'suppressed' END, rule_id, NULL, 1
FROM (SELECT * FROM review_rules ORDER BY created_at, rule_id);
INSERT INTO audit_log
SELECT nextval('audit_id_seq'), created_at + INTERVAL 1 HOUR, reviewers[2], 'second-reject', verdict_id, scope,
       reason, NULL, 'auto', 'suppressed', rule_id, NULL, 1
FROM review_rules WHERE len(reviewers) = 2 ORDER BY rule_id;
INSERT INTO audit_log
SELECT nextval('audit_id_seq'), revoked_at, 'carol', 'undo', a.target, a.scope, NULL, NULL, a.after_state, 'auto',
       a.rule_id, a.audit_id, 1
FROM review_rules AS r JOIN audit_log AS a ON a.rule_id = r.rule_id AND a.action IN ('confirm', 'reject')
WHERE r.revoked_at IS NOT NULL ORDER BY r.rule_id;
INSERT INTO audit_log
SELECT nextval('audit_id_seq'), TIMESTAMP '2026-10-30', 'linksweep', 'quarantine', list_name || ':' || entry,
       'entry', NULL, 'bench flood', NULL, 'needs_review', NULL, NULL, count(*)
FROM verdicts WHERE origin = 'needs_review' GROUP BY list_name, entry ORDER BY list_name, entry;
"""


def generate(folder: Path, shape: dict) -> None:
    from pipelines.store import open_store, transaction
    from pipelines.verdicts import VERDICT_ID_SQL, apply_rules

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    con = open_store(folder / "review.duckdb")
    for snapshot in SNAPSHOTS:
        con.execute("INSERT INTO snapshots (name) VALUES (?)", [snapshot])
        con.execute("INSERT INTO verdict_refreshes VALUES (?, TIMESTAMP '2026-12-01', NULL)", [snapshot])
    version_id = 0
    for name, list_type, category, list_format, two_reviewers, versions in LISTS:
        con.execute(
            "INSERT INTO lists (name, list_type, category, format, two_reviewers, reportable)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [name, list_type, category, list_format, two_reviewers, list_format == "sha256"],
        )
        for version in range(1, versions + 1):
            version_id += 1
            con.execute(
                "INSERT INTO list_versions (version_id, list_name, sha256, origin, accepted, duplicates, rejected,"
                " format, version) VALUES (?, ?, ?, ?, 0, 0, 0, ?, ?)",
                [version_id, name, f"{version_id:064x}", f"bench/{name}-v{version}.txt", list_format, version],
            )
    con.execute(
        _GENERATE_SQL.format(
            entries=shape["entries"],
            verdicts=shape["verdicts"],
            snapshot_a=SNAPSHOTS[0],
            snapshot_b=SNAPSHOTS[1],
            verdict_id_sql=VERDICT_ID_SQL,
        )
    )
    con.execute(_RULES_SQL.format(reviewers="['" + "', '".join(REVIEWERS) + "']"))
    with transaction(con):
        apply_rules(con)  # the states the rules give, as the real engine decides them
    con.execute("DROP TABLE gen; DROP TABLE decisions; DROP TABLE planned")
    con.execute("CHECKPOINT")
    verdicts, hosts, entries, rules, audits = con.execute(
        "SELECT count(*), count(DISTINCT host), count(DISTINCT (list_name, entry)),"
        " (SELECT count(*) FROM review_rules), (SELECT count(*) FROM audit_log) FROM verdicts"
    ).fetchone()
    states = con.execute("SELECT state, count(*) FROM verdicts GROUP BY 1 ORDER BY 2 DESC").fetchall()
    con.close()
    print(
        f"  {verdicts:,} verdicts, {hosts:,} hosts, {entries:,} entries, {rules:,} rules, {audits:,} audit rows;"
        f" states: {', '.join(f'{state} {count:,}' for state, count in states)}",
        flush=True,
    )
    print(f"  generated in {time.perf_counter() - started:.1f} s", flush=True)
    (folder / "shape.json").write_text(json.dumps(shape))


def ensure_data(shape: dict, regenerate: bool) -> Path:
    marker = DATA_DIR / "shape.json"
    if regenerate or not marker.exists() or json.loads(marker.read_text()) != shape:
        print(f"generating the benchmark store in {DATA_DIR} ...", flush=True)
        generate(DATA_DIR, shape)
    return DATA_DIR / "review.duckdb"


# ---------------------------------------------------------------------------------------------------------------
# Targets and rounds
# ---------------------------------------------------------------------------------------------------------------


def pick_targets(db: Path) -> dict:
    """What the commands act on: the largest host, a list and snapshot, and verdicts in state auto of the
    ordinary lists (the two-reviewer list would only log a first rejection)."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)

    def one(sql: str, parameters: list | None = None):
        return con.execute(sql, parameters or []).fetchone()

    host, host_verdicts = one("SELECT host, count(*) FROM verdicts GROUP BY host ORDER BY 2 DESC, 1 LIMIT 1")
    auto = "state = 'auto' AND list_name <> 'hotline-domains'"
    entry, entry_verdicts = one(
        f"SELECT entry, count(*) FROM verdicts WHERE {auto} GROUP BY entry ORDER BY 2 DESC, 1 LIMIT 1"
    )
    targets = {
        "host": host,
        "host_verdicts": host_verdicts,
        "list": "phishing-domains",
        "snapshot": SNAPSHOTS[0],
        "show": one("SELECT verdict_id FROM verdicts WHERE state = 'confirmed' ORDER BY verdict_id LIMIT 1")[0],
        "confirm": one(f"SELECT verdict_id FROM verdicts WHERE {auto} ORDER BY hash(verdict_id, 1) LIMIT 1")[0],
        "reject": one(f"SELECT verdict_id FROM verdicts WHERE {auto} ORDER BY hash(verdict_id, 2) LIMIT 1")[0],
        "reject_host": one(f"SELECT min(verdict_id) FROM verdicts WHERE {auto} AND host = ?", [host])[0],
        "entry": entry,
        "entry_verdicts": entry_verdicts,
        "reject_entry": one(f"SELECT min(verdict_id) FROM verdicts WHERE {auto} AND entry = ?", [entry])[0],
    }
    con.close()
    return targets


# (label, the arguments after `linksweep --db DB`, filled from the targets), in the order a round runs them
PLAN = (
    ("linksweep --version (start-up floor)", "--version"),
    ("review list", "review list"),
    ("review list --state needs_review", "review list --state needs_review"),
    ("review list --host H (largest host)", "review list --host {host}"),
    ("review list --list L --snapshot S", "review list --list {list} --snapshot {snapshot}"),
    ("review list --json", "review list --json"),
    ("review show ID", "review show {show}"),
    ("review confirm ID", "review confirm --reviewer bench {confirm}"),
    ("review reject ID --scope verdict", "review reject --reviewer bench --reason false_positive {reject}"),
    ("review reject ID --scope host (largest)", "review reject --reviewer bench --reason benign_context --scope host"
     " {reject_host}"),
    ("review undo AUDIT (the host rejection)", "review undo --reviewer bench {host_audit}"),
    ("review reject ID --scope entry (largest)", "review reject --reviewer bench --reason list_error --scope entry"
     " {reject_entry}"),
    ("review log", "review log"),
)  # fmt: skip


AUDIT_LINE = re.compile(r"^audit (\d+): ", re.MULTILINE)


def run_round(db: Path, targets: dict) -> dict[str, float]:
    """Every command once, each a fresh process; the round's review actions are undone afterwards."""
    seconds: dict[str, float] = {}
    actions: list[int] = []
    host_audit = None
    for label, template in PLAN:
        arguments = template.format(**targets, host_audit=host_audit).split()
        command = [sys.executable, "-m", "crawler.cli", "--db", str(db), *arguments]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=_environment())
        seconds[label] = time.perf_counter() - started
        if done.returncode not in (0, 10):
            raise SystemExit(f"{label} exited {done.returncode}:\n{done.stderr[-4000:]}")
        audits = [int(found) for found in AUDIT_LINE.findall(done.stdout)]
        if "--scope host" in label:
            host_audit = audits[0]
        elif arguments[:2] != ["review", "undo"]:
            actions += audits
    _undo(db, actions)
    return seconds


def _environment() -> dict:
    import os

    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _undo(db: Path, audit_ids: list[int]) -> None:
    from pipelines.store import open_store
    from pipelines.verdicts import undo

    with open_store(db, create=False) as con:
        for audit_id in audit_ids:
            undo(con, audit_id, reviewer="bench", note="bench round reset")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="Rounds (each runs every command once).")
    parser.add_argument("--verdicts", type=int, default=1_000_000)
    parser.add_argument("--entries", type=int, default=50_000, help="List entries the verdicts spread over.")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")
    args = parser.parse_args()

    db = ensure_data(_shape(args), args.regenerate)
    targets = pick_targets(db)
    print(
        f"largest host {targets['host']} ({targets['host_verdicts']:,} verdicts); largest entry {targets['entry']}"
        f" ({targets['entry_verdicts']:,} auto verdicts)",
        file=sys.stderr if args.json else sys.stdout,
        flush=True,
    )
    rounds: list[dict[str, float]] = []
    for number in range(args.rounds):
        rounds.append(run_round(db, targets))
        if not args.json:
            print(f"  round {number + 1}/{args.rounds} done", flush=True)
    figures = {
        label: {
            "median": statistics.median(round_[label] for round_ in rounds),
            "min": min(round_[label] for round_ in rounds),
            "max": max(round_[label] for round_ in rounds),
        }
        for label, _ in PLAN
    }
    if args.json:
        print(json.dumps({"rounds": args.rounds, "targets": targets, "seconds": figures}, indent=2))
        return
    print(f"\n{'command (whole process, s)':<44} {'median':>7} {'min':>7} {'max':>7}")
    for label, figure in figures.items():
        print(f"{label:<44} {figure['median']:>7.3f} {figure['min']:>7.3f} {figure['max']:>7.3f}")
    slowest = max((label for label, _ in PLAN[1:]), key=lambda label: figures[label]["median"])
    print(f"slowest review command: {slowest}, median {figures[slowest]['median']:.3f} s (goal: under 1 s)")


if __name__ == "__main__":
    main()
