"""Programmes (versioned policy records loaded from packs), monthly runs and entitlements (DOMAIN.md §3).

An entitlement is one (programme, beneficiary, period) with its amount, the rule version that decided it
and a reason a clerk can read; the unique key is what makes a run idempotent and a payment single."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from yanglao.core.fields import EncryptedTextField, LookupHashField
from yanglao.core.models import TimeStampedModel


class Target(models.TextChoices):
    ELDER = "elder", _("老年人")
    FACILITY = "facility", _("养老设施")
    WORKER = "worker", _("护理员")


class Payment(models.TextChoices):
    CASH = "cash", _("发放至银行账户")
    SERVICE_CREDIT = "service_credit", _("计入服务账户")


class Frequency(models.TextChoices):
    MONTHLY = "monthly", _("按月")
    YEARLY = "yearly", _("按年")
    ONCE = "once", _("一次性")


class Programme(TimeStampedModel):
    """One version of a programme's rule. A changed rule is a new version; entitlements keep theirs."""

    code = models.CharField(_("项目代码"), max_length=80, db_index=True)
    version = models.PositiveIntegerField(_("版本"))
    pack = models.CharField(_("政策包"), max_length=40)
    name = models.CharField(_("项目名称"), max_length=120)
    jurisdiction = models.CharField(_("适用区域"), max_length=12)
    target = models.CharField(_("补贴对象"), max_length=10, choices=Target.choices)
    payment = models.CharField(_("发放方式"), max_length=16, choices=Payment.choices)
    frequency = models.CharField(_("发放频次"), max_length=10, choices=Frequency.choices)
    pay_month = models.PositiveSmallIntegerField(_("按年发放月份"), null=True, blank=True)
    valid_from = models.DateField(_("生效日期"))
    valid_until = models.DateField(_("失效日期"), null=True, blank=True)
    rule = models.JSONField(_("规则"))
    assumed = models.JSONField(_("待确认的假设值"), default=list, blank=True)
    note = models.TextField(_("说明"), blank=True)
    source = models.CharField(_("政策依据"), max_length=300, blank=True)
    source_file = models.CharField(_("政策包文件"), max_length=120, blank=True)
    is_current = models.BooleanField(_("当前版本"), default=True)
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("补贴项目")
        verbose_name_plural = _("补贴项目")
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="programme_code_version_unique"),
            models.UniqueConstraint(
                fields=["code"], condition=models.Q(is_current=True), name="programme_one_current_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code} v{self.version}）"


class BenefitRun(TimeStampedModel):
    """A monthly run for a period: which programmes are done, so a killed run resumes where it stopped."""

    class State(models.TextChoices):
        RUNNING = "running", _("计算中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    period = models.DateField(_("期间"), db_index=True)  # the first day of the month
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.RUNNING)
    programmes_done = models.JSONField(_("已完成的项目"), default=list, blank=True)
    totals = models.JSONField(_("汇总"), default=dict, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    message = models.CharField(_("说明"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("补贴计算")
        verbose_name_plural = _("补贴计算")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.period:%Y-%m}（{self.get_state_display()}）"


class Entitlement(models.Model):
    """What one beneficiary is owed by one programme for one period, and why."""

    class State(models.TextChoices):
        DRAFT = "draft", _("待审核")
        REVIEWED = "reviewed", _("区级已审核")
        APPROVED = "approved", _("市级已审批")
        PAID = "paid", _("已发放")
        FAILED = "failed", _("发放失败")

    # No database constraint and no index on the two foreign keys: a run writes hundreds of thousands
    # of rows in one statement, and PostgreSQL checks a constraint row by row at commit (4.6 s of a
    # 17 s run at a million elders, measured). Both are constants of the run's statement, checked by the
    # service; programmes and runs are never deleted (PROTECT still guards deletes through the ORM).
    programme = models.ForeignKey(
        Programme,
        verbose_name=_("补贴项目"),
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    programme_code = models.CharField(_("项目代码"), max_length=80)
    target = models.CharField(_("补贴对象"), max_length=10, choices=Target.choices)
    beneficiary_id = models.BigIntegerField(_("对象编号"))
    region_code = models.CharField(_("所在区域"), max_length=12)
    period = models.DateField(_("期间"))
    amount = models.DecimalField(_("金额（元）"), max_digits=12, decimal_places=2)
    reason = models.CharField(_("依据"), max_length=300)
    payment = models.CharField(_("发放方式"), max_length=16, choices=Payment.choices)

    class Kind(models.TextChoices):
        REGULAR = "regular", _("正常发放")
        BACKPAY = "backpay", _("补发")
        RECOVERY = "recovery", _("追回")

    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.DRAFT)
    # A recovery is a negative entitlement beside the one paid in error (a death reported late); a
    # back-pay is the difference owed for a past month whose level was approved after it was computed.
    # db_default: the run's INSERT … SELECT names only the columns it computes.
    kind = models.CharField(
        _("类型"), max_length=10, choices=Kind.choices, default=Kind.REGULAR, db_default=Kind.REGULAR
    )
    run = models.ForeignKey(
        BenefitRun,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    created_at = models.DateTimeField(_("计算时间"))

    class Meta:
        verbose_name = _("补贴明细")
        verbose_name_plural = _("补贴明细")
        # Two indexes only, each worth its cost at a million rows a month. The unique key leads with the
        # period and the programme, so a run's rows (written in beneficiary order) go to the end of
        # one range of it, and the period's queries (differences, review, rosters) read that range;
        # the second finds one elder's entitlements (their page, a reported death).
        constraints = [
            models.UniqueConstraint(
                fields=["period", "programme_code", "target", "kind", "beneficiary_id"],
                name="entitlement_once_per_period",
            )
        ]
        indexes = [models.Index(fields=["target", "beneficiary_id"], name="entitlement_beneficiary")]

    def __str__(self) -> str:
        return f"{self.programme_code} {self.beneficiary_id} {self.period:%Y-%m} {self.amount}"


class ServiceAccount(models.Model):
    """An elder's service account (服务券/电子账户): the balance is kept beside an append-only ledger, and
    the database refuses a negative balance, so two debits at once can never overdraw it."""

    elder_id = models.BigIntegerField(_("老年人编号"), unique=True)
    balance = models.DecimalField(_("余额（元）"), max_digits=12, decimal_places=2, default=0)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("服务账户")
        verbose_name_plural = _("服务账户")
        constraints = [
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="service_account_not_negative")
        ]

    def __str__(self) -> str:
        return f"{self.elder_id}: {self.balance}"


class LedgerEntry(models.Model):
    """One movement of a service account: a monthly credit from an approved entitlement, or a debit for
    a service (orders). Never changed or deleted; a correction is another entry."""

    account = models.ForeignKey(ServiceAccount, on_delete=models.PROTECT, related_name="entries")
    amount = models.DecimalField(_("金额（元）"), max_digits=12, decimal_places=2)  # + credit, − debit
    # Unique, without a database foreign key: a city's approval writes ~500,000 credits in one statement
    # from the approved entitlements themselves, and PostgreSQL would check each at commit (~5 s);
    # entitlements are never deleted once approved (PROTECT guards deletes through the ORM).
    entitlement = models.OneToOneField(
        Entitlement,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_entry",
        db_constraint=False,
    )
    reference = models.CharField(_("业务单号"), max_length=60, blank=True)
    note = models.CharField(_("摘要"), max_length=300)
    created_at = models.DateTimeField(_("记账时间"))

    class Meta:
        verbose_name = _("服务账户流水")
        verbose_name_plural = _("服务账户流水")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.account_id} {self.amount:+} {self.note}"


def account_digits(raw: str) -> str:
    """A bank account number without the spaces people type in groups of four."""
    return "".join(str(raw).split())


class BankAccount(models.Model):
    """Where an elder's cash benefits are paid (社保卡 or a bank account); the number is personal data,
    stored encrypted with a keyed hash, masked on screens and rosters."""

    elder_id = models.BigIntegerField(_("老年人编号"), unique=True)
    bank_name = models.CharField(_("开户行"), max_length=100)
    account_name = models.CharField(_("户名"), max_length=50)
    account_number = EncryptedTextField(_("账号"), normalize=account_digits)
    account_number_hash = LookupHashField(source="account_number")
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("发放账户")
        verbose_name_plural = _("发放账户")

    def __str__(self) -> str:
        return f"{self.account_name} {self.bank_name}"

    @property
    def masked_number(self) -> str:
        number = self.account_number or ""
        return number[:4] + "*" * max(0, len(number) - 8) + number[-4:] if len(number) > 8 else "****"
