"""yanglao simulate_devices: simulated devices for existing elders, publishing realistic telemetry over
MQTT (monitoring/simulator.py), for the demo and the benchmarks."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from yanglao.monitoring import simulator


class Command(BaseCommand):
    help = (
        "模拟智能设备：为已有老人登记（或复用）模拟设备，并通过 MQTT 按给定速率上报数据 "
        "(simulated devices publishing telemetry over MQTT)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--households", type=int, required=True, help="homes to simulate (existing elders)"
        )
        parser.add_argument(
            "--rate", type=float, required=True, help="messages a second, all devices together"
        )
        parser.add_argument("--duration", type=float, required=True, help="seconds to publish for")
        parser.add_argument(
            "--sos-every", type=float, default=None, help="an SOS from a random home every S seconds"
        )
        parser.add_argument(
            "--url", default=None, help="broker URL (default: MQTT_URL, else mqtt://127.0.0.1:1883)"
        )
        parser.add_argument("--seed", type=int, default=None, help="seed for choosing homes and values")
        parser.add_argument("--max-inflight", type=int, default=2000, help="unacknowledged messages at most")

    def handle(self, *args, households, rate, duration, sos_every, url, seed, max_inflight, **options):
        if settings.PRODUCTION:
            raise CommandError(
                "simulate_devices is refused when YANGLAO_ENV=production (it registers fake devices)"
            )
        if households < 1:
            raise CommandError("--households must be 1 or more")
        if rate <= 0 or duration <= 0:
            raise CommandError("--rate and --duration must be more than 0")
        if sos_every is not None and sos_every <= 0:
            raise CommandError("--sos-every must be more than 0 seconds")
        if max_inflight < 1:
            raise CommandError("--max-inflight must be 1 or more")
        try:
            devices = simulator.prepare(households, seed)
        except ValueError as error:
            raise CommandError(str(error)) from None
        loud = options["verbosity"] >= 1
        homes = len({d.elder_id for d in devices})
        url = url or settings.MQTT_URL or simulator.DEFAULT_URL
        if loud:
            self.stdout.write(
                f"simulating {len(devices)} devices in {homes} homes: {rate:g} msg/s for {duration:g} s to {url}"
                + (f", an SOS every {sos_every:g} s" if sos_every else "")
            )
        try:
            report = simulator.publish(
                devices,
                rate,
                duration,
                sos_every,
                url,
                seed=seed,
                max_inflight=max_inflight,
                progress=(
                    (
                        lambda p: self.stdout.write(
                            f"  {p['seconds']:>7.1f} s  sent {p['sent']}  acked {p['acked']}"
                        )
                    )
                    if loud
                    else None
                ),
            )
        except simulator.SimulatorError as error:
            raise CommandError(str(error)) from None
        if loud:
            self.stdout.write(
                self.style.SUCCESS(
                    f"sent {report['sent']}, acked {report['acked']}, failed {report['failed']}, "
                    f"SOS {report['sos']} in {report['seconds']:.1f} s: {report['rate']:.1f} msg/s "
                    f"(asked {rate:g}), run {report['run_id']}"
                )
            )
