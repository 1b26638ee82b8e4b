"""DESIGN.md rule 2: the layering is an import-linter contract, and it holds."""

import subprocess
import sys
import tomllib
from pathlib import Path

from django.conf import settings

DESIGN_ORDER = [
    "analytics",
    "oversight",
    "orders",
    "benefits",
    "assessments",
    "registry",
    "regions",
    "core",
]


def _contract():
    data = tomllib.loads((settings.BASE_DIR / "pyproject.toml").read_text())
    contracts = data["tool"]["importlinter"]["contracts"]
    return next(c for c in contracts if c["type"] == "layers")


def test_the_layers_contract_lists_design_order():
    layers = _contract()["layers"]
    positions = {}
    for index, layer in enumerate(layers):
        for module in layer.replace("(", "").replace(")", "").split("|"):
            positions[module.strip().removeprefix("yanglao.")] = index
    ordered = [positions[name] for name in DESIGN_ORDER]
    assert ordered == sorted(ordered), positions
    # Every app that exists is in the contract, so a new app cannot slip out of the layering.
    apps = {p.name for p in (settings.BASE_DIR / "yanglao").iterdir() if (p / "apps.py").exists()}
    assert apps <= set(positions), apps - set(positions)


def test_import_linter_passes():
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
