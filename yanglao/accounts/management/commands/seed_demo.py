"""yanglao seed_demo: the demonstration cast, one user per role (accounts/demo.py). Idempotent."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from yanglao.accounts import services
from yanglao.accounts.demo import DEMO_ORGANISATIONS, DEMO_PASSWORD, DEMO_USERS
from yanglao.accounts.models import Organisation, User
from yanglao.core import creditcode
from yanglao.regions.models import Region


class Command(BaseCommand):
    help = "创建演示用户（每个角色一个） create one demo user per role."

    @transaction.atomic
    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("seed_demo is refused when YANGLAO_ENV=production")
        needed = {u.region for u in DEMO_USERS} | {o[2] for o in DEMO_ORGANISATIONS.values()}
        missing = needed - set(Region.objects.filter(code__in=needed).values_list("code", flat=True))
        if missing:
            raise CommandError(
                "regions not loaded: "
                + ", ".join(sorted(missing))
                + " (run `yanglao load_regions --root 1201`)"
            )
        actor = "seed_demo"
        organisations = {}
        for key, (name, kind, region, base) in DEMO_ORGANISATIONS.items():
            code = base + creditcode.check_character(base)
            organisation = Organisation.objects.filter(credit_code=code).first()
            if organisation is None:
                organisation = services.organisation_create(
                    actor=actor, name=name, kind=kind, region_code=region, credit_code=code
                )
            organisations[key] = organisation
        created = 0
        for demo in DEMO_USERS:
            user = User.objects.filter(username=demo.username).first()
            if user is None:
                services.user_create(
                    actor=actor,
                    username=demo.username,
                    password=DEMO_PASSWORD,
                    role=demo.role,
                    region_code=demo.region,
                    organisation=organisations.get(demo.organisation) if demo.organisation else None,
                    full_name=demo.full_name,
                )
                created += 1
        self.stdout.write(f"demo users: {created} created, {len(DEMO_USERS) - created} already present")
