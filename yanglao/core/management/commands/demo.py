"""yanglao demo: the whole demonstration in one command. Migrates, loads the demonstration city's
division codes, runs every demo step the apps registered (core/demo.py: demo users, the synthetic
population, …), then starts the platform. Every part is idempotent, so running it again only starts
the platform."""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from yanglao.core.demo import steps


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
        if not no_serve:
            call_command("serve", host=host, port=port, **out)
