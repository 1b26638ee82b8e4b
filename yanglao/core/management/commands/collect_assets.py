"""Copy the front-end assets that npm installed (package-lock.json) into the git-ignored folder
yanglao/static/vendor/, from where Django's static files (and whitenoise) serve them. Nothing is
fetched at run time, so the platform works on an intranet with no internet."""

from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

# (package path under node_modules, destination under static/vendor). Source maps go along because the
# manifest storage used in production follows sourceMappingURL comments and fails on a missing map.
ASSETS = [
    ("htmx.org/dist/htmx.min.js", "htmx/htmx.min.js"),
    ("bootstrap/dist/css/bootstrap.min.css", "bootstrap/bootstrap.min.css"),
    ("bootstrap/dist/css/bootstrap.min.css.map", "bootstrap/bootstrap.min.css.map"),
    ("bootstrap/dist/js/bootstrap.bundle.min.js", "bootstrap/bootstrap.bundle.min.js"),
    ("bootstrap/dist/js/bootstrap.bundle.min.js.map", "bootstrap/bootstrap.bundle.min.js.map"),
    ("echarts/dist/echarts.min.js", "echarts/echarts.min.js"),
    ("leaflet/dist/leaflet.css", "leaflet/leaflet.css"),
    ("leaflet/dist/leaflet.js", "leaflet/leaflet.js"),
    ("leaflet/dist/leaflet.js.map", "leaflet/leaflet.js.map"),
    ("leaflet/dist/images", "leaflet/images"),
    ("leaflet.markercluster/dist/MarkerCluster.css", "leaflet.markercluster/MarkerCluster.css"),
    (
        "leaflet.markercluster/dist/MarkerCluster.Default.css",
        "leaflet.markercluster/MarkerCluster.Default.css",
    ),
    ("leaflet.markercluster/dist/leaflet.markercluster.js", "leaflet.markercluster/leaflet.markercluster.js"),
    (
        "leaflet.markercluster/dist/leaflet.markercluster.js.map",
        "leaflet.markercluster/leaflet.markercluster.js.map",
    ),
]


class Command(BaseCommand):
    help = "把 npm 安装的前端资源复制到 static/vendor (copy npm front-end assets into static/vendor)."

    def add_arguments(self, parser):
        parser.add_argument("--node-modules", default=str(settings.BASE_DIR / "node_modules"))

    def handle(self, *args, node_modules: str, **options):
        source_root = Path(node_modules)
        if not source_root.is_dir():
            raise CommandError(f"{source_root} does not exist: run `npm ci` first (the Makefile does).")
        target_root = settings.BASE_DIR / "yanglao" / "static" / "vendor"
        missing = [src for src, _ in ASSETS if not (source_root / src).exists()]
        if missing:
            raise CommandError("missing in node_modules (run `npm ci`): " + ", ".join(missing))
        for src, dest in ASSETS:
            source, target = source_root / src, target_root / dest
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True)
            else:
                shutil.copyfile(source, target)
        self.stdout.write(f"copied {len(ASSETS)} assets into {target_root.relative_to(settings.BASE_DIR)}")
