"""A minimal Scrapy spider that fetches a URL list: what a Scrapy user would write for the scale-out benchmark.

    .venv-scrapy/bin/python -m benchmarks.scaleout.scrapy_spider --concurrency C URLS OUT    # from the repo's root

Runs in a venv of its own (``make scrapy-venv``), never the dev venv: Scrapy
brings Twisted, lxml and pyOpenSSL. One request per URL (``dont_filter``:
the URLs are distinct anyway), CONCURRENT_REQUESTS and
CONCURRENT_REQUESTS_PER_DOMAIN both C, and everything a bare fetch does not
need switched off: robots.txt, cookies, retries, throttling, the telnet
console, the per-minute stats log. Writes one JSON line per URL (url, status,
error) to OUT.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import scrapy
from scrapy.crawler import CrawlerProcess


class ListSpider(scrapy.Spider):
    """GETs every URL of a file once, and records the status (or the error) of each."""

    name = "urllist"

    def __init__(self, urls: Path, out: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls = urls
        self.out = out

    def _requests(self) -> Iterator[scrapy.Request]:
        with self.urls.open() as lines:
            for line in lines:
                url = line.strip()
                if url and not url.startswith("#"):
                    yield scrapy.Request(url, callback=self.parse, errback=self.failed, dont_filter=True)

    async def start(self) -> AsyncIterator[scrapy.Request]:  # Scrapy >= 2.13
        for request in self._requests():
            yield request

    def start_requests(self) -> Iterator[scrapy.Request]:  # older Scrapy
        return self._requests()

    def parse(self, response: scrapy.http.Response) -> None:
        self.out.write(json.dumps({"url": response.url, "status": response.status, "error": None}) + "\n")

    def failed(self, failure: Any) -> None:
        url = failure.request.url
        self.out.write(json.dumps({"url": url, "status": None, "error": repr(failure.value)[:300]}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("urls", type=Path)
    parser.add_argument("output", type=Path)
    args = parser.parse_args()
    settings = {
        "CONCURRENT_REQUESTS": args.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "ROBOTSTXT_OBEY": False,
        "COOKIES_ENABLED": False,
        "RETRY_ENABLED": False,
        "HTTPERROR_ALLOW_ALL": True,  # every status reaches parse(), to be counted
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "LOGSTATS_INTERVAL": 0,
    }
    with args.output.open("w") as out:
        process = CrawlerProcess(settings)
        process.crawl(ListSpider, urls=args.urls, out=out)
        process.start()


if __name__ == "__main__":
    main()
