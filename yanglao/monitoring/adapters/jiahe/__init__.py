"""嘉禾 (Jiahe) home gateways and meters: a gateway in the home collects its sensors' readings and sends
them as a compact text line protocol, one reading a line, ``key=value`` pairs separated by ``;``:

    gw=JH-GW-0042;dev=JH-BP-0007;seq=1043;t=1795306500;type=bp;sys=186;dia=112;pr=80;bat=87
    dev=JH-SOS-0001;seq=77;t=1795306510;type=sos;bat=55
    dev=JH-WM-0003;seq=9001;t=1795306520;type=water;l=1234.5;f=0

- ``dev``: the sensor's serial as registered on the platform (``gw``, the gateway, is informational);
- ``seq``: the sensor's reading number (it counts up and is kept across retries): the native id is
  ``jiahe-<dev>-<seq>``, so each reading of a batch has its own id;
- ``t``: when it happened, epoch **seconds** (UTC);
- ``type``: see TYPES; ``bat``: battery percentage (optional);
- blank lines and lines starting with ``#`` are ignored; a line that cannot be read is refused alone
  (its position is the reading's index), the other lines go on.

Types and their fields (vendor key -> native field):

    sos -> sos      fall -> fall       smoke -> smoke (lvl -> level)     gas -> gas (lvl -> level)
    pir -> motion (n -> count)         door -> door (o -> open)          bed -> bed (in -> in_bed)
    bp  -> blood_pressure (sys -> systolic, dia -> diastolic, pr -> pulse)
    hr  -> heart_rate (pr -> bpm)
    water -> water (l -> litres, f -> flow_lpm)        elec -> electricity (kwh -> kwh, w -> watts)
    gasm  -> gas_usage (m3 -> m3)                      hb -> heartbeat
"""

from __future__ import annotations

import re
from typing import Any

from yanglao.monitoring.adapters import AdapterError, Translation, as_text, iso_from_epoch, number

CODE = "jiahe"
URGENT = re.compile(rb"type=(?:sos|fall|smoke|gas)(?![a-z])")  # not gasm (adapters' docstring)
PREFIX = "jiahe-"

TYPES: dict[str, tuple[str, dict[str, str]]] = {
    "sos": ("sos", {}),
    "fall": ("fall", {}),
    "smoke": ("smoke", {"lvl": "level"}),
    "gas": ("gas", {"lvl": "level"}),
    "pir": ("motion", {"n": "count"}),
    "door": ("door", {"o": "open"}),
    "bed": ("bed", {"in": "in_bed"}),
    "bp": ("blood_pressure", {"sys": "systolic", "dia": "diastolic", "pr": "pulse"}),
    "hr": ("heart_rate", {"pr": "bpm"}),
    "water": ("water", {"l": "litres", "f": "flow_lpm"}),
    "elec": ("electricity", {"kwh": "kwh", "w": "watts"}),
    "gasm": ("gas_usage", {"m3": "m3"}),
    "hb": ("heartbeat", {}),
}


def _pairs(line: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for part in line.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise AdapterError("line", f"not key=value: {part[:30]!r}")
        pairs[key.strip()] = value.strip()
    return pairs


def _one(line: str) -> dict[str, Any]:
    pairs = _pairs(line)
    serial = pairs.get("dev", "")
    if not serial:
        raise AdapterError("dev", "missing")
    seq = pairs.get("seq", "")
    if not seq:
        raise AdapterError("seq", "missing")
    message_id = f"{PREFIX}{serial}-{seq}"
    if len(message_id) > 80:
        raise AdapterError("seq", "dev and seq together are too long for a message id")
    kind = pairs.get("type", "")
    if kind not in TYPES:
        raise AdapterError("type", f"unknown type {kind[:20]!r}")
    native, fields = TYPES[kind]
    data: dict[str, Any] = {}
    for theirs, ours in fields.items():
        value = number(pairs.get(theirs), field=theirs)
        if value is not None:
            data[ours] = value
    message: dict[str, Any] = {
        "id": message_id,
        "serial": serial,
        "type": native,
        "at": iso_from_epoch(pairs.get("t"), field="t", milliseconds=False),
        "data": data,
    }
    battery = number(pairs.get("bat"), field="bat")
    if battery is not None:
        message["battery"] = battery
    return message


def translate_all(payload: bytes | str | Any) -> Translation:
    text = as_text(payload)
    result = Translation()
    index = 0
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            result.messages.append(_one(line))
        except AdapterError as error:
            result.refuse(index, error)
        index += 1
    return result
