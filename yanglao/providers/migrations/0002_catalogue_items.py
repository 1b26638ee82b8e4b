"""The service catalogue of DOMAIN.md §5, so every installation starts with the twelve items that
orders, meals and care plans refer to by code.

Units, standard durations and prices are reference values (指导价), set here as a plausible starting
point for a large city; each city edits them on the catalogue page (services.catalogue_item_update)."""

from decimal import Decimal

from django.db import migrations

# (code, name, unit, standard minutes, reference price in yuan, description)
ITEMS = [
    ("meals", "助餐", "meal", 30, "15.00", "老年食堂、助餐点堂食或送餐上门，每餐一份。"),
    ("bathing", "助浴", "visit", 60, "80.00", "上门或到助浴点协助洗浴，含洗浴前后的安全评估与皮肤观察。"),
    ("cleaning", "助洁", "hour", 60, "40.00", "居室清洁、整理、衣物清洗等家务服务。"),
    ("medical", "助医", "visit", 60, "50.00", "协助就医、代为取药、测量血压血糖等健康服务。"),
    ("mobility", "助行", "hour", 60, "40.00", "陪同外出、散步，协助使用助行器具和轮椅。"),
    ("shopping", "代购", "visit", 30, "20.00", "代购生活用品、药品，送货上门（商品费用另计）。"),
    ("day_care", "日托", "day", 480, "60.00", "在日间照料中心接受白天照护、膳食和文化活动，早送晚接。"),
    ("personal_care", "生活照料", "hour", 60, "45.00", "协助穿衣、进食、如厕、洗漱、翻身等日常生活照料。"),
    ("rehabilitation", "康复护理", "visit", 45, "80.00", "在康复专业人员指导下进行肢体功能训练和康复护理。"),
    ("escort", "陪诊", "visit", 240, "120.00", "陪同到医院就诊，协助挂号、缴费、检查和取药（约半天）。"),
    ("companionship", "精神慰藉", "hour", 60, "30.00", "陪伴聊天、读报、心理疏导和情绪关怀。"),
    ("repair", "家政维修", "visit", 60, "50.00", "水电、门窗、家具等小型维修（材料费另计）。"),
]


def seed(apps, schema_editor):
    CatalogueItem = apps.get_model("providers", "CatalogueItem")
    for order, (code, name, unit, minutes, price, description) in enumerate(ITEMS, start=1):
        CatalogueItem.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "unit": unit,
                "standard_minutes": minutes,
                "reference_price": Decimal(price),
                "description": description,
                "is_active": True,
                "order": order * 10,
            },
        )


def unseed(apps, schema_editor):
    CatalogueItem = apps.get_model("providers", "CatalogueItem")
    CatalogueItem.objects.filter(code__in=[row[0] for row in ITEMS], offers__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("providers", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
