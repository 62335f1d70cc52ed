"""Metric units (Simvue's ``set_metric_units``), kept in ``attrs.json`` as
``"units": {metric: {"units": str, "mks_unit": str, "mks_conversion": number}}``.

Written by ``Run.set_metric_units``; read by ``metric_units``, which takes from
another user's run only well-formed entries and leaves the rest out.
"""

from . import checks
from .errors import UsageError

UNITS_MAX = 40


def check_units(metric_name, units, mks_unit, mks_conversion) -> dict:
    """The attrs entry for one metric's units; UsageError naming a bad argument."""
    checks.metric_name(metric_name)
    entry = {"units": _text("units", units)}
    if mks_unit is not None:
        entry["mks_unit"] = _text("mks_unit", mks_unit)
    if mks_conversion is not None:
        entry["mks_conversion"] = checks.positive_number("mks_conversion", mks_conversion)
    return entry


def _text(what: str, value) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > UNITS_MAX or \
            not value.isprintable():
        raise UsageError(f"{what} must be a printable string of 1 to {UNITS_MAX} "
                         f"characters, got {value!r}"[:300])
    return value


def metric_units(attrs: dict) -> dict[str, str]:
    """Each metric's units as recorded; entries of the wrong shape are left out."""
    found = attrs.get("units")
    if not isinstance(found, dict):
        return {}
    units = {}
    for name, entry in found.items():
        text = entry.get("units") if isinstance(entry, dict) else None
        if isinstance(name, str) and isinstance(text, str) and len(text) <= UNITS_MAX:
            units[name] = text
    return units
