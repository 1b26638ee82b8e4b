"""The demo step: providers in every district of the demo city, with offers, areas and workers; the demo
provider organisation gets its profile; a second run adds nothing."""

import io

from django.core.management import call_command

from yanglao.accounts.models import User
from yanglao.core import idcard
from yanglao.providers import selectors
from yanglao.providers.demo import demo_providers
from yanglao.providers.models import CareWorker, Certificate, Provider, ProviderOffer, TrainingRecord
from yanglao.regions.models import Region


def test_the_demo_fills_every_district_once(db):
    call_command("seed_demo", stdout=io.StringIO())
    out = io.StringIO()
    created = demo_providers(root="1201", stdout=out)
    districts = Region.objects.filter(code__startswith="1201", level="district").count()
    assert created == districts * 3 + 1 and "demo providers" in out.getvalue()
    workers = CareWorker.objects.count()
    assert created * 5 <= workers <= created * 15
    assert Certificate.objects.exists() and TrainingRecord.objects.exists()
    assert all(idcard.is_valid(w.id_number) for w in CareWorker.objects.all()[:50])
    for provider in Provider.objects.select_related("organisation")[:5]:
        district = provider.organisation.region_id[:6]
        areas = list(provider.service_areas.values_list("code", flat=True))
        assert areas and all(a.startswith(district) and len(a) == 9 for a in areas)
        assert ProviderOffer.objects.filter(provider=provider).count() >= 4
    assert demo_providers(root="1201") == 0
    assert CareWorker.objects.count() == workers


def test_the_demo_provider_admin_and_care_worker_see_their_organisation(db):
    call_command("seed_demo", stdout=io.StringIO())
    demo_providers(root="1201")
    admin = User.objects.get(username="provider")
    own = selectors.workers_visible(admin)
    assert own.exists() and {w.organisation_id for w in own} == {admin.organisation_id}
    assert [p.organisation_id for p in selectors.providers_visible(admin)] == [admin.organisation_id]
    care_worker = User.objects.get(username="careworker")
    mine = list(selectors.workers_visible(care_worker))
    assert [w.name for w in mine] == ["吴芳"]
    assert (
        selectors.providers_serving("120101001001", "meals").exists()
        or selectors.providers_serving("120101001001", "bathing").exists()
    )
