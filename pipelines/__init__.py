"""linksweep's library: URL handling, list formats, matching, the DuckDB store and exports (no Scrapy, no network)."""
