"""Ingest one run: read its exports and put every channel role on one time axis."""

from __future__ import annotations

import numpy as np
import xarray as xr

from mohilbert.errors import InputError
from mohilbert.io.scope import MAX_FILE_MB_DEFAULT, read_scope
from mohilbert.runs import ROLES
from mohilbert.signal import adc_step_V, same_vertical_setting

ROLE_LONG_NAMES = {
    "signal": "probe photodiode after the cell",
    "etalon": "Fabry-Perot etalon/cavity transmission photodiode",
    "reference": "zero-field reference-cell photodiode",
    "dark": "dark level (probe blocked)",
    "monitor": "laser power monitor photodiode",
    "polarimeter": "balanced polarimeter difference signal",
}

#: sheet columns copied into the attributes of results/raw/{run}.nc for provenance
RUN_ATTRS = ("run",)  # the physics of a run enters at calibration (records.STAGE_COLUMNS)


def check_dark_setting(
    run: str, dark: xr.DataArray, signal: xr.DataArray, same_channel: bool
) -> None:
    """Refuse a dark trace of the signal's channel recorded at another vertical setting.

    A lab often records one dark per detection setting and every acquisition of that setting
    borrows it; the scope's zero moves with its vertical settings, so a dark of another
    setting shifts the whole transmission. The two traces' ADC steps
    (:func:`mohilbert.signal.adc_step_V`) tell the settings apart. A dark photodiode on a channel of its own, a dark in the signal's
    own file, or a trace too flat to have a step, is not checked.

    Parameters
    ----------
    run
        The run id, for the message.
    dark, signal
        The two traces [V], with their ``source_file`` attribute.
    same_channel
        Whether the sheet names the same scope channel for both (the signal's photodiode,
        recorded in another acquisition).

    Raises
    ------
    mohilbert.errors.InputError
        The ADC steps differ by more than :data:`mohilbert.signal.DARK_STEP_TOLERANCE`: one
        line naming both files and their steps.
    """
    if not same_channel or dark.attrs["source_file"] == signal.attrs["source_file"]:
        return
    d, s = adc_step_V(dark.values), adc_step_V(signal.values)
    if d is None or s is None or same_vertical_setting(d, s):
        return
    raise InputError(
        f"run {run}: dark trace {dark.attrs['source_file']} was recorded at another vertical "
        f"setting than the signal {signal.attrs['source_file']} (ADC step {d * 1e6:.3g} uV "
        f"against {s * 1e6:.3g} uV); the scope's zero moves with its settings: give the run "
        "a dark of its own detection setting"
    )


def clipped_samples(values: np.ndarray) -> tuple[int, float] | None:
    """(count, level) when samples pile up at the channel's rail, else None.

    A clipped (overdriven) ADC channel records its top or bottom code for many samples; a
    noisy but unclipped channel has few samples at its extreme values. Flagged when at least
    max(20, 0.5 %) of the samples sit at the extreme, five times more than at the next level.
    """
    n = values.size
    for level, side in ((values.max(), values), (values.min(), -values)):
        top = side.max()
        at = int(np.count_nonzero(side == top))
        if at < max(20, 0.005 * n):
            continue
        below = side[side < top]
        nxt = int(np.count_nonzero(below == below.max())) if below.size else 0
        if at > 5 * max(nxt, 1):
            return at, float(level)
    return None


def _pick_channel(ds: xr.Dataset, channel: str | None, run: str, role: str, path: str) -> str:
    names = list(ds.data_vars)
    if not channel:
        if len(names) == 1:
            return names[0]
        raise InputError(
            f"run {run}: {path} has channels {names}; name the {role!r} channel in the sheet"
        )
    for cand in (
        channel,
        channel.replace(" ", ""),
        channel.upper(),
        channel.upper().replace(" ", ""),
    ):
        if cand in names:
            return cand
    if len(names) == 1 and names[0] in ("Ampl", "CH1", "TRACE"):
        # one-channel exports that do not record the channel name (LeCroy CSV, ISF)
        return names[0]
    raise InputError(
        f"run {run}: channel {channel!r} for role {role!r} is not in {path} "
        f"(it has {', '.join(names)})"
    )


