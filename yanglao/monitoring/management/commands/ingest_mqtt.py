"""yanglao ingest_mqtt: consume device telemetry from the MQTT broker into the database (monitoring/mqtt.py).

    yanglao ingest_mqtt [--url mqtt://127.0.0.1:1883] [--name 1] [--group yanglao-ingest]
                        [--batch 1000] [--wait-ms 50] [--window 8000] [--log-every 60] [--retire]

Run one per core or machine, each with its own --name (its client id and persistent session); workers of
the same --group share the load. The broker should run config/mosquitto/yanglao.conf."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from yanglao.monitoring.mqtt import DEFAULT_GROUP, DEFAULT_URL, IngestWorker


class Command(BaseCommand):
    help = "接收设备 MQTT 消息并入库 (consume telemetry from MQTT: QoS 1, persistent session, shared subscription)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--url",
            default=None,
            help=f"broker URL, mqtt://[user:password@]host[:port] or mqtts://… (default: MQTT_URL, else {DEFAULT_URL})",
        )
        parser.add_argument(
            "--name",
            default="1",
            help="this worker's name, stable across restarts: client id yanglao-ingest-<name> (default 1)",
        )
        parser.add_argument(
            "--group", default=DEFAULT_GROUP, help=f"shared-subscription group (default {DEFAULT_GROUP})"
        )
        parser.add_argument(
            "--batch", type=int, default=1000, help="messages stored per transaction (default 1000)"
        )
        parser.add_argument(
            "--wait-ms", type=int, default=50, help="longest wait for a batch to fill, in ms (default 50)"
        )
        parser.add_argument(
            "--window",
            type=int,
            default=None,
            help="unacknowledged messages the broker may send (MQTT v5 Receive Maximum; default 8 × batch)",
        )
        parser.add_argument("--log-every", type=float, default=60.0, help="seconds between rate log lines")
        parser.add_argument(
            "--retire",
            action="store_true",
            help="leave the group for good: store what the broker holds for this worker, end its session",
        )

    def handle(self, *args, **options):
        url = options["url"] or settings.MQTT_URL or DEFAULT_URL
        try:
            worker = IngestWorker(
                url=url,
                name=options["name"],
                group=options["group"],
                batch=options["batch"],
                wait_ms=options["wait_ms"],
                window=options["window"],
                log_every=options["log_every"],
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        if options["retire"]:
            try:
                worker.retire()
            except ConnectionError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(
                f"{worker.client_id} retired: {worker.stats.stored} message(s) stored on the way out"
            )
            return
        worker.run()
