"""What auto-detection reads of a list file to guess its format: its name, and its first entry lines with the
comment lines before them, read only as far as the format hints ask."""

from __future__ import annotations

from collections.abc import Iterable

from pipelines.lists.formats.common import ADBLOCK_COSMETIC_MARKERS

SNIFF_SAMPLE_LINES = 200


class Sample:
    """The head of a list file for the format hints (registry.py). A hint on the name reads nothing, one on the
    first entry line reads up to it, the others up to SNIFF_SAMPLE_LINES entry lines; `anchored_rules` alone reads
    further.

    Entry lines are the stripped non-blank lines that are neither `!` comments nor `#` comments (an adblock
    cosmetic rule such as `##.ad` is an entry line).
    """

    def __init__(self, name: str, lines: Iterable[str]) -> None:
        self.name = name
        self._lines = iter(lines)
        self._entry_lines: list[str] = []
        self._first_content: str | None = None
        self._last_comment = ""
        self._bang_comments = 0
        self._hash_comments = 0
        self._anchored = False  # a line read so far starts with '||' or '@@'
        self._done = False  # the sample is full or the file ended

    def _read(self, *, up_to_first_entry: bool) -> None:
        while not self._done and not (up_to_first_entry and self._first_content is not None):
            line = next(self._lines, None)
            if line is None:
                self._done = True
                return
            self._anchored = self._anchored or line.startswith(("||", "@@"))
            text = line.strip()
            if not text:
                continue
            if text[0] == "!":
                self._bang_comments += 1
                continue
            if text[0] == "#" and not text.startswith(ADBLOCK_COSMETIC_MARKERS):
                self._hash_comments += 1
                if self._first_content is None:
                    self._last_comment = text.lstrip("#").strip()
                continue
            if self._first_content is None:
                self._first_content = text
            self._entry_lines.append(text)
            if len(self._entry_lines) >= SNIFF_SAMPLE_LINES:
                self._done = True

    @property
    def first_content(self) -> str | None:
        """The first entry line, None when the file has none."""
        self._read(up_to_first_entry=True)
        return self._first_content

    @property
    def last_comment(self) -> str:
        """The text of the last `#` comment line before the first entry line ("" when there is none)."""
        self._read(up_to_first_entry=True)
        return self._last_comment

    @property
    def entry_lines(self) -> list[str]:
        """The first SNIFF_SAMPLE_LINES entry lines (fewer when the file ends before)."""
        self._read(up_to_first_entry=False)
        return self._entry_lines

    @property
    def bang_comments(self) -> int:
        """`!` comment lines among the lines of the sample."""
        self._read(up_to_first_entry=False)
        return self._bang_comments

    @property
    def hash_comments(self) -> int:
        """`#` comment lines among the lines of the sample."""
        self._read(up_to_first_entry=False)
        return self._hash_comments

    def most(self, count: int) -> bool:
        """Whether `count` entry lines are more than half of the sample's."""
        return count * 2 > len(self.entry_lines)

    def anchored_rules(self) -> bool:
        """Whether a line starts with `||` or `@@`, in the sample or anywhere below it (reads on until one does)."""
        self._read(up_to_first_entry=False)
        return self._anchored or any(line.startswith(("||", "@@")) for line in self._lines)
