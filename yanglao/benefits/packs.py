"""Policy packs: a city's subsidy and allowance programmes as YAML files in `policies/` (DESIGN.md rule 6),
checked when loaded, with every error naming the file, the programme and the field.

    pack: beijing                      # programme codes start with it: beijing.senior_allowance
    name: 北京市养老服务补贴津贴
    jurisdiction: "1101"               # where the pack applies (a region code)
    source: 《北京市老年人养老服务补贴津贴管理实施办法》（2019）
    programmes:
      - code: beijing.senior_allowance
        version: 1                     # a changed rule is a new version; the old stays for the record
        name: 高龄老年人津贴
        target: elder                  # elder | facility | worker
        payment: cash                  # cash (bank account) | service_credit (service account)
        frequency: monthly             # monthly | yearly (paid in pay_month) | once (once per beneficiary)
        valid_from: 2019-12-01
        valid_until: null
        eligibility: {all: [{age_at_least: 80}]}     # conditions.py
        amount: {by_age: [{from: 80, to: 89, amount: 100}, {from: 90, to: 99, amount: 500},
                          {from: 100, amount: 800}]}
        assumed: []                    # which parts are placeholders to be confirmed by the city
        note: …

Amounts (yuan per payment): {fixed: n}; {by_level: {mild: n, …}} (elder, effective ability level);
{by_age: [{from, to?, amount}]} (elder); {by_grade: {5: n, …}} (facility); {by_certificate: {junior: n, …}}
(worker, the highest grade held); {table: [{when: condition, amount: n, label: text}]} (first row that
holds). A beneficiary no row matches is not paid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from django.db.models import Q

from yanglao.assessments.enums import Level
from yanglao.benefits import conditions
from yanglao.registry import groups

PAYMENTS = ("cash", "service_credit")
FREQUENCIES = ("monthly", "yearly", "once")
_PACK = re.compile(r"^[a-z][a-z0-9_]*$")
_CODE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
_REGION = re.compile(r"^\d{2}(\d{2}(\d{2}(\d{3}(\d{3})?)?)?)?$")
MAX_AMOUNT = Decimal("1000000")
CHECK_DAY = date(2026, 1, 1)  # conditions are compiled once at load to check them; any day will do


class PackError(ValueError):
    """A pack breaks the format: `file: programme: field: problem`."""


@dataclass(frozen=True)
class AmountRow:
    condition: Q
    amount: Decimal
    label: str


@dataclass
class ProgrammeSpec:
    pack: str
    code: str
    version: int
    name: str
    target: str
    payment: str
    frequency: str
    pay_month: int | None
    valid_from: date
    valid_until: date | None
    eligibility: dict[str, Any]
    amount: dict[str, Any]
    assumed: list[str]
    note: str
    jurisdiction: str
    source: str
    source_file: str
    not_with: list[str] = field(default_factory=list)

    def rule(self) -> dict[str, Any]:
        """What decides who gets how much: stored with the version, compared on reload."""
        combination = {"not_with": self.not_with} if self.not_with else {}
        return {
            **combination,
            "target": self.target,
            "payment": self.payment,
            "frequency": self.frequency,
            "pay_month": self.pay_month,
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "eligibility": self.eligibility,
            "amount": self.amount,
        }


@dataclass
class Pack:
    name: str
    title: str
    jurisdiction: str
    source: str
    path: str
    programmes: list[ProgrammeSpec] = field(default_factory=list)


def _money(value: Any, where: str) -> Decimal:
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise PackError(f"{where}: 金额应为数字，而不是 {value!r}") from None
    if not Decimal(0) <= amount <= MAX_AMOUNT or amount != amount.quantize(Decimal("0.01")):
        raise PackError(f"{where}: 金额应为 0～{MAX_AMOUNT} 元、至多两位小数，而不是 {value}")
    return amount


def amount_rows(spec: dict[str, Any], target: str, on: date, where: str = "amount") -> list[AmountRow]:
    """The amount rule as (condition, amount, label) rows; the first row that holds applies."""
    if not isinstance(spec, dict) or len(spec) != 1:
        raise PackError(f"{where}: 应为 fixed、by_level、by_age、by_grade、by_certificate 或 table 之一")
    ((kind, value),) = spec.items()
    if kind == "fixed":
        return [AmountRow(Q(), _money(value, f"{where}.fixed"), "")]
    if kind == "table":
        if not isinstance(value, list) or not value:
            raise PackError(f"{where}.table: 应为非空列表")
        rows = []
        for index, row in enumerate(value):
            here = f"{where}.table[{index}]"
            if (
                not isinstance(row, dict)
                or set(row) - {"when", "amount", "label"}
                or not {"when", "amount"} <= set(row)
            ):
                raise PackError(f"{here}: 每行应有 when、amount，可有 label")
            try:
                condition = conditions.compile_condition(row["when"], target, on, f"{here}.when")
            except conditions.ConditionError as error:
                raise PackError(str(error)) from None
            rows.append(
                AmountRow(condition, _money(row["amount"], f"{here}.amount"), str(row.get("label", "")))
            )
        return rows
    if kind == "by_level" and target == "elder":
        if not isinstance(value, dict) or not value or set(value) - set(Level.values):
            raise PackError(f"{where}.by_level: 键应为能力等级 {', '.join(Level.values)}")
        return [
            AmountRow(
                conditions.level_in([level]),
                _money(amount, f"{where}.by_level.{level}"),
                str(Level(level).label),
            )
            for level, amount in value.items()
        ]
    if kind == "by_age" and target == "elder":
        if not isinstance(value, list) or not value:
            raise PackError(f"{where}.by_age: 应为非空列表")
        rows = []
        for index, row in enumerate(value):
            here = f"{where}.by_age[{index}]"
            if (
                not isinstance(row, dict)
                or "from" not in row
                or "amount" not in row
                or set(row) - {"from", "to", "amount"}
            ):
                raise PackError(f"{here}: 每行应有 from、amount，可有 to")
            low, high = row["from"], row.get("to")
            if not isinstance(low, int) or (high is not None and (not isinstance(high, int) or high < low)):
                raise PackError(f"{here}: from/to 应为整数岁数，且 to 不小于 from")
            label = f"{low}–{high}岁" if high is not None else f"{low}岁及以上"
            rows.append(
                AmountRow(groups.age_between(on, low, high), _money(row["amount"], f"{here}.amount"), label)
            )
        return rows
    if kind == "by_grade" and target == "facility":
        if isinstance(value, dict):  # stored rules keep keys as text
            value = {int(k) if str(k).isdigit() else k: v for k, v in value.items()}
        if not isinstance(value, dict) or not value or set(value) - {1, 2, 3, 4, 5}:
            raise PackError(f"{where}.by_grade: 键应为等级 1～5")
        return [
            AmountRow(Q(grade=g), _money(a, f"{where}.by_grade.{g}"), f"{g}级")
            for g, a in sorted(value.items(), reverse=True)
        ]
    if kind == "by_certificate" and target == "worker":
        if not isinstance(value, dict) or not value or set(value) - set(conditions.CERTIFICATE_GRADES):
            raise PackError(
                f"{where}.by_certificate: 键应为证书等级 {', '.join(conditions.CERTIFICATE_GRADES)}"
            )
        ordered = sorted(value, key=conditions.CERTIFICATE_GRADES.index, reverse=True)  # highest grade first
        return [
            AmountRow(
                conditions.compile_condition({"certificate": [grade]}, "worker", on, where),
                _money(value[grade], f"{where}.by_certificate.{grade}"),
                grade,
            )
            for grade in ordered
        ]
    raise PackError(f"{where}: 对象 {target} 不支持金额规则 {kind!r}")


def _date(value: Any, where: str, *, required: bool) -> date | None:
    if value is None and not required:
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise PackError(f"{where}: 日期应写作 2026-01-01，而不是 {value!r}") from None


_PROGRAMME_KEYS = {
    "code", "version", "name", "target", "payment", "frequency", "pay_month", "valid_from", "valid_until",
    "eligibility", "amount", "assumed", "note", "not_with",
}  # fmt: skip
_REQUIRED = {
    "code",
    "version",
    "name",
    "target",
    "payment",
    "frequency",
    "valid_from",
    "eligibility",
    "amount",
}


def load_file(path: str | Path) -> Pack:
    """Read and check one pack file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise PackError(f"{path.name}: 无法读取（应为 UTF-8 编码的 YAML）：{error}") from None
    if not isinstance(raw, dict):
        raise PackError(f"{path.name}: 文件应为映射（pack、name、jurisdiction、programmes）")
    unknown = set(raw) - {"pack", "name", "jurisdiction", "source", "programmes"}
    if unknown:
        raise PackError(f"{path.name}: 未知的键 {', '.join(sorted(unknown))}")
    name = raw.get("pack")
    if not isinstance(name, str) or not _PACK.match(name):
        raise PackError(f"{path.name}: pack: 应为小写字母开头的英文名，如 beijing")
    jurisdiction = str(raw.get("jurisdiction", ""))
    if not _REGION.match(jurisdiction):
        raise PackError(
            f"{path.name}: jurisdiction: 应为区划代码（2、4、6、9 或 12 位），而不是 {jurisdiction!r}"
        )
    pack = Pack(
        name=name,
        title=str(raw.get("name") or name),
        jurisdiction=jurisdiction,
        source=str(raw.get("source", "")),
        path=str(path),
    )
    programmes = raw.get("programmes")
    if not isinstance(programmes, list) or not programmes:
        raise PackError(f"{path.name}: programmes: 至少要有一个项目")
    seen: set[str] = set()
    for index, item in enumerate(programmes):
        code = item.get("code") if isinstance(item, dict) else None
        where = f"{path.name}: {code or f'programmes[{index}]'}"
        pack.programmes.append(_programme(item, where, pack, seen))
    return pack


