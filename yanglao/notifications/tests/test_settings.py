"""The gateway settings are parsed strictly: a wrong value stops start-up with a clear message."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def start(**variables):
    env = {k: v for k, v in os.environ.items() if not k.startswith("YANGLAO_NOTIFY_")}
    env.update(variables, DJANGO_SETTINGS_MODULE="config.settings", YANGLAO_ENV="test")
    return subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.YANGLAO_NOTIFY_GATEWAY)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_log_gateway_is_the_default():
    started = start()
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "log"


def test_the_http_gateway_without_a_url_refuses_to_start():
    started = start(YANGLAO_NOTIFY_GATEWAY="http")
    assert started.returncode != 0
    assert "YANGLAO_NOTIFY_GATEWAY=http needs YANGLAO_NOTIFY_HTTP_URL" in started.stderr


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"YANGLAO_NOTIFY_GATEWAY": "smtp"}, "YANGLAO_NOTIFY_GATEWAY='smtp' is not valid"),
        (
            {"YANGLAO_NOTIFY_GATEWAY": "http", "YANGLAO_NOTIFY_HTTP_URL": "ftp://gw.example/send"},
            "YANGLAO_NOTIFY_HTTP_URL='ftp://gw.example/send' is not valid",
        ),
        ({"YANGLAO_NOTIFY_HTTP_TIMEOUT": "0"}, "YANGLAO_NOTIFY_HTTP_TIMEOUT='0' is not valid"),
        ({"YANGLAO_NOTIFY_HTTP_TIMEOUT": "five"}, "YANGLAO_NOTIFY_HTTP_TIMEOUT='five' is not valid"),
    ],
)
def test_wrong_values_stop_start_up_naming_the_variable(variables, message):
    started = start(**variables)
    assert started.returncode != 0
    assert message in started.stderr


def test_the_http_gateway_with_a_url_starts():
    started = start(YANGLAO_NOTIFY_GATEWAY="http", YANGLAO_NOTIFY_HTTP_URL="https://sms.intranet/v1/messages")
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "http"
