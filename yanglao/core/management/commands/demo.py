"""yanglao demo: the whole demonstration in one command. Migrates, loads the demonstration city's
division codes, runs every demo step the apps registered (core/demo.py: demo users, the synthetic
population, …), then starts the platform. Every part is idempotent, so running it again only starts
the platform."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from yanglao.core.demo import steps
from yanglao.core.probe import answers

# With a broker: the MQTT ingest worker and a small device simulator run beside the platform, so the
# alarm console is alive (20 homes, 5 messages a second, an SOS every 2 minutes). Started by command
# name: the kernel does not import the monitoring app.
DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
SIMULATOR = [
    "--households",
    "20",
    "--rate",
    "5",
    "--duration",
    "31536000",
    "--sos-every",
    "120",
    "--verbosity",
    "0",
]


class Command(BaseCommand):
    help = "一条命令启动演示：迁移、导入区划、演示用户和老年人、启动平台 (set up and run the demo)."

    def add_arguments(self, parser):
        parser.add_argument("--elders", type=int, default=20_000, help="synthetic elders wanted in the city")
        parser.add_argument("--root", default="1201", help="division code of the demonstration city")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="set up only, do not start the server")

    def handle(self, *args, elders: int, root: str, host: str, port: int, no_serve: bool, **options):
        if settings.PRODUCTION:
            raise CommandError("demo is refused when YANGLAO_ENV=production")
        if elders < 0:
            raise CommandError("--elders must be 0 or more")
        out = {"stdout": self.stdout, "stderr": self.stderr}
        verbosity = options["verbosity"]
        call_command("migrate", interactive=False, verbosity=verbosity, **out)
        call_command("load_regions", root=root, verbosity=verbosity, **out)
        for step in steps():
            self.stdout.write(f"demo step {step.name} …")
            step.run(elders=elders, root=root, stdout=self.stdout)
        if no_serve:
            return
        self._share_channel_layer()
        helpers = self._start_telemetry()
        try:
            call_command("serve", host=host, port=port, **out)
        finally:
            for helper in helpers:
                if helper.poll() is None:
                    helper.terminate()
            for helper in helpers:
                try:
                    helper.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    helper.kill()

    def _share_channel_layer(self) -> None:
        """Alarms raised by the ingest worker (another process) reach the consoles only through a shared
        channel layer: use the machine's Redis for the demo's processes when it answers and none is set."""
        if settings.REDIS_URL or not answers(DEFAULT_REDIS_URL):
            if not settings.REDIS_URL:
                self.stdout.write("no Redis: consoles pick up alarms from the ingest worker every 20 s")
            return
        os.environ["REDIS_URL"] = DEFAULT_REDIS_URL  # inherited by the server, worker and simulator
        self.stdout.write(f"Redis at {DEFAULT_REDIS_URL}: alarms are pushed to consoles as they happen")

    def _start_telemetry(self) -> list[subprocess.Popen]:
        """The MQTT ingest worker and the simulator, only when a broker answers (else the demo runs
        without live telemetry, and says so)."""
        url = settings.MQTT_URL or DEFAULT_MQTT_URL
        if not answers(url):
            self.stdout.write(f"no MQTT broker answers at {url}: live device telemetry is off for this demo")
            return []
        cli = [sys.executable, "-m", "yanglao.cli"]
        helpers = [
            subprocess.Popen([*cli, "ingest_mqtt", "--url", url]),  # noqa: S603 (our own interpreter and modules)
            subprocess.Popen([*cli, "simulate_devices", *SIMULATOR, "--url", url]),  # noqa: S603
        ]
        self.stdout.write(f"MQTT broker at {url}: ingest worker and device simulator started")
        return helpers
