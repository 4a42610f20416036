"""The reporter file: a [reporter] table of known keys, each a non-empty string."""

from __future__ import annotations

import pytest

from pipelines.reports import ReportConfigError, Reporter, load_reporter
from tests.report_helpers import FIXTURES


def test_the_fixture_reporter_loads():
    assert load_reporter(FIXTURES / "reporter.toml") == Reporter(
        email="trust-safety@example.org",
        first_name="Test",
        last_name="Reporter",
        company="Example Org test template",
        legal_url="https://example.org/legal",
    )


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ('[reporter]\nemail = "a@example.org"\nmail = "x"\n', "[reporter] mail: unknown key"),
        ("[reporter]\nemail = 7\n", "[reporter] email: expected a non-empty string, got 7"),
        ('[reporter]\nphone = ""\n', "[reporter] phone: expected a non-empty string"),
        ('email = "a@example.org"\n', "unknown table or key 'email'"),
        ("[other]\n", "unknown table or key 'other'"),
        ("", "no [reporter] table"),
        ("[reporter\n", "not a TOML file"),
    ],
)
def test_a_wrong_reporter_file_names_the_key(tmp_path, text, complaint):
    path = tmp_path / "reporter.toml"
    path.write_text(text)
    with pytest.raises(ReportConfigError, match=r".*reporter\.toml: ") as raised:
        load_reporter(path)
    assert complaint in str(raised.value)


def test_a_missing_reporter_file_is_a_config_error(tmp_path):
    with pytest.raises(ReportConfigError, match="cannot read the reporter file"):
        load_reporter(tmp_path / "nowhere.toml")
