"""What users write without sessionpool: a ThreadPoolExecutor, and a requests Session per thread (threading.local).

    python -m benchmarks.scaleout.threadpool_fetch --threads T URLS OUT    # from the repository's root

Reads the URLs (one per line), GETs each from T threads, each thread through
its own Session, and writes one JSON line per URL (url, status, error) to OUT.
The per-thread Session is sessionpool.testing's HandRolledSessions, the one
hand-rolled baseline every benchmark and the demo measure against: a
``threading.local`` Session per thread, with the pools' default timeout.
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from sessionpool.testing import HandRolledSessions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("urls", type=Path)
    parser.add_argument("output", type=Path)
    args = parser.parse_args()
    urls = [line.strip() for line in args.urls.read_text().splitlines() if line.strip()]

    with HandRolledSessions() as sessions:

        def fetch(url: str) -> dict[str, object]:
            try:
                response = sessions.get(url)
                response.content  # noqa: B018 (read the body in full)
            except requests.RequestException as error:
                return {"url": url, "status": None, "error": f"{type(error).__name__}: {error}"}
            return {"url": url, "status": response.status_code, "error": None}

        with ThreadPoolExecutor(max_workers=args.threads) as executor, args.output.open("w") as out:
            for record in executor.map(fetch, urls):
                out.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
