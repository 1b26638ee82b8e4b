"""Demo providers: a few service organisations per district of the demonstration city, named after the
district, serving its streets and offering a seeded share of the catalogue at prices near the reference;
each employs care workers with valid synthetic ID numbers, skill certificates and training, some of
whose documents are about to expire so the warning panel has something to show. The demo provider
organisation of the accounts step gets its profile and workers too (one of them is the demo care
worker's own record). Seeded and idempotent: a second run adds nothing."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from yanglao.accounts.demo import DEMO_ORGANISATIONS
from yanglao.accounts.models import Organisation, User
from yanglao.accounts.roles import Role
from yanglao.core import audit, creditcode, idcard
from yanglao.core.fields import lookup_value
from yanglao.providers.enums import CertificateGrade, LegalForm, ProviderStatus, WorkerStatus
from yanglao.providers.models import (
    CareWorker,
    CatalogueItem,
    Certificate,
    Provider,
    ProviderOffer,
    PurchaseContract,
    TrainingRecord,
)
from yanglao.regions import codes
from yanglao.regions.models import Region

ACTOR = "demo"
# (name pattern, legal form, GB 32100 authority + kind: 91 enterprise (工商), 52 民办非企业 (民政),
# 12 public institution (机构编制))
KINDS = [
    ("{district}康乐居家养老服务有限公司", LegalForm.ENTERPRISE, "91"),
    ("{district}颐年社会工作服务中心", LegalForm.SOCIAL_ORG, "52"),
    ("{district}社区养老服务指导中心", LegalForm.PUBLIC_UNIT, "12"),
]
WORKERS = (5, 15)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁"
_GIVEN_FEMALE = (
    "丽 娟 敏 静 霞 红 艳 芳 燕 玲 梅 琳 婷 秀英 桂香 春燕 海燕 晓红 丽华 淑芬 雪梅 玉兰 爱华 金凤"
)
_GIVEN_MALE = "伟 强 军 磊 勇 杰 涛 斌 刚 明 建国 志强 海涛 永军 晓东 国华 建平 立新"
GIVEN_FEMALE = _GIVEN_FEMALE.split()
GIVEN_MALE = _GIVEN_MALE.split()
MOBILE_PREFIXES = (130, 131, 132, 135, 136, 137, 138, 139, 150, 151, 152, 155, 158, 177, 186, 188, 189)
TOPICS = [
    ("养老护理员岗前培训", (16, 40)),
    ("失能老年人照护技能", (8, 24)),
    ("老年人跌倒预防与应急处置", (4, 8)),
    ("认知障碍老年人照护", (8, 16)),
    ("消防安全与急救常识", (2, 6)),
    ("老年人营养与膳食", (4, 8)),
    ("职业道德与老年人权益保障", (2, 4)),
]
# Skill levels held by working care workers: most at the first two levels (assumed shares).
GRADES = [
    (CertificateGrade.JUNIOR, 50),
    (CertificateGrade.INTERMEDIATE, 30),
    (CertificateGrade.SENIOR, 15),
    (CertificateGrade.TECHNICIAN, 4),
    (CertificateGrade.SENIOR_TECHNICIAN, 1),
]
GRADE_MARK = {"junior": "5", "intermediate": "4", "senior": "3", "technician": "2", "senior_technician": "1"}


def _credit_code(prefix: str, district: str, serial: int) -> str:
    base = f"{prefix}{district}MA{serial:07d}"
    return base + creditcode.check_character(base)


def _id_number(rng: random.Random, district: str, today: date, used: set[str]) -> tuple[str, date, str]:
    """A valid GB 11643 number for someone aged 22–58, unique among those made in this run."""
    while True:
        born = today - timedelta(days=rng.randrange(22 * 365, 58 * 365))
        female = rng.random() < 0.85  # most care workers are women
        sequence = rng.randrange(0, 499) * 2 + (2 if female else 1)
        first17 = f"{district}{born:%Y%m%d}{sequence:03d}"
        number = first17 + idcard.check_character(first17)
        if number not in used:
            used.add(number)
            return number, born, "female" if female else "male"


def _name(rng: random.Random, sex: str) -> str:
    given = GIVEN_FEMALE if sex == "female" else GIVEN_MALE
    return rng.choice(SURNAMES) + rng.choice(given)


def _price_near(rng: random.Random, reference: Decimal) -> Decimal:
    factor = Decimal(str(round(rng.uniform(0.85, 1.15), 2)))
    return max(Decimal("1.00"), (reference * factor).quantize(Decimal("1"), rounding=ROUND_HALF_UP)).quantize(
        Decimal("0.01")
    )


def _worker_rows(
    rng: random.Random, organisation: Organisation, count: int, today: date, used: set[str]
) -> list[dict[str, Any]]:
    district = organisation.region_id[:6]
    rows = []
    for _ in range(count):
        number, born, sex = _id_number(rng, district, today, used)
        hired = today - timedelta(days=rng.randrange(30, 8 * 365))
        # Health certificates are renewed yearly; about one in eight falls due within a month.
        health = today + timedelta(days=rng.randrange(-20, 365))
        status = rng.choices([WorkerStatus.ACTIVE, WorkerStatus.SUSPENDED, WorkerStatus.LEFT], [90, 4, 6])[0]
        rows.append(
            {
                "worker": CareWorker(
                    name=_name(rng, sex),
                    id_number=number,
                    birth_date=born,
                    sex=sex,
                    phone=f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}",
                    organisation=organisation,
                    status=status,
                    status_reason="" if status == WorkerStatus.ACTIVE else "演示数据",
                    status_since=hired,
                    hired_on=hired,
                    health_certificate_expires=health,
                    note="演示数据",
                ),
                "hired": hired,
                "born": born,
            }
        )
    return rows


def _documents(
    rng: random.Random, workers: list[dict[str, Any]], today: date, serial: list[int]
) -> tuple[list[Certificate], list[TrainingRecord]]:
    certificates, trainings = [], []
    grades, weights = [g for g, _ in GRADES], [w for _, w in GRADES]
    for row in workers:
        worker, hired = row["worker"], row["hired"]
        adult = row["born"] + timedelta(days=18 * 366)
        if rng.random() < 0.85:
            grade = rng.choices(grades, weights)[0]
            issued = max(adult, hired - timedelta(days=rng.randrange(0, 3 * 365)))
            issued = min(issued, today - timedelta(days=1))
            # Some certificates are issued with a validity period; a few of those run out soon.
            expires = None
            if rng.random() < 0.3:
                expires = today + timedelta(days=rng.randrange(-10, 3 * 365))
                expires = max(expires, issued)
            serial[0] += 1
            certificates.append(
                Certificate(
                    worker=worker,
                    grade=grade,
                    number=f"S{issued:%Y}1200{GRADE_MARK[grade]}{serial[0]:07d}",
                    issued_on=issued,
                    expires_on=expires,
                )
            )
        for topic, (low, high) in rng.sample(TOPICS, rng.randrange(1, 4)):
            on = hired + timedelta(days=rng.randrange(0, max(1, (today - hired).days)))
            trainings.append(
                TrainingRecord(worker=worker, topic=topic, hours=Decimal(rng.randrange(low, high + 1)), on=on)
            )
    return certificates, trainings


def demo_providers(*, root: str = "1201", stdout: Any = None, seed: int = 41, **options: Any) -> int:
    """Create the demo providers and their workers; returns how many providers were created."""
    root = codes.normalize(root, field="root")
    today = timezone.localdate()
    items = list(CatalogueItem.objects.filter(is_active=True).order_by("order", "code"))
    districts = list(Region.objects.filter(codes.within(root), level="district").order_by("code"))
    streets: dict[str, list[str]] = {}
    for code in Region.objects.filter(codes.within(root), level="street").values_list("code", flat=True):
        streets.setdefault(code[:6], []).append(code)
    wanted = []
    for district in districts:
        for index, (pattern, form, prefix) in enumerate(KINDS, start=1):
            code = _credit_code(prefix, district.code, 9_000_000 + index)
            wanted.append((district, pattern.format(district=district.name), form, code))
    present = set(
        Organisation.objects.filter(credit_code__in=[w[3] for w in wanted]).values_list(
            "credit_code", flat=True
        )
    )
    missing = [w for w in wanted if w[3] not in present]
    demo_org = _demo_organisation()
    if not missing and (demo_org is None or hasattr(demo_org, "provider_profile")):
        if stdout is not None:
            stdout.write(f"demo providers: 0 created, {len(wanted)} already present under {root}")
        return 0
    used: set[str] = set()
    serial = [int(today.strftime("%y")) * 100_000 + Certificate.objects.count()]
    with transaction.atomic():
        organisations = Organisation.objects.bulk_create(
            [
                Organisation(name=name, kind=Organisation.Kind.PROVIDER, region=district, credit_code=code)
                for district, name, _form, code in missing
            ]
        )
        plans = []
        for organisation, (district, _, form, code) in zip(organisations, missing, strict=True):
            rng = random.Random(f"{seed}-{code}")
            plans.append((organisation, form, streets.get(district.code, [district.code]), rng))
        if demo_org is not None and not hasattr(demo_org, "provider_profile"):
            district = demo_org.region_id[:6]
            plans.append(
                (demo_org, LegalForm.SOCIAL_ORG, streets.get(district, [district]), random.Random(seed))
            )
        providers = Provider.objects.bulk_create(
            [
                Provider(
                    organisation=organisation,
                    legal_form=form,
                    legal_representative=_name(rng, rng.choice(["female", "male"])),
                    contact_name=_name(rng, "female"),
                    contact_phone=f"022{rng.randrange(2000_0000, 8999_9999)}",
                    address=f"{organisation.region.name}{rng.randrange(1, 300)}号",
                    latitude=organisation.region.latitude,
                    longitude=organisation.region.longitude,
                    status=ProviderStatus.ACTIVE,
                    status_since=today - timedelta(days=rng.randrange(30, 1500)),
                    daily_capacity=rng.randrange(20, 120),
                )
                for organisation, form, _areas, rng in plans
            ]
        )
        Through = Provider.service_areas.through
        Through.objects.bulk_create(
            [
                Through(provider_id=provider.pk, region_id=area)
                for provider, (_org, _form, areas, _rng) in zip(providers, plans, strict=True)
                for area in areas
            ]
        )
        offers, contracts, contract_items, workers = [], [], [], []
        for provider, (organisation, _form, _areas, rng) in zip(providers, plans, strict=True):
            chosen = rng.sample(items, rng.randrange(min(4, len(items)), len(items) + 1)) if items else []
            offers += [
                ProviderOffer(provider=provider, item=item, price=_price_near(rng, item.reference_price))
                for item in chosen
            ]
            year = today.year
            contracts.append(
                PurchaseContract(
                    provider=provider,
                    number=f"TJMZ-{year}-{organisation.credit_code}",
                    title=f"{year}年度居家社区养老服务政府购买服务合同",
                    region_id=organisation.region_id[:6],
                    start_on=date(year, 1, 1),
                    end_on=date(year, 12, 31),
                    budget=Decimal(rng.randrange(20, 300) * 10_000),
                    signed_on=date(year, 1, 1) - timedelta(days=rng.randrange(5, 40)),
                    note="演示数据",
                )
            )
            contract_items.append(chosen)
            workers += _worker_rows(rng, organisation, rng.randrange(WORKERS[0], WORKERS[1] + 1), today, used)
        ProviderOffer.objects.bulk_create(offers)
        made = PurchaseContract.objects.bulk_create(contracts)
        ContractItems = PurchaseContract.items.through
        ContractItems.objects.bulk_create(
            [
                ContractItems(purchasecontract_id=contract.pk, catalogueitem_id=item.pk)
                for contract, chosen in zip(made, contract_items, strict=True)
                for item in chosen
            ]
        )
        _link_demo_care_worker(demo_org, workers)
        workers = _without_registered(workers)
        CareWorker.objects.bulk_create([row["worker"] for row in workers], batch_size=1000)
        certificates, trainings = _documents(random.Random(seed), workers, today, serial)
        Certificate.objects.bulk_create(certificates, batch_size=1000)
        TrainingRecord.objects.bulk_create(trainings, batch_size=1000)
        audit.record(
            ACTOR,
            "provider.demo",
            object_type="providers.provider",
            region_code=root,
            after={"providers": len(providers), "workers": len(workers), "certificates": len(certificates)},
        )
    if stdout is not None:
        stdout.write(
            f"demo providers: {len(providers)} providers, {len(workers)} care workers, "
            f"{len(certificates)} certificates, {len(trainings)} training records"
        )
    return len(providers)


def _demo_organisation() -> Organisation | None:
    base = DEMO_ORGANISATIONS["provider"][3]
    return (
        Organisation.objects.filter(credit_code=base + creditcode.check_character(base))
        .select_related("region")
        .first()
    )


def _link_demo_care_worker(demo_org: Organisation | None, workers: list[dict[str, Any]]) -> None:
    """The demo care worker signs in and sees their own record: the first worker of the demo
    organisation becomes them (name, sex and duty status to match)."""
    if demo_org is None:
        return
    user = User.objects.filter(role=Role.CARE_WORKER, organisation=demo_org).order_by("username").first()
    if user is None or CareWorker.objects.filter(user=user).exists():
        return
    for row in workers:
        worker = row["worker"]
        if worker.organisation_id == demo_org.pk and worker.sex == "female":
            worker.user = user
            worker.name = (user.full_name or "").split()[-1] or worker.name
            worker.status, worker.status_reason = WorkerStatus.ACTIVE, ""
            return


def _without_registered(workers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop a drawn ID number that a worker already holds (from an earlier, interrupted run)."""
    hashes = {lookup_value(CareWorker, "id_number", row["worker"].id_number): row for row in workers}
    taken = set(
        CareWorker.objects.filter(id_number_hash__in=list(hashes)).values_list("id_number_hash", flat=True)
    )
    return [row for digest, row in hashes.items() if digest not in taken]
