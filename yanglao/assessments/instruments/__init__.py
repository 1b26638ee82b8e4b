"""Assessment instruments as data (DOMAIN.md §2): items with their option wording and scores, groups,
level rules and adjustments, read from YAML files and checked when loaded.

The shipped files live beside this module (GB/T 42195-2022, Barthel, MZ/T 039-2013); a province adds its
own instrument by dropping a file into a directory named by YANGLAO_INSTRUMENT_DIRS. A definition that
breaks a rule stops loading with the file, the place in it and the problem named, so a wrong file never
scores anyone.

Format (see gbt42195-2022.yaml for a complete one):

    code, name, source, determines_ability_level (whether its result is the elder's ability level)
    scales: {name: {score: wording}}          shared option lists, referenced by an item's `scale`
    groups: [{code, name, items: [{number, code?, name, hint?, options | scale}]}]
    levels (best first): [{code, label, total: [low, high]}] or [{code, label, when: condition}]
    adjustments: [{code, label, when: condition, set_level: code | worsen: n}]

Conditions: {always: true}; {item: code-or-number, in: [scores]}; {count: [items], in: [scores],
at_least: n}; {all: [conditions]}; {any: [conditions]}; for adjustments {flag: coma},
{diagnosis: [[first, last], …]} (ICD-10 category ranges), {risk_events_at_least: n}.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

from yanglao.core.errors import Unprocessable

SHIPPED = Path(__file__).resolve().parent
LEVEL_CODES = ("intact", "mild", "moderate", "severe", "complete")  # the stable codes clients rely on
_CODE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_ICD10_CATEGORY = re.compile(r"^[A-Z]\d{2}$")


class DefinitionError(ValueError):
    """A definition file breaks a rule of the format; the message names file, place and problem."""


@dataclass(frozen=True)
class Option:
    score: int
    text: str


@dataclass(frozen=True)
class Item:
    number: int
    code: str
    name: str
    hint: str
    group: str
    options: tuple[Option, ...]  # highest score first, as the form lists them

    @property
    def key(self) -> str:
        """How answers name the item: its number as text ("1" … "26")."""
        return str(self.number)

    @property
    def max_score(self) -> int:
        return max(o.score for o in self.options)

    @property
    def scores(self) -> frozenset[int]:
        return frozenset(o.score for o in self.options)

    def option(self, score: int) -> Option | None:
        return next((o for o in self.options if o.score == score), None)


@dataclass(frozen=True)
class Group:
    code: str
    name: str
    items: tuple[Item, ...]

    @property
    def max_score(self) -> int:
        return sum(i.max_score for i in self.items)


@dataclass(frozen=True)
class Level:
    code: str
    label: str
    rank: int  # 0 is the best level; each step is one level worse
    total: tuple[int, int] | None = None
    when: dict[str, Any] | None = None


@dataclass(frozen=True)
class Adjustment:
    code: str
    label: str
    when: dict[str, Any]
    set_level: str | None = None
    worsen: int = 0


@dataclass(frozen=True)
class Instrument:
    code: str
    name: str
    source: str
    determines_ability_level: bool
    groups: tuple[Group, ...]
    levels: tuple[Level, ...]
    adjustments: tuple[Adjustment, ...]
    path: str = ""
    items: dict[str, Item] = field(default_factory=dict, compare=False)  # by key

    @property
    def max_total(self) -> int:
        return sum(g.max_score for g in self.groups)

    def level(self, code: str) -> Level:
        return next(level for level in self.levels if level.code == code)

    def item_by_ref(self, ref: str | int) -> Item:
        """An item named by its number or its code (conditions use either)."""
        for item in self.items.values():
            if str(ref) in (item.key, item.code):
                return item
        raise KeyError(ref)


# -- loading ----------------------------------------------------------------------------------------


class _Reader:
    """Walks one parsed file, raising DefinitionError with the file and the path inside it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> DefinitionError:
        return DefinitionError(f"{self.path.name}: {where}: {problem}")

    def mapping(
        self, value: Any, where: str, required: set[str], optional: set[str] | frozenset[str] = frozenset()
    ) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, "应为映射（键: 值）")
        missing = sorted(required - value.keys())
        if missing:
            raise self.fail(where, f"缺少 {', '.join(missing)}")
        unknown = sorted(set(value) - required - set(optional))
        if unknown:
            raise self.fail(where, f"未知的键 {', '.join(map(str, unknown))}")
        return value

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, "应为非空文字")
        return value.strip()

    def code(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not _CODE.match(value):
            raise self.fail(where, f"代码 {value!r} 只能用小写字母、数字、点、横线和下划线")
        return value

    def whole(self, value: Any, where: str, minimum: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(where, f"应为不小于 {minimum} 的整数，而不是 {value!r}")
        return value

    def options(self, value: Any, where: str) -> tuple[Option, ...]:
        if not isinstance(value, dict) or len(value) < 2:
            raise self.fail(where, "至少要有两个选项（分值: 文字）")
        found = [
            Option(self.whole(score, f"{where} 分值"), self.text(text, f"{where}.{score}"))
            for score, text in value.items()
        ]
        return tuple(sorted(found, key=lambda o: -o.score))


def load_file(path: str | Path) -> Instrument:
    """Read and check one definition file."""
    path = Path(path)
    reader = _Reader(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise DefinitionError(f"{path.name}: 无法读取：{error}") from error
    top = reader.mapping(
        raw,
        "文件",
        {"code", "name", "groups", "levels"},
        {"source", "determines_ability_level", "scales", "adjustments"},
    )
    code = reader.code(top["code"], "code")
    scales = {}
    for name, options in (top.get("scales") or {}).items():
        scales[name] = reader.options(options, f"scales.{name}")

    groups, items, item_codes = [], {}, set()
    if not isinstance(top["groups"], list) or not top["groups"]:
        raise reader.fail("groups", "至少要有一个分组")
    group_codes = set()
    for g_index, raw_group in enumerate(top["groups"]):
        where = f"groups[{g_index}]"
        group = reader.mapping(raw_group, where, {"code", "name", "items"})
        g_code = reader.code(group["code"], f"{where}.code")
        if g_code in group_codes:
            raise reader.fail(f"{where}.code", f"分组代码 {g_code} 重复")
        group_codes.add(g_code)
        if not isinstance(group["items"], list) or not group["items"]:
            raise reader.fail(f"{where}.items", "至少要有一个条目")
        group_items = []
        for i_index, raw_item in enumerate(group["items"]):
            i_where = f"{where}.items[{i_index}]"
            item = reader.mapping(raw_item, i_where, {"number", "name"}, {"code", "hint", "options", "scale"})
            number = reader.whole(item["number"], f"{i_where}.number", 1)
            if str(number) in items:
                raise reader.fail(f"{i_where}.number", f"条目编号 {number} 重复")
            if ("options" in item) == ("scale" in item):
                raise reader.fail(i_where, "options 与 scale 须且只能给出一个")
            if "scale" in item:
                if item["scale"] not in scales:
                    raise reader.fail(f"{i_where}.scale", f"未定义的量表 {item['scale']!r}")
                options = scales[item["scale"]]
            else:
                options = reader.options(item["options"], f"{i_where}.options")
            i_code = reader.code(item.get("code", str(number)), f"{i_where}.code")
            if i_code in item_codes:
                raise reader.fail(f"{i_where}.code", f"条目代码 {i_code} 重复")
            item_codes.add(i_code)
            built = Item(
                number=number,
                code=i_code,
                name=reader.text(item["name"], f"{i_where}.name"),
                hint=str(item.get("hint", "")).strip(),
                group=g_code,
                options=options,
            )
            items[built.key] = built
            group_items.append(built)
        groups.append(
            Group(code=g_code, name=reader.text(group["name"], f"{where}.name"), items=tuple(group_items))
        )

    partial = Instrument(
        code=code,
        name=reader.text(top["name"], "name"),
        source=str(top.get("source", "")),
        determines_ability_level=bool(top.get("determines_ability_level", False)),
        groups=tuple(groups),
        levels=(),
        adjustments=(),
        path=str(path),
        items=items,
    )
    levels = _levels(reader, top["levels"], partial)
    with_levels = Instrument(**{**partial.__dict__, "levels": levels})
    adjustments = _adjustments(reader, top.get("adjustments") or [], with_levels)
    return Instrument(**{**with_levels.__dict__, "adjustments": adjustments})


def _levels(reader: _Reader, raw: Any, instrument: Instrument) -> tuple[Level, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        raise reader.fail("levels", "至少要有两个等级，按从好到差排列")
    levels, seen = [], set()
    for rank, raw_level in enumerate(raw):
        where = f"levels[{rank}]"
        level = reader.mapping(raw_level, where, {"code", "label"}, {"total", "when"})
        code = reader.code(level["code"], f"{where}.code")
        if code not in LEVEL_CODES:
            raise reader.fail(f"{where}.code", f"等级代码须为 {', '.join(LEVEL_CODES)} 之一")
        if code in seen:
            raise reader.fail(f"{where}.code", f"等级 {code} 重复")
        seen.add(code)
        if ("total" in level) == ("when" in level):
            raise reader.fail(where, "total 与 when 须且只能给出一个")
        total = None
        if "total" in level:
            bounds = level["total"]
            if not (isinstance(bounds, list) and len(bounds) == 2):
                raise reader.fail(f"{where}.total", "应为 [最低分, 最高分]")
            low, high = (reader.whole(b, f"{where}.total") for b in bounds)
            if low > high:
                raise reader.fail(f"{where}.total", f"最低分 {low} 大于最高分 {high}")
            total = (low, high)
        else:
            _check_condition(reader, level["when"], f"{where}.when", instrument, for_level=True)
        levels.append(
            Level(
                code=code,
                label=reader.text(level["label"], f"{where}.label"),
                rank=rank,
                total=total,
                when=level.get("when"),
            )
        )

    by_total = [lv for lv in levels if lv.total]
    if by_total and len(by_total) != len(levels):
        raise reader.fail("levels", "所有等级须统一用 total 或统一用 when")
    if by_total:
        # Best first means highest totals first; together the ranges cover 0 … max exactly once.
        expected_high = instrument.max_total
        for built in levels:
            assert built.total is not None
            low, high = built.total
            if high != expected_high:
                raise reader.fail(
                    f"levels.{built.code}.total",
                    f"分数段应从 {expected_high} 分起（等级按从好到差排列，分数段须连续、不重叠，覆盖 0～{instrument.max_total}）",
                )
            expected_high = low - 1
        if expected_high != -1:
            raise reader.fail("levels", f"分数段未覆盖到 0 分（最低只到 {expected_high + 1}）")
    elif levels[0].when != {"always": True}:
        raise reader.fail(
            "levels[0].when", "按条件定级时，最好的等级写 {always: true}，其余等级从差到好依次判断"
        )
    return tuple(levels)


def _adjustments(reader: _Reader, raw: Any, instrument: Instrument) -> tuple[Adjustment, ...]:
    if not isinstance(raw, list):
        raise reader.fail("adjustments", "应为列表")
    found, seen = [], set()
    for index, raw_adjustment in enumerate(raw):
        where = f"adjustments[{index}]"
        adjustment = reader.mapping(raw_adjustment, where, {"code", "label", "when"}, {"set_level", "worsen"})
        code = reader.code(adjustment["code"], f"{where}.code")
        if code in seen:
            raise reader.fail(f"{where}.code", f"调整代码 {code} 重复")
        seen.add(code)
        if ("set_level" in adjustment) == ("worsen" in adjustment):
            raise reader.fail(where, "set_level 与 worsen 须且只能给出一个")
        set_level = adjustment.get("set_level")
        if set_level is not None and set_level not in {lv.code for lv in instrument.levels}:
            raise reader.fail(f"{where}.set_level", f"未定义的等级 {set_level!r}")
        worsen = reader.whole(adjustment["worsen"], f"{where}.worsen", 1) if "worsen" in adjustment else 0
        _check_condition(reader, adjustment["when"], f"{where}.when", instrument, for_level=False)
        found.append(
            Adjustment(
                code=code,
                label=reader.text(adjustment["label"], f"{where}.label"),
                when=adjustment["when"],
                set_level=set_level,
                worsen=worsen,
            )
        )
    return tuple(found)


def _check_condition(
    reader: _Reader, raw: Any, where: str, instrument: Instrument, *, for_level: bool
) -> None:
    if not isinstance(raw, dict) or not raw:
        raise reader.fail(where, "条件应为映射")
    kind = next(iter(raw))
    if kind in ("all", "any"):
        reader.mapping(raw, where, {kind})
        if not isinstance(raw[kind], list) or not raw[kind]:
            raise reader.fail(f"{where}.{kind}", "应为非空的条件列表")
        for index, part in enumerate(raw[kind]):
            _check_condition(reader, part, f"{where}.{kind}[{index}]", instrument, for_level=for_level)
        return
    if for_level and kind == "always":
        reader.mapping(raw, where, {"always"})
        if raw["always"] is not True:
            raise reader.fail(where, "always 只能为 true")
        return
    if for_level and kind in ("item", "count"):
        if kind == "item":
            reader.mapping(raw, where, {"item", "in"})
            refs = [raw["item"]]
        else:
            reader.mapping(raw, where, {"count", "in", "at_least"})
            refs = raw["count"]
            if not isinstance(refs, list) or not refs:
                raise reader.fail(f"{where}.count", "应为非空的条目列表")
            at_least = reader.whole(raw["at_least"], f"{where}.at_least", 1)
            if at_least > len(refs):
                raise reader.fail(f"{where}.at_least", f"{at_least} 大于条目数 {len(refs)}")
        if not isinstance(raw["in"], list) or not raw["in"]:
            raise reader.fail(f"{where}.in", "应为非空的分值列表")
        for ref in refs:
            try:
                item = instrument.item_by_ref(ref)
            except KeyError:
                raise reader.fail(where, f"未定义的条目 {ref!r}") from None
            bad = [s for s in raw["in"] if s not in item.scores]
            if bad:
                raise reader.fail(f"{where}.in", f"条目 {item.code} 没有分值 {bad}")
        return
    if not for_level and kind == "flag":
        reader.mapping(raw, where, {"flag"})
        if raw["flag"] != "coma":
            raise reader.fail(where, "flag 目前只支持 coma（昏迷）")
        return
    if not for_level and kind == "diagnosis":
        reader.mapping(raw, where, {"diagnosis"})
        ranges = raw["diagnosis"]
        if not isinstance(ranges, list) or not ranges:
            raise reader.fail(where, "应为 ICD-10 类目范围列表，如 [[F00, F03]]")
        for pair in ranges:
            if not (
                isinstance(pair, list)
                and len(pair) == 2
                and all(isinstance(p, str) and _ICD10_CATEGORY.match(p) for p in pair)
                and pair[0] <= pair[1]
            ):
                raise reader.fail(where, f"ICD-10 类目范围 {pair!r} 无效，应如 [F00, F03]")
        return
    if not for_level and kind == "risk_events_at_least":
        reader.mapping(raw, where, {"risk_events_at_least"})
        reader.whole(raw["risk_events_at_least"], where, 1)
        return
    raise reader.fail(where, f"未知的条件 {kind!r}")


# -- the loaded set ---------------------------------------------------------------------------------


def _directories() -> list[Path]:
    return [SHIPPED, *(Path(d) for d in getattr(settings, "YANGLAO_INSTRUMENT_DIRS", []))]


@cache
def all_instruments() -> dict[str, Instrument]:
    """Every instrument, shipped and added, by code; loaded once per process."""
    found: dict[str, Instrument] = {}
    for directory in _directories():
        for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
            instrument = load_file(path)
            if instrument.code in found:
                raise DefinitionError(
                    f"{path.name}: code: 评估工具 {instrument.code} 已由 {Path(found[instrument.code].path).name} 定义"
                )
            found[instrument.code] = instrument
    return found


def get(code: str) -> Instrument:
    try:
        return all_instruments()[code]
    except KeyError:
        known = "、".join(all_instruments())
        raise Unprocessable(f"评估工具“{code}”不存在，可用：{known}", field="instrument") from None


DEFAULT = "gbt42195-2022"
