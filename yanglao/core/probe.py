"""`python -m yanglao.core.probe URL`: exit 0 when the service at URL (postgres://, redis://, mqtt://) answers.

Used by the Makefile and .ci/run before they run a suite that needs the service, and by the test
helpers that decide between skipping loudly and failing (core/testing.py)."""

from __future__ import annotations

import socket
import sys
from urllib.parse import urlsplit

DEFAULT_PORTS = {
    "postgres": 5432,
    "postgresql": 5432,
    "redis": 6379,
    "rediss": 6379,
    "mqtt": 1883,
    "mqtts": 8883,
}


def answers(url: str, timeout: float = 2.0) -> bool:
    """Whether something accepts a TCP connection at the URL's host and port."""
    parts = urlsplit(url)
    port = parts.port or DEFAULT_PORTS.get(parts.scheme, 0)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m yanglao.core.probe URL", file=sys.stderr)
        return 2
    return 0 if answers(argv[0]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
