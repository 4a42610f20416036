"""Every command and option of `linksweep` has help text and is described in docs/commands.md, each option in
the section of its command.

A section is a heading and the text up to the next heading; it describes the commands its heading names in
backquotes (`linksweep blocklist add NAME SOURCE`: the words after `linksweep` up to the first that is no
command name). A group needs no section of its own when sections name its commands. An option a command
shares with the root (-q/--quiet, -v/--verbose: same names, same help) is described once, in the root's
section (`linksweep [--db PATH] ...`). The checker is `doc_problems`; the last tests give it made-up commands,
so a rule that silently stops working fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from crawler.cli import main

DOC = Path(__file__).resolve().parents[3] / "docs" / "commands.md"
HEADING = re.compile(r"^#+ ")
CODE_SPAN = re.compile(r"`([^`]+)`")
COMMAND_WORD = re.compile(r"[a-z][a-z0-9-]*")

CommandPath = tuple[str, ...]


def every_command(command: click.Command, path: CommandPath = ()) -> Iterator[tuple[CommandPath, click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        context = click.Context(command)
        for name in command.list_commands(context):
            yield from every_command(command.get_command(context, name), (*path, name))


def sections(doc: str) -> list[tuple[set[CommandPath], str]]:
    """Each section of the doc: the commands its heading names, and its text (the heading included)."""
    found: list[tuple[set[CommandPath], str]] = []
    for line in doc.splitlines():
        if HEADING.match(line):
            found.append((set(), ""))
            for span in CODE_SPAN.findall(line):
                words = span.split()
                if words and words[0] == "linksweep":
                    path = []
                    for word in words[1:]:
                        if not COMMAND_WORD.fullmatch(word):
                            break
                        path.append(word)
                    found[-1][0].add(tuple(path))
        if found:
            found[-1] = (found[-1][0], found[-1][1] + line + "\n")
    return found


def mentions(text: str, option_name: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(option_name)}(?![\w-])", text) is not None


def option_names(option: click.Option) -> list[str]:
    """The names a reader types: the long ones (`--progress`, `--no-progress`), or the short ones if no long."""
    names = [*option.opts, *option.secondary_opts]
    return [name for name in names if name.startswith("--")] or names


def _shared(option: click.Option, root: click.Command) -> bool:
    return any(
        isinstance(own, click.Option) and own.opts == option.opts and own.help == option.help for own in root.params
    )


def doc_problems(root: click.Command, doc: str) -> list[str]:
    """What is missing: help texts, and commands and options the doc does not describe where it should."""
    problems = []
    documented = sections(doc)
    for path, command in every_command(root):
        name = " ".join(("linksweep", *path))
        if not (command.help or command.short_help):
            problems.append(f"{name}: no help text")
        own = [text for paths, text in documented if path in paths]
        under = [paths for paths, _ in documented if any(p[: len(path)] == path for p in paths)]
        if not own and not (isinstance(command, click.Group) and under):  # a group: named by its commands
            problems.append(f"{name}: no section of docs/commands.md names `{name}`")
        for option in command.params:
            if not isinstance(option, click.Option) or option.hidden:
                continue
            if not option.help:
                problems.append(f"{name} {option.opts[0]}: no help text")
            if path and _shared(option, root):
                continue
            for option_name in option_names(option):
                if not any(mentions(text, option_name) for text in own):
                    problems.append(f"{name} {option_name}: not in the section of `{name}` in docs/commands.md")
    return problems


def test_every_command_and_option_has_help_and_is_in_the_doc():
    assert doc_problems(main, DOC.read_text()) == []


# The checker can fail: made-up commands, each missing one thing.


def _root_with(*commands: click.Command) -> click.Group:
    @click.group(help="Root.")
    @click.option("-q", "--quiet", is_flag=True, help="Quiet.")
    def root(quiet) -> None:
        pass

    for command in commands:
        root.add_command(command)
    return root


ROOT_SECTION = "# `linksweep [-q]`\n`-q/--quiet`: quiet.\n"


def test_a_command_without_help_is_reported():
    root = _root_with(click.Command("fetch", callback=lambda: None))
    problems = doc_problems(root, ROOT_SECTION + "## `linksweep fetch`\nFetches.\n")
    assert problems == ["linksweep fetch: no help text"]


def test_an_option_without_help_is_reported():
    command = click.Command("fetch", help="Fetch.", params=[click.Option(["--depth"])])
    problems = doc_problems(_root_with(command), ROOT_SECTION + "## `linksweep fetch [--depth N]`\n")
    assert problems == ["linksweep fetch --depth: no help text"]


def test_a_command_the_doc_does_not_name_is_reported():
    group = click.Group("lists", help="Lists.", commands=[click.Command("add", help="Add.")])
    problems = doc_problems(_root_with(group), ROOT_SECTION + "## `linksweep lists remove NAME`\n")
    assert problems == [
        "linksweep lists add: no section of docs/commands.md names `linksweep lists add`",
    ]


def test_an_option_outside_its_command_s_section_is_reported():
    fetch = click.Command("fetch", help="Fetch.", params=[click.Option(["--depth", "-d"], help="How deep.")])
    push = click.Command("push", help="Push.", params=[click.Option(["--no-verify/--verify"], help="Check.")])
    doc = ROOT_SECTION + "## `linksweep fetch`\nFetches.\n## `linksweep push`\n`--no-verify`; `--depth` is fetch's.\n"
    assert doc_problems(_root_with(fetch, push), doc) == [
        "linksweep fetch --depth: not in the section of `linksweep fetch` in docs/commands.md",
        "linksweep push --verify: not in the section of `linksweep push` in docs/commands.md",
    ]


def test_an_option_shared_with_the_root_is_described_once():
    fetch = click.Command("fetch", help="Fetch.", params=[click.Option(["-q", "--quiet"], help="Quiet.")])
    mine = click.Command("mine", help="Mine.", params=[click.Option(["-q", "--quiet"], help="Mine alone.")])
    doc = ROOT_SECTION + "## `linksweep fetch`\n## `linksweep mine`\n"
    assert doc_problems(_root_with(fetch, mine), doc) == [
        "linksweep mine --quiet: not in the section of `linksweep mine` in docs/commands.md"
    ]


@pytest.mark.parametrize(
    ("heading", "paths"),
    [
        ("## `linksweep ingest --snapshot NAME PATH...`", {("ingest",)}),
        (
            "## `linksweep blocklist add NAME SOURCE`, `linksweep allowlist add NAME`",
            {("blocklist", "add"), ("allowlist", "add")},
        ),
        ('## `linksweep sql "QUERY"` and `status`', {("sql",)}),
        ("# `linksweep [--db PATH] COMMAND`", {()}),
        ("## Exit codes", set()),
    ],
)
def test_a_heading_names_the_commands_of_its_code_spans(heading, paths):
    assert sections(heading + "\ntext\n") == [(paths, heading + "\ntext\n")]


def test_the_doc_without_a_command_s_section_fails():
    doc = re.sub(r"^## `linksweep demo .*?(?=^## |\Z)", "", DOC.read_text(), flags=re.DOTALL | re.MULTILINE)
    assert doc_problems(main, doc) == [
        "linksweep demo: no section of docs/commands.md names `linksweep demo`",
        "linksweep demo --sample-dir: not in the section of `linksweep demo` in docs/commands.md",
        "linksweep demo --out: not in the section of `linksweep demo` in docs/commands.md",
    ]
