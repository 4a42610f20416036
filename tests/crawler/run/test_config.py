"""The run config: the issue's example shape loads; an unknown key, a wrong type or a missing value is one
error naming the file, the key and its line (exit 2), before anything runs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from crawler.run import ConfigError, load_config
from crawler.run.config import EngineSettings
from tests.cli_runner import run

EXAMPLE = textwrap.dedent(
    """\
    [store]
    db = "out/linksweep.duckdb"
    [snapshot]
    name = "CC-MAIN-2099-01"
    [[corpus]]
    cc = "CC-MAIN-2099-01"        # or: paths = ["corpus/*.warc.gz"]   or: urls = ["https://example.org/x.warc.gz"]
    subset = "warc"
    sample = 4
    seed = 1
    base_url = "https://example.org"
    [[lists]]
    kind = "block"
    name = "hotline-domains"
    source = "lists/domains.txt"
    format = "domains"
    category = "csam"
    [crawl]
    enabled = false
    [[exports]]
    path = "out/removals.parquet"
    redact = false
    [report]
    html = "out/report.html"
    """
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "linksweep.toml"
    path.write_text(text)
    return path


def test_the_issue_s_example_loads_with_paths_relative_to_the_config(tmp_path):
    config = load_config(write(tmp_path, EXAMPLE))
    assert config.snapshot == "CC-MAIN-2099-01"
    assert config.resolve(config.db) == tmp_path / "out" / "linksweep.duckdb"
    [corpus] = config.corpus
    assert corpus.specs() == ["cc:CC-MAIN-2099-01/warc"] and (corpus.sample, corpus.seed) == (4, 1)
    [listed] = config.lists
    assert (listed.kind, listed.name, listed.category) == ("block", "hotline-domains", "csam")
    assert config.resolve(config.exports[0].path) == tmp_path / "out" / "removals.parquet"
    assert not config.crawl.enabled and config.report.html == "out/report.html"
    assert len(config.sha256) == 64


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (("sample = 4", "sampel = 4"), "[[corpus]] #1 sampel (line 8): unknown key"),
        (("sample = 4", 'sample = "four"'), "[[corpus]] #1 sample (line 8): must be an integer, not 'four'"),
        (("enabled = false", 'enabled = "no"'), "[crawl] enabled (line 18): must be true or false"),
        (('kind = "block"', 'kind = "blok"'), "[[lists]] #1 kind (line 12): 'blok' is not one of block, allow"),
        (('subset = "warc"', 'subset = "arc"'), "[[corpus]] #1 subset (line 7): 'arc' is not one of warc, wat, wet"),
        (('name = "hotline-domains"\n', ""), "[[lists]] #1 (line 11): name is required"),
        (("[report]", "[reports]"), "unknown table [reports]"),
        (("redact = false", "redact = fals"), "not valid TOML"),
    ],
)
def test_a_bad_config_is_one_error_naming_the_key_and_line(tmp_path, change, complaint):
    path = write(tmp_path, EXAMPLE.replace(*change))
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: ") and complaint in str(error.value), str(error.value)


def test_the_cli_refuses_a_bad_config_with_exit_2_before_anything_runs(tmp_path):
    path = write(tmp_path, EXAMPLE.replace("sample = 4", "sampel = 4"))
    result = run(tmp_path / "unused.duckdb", "run", "--config", str(path), expect=2)
    assert "sampel (line 8): unknown key" in result.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "unused.duckdb").exists()
    stages = run(
        tmp_path / "unused.duckdb", "run", "--config", str(write(tmp_path, EXAMPLE)), "--stages", "mtach", expect=2
    )
    assert "unknown stage 'mtach' (the stages, in order: lists, ingest, match" in stages.output


def test_the_engine_table_names_who_runs_ingest_and_crawl(tmp_path):
    assert load_config(write(tmp_path, EXAMPLE)).engine == EngineSettings("local", None)
    config = load_config(write(tmp_path, EXAMPLE + '[engine]\nname = "ray"\nray_address = "127.0.0.1:6379"\n'))
    assert config.engine == EngineSettings("ray", "127.0.0.1:6379")
    # the short form, a key before the first table: engine = "ray"
    assert load_config(write(tmp_path, 'engine = "ray"\n' + EXAMPLE)).engine == EngineSettings("ray", None)
    path = write(tmp_path, EXAMPLE + '[engine]\nname = "spark"\n')
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert "[engine] name (line 25): 'spark' is not one of local, ray" in str(error.value)


class Asked(Exception):
    """Raised by a stand-in for ingest or crawl_snapshot, carrying the keyword arguments it was given."""


def test_the_ingest_and_crawl_stages_pass_the_engine_on(tmp_path, monkeypatch):
    import crawler.crawl
    import crawler.ingest
    from crawler.run.stages import crawl_stage, ingest_stage

    def asked(*args, **kwargs):
        raise Asked(kwargs)

    monkeypatch.setattr(crawler.ingest, "ingest", asked)
    monkeypatch.setattr(crawler.crawl, "crawl_snapshot", asked)
    text = EXAMPLE.replace("enabled = false", "enabled = true").replace(
        'cc = "CC-MAIN-2099-01"', 'paths = ["corpus/*.warc.gz"]'
    )
    text += '[engine]\nname = "ray"\nray_address = "h:1"\n'
    config = load_config(write(tmp_path, text))
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.warc.gz").write_bytes(b"")  # the pattern must match; nothing reads it
    for stage in (ingest_stage, crawl_stage):
        with pytest.raises(Asked) as given:
            stage(config, tmp_path / "db.duckdb")
        assert (given.value.args[0]["engine"], given.value.args[0]["ray_address"]) == ("ray", "h:1")
