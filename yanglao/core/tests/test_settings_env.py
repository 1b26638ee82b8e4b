"""Start-up refuses wrong environment values, naming the variable and what it accepts."""

import base64
import os
import subprocess
import sys

import pytest
from django.conf import settings

GOOD_PII_KEY = "k1:" + base64.b64encode(b"0" * 32).decode()
PRODUCTION = {
    "YANGLAO_ENV": "production",
    "YANGLAO_SECRET_KEY": "s" * 20 + "-Q7xk2Pz9Lm4Wv8Rt1Yb6Nc3Hd5Jg0Fa-" + "t" * 20,
    "YANGLAO_PII_KEY": GOOD_PII_KEY,
    "YANGLAO_PII_HASH_KEY": "h" * 40,
    "YANGLAO_ALLOWED_HOSTS": "yanglao.example.gov.cn",
}


def start(extra: dict[str, str], *command: str) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("YANGLAO_", "DATABASE_URL", "REDIS_URL", "MQTT_URL"))
    }
    env.update({"YANGLAO_DATA_DIR": str(settings.DATA_DIR), "PYTHONWARNINGS": "ignore"})
    env.update(extra)
    args = command or ("check",)
    return subprocess.run(
        [sys.executable, "-m", "yanglao.cli", *args],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "name,value,accepts",
    [
        ("YANGLAO_DEBUG", "maybe", "true/false"),
        ("YANGLAO_ENV", "staging", "development, test, production"),
        ("YANGLAO_SESSION_HOURS", "eight", "whole number"),
        ("YANGLAO_LOGIN_MAX_FAILURES", "0", "at least 1 and at most 100"),
        ("YANGLAO_TIME_ZONE", "Mars/Olympus", "IANA time zone"),
        ("YANGLAO_HSTS_SECONDS", "-1", "at least 0"),
        ("DATABASE_URL", "mysql://localhost/db", "postgres://"),
        ("REDIS_URL", "localhost:6379", "redis://"),
        ("YANGLAO_PII_KEY", "k1:short", "32 bytes"),
        ("YANGLAO_LANGUAGE", "fr", "zh-hans, en"),
    ],
)
def test_a_wrong_value_stops_start_up_naming_the_variable(name, value, accepts):
    result = start({name: value})
    assert result.returncode != 0
    assert name in result.stderr
    assert accepts in result.stderr


def test_production_refuses_generated_secrets():
    result = start({"YANGLAO_ENV": "production", "YANGLAO_ALLOWED_HOSTS": "x.example"})
    assert result.returncode != 0
    assert "refuses generated secrets" in result.stderr
    assert "YANGLAO_SECRET_KEY" in result.stderr


def test_production_refuses_debug():
    result = start({**PRODUCTION, "YANGLAO_DEBUG": "true"})
    assert result.returncode != 0
    assert "YANGLAO_DEBUG=true is refused" in result.stderr


def test_production_deploy_check_is_clean():
    result = start(PRODUCTION, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_the_pii_key_is_never_echoed_in_the_error():
    secret = base64.b64encode(b"x" * 16).decode()
    result = start({"YANGLAO_PII_KEY": f"k1:{secret}"})
    assert result.returncode != 0
    assert secret not in result.stderr