def ingest_run(
    record: dict, *, time_tolerance_samples: float = 1.0, max_file_mb: float = MAX_FILE_MB_DEFAULT
) -> xr.Dataset:
    """Read every role of one run (a runs-sheet record) into one time-domain Dataset.

    Parameters
    ----------
    record
        The run's row of the sheet, with ``<role>_path`` resolved (see
        :func:`mohilbert.runs.load_runs`).
    time_tolerance_samples
        Largest start-time difference between the files of a run, in samples. The dark
        role may come from a separate acquisition and is exempt from the start-time check.
    max_file_mb
        Largest export read [MiB] (see :func:`~mohilbert.io.scope.read_scope`).

    Returns
    -------
    xarray.Dataset
        Variables named by role (``signal``, ``etalon``, ...) on the signal's ``time`` axis
        [s], each with ``units``, ``long_name``, ``source_file``, ``source_channel`` and
        ``source_sha256``; the run id and the scope metadata in the attributes.
    """
    run = record["run"]
    fmt = record.get("format") or "auto"
    cache: dict[str, xr.Dataset] = {}
    pieces: dict[str, xr.DataArray] = {}
    ref_time = None
    ref_desc = ""
    scope_attrs: dict = {}
    for role in ROLES:
        path = record.get(f"{role}_path")
        if not path:
            continue
        if path not in cache:
            try:
                cache[path] = read_scope(path, format=fmt, max_file_mb=max_file_mb)
            except InputError as exc:
                raise type(exc)(f"run {run}, role {role}: {exc}") from None
        ds = cache[path]
        if "segment" in ds.dims:
            raise InputError(
                f"run {run}: {path} is a sequence-mode capture ({ds.sizes['segment']} "
                "segments); export one sweep per run"
            )
        name = _pick_channel(ds, record.get(role), run, role, path)
        da = ds[name]
        t = ds["time"].values
        dt = float(ds.attrs["sample_interval_s"])
        if ref_time is None:
            ref_time, ref_desc = t, f"{role} ({path}: {t.size} samples, dt {dt:.6g} s)"
            scope_attrs = {
                f"scope_{k}": v
                for k, v in ds.attrs.items()
                if k in ("model", "vendor", "scope_format", "serial_number")
            }
        else:
            ref_dt = (ref_time[-1] - ref_time[0]) / (ref_time.size - 1)
            mismatch = t.size != ref_time.size or abs(dt - ref_dt) > 1e-4 * ref_dt
            if not mismatch and role != "dark":
                mismatch = abs(t[0] - ref_time[0]) > time_tolerance_samples * ref_dt
            if mismatch:
                raise InputError(
                    f"run {run}: time axes differ: {role} ({path}: {t.size} samples, dt "
                    f"{dt:.6g} s, t0 {t[0]:.6g} s) vs {ref_desc}, t0 {ref_time[0]:.6g} s; "
                    "the roles of one run must come from one acquisition"
                )
        attrs = {
            "units": da.attrs.get("units", "V"),
            "long_name": ROLE_LONG_NAMES[role],
            "source_file": str(path),
            "source_channel": name,
            "source_sha256": ds.attrs["source_sha256"],
        }
        for key in ("vertical_scale_per_div", "vertical_gain_V_per_code", "probe_attenuation"):
            if key in da.attrs:
                attrs[key] = da.attrs[key]
        if "trigger_time" in ds.attrs:  # when the trace was recorded (ISO 8601)
            attrs["trigger_time"] = ds.attrs["trigger_time"]
        values = np.asarray(da.values)
        # a live channel has more than 3 levels within its first samples already: only a
        # flat-looking one pays for the full count
        few = np.unique(values[:1000]).size <= 3
        levels = np.unique(values) if few else None
        if few and levels.size <= 3 and role != "dark":
            unit = da.attrs.get("units", "V")
            raise InputError(
                f"run {run}: {role} channel {name} of {path} carries no signal (only "
                f"{levels.size} level(s), {levels.min():.6g} to {levels.max():.6g} {unit}, in "
                f"{values.size} samples); check that its photodiode is connected and the channel "
                "is switched on"
            )
        clip = clipped_samples(values)
        if clip is not None and role != "dark":
            raise InputError(
                f"run {run}: {role} channel {name} of {path} is clipped: {clip[0]} samples at the "
                f"ADC limit {clip[1]:.6g} {da.attrs.get('units', 'V')}; record it again with a "
                "larger vertical scale or less gain"
            )
        pieces[role] = xr.DataArray(
            np.asarray(da.values, dtype=np.float64), dims=("time",), attrs=attrs
        )
    if "signal" not in pieces:
        raise InputError(f"run {run}: no signal file")
    if "dark" in pieces:
        same = str(record.get("dark") or "").upper() == str(record.get("signal") or "").upper()
        check_dark_setting(run, pieces["dark"], pieces["signal"], same)
    out = xr.Dataset(
        pieces,
        coords={"time": ("time", ref_time, {"units": "s", "long_name": "time since trigger"})},
    )
    attrs = {k: record[k] for k in RUN_ATTRS if record.get(k) is not None}
    attrs.update(scope_attrs)
    attrs["roles"] = ", ".join(pieces)
    attrs["source"] = "; ".join(sorted(cache))
    attrs["source_sha256"] = "; ".join(
        f"{p}={cache[p].attrs['source_sha256']}" for p in sorted(cache)
    )
    attrs["title"] = f"raw time-domain traces of run {run}"
    out.attrs.update(attrs)
    return out