def _programme(item: Any, where: str, pack: Pack, seen: set[str]) -> ProgrammeSpec:
    if not isinstance(item, dict):
        raise PackError(f"{where}: 应为映射")
    missing, unknown = _REQUIRED - set(item), set(item) - _PROGRAMME_KEYS
    if missing:
        raise PackError(f"{where}: 缺少 {', '.join(sorted(missing))}")
    if unknown:
        raise PackError(f"{where}: 未知的键 {', '.join(sorted(unknown))}")
    code = str(item["code"])
    if not _CODE.match(code) or not code.startswith(pack.name + "."):
        raise PackError(f"{where}: code: 应以“{pack.name}.”开头，如 {pack.name}.senior_allowance")
    if code in seen:
        raise PackError(f"{where}: code: 项目代码重复")
    seen.add(code)
    version = item["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise PackError(f"{where}: version: 应为不小于 1 的整数")
    choices = {"target": conditions.TARGETS, "payment": PAYMENTS, "frequency": FREQUENCIES}
    for key, allowed in choices.items():
        if item[key] not in allowed:
            raise PackError(f"{where}: {key}: 应为 {' / '.join(allowed)} 之一，而不是 {item[key]!r}")
    pay_month = item.get("pay_month")
    if item["frequency"] == "yearly":
        pay_month = 12 if pay_month is None else pay_month
        if isinstance(pay_month, bool) or not isinstance(pay_month, int) or not 1 <= pay_month <= 12:
            raise PackError(f"{where}: pay_month: 应为 1～12 的月份")
    elif pay_month is not None:
        raise PackError(f"{where}: pay_month: 只用于 frequency: yearly")
    valid_from = _date(item["valid_from"], f"{where}: valid_from", required=True)
    valid_until = _date(item.get("valid_until"), f"{where}: valid_until", required=False)
    assert valid_from is not None
    if valid_until is not None and valid_until < valid_from:
        raise PackError(f"{where}: valid_until: 早于 valid_from")
    try:
        conditions.compile_condition(item["eligibility"], item["target"], CHECK_DAY, "eligibility")
    except conditions.ConditionError as error:
        raise PackError(f"{where}: {error}") from None
    try:
        amount_rows(item["amount"], item["target"], CHECK_DAY)
    except PackError as error:
        raise PackError(f"{where}: {error}") from None
    not_with = item.get("not_with") or []
    if not isinstance(not_with, list) or not all(isinstance(c, str) and _CODE.match(c) for c in not_with):
        raise PackError(f"{where}: not_with: 应为项目代码列表，如 [{pack.name}.home_care]")
    if code in not_with:
        raise PackError(f"{where}: not_with: 不能引用项目自身")
    assumed = item.get("assumed") or []
    if not isinstance(assumed, list) or not all(isinstance(a, str) and a for a in assumed):
        raise PackError(f"{where}: assumed: 应为字段名列表，如 [amount]")
    bad = [a for a in assumed if a.split(".")[0] not in _PROGRAMME_KEYS]
    if bad:
        raise PackError(f"{where}: assumed: 未知的字段 {bad}")
    return ProgrammeSpec(
        pack=pack.name,
        code=code,
        version=version,
        name=str(item["name"]),
        target=item["target"],
        payment=item["payment"],
        frequency=item["frequency"],
        pay_month=pay_month,
        valid_from=valid_from,
        valid_until=valid_until,
        eligibility=item["eligibility"],
        amount=_plain(item["amount"]),
        assumed=assumed,
        note=str(item.get("note", "")),
        jurisdiction=pack.jurisdiction,
        source=pack.source,
        source_file=Path(pack.path).name,
        not_with=list(dict.fromkeys(not_with)),
    )


def _plain(value: Any) -> Any:
    """YAML numbers and keys as JSON can store them (grade keys become text; amounts stay numbers)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def load_path(path: str | Path) -> list[Pack]:
    """A file, or every *.yaml / *.yml of a directory, in name order."""
    path = Path(path)
    if path.is_dir():
        files = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
        if not files:
            raise PackError(f"{path}: 目录中没有政策包文件（*.yaml）")
        packs = [load_file(f) for f in files]
    elif path.is_file():
        packs = [load_file(path)]
    else:
        raise PackError(f"{path}: 文件或目录不存在")
    codes: dict[str, str] = {}
    for pack in packs:
        for programme in pack.programmes:
            if programme.code in codes:
                raise PackError(
                    f"{Path(pack.path).name}: {programme.code}: 已在 {codes[programme.code]} 中定义"
                )
            codes[programme.code] = Path(pack.path).name
    check_combinations(combinations(packs))
    return packs


Combinations = dict[str, tuple[str, list[str], str]]  # code → (target, not_with, file it comes from)


def combinations(packs: list[Pack]) -> Combinations:
    return {p.code: (p.target, p.not_with, p.source_file) for pack in packs for p in pack.programmes}


def check_combinations(programmes: Combinations, *, complete: bool = False) -> None:
    """`not_with` names programmes of the same target, and never goes round in a circle (A not with B,
    B not with A would pay neither). With complete=True every programme named must be in `programmes`
    (when loading: the programmes already loaded and the files')."""
    for code, (target, others, where) in programmes.items():
        for other in others:
            if other not in programmes:
                if complete:
                    raise PackError(f"{where}: {code}: not_with: 项目 {other} 未加载，也不在本次加载的文件中")
                continue
            if programmes[other][0] != target:
                raise PackError(
                    f"{where}: {code}: not_with: {other} 的补贴对象不同（{programmes[other][0]}），不能组合"
                )
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(code: str, path: list[str]) -> None:
        if code in done or code not in programmes:
            return
        if code in visiting:
            circle = " → ".join([*path[path.index(code) :], code])
            raise PackError(f"{programmes[code][2]}: {code}: not_with: 组合规则形成循环：{circle}")
        visiting.add(code)
        for other in programmes[code][1]:
            visit(other, [*path, code])
        visiting.discard(code)
        done.add(code)

    for code in sorted(programmes):
        visit(code, [])


def reads_level(rule: dict[str, Any]) -> bool:
    """Whether the eligibility or the amount depends on the elder's ability level (so a late-approved
    assessment can change what a past month owed)."""

    def walk(value: Any) -> bool:
        if isinstance(value, dict):
            return any(key in ("level", "by_level") or walk(item) for key, item in value.items())
        if isinstance(value, list):
            return any(walk(item) for item in value)
        return False

    return walk(rule.get("eligibility")) or walk(rule.get("amount"))


def month_bounds(period: date) -> tuple[date, date]:
    first = period.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)
