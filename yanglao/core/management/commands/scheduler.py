"""Enqueue periodic jobs when they are due (core/scheduling.py). Runs until stopped."""

from __future__ import annotations

import signal
import time

from django.core.management.base import BaseCommand

from yanglao.core import scheduling


class Command(BaseCommand):
    help = "定时任务调度：按时把到期的周期任务放入任务队列 (enqueue due periodic jobs)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run one pass and exit")
        parser.add_argument("--max-sleep", type=float, default=5.0, help="longest sleep between passes (s)")

    def handle(self, *args, once: bool, max_sleep: float, **options):
        scheduling.autodiscover()
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        names = ", ".join(sorted(scheduling.REGISTRY)) or "none"
        self.stdout.write(f"scheduler: {len(scheduling.REGISTRY)} periodic jobs ({names})")
        while not stopping:
            for name in scheduling.run_due():
                self.stdout.write(f"scheduler: enqueued {name}")
            if once:
                break
            deadline = time.monotonic() + min(max_sleep, max(0.2, scheduling.seconds_until_next()))
            while not stopping and time.monotonic() < deadline:
                time.sleep(0.2)
