"""Corpus readers: WARC/ARC/WAT files and URL tables turned into documents and outgoing links."""
