"""Spiders of the resolver crawl."""
