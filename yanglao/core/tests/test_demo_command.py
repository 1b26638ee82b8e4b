"""`yanglao demo`: migrate, load the city, run every registered demo step; idempotent."""

import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from yanglao.accounts.demo import DEMO_USERS
from yanglao.accounts.models import User
from yanglao.core.demo import steps


def demo_users() -> int:
    return User.objects.filter(username__in=[u.username for u in DEMO_USERS]).count()


def test_running_the_demo_twice_leaves_one_population_and_one_cast(db):
    # The kernel does not import the registry; the model is looked up by name.
    elder = apps.get_model("registry", "Elder")
    for _ in range(2):
        call_command("demo", "--no-serve", "--elders", "500", stdout=io.StringIO(), stderr=io.StringIO())
        assert elder.objects.count() == 500
        assert demo_users() == len(DEMO_USERS) == 14


def test_the_apps_register_their_steps_in_order():
    names = [step.name for step in steps()]
    assert names.index("accounts.seed") < names.index("registry.population")


def test_the_demo_is_refused_in_production(db):
    with override_settings(PRODUCTION=True), pytest.raises(CommandError, match="production"):
        call_command("demo", "--no-serve", stdout=io.StringIO())
    assert demo_users() == 0
