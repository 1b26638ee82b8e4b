"""Run the whole platform in one process group: the ASGI web server (pages, API, WebSocket, HTTP
ingest), the task worker and the periodic scheduler. Ctrl-C (or SIGTERM) stops all three; if one of
them dies the others are stopped too, so a half-running platform never looks healthy."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from yanglao.core.startup import BANNERS


def _wait_for_port(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False


class Command(BaseCommand):
    help = "启动平台：Web 服务、任务进程和定时调度 (start web server, worker and scheduler together)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1, help="web server worker processes")

    def handle(self, *args, host: str, port: int, workers: int, **options):
        python = sys.executable
        commands = {
            "web": [
                python,
                "-m",
                "uvicorn",
                "config.asgi:application",
                "--host",
                host,
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--lifespan",
                "off",
                "--no-access-log",
            ],
            "worker": [python, "-m", "yanglao.cli", "db_worker", "--no-reload", "--queue-name", "*"],
            "scheduler": [python, "-m", "yanglao.cli", "scheduler"],
        }
        children: dict[str, subprocess.Popen] = {}
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            for name, command in commands.items():
                children[name] = subprocess.Popen(command)  # noqa: S603 (our own interpreter and modules)
            if not _wait_for_port(host, port, timeout=30):
                raise CommandError(f"the web server did not start listening on {host}:{port} within 30 s")
            shown_host = f"[{host}]" if ":" in host else host
            self.stdout.write(
                self.style.SUCCESS(f"\nYanglao 养老服务平台 is running at http://{shown_host}:{port}/")
            )
            for make_text in BANNERS:
                self.stdout.write(make_text())
            self.stdout.write("Press Ctrl-C to stop the web server, the worker and the scheduler.\n")
            while not stopping:
                for name, child in children.items():
                    if child.poll() is not None:
                        raise CommandError(f"{name} exited with code {child.returncode}; stopping the rest")
                time.sleep(0.5)
        finally:
            for child in children.values():
                if child.poll() is None:
                    child.terminate()
            deadline = time.monotonic() + 10
            for child in children.values():
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
            self.stdout.write("stopped")
