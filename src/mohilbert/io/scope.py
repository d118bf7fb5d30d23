"""Read oscilloscope exports into labelled :class:`xarray.Dataset` objects.

One entry point, :func:`read_scope`, detects the vendor format from the file's content (not its
name) and returns a Dataset with dimension ``time`` [s] and one variable per channel, each with
``units`` and ``long_name``; vendor metadata (model, channel names, sample interval, trigger
information, vertical scale, ...) in the attributes, plus the source file name and its sha256.

Text formats are parsed here with pandas' C parser (none of the libraries handles the
Tektronix TDS column layout, Rigol's Start/Increment header or Keysight's two header lines
robustly, see docs/scope-formats.md). Binary formats go through RigolWFM (Tek .wfm, Keysight
.bin, Rigol .wfm/.bin, LeCroy .trc), except Tektronix .isf, whose tiny ASCII preamble is parsed
here so that the real source channel in ``WFID`` is kept. LeCroy sequence-mode captures become a
2-D ``(segment, time)`` array with the per-segment trigger times (RigolWFM flattens them).

Wherever the file states the sample interval, time is rebuilt as ``t0 + i*dt`` in float64;
otherwise a time column that is uniform to within its printing precision is rebuilt the same
way from a least-squares fit (``time_axis`` attribute says which).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import re
import struct
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from mohilbert.errors import FormatError, InputError
from mohilbert.io._table import UTF8_BOM, excerpt, numeric_table, read_lines

#: Largest raw file read in one piece. A bigger file is refused with a clear message rather
#: than risking an out-of-memory kill (``max_file_mb`` of :func:`read_scope`; the workflow's
#: ``ingest.max_file_mb``).
MAX_FILE_MB_DEFAULT = 2048

TEXT_FORMATS = (
    "lecroy_csv",
    "tek_tds_csv",
    "tek_mso_csv",
    "keysight_csv",
    "rigol_csv",
    "rigol_time_csv",
    "rigol_ultrascope_csv",
    "generic_csv",
)
BINARY_FORMATS = ("tek_wfm", "tek_isf", "keysight_bin", "rigol_wfm", "lecroy_trc")
FORMATS = TEXT_FORMATS + BINARY_FORMATS


@dataclass
class _Parsed:
    """What a vendor parser hands back before the Dataset is assembled."""

    channels: dict[str, np.ndarray]
    t0: float | None = None
    dt: float | None = None
    time: np.ndarray | None = None
    #: the printed time column when the axis is rebuilt from the header's t0/dt (checked)
    time_column: np.ndarray | None = None
    units: dict[str, str] = field(default_factory=dict)
    channel_attrs: dict[str, dict] = field(default_factory=dict)
    attrs: dict = field(default_factory=dict)
    time_axis: str = "t0 + i*dt from the file's sample interval"


# --------------------------------------------------------------------------- public API


def read_scope(
    path: str | os.PathLike, format: str | None = None, max_file_mb: float = MAX_FILE_MB_DEFAULT
) -> xr.Dataset:
    """Read one oscilloscope export.

    Parameters
    ----------
    path
        The export file. It is only ever opened for reading.
    format
        One of :data:`FORMATS` to skip detection (e.g. ``"generic_csv"``); ``None`` or
        ``"auto"`` detects the format from the file's first bytes.
    max_file_mb
        Larger files are refused with a clear message instead of risking an out-of-memory
        kill [MiB].

    Returns
    -------
    xarray.Dataset
        Dimension ``time`` [s] (plus ``segment`` for LeCroy sequence captures); one variable
        per channel named as the scope names it (``C2``, ``CH1``, ``REF7``, ...), each with
        ``units`` and ``long_name``; attributes ``source_file``, ``source_sha256``,
        ``scope_format``, ``vendor``, ``model``, ``channel_names``, ``sample_interval_s`` and
        whatever else the file states.

    Raises
    ------
    mohilbert.errors.InputError
        Empty, truncated or damaged file, non-numeric or non-finite samples, decimal commas,
        wrong delimiter, a file too large to read.
    mohilbert.errors.FormatError
        The format is unknown or the file does not follow the requested format.
    """
    path = followed_link_file(Path(path))
    if not path.exists():
        raise InputError(f"{path}: file does not exist")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{path}: file is empty (0 bytes)")
    limit_mb = float(max_file_mb)
    if size > limit_mb * 2**20:
        raise InputError(
            f"{path}: file is {size / 2**20:.1f} MB, above the {limit_mb:g} MB limit for one "
            "export; split the record or raise ingest.max_file_mb if the machine has the memory"
        )
    with _locale_normalised(path) as (src, locale):
        try:
            fmt = detect_format(src) if format in (None, "", "auto") else format
            if fmt not in FORMATS:
                raise FormatError(f"{src}: unknown format {fmt!r}; known: {', '.join(FORMATS)}")
            try:
                parsed = _PARSERS[fmt](src)
            except (InputError, FormatError):
                raise
            except Exception as exc:  # a vendor library failing on a damaged file
                raise FormatError(
                    f"{src}: cannot be read as {fmt} ({type(exc).__name__}: "
                    f"{excerpt(str(exc), 120, quote=False)})"
                ) from None
        except (InputError, FormatError) as exc:
            if src == path:
                raise
            raise type(exc)(str(exc).replace(str(src), f"{path} ({locale})")) from None
    if locale:
        parsed.attrs["locale"] = locale
    return _assemble(path, fmt, parsed)


_EURO_NUMBER = re.compile(r"^[-+]?\d+(,\d+)?([eE][-+]?\d+)?$")


def _european_row(line: str) -> bool:
    """A data row written in a European locale: ';'-separated numbers, decimal commas."""
    if ";" not in line or "." in line:
        return False
    cells = [c.strip() for c in line.rstrip(";").split(";") if c.strip()]
    return all(_EURO_NUMBER.match(c) for c in cells) and any("," in c for c in cells)


@contextlib.contextmanager
def _locale_normalised(path: Path):
    """Yield (file to parse, locale note). A text export written in a European locale (';'
    between fields, decimal commas) is translated into a temporary copy with ',' and '.'; the
    raw file itself is never changed. Detected from the last lines of the file's head, which
    are data rows in every text format."""
    with open(path, "rb") as fh:
        head = fh.read(8192)
    if _looks_binary(head):
        yield path, ""
        return
    lines = [ln.strip() for ln in head.decode("utf-8", errors="replace").splitlines()[1:-1]]
    rows = [ln for ln in lines[-10:] if ln]
    if not rows or not all(_european_row(ln) for ln in rows):
        yield path, ""
        return
    with tempfile.TemporaryDirectory(prefix="mohilbert-locale-") as tmp:
        out = Path(tmp) / path.name
        with open(path, "rb") as fin, open(out, "wb") as fout:
            for raw in fin:
                fout.write(raw.replace(b",", b".").replace(b";", b","))
        yield out, "read as ';'-separated with decimal commas"


def detect_format(path: str | os.PathLike) -> str:
    """Name the export format of ``path`` from its content (see :data:`FORMATS`)."""
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if not head:
        raise InputError(f"{path}: file is empty (0 bytes)")
    head = head.removeprefix(UTF8_BOM)
    if b"WAVEDESC" in head[:64]:
        return "lecroy_trc"
    if head[:2] in (b"\x0f\x0f", b"\xf0\xf0") and head[2:7] == b":WFM#":
        return "tek_wfm"
    if head.lstrip().startswith((b":WFMPRE", b":WFMP", b"WFMP", b":WFMO")) or (
        b":CURV" in head and b"WFID" in head
    ):
        return "tek_isf"
    if re.match(rb"AG\d\d", head[:4]):
        return "keysight_bin"
    if _looks_binary(head):
        if head[:2] in (b"\xa5\xa5", b"\xa1\xa5") or head[:4] in (b"\x01\xff\xff\xff", b"RG01"):
            return "rigol_wfm"
        if head[:4] in (b"RG03", b"\x02\x00\x00\x00"):
            return "rigol_wfm"
        raise FormatError(
            f"{path}: unknown binary format (first bytes {head[:8].hex()}); supported: "
            + ", ".join(BINARY_FORMATS)
        )
    text = head.decode("utf-8", errors="replace")
    lines = [ln.strip() for ln in text.splitlines()]
    first = lines[0] if lines else ""
    second = lines[1] if len(lines) > 1 else ""
    low = first.lower()
    if low.startswith("lecroy"):
        return "lecroy_csv"
    if low.startswith("record length"):
        return "tek_tds_csv"
    if (
        low.startswith("model,")
        or any(ln.upper().startswith("TIME,") for ln in lines[:40])
        and any(ln.lower().startswith(("sample interval", "record length")) for ln in lines[:40])
    ):
        return "tek_mso_csv"
    if low.startswith("x-axis"):
        return "keysight_csv"
    if first.startswith("X,") and "Start" in first and "Increment" in first:
        return "rigol_csv"
    if (first.startswith("X,") or first.startswith(",")) and second.lower().startswith("second"):
        return "rigol_time_csv"
    if first.startswith('"Number of Data points'):
        return "rigol_ultrascope_csv"
    if _generic_header(lines) is not None:
        return "generic_csv"
    raise FormatError(
        f"{path}: unknown format (first line {excerpt(first, 40)}); pass the format explicitly or "
        "export as CSV with a header row such as 'time,CH1,CH2'"
    )


#: a git symbolic link checked out as a file holds only its target's path: this many bytes at most
_LINK_FILE_MAX_BYTES = 1024


def followed_link_file(path: Path) -> Path:
    """The file that ``path`` stands for: ``path`` itself, or, when ``path`` is a git symbolic
    link checked out as a plain file (a one-line file holding only the relative path of an
    existing file, as git writes it with ``core.symlinks=false``, in some archives and on
    Windows), that target. Anything else (a real export, a missing target) is ``path``."""
    try:
        if not path.is_file() or path.stat().st_size > _LINK_FILE_MAX_BYTES:
            return path
        text = path.read_bytes()
    except OSError:
        return path
    if not text or b"\n" in text or b"\r" in text or b"\0" in text:
        return path
    try:
        name = text.decode("utf-8")
    except UnicodeDecodeError:
        return path
    if name.startswith("/") or name != name.strip():
        return path
    target = path.parent / name
    return target.resolve() if target.is_file() else path


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------- assembly


def _assemble(path: Path, fmt: str, p: _Parsed) -> xr.Dataset:
    if not p.channels:
        raise InputError(f"{path}: no channel data found")
    lengths = {name: v.shape[-1] for name, v in p.channels.items()}
    n = next(iter(lengths.values()))
    if any(v != n for v in lengths.values()):
        raise InputError(f"{path}: channels have different lengths {lengths}")
    if n < 2:
        raise InputError(f"{path}: only {n} sample(s); nothing to analyse")
    for name, values in p.channels.items():
        if not np.isfinite(values).all():
            bad = int(np.count_nonzero(~np.isfinite(values)))
            raise InputError(f"{path}: channel {name} has {bad} NaN or infinite sample(s)")
    if p.time is not None:
        time, dt, how = _regularise_time(path, p.time)
        p.time_axis = how
    else:
        if p.dt is None or not np.isfinite(p.dt) or p.dt <= 0:
            raise InputError(f"{path}: the file states no usable sample interval ({p.dt})")
        dt = float(p.dt)
        time = float(p.t0 or 0.0) + np.arange(n, dtype=np.float64) * dt
        if p.time_column is not None:
            _check_time_column(path, p.time_column, dt)
    coords = {"time": ("time", time, {"units": "s", "long_name": "time since trigger"})}
    data_vars = {}
    for name, values in p.channels.items():
        attrs = {
            "units": p.units.get(name, "V"),
            "long_name": f"{name} signal",
            "scope_channel": name,
        }
        attrs.update({k: v for k, v in p.channel_attrs.get(name, {}).items() if v is not None})
        dims = ("segment", "time") if values.ndim == 2 else ("time",)
        data_vars[_var_name(name)] = (dims, np.asarray(values, dtype=np.float64), attrs)
    ds = xr.Dataset(data_vars, coords=coords)
    if "segment_trigger_time_s" in p.attrs:
        trig = np.asarray(p.attrs.pop("segment_trigger_time_s"), dtype=np.float64)
        ds = ds.assign_coords(
            segment=("segment", np.arange(trig.size)),
            segment_trigger_time=(
                "segment",
                trig,
                {"units": "s", "long_name": "trigger time of the segment after the first"},
            ),
        )
        ds["segment"].attrs.update(units="1", long_name="sequence segment index")
    attrs = {
        "source_file": str(path),
        "source_name": path.name,
        "source_sha256": sha256_file(path),
        "scope_format": fmt,
        "channel_names": ", ".join(p.channels),
        "sample_interval_s": float(dt),
        "n_samples": int(n),
        "time_axis": p.time_axis,
    }
    attrs.update({k: v for k, v in p.attrs.items() if v not in (None, "")})
    ds.attrs.update(attrs)
    return ds


def _var_name(name: str) -> str:
    clean = re.sub(r"[^0-9A-Za-z_]+", "_", name.strip()).strip("_")
    return clean or "channel"


def _regularise_time(path: Path, t: np.ndarray) -> tuple[np.ndarray, float, str]:
    """Rebuild a printed time column as t0 + i*dt when it is uniform within print precision."""
    n = t.size
    steps = np.diff(t)
    if not (steps > 0).all():
        i = int(np.flatnonzero(steps <= 0)[0])
        raise InputError(
            f"{path}: time column is not increasing at data row {i + 2} "
            f"({_fmt(t[i])} then {_fmt(t[i + 1])}); is the file two records concatenated?"
        )
    idx = np.arange(n, dtype=np.float64)
    dt, t0 = np.polyfit(idx, t, 1)
    resid = np.abs(t - (t0 + dt * idx))
    if resid.max() <= 0.5 * dt:
        return t0 + idx * dt, float(dt), "t0 + i*dt fitted to the printed time column"
    return t.astype(np.float64), float(np.median(steps)), "as printed (non-uniform sampling)"


def _check_time_column(path: Path, t: np.ndarray, dt: float) -> None:
    """A printed time (or sample index) column must increase and agree with the header's
    sample interval; two records pasted into one file break both."""
    steps = np.diff(t)
    if (steps < 0).any():
        i = int(np.flatnonzero(steps < 0)[0])
        raise InputError(
            f"{path}: time column goes back at data row {i + 2} ({_fmt(t[i])} then "
            f"{_fmt(t[i + 1])}); is the file two records concatenated?"
        )
    span, want = float(t[-1] - t[0]), (t.size - 1) * dt
    if abs(span - want) > 0.01 * want + 2 * dt:
        raise InputError(
            f"{path}: time column spans {_fmt(span)} but {t.size} samples at the header's "
            f"sample interval {_fmt(dt)} s span {_fmt(want)}; is the file two records "
            "concatenated?"
        )


def _fmt(x: float) -> str:
    """A number for a message: 6 significant digits, never a numpy repr."""
    return f"{float(x):.6g}"


def _check_record_length(path: Path, rows: int, announced: float | None, key: str) -> None:
    if announced is None:
        return
    if rows < int(announced):
        raise InputError(
            f"{path}: {rows} samples but {key!r} says {int(announced)}: the file is truncated"
        )
    if rows > int(announced):
        raise InputError(
            f"{path}: {rows} samples but {key!r} says {int(announced)}; is the file two records "
            "concatenated?"
        )


def _looks_binary(head: bytes) -> bool:
    if b"\x00" in head[:512]:
        return True
    sample = head[:512]
    text_chars = sum(32 <= b < 127 or b in (9, 10, 13) for b in sample)
    return text_chars < 0.9 * len(sample)


def _num(text: str) -> float | None:
    try:
        return float(text.strip().strip('"'))
    except (ValueError, AttributeError):
        return None


# --------------------------------------------------------------------------- text formats


def iso_time(text: str) -> str:
    """A scope's time stamp as ISO 8601 (``2023-03-29T10:35:11``), as every reader writes
    ``trigger_time``; LeCroy's CSV header writes ``29-Mar-2023 10:35:11``. Text in no known
    form is returned as it is."""
    import datetime as dt

    for fmt in ("%d-%b-%Y %H:%M:%S", "%d-%b-%Y %H:%M:%S.%f"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).isoformat()
        except ValueError:
            continue
    return text


def _parse_lecroy_csv(path: Path) -> _Parsed:
    """LeCroy WaveRunner/WavePro CSV: 4-5 header lines, a 'Time,Ampl' title, then t,v rows."""
    head = read_lines(path, 12)
    title = next((i for i, ln in enumerate(head) if re.match(r"(?i)time[,;\t]", ln)), None)
    if title is None:
        raise FormatError(f"{path}: LeCroy CSV without a 'Time,Ampl' title line")
    sep = head[title][4]
    first = re.split(r"[,;\t]", head[0])
    attrs = {"vendor": "Teledyne LeCroy", "model": first[0].strip()}
    if len(first) > 1:
        attrs["serial_number"] = first[1].strip()
    expected = None
    for ln in head[:title]:
        cells = [c.strip() for c in ln.split(sep)]
        if cells[0].lower() == "segments" and len(cells) >= 4:
            attrs["segments"] = int(_num(cells[1]) or 1)
            expected = int(_num(cells[3]) or 0) or None
            attrs["segment_size"] = expected
        if cells[0].startswith("#1") and len(cells) > 1:
            attrs["trigger_time"] = iso_time(cells[1])
    data = numeric_table(path, title + 1, [0, 1], sep=sep)
    if expected is not None and data.shape[0] < expected * attrs.get("segments", 1):
        raise InputError(
            f"{path}: {data.shape[0]} samples but the header announces "
            f"{expected * attrs.get('segments', 1)}: the file is truncated"
        )
    # LeCroy names the channel only in the file name (C2--trace.csv); keep it when present.
    m = re.match(r"^(C\d|F\d|M\d|Z\d)", path.name)
    name = m.group(1) if m else "Ampl"
    return _Parsed(channels={name: data[:, 1]}, time=data[:, 0], attrs=attrs)


def _parse_tek_tds(path: Path) -> _Parsed:
    """TDS1000/2000/TBS 'spreadsheet' CSV: header in columns 0-1, time/value in columns 3-4."""
    head = read_lines(path, 20)
    meta = {}
    for ln in head:
        cells = [c.strip() for c in ln.split(",")]
        if len(cells) >= 2 and cells[0] and _num(cells[0]) is None:
            meta[cells[0]] = cells[1]
    n = _num(meta.get("Record Length", ""))
    dt = _num(meta.get("Sample Interval", ""))
    source = meta.get("Source", "CH1") or "CH1"
    data = numeric_table(path, 0, [3, 4])
    _check_record_length(path, data.shape[0], n, "Record Length")
    units = {source: meta.get("Vertical Units", "V") or "V"}
    attrs = {
        "vendor": "Tektronix",
        "model": meta.get("Model Number", ""),
        "serial_number": meta.get("Serial Number", ""),
        "firmware": meta.get("Firmware Version", ""),
        "trigger_point": _num(meta.get("Trigger Point", "")),
    }
    ch_attrs = {
        source: {
            "vertical_scale_per_div": _num(meta.get("Vertical Scale", "")),
            "vertical_offset": _num(meta.get("Vertical Offset", "")),
            "probe_attenuation": _num(meta.get("Probe Atten", "")),
        }
    }
    t = data[:, 0]
    return _Parsed(
        channels={source: data[:, 1]},
        t0=float(t[0]),
        dt=dt,
        time_column=t,
        units=units,
        channel_attrs=ch_attrs,
        attrs=attrs,
    )


def _parse_tek_mso(path: Path) -> _Parsed:
    """MSO/DPO CSV: key,value preamble then a 'TIME,CH1[,CH2...]' table."""
    head = read_lines(path, 60)
    title = next((i for i, ln in enumerate(head) if ln.upper().startswith("TIME,")), None)
    if title is None:
        raise FormatError(f"{path}: Tektronix MSO CSV without a 'TIME,...' title row")
    meta = {}
    for ln in head[:title]:
        cells = [c.strip() for c in ln.split(",")]
        if len(cells) >= 2 and cells[0]:
            meta.setdefault(cells[0], cells[1])
    if "Sample Interval" not in meta and "Record Length" not in meta:
        raise FormatError(
            f"{path}: not a Tektronix MSO CSV (no 'Sample Interval' or 'Record Length' in the "
            "preamble)"
        )
    names = [c.strip() for c in head[title].split(",")[1:] if c.strip()]
    data = numeric_table(path, title + 1, list(range(len(names) + 1)))
    _check_record_length(path, data.shape[0], _num(meta.get("Record Length", "")), "Record Length")
    dt = _num(meta.get("Sample Interval", ""))
    zero = _num(meta.get("Zero Index", ""))
    t0 = -zero * dt if (zero is not None and dt) else float(data[0, 0])
    vunits = meta.get("Vertical Units", "V") or "V"
    attrs = {
        "vendor": "Tektronix",
        "model": meta.get("Model", ""),
        "firmware": meta.get("Firmware Version", ""),
        "zero_index": zero,
        "waveform_type": meta.get("Waveform Type", ""),
    }
    ch_attrs = {
        nm: {
            "vertical_scale_per_div": _num(meta.get("Vertical Scale", "")),
            "vertical_offset": _num(meta.get("Vertical Offset", "")),
        }
        for nm in names
    }
    return _Parsed(
        channels={nm: data[:, i + 1] for i, nm in enumerate(names)},
        t0=t0,
        dt=dt,
        time_column=data[:, 0],
        units=dict.fromkeys(names, vunits),
        channel_attrs=ch_attrs,
        attrs=attrs,
    )


_UNIT_WORDS = {"volt": "V", "ampere": "A", "second": "s", "watt": "W", "db": "dB", "unknown": "1"}


def _parse_keysight_csv(path: Path) -> _Parsed:
    """InfiniiVision CSV: 'x-axis,1,2' then 'second,Volt,Volt' then rows."""
    head = read_lines(path, 5)
    names = [c.strip() for c in head[0].split(",")[1:] if c.strip()]
    units_row = [c.strip() for c in head[1].split(",")] if len(head) > 1 else []
    skip = 2
    # 'save all segments' files carry a third header line
    if len(head) > 2 and _num(head[2].split(",")[0]) is None:
        skip = 3
    data = numeric_table(path, skip, list(range(len(names) + 1)))
    chans = {("CH" + nm if nm.isdigit() else nm): data[:, i + 1] for i, nm in enumerate(names)}
    units = {}
    for i, key in enumerate(chans):
        word = units_row[i + 1].lower() if i + 1 < len(units_row) else "volt"
        units[key] = _UNIT_WORDS.get(word, word or "V")
    return _Parsed(
        channels=chans,
        time=data[:, 0],
        units=units,
        attrs={"vendor": "Keysight", "model": ""},
    )


def _parse_rigol_seq(path: Path) -> _Parsed:
    """DS1000Z/DS2000/DS4000 CSV: 'X,CH1,..,Start,Increment' / 'Sequence,Volt,..,t0,dt'."""
    head = read_lines(path, 3)
    titles = [c.strip() for c in head[0].split(",")]
    second = [c.strip() for c in head[1].split(",")]
    names = [c for c in titles[1:] if c and c not in ("Start", "Increment")]
    i_start = titles.index("Start")
    t_start = _num(second[i_start]) if i_start < len(second) else None
    dt = _num(second[i_start + 1]) if i_start + 1 < len(second) else None
    if t_start is None or dt is None:
        raise FormatError(f"{path}: Rigol CSV header lacks Start/Increment values")
    data = numeric_table(path, 2, list(range(len(names) + 1)))
    index0 = float(data[0, 0])
    units = {
        nm: _UNIT_WORDS.get(second[i + 1].lower(), second[i + 1]) for i, nm in enumerate(names)
    }
    return _Parsed(
        channels={nm: data[:, i + 1] for i, nm in enumerate(names)},
        t0=t_start + index0 * dt,
        dt=dt,
        time_column=data[:, 0] * dt,
        units=units,
        attrs={"vendor": "Rigol", "model": "DS1000Z/DS2000/DS4000", "first_index": index0},
    )


def _parse_rigol_time(path: Path) -> _Parsed:
    """DS1000E/D ('X,CH1,CH2,') and DS1000B (',CH2,CH4' + trailing field) CSV."""
    head = read_lines(path, 3)
    titles = [c.strip() for c in head[0].split(",")]
    names = [c for c in titles[1:] if c]
    second = [c.strip() for c in head[1].split(",")]
    data = numeric_table(path, 2, list(range(len(names) + 1)))
    units = {nm: _UNIT_WORDS.get(second[i + 1].lower(), "V") for i, nm in enumerate(names)}
    return _Parsed(
        channels={nm: data[:, i + 1] for i, nm in enumerate(names)},
        time=data[:, 0],
        units=units,
        attrs={"vendor": "Rigol", "model": "DS1000E/D/B"},
    )


def _parse_rigol_ultrascope(path: Path) -> _Parsed:
    """UltraScope PC-software CSV: quoted key rows, per-channel rows, then a title row."""
    head = read_lines(path, 40)
    title = next((i for i, ln in enumerate(head) if ln.startswith('"Time (')), None)
    if title is None:
        raise FormatError(f"{path}: UltraScope CSV without a '\"Time (s)\"' title row")
    meta, chan_names = {}, []
    for ln in head[:title]:
        cells = [c.strip().strip('"') for c in ln.split(",")]
        key = cells[0].rstrip("= ").strip()
        if key == "Channel Data":
            chan_names = [c for c in cells[1:] if c]
        else:
            meta[key] = cells[1:]
    ncol = len(head[title].split(","))
    data = numeric_table(path, title + 1, list(range(ncol)))
    names = [nm.replace(" ", "") for nm in chan_names] or [f"CH{i}" for i in range(1, ncol)]
    fs = _num(meta.get("Sampling Frequency (Hz)", [""])[0])
    dt = 1.0 / fs if fs else None
    ch_attrs = {
        nm: {
            "vertical_scale_per_div": _num(meta.get("Scale (V/DIV)", [""] * 4)[i]),
            "probe_attenuation": _num(meta.get("Attenuation", [""] * 4)[i]),
        }
        for i, nm in enumerate(names)
    }
    return _Parsed(
        channels={nm: data[:, i + 1] for i, nm in enumerate(names)},
        t0=float(data[0, 0]),
        dt=dt,
        time_column=data[:, 0],
        channel_attrs=ch_attrs,
        attrs={
            "vendor": "Rigol",
            "model": "DS1000E (UltraScope export)",
            "note": "UltraScope time starts at 0, not at the trigger; its first 4 samples may be junk",
        },
    )


_TIME_NAMES = re.compile(r"^\s*\"?(t|time|times|x|seconds?)\b", re.IGNORECASE)


def _generic_header(lines: list[str]) -> tuple[int, str] | None:
    """Find a 'time,<names>' header followed by numeric rows; return (line index, delimiter)."""
    for i, ln in enumerate(lines[:30]):
        for sep in (",", "\t", ";"):
            cells = ln.split(sep)
            if len(cells) >= 2 and _TIME_NAMES.match(cells[0]) and i + 1 < len(lines):
                nxt = lines[i + 1].split(sep)
                if len(nxt) >= 2 and _num(nxt[0]) is not None:
                    return i, sep
    return None


def _parse_generic(path: Path) -> _Parsed:
    """Any CSV with a header row 'time,<ch1>,<ch2>...' (units in brackets are read)."""
    head = read_lines(path, 32)
    found = _generic_header(head)
    if found is None:
        raise FormatError(f"{path}: generic CSV needs a header row like 'time,CH1,CH2'")
    i, sep = found
    cells = [c.strip().strip('"') for c in head[i].split(sep)]
    names, units = [], {}
    time_scale = 1.0
    m = re.search(r"[\[(]\s*(\w+)\s*[\])]", cells[0])
    if m:
        time_scale = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}.get(m.group(1), 1.0)
    for c in cells[1:]:
        if not c:
            continue
        mu = re.search(r"[\[(]\s*([^\])]+)\s*[\])]", c)
        nm = re.sub(r"[\[(].*$", "", c).strip() or f"CH{len(names) + 1}"
        names.append(nm)
        units[nm] = mu.group(1) if mu else "V"
    data = numeric_table(path, i + 1, list(range(len(names) + 1)), sep=sep)
    return _Parsed(
        channels={nm: data[:, k + 1] for k, nm in enumerate(names)},
        time=data[:, 0] * time_scale,
        units=units,
        attrs={"vendor": "generic", "model": ""},
    )


# --------------------------------------------------------------------------- binary formats


def _rigolwfm(path: Path, extract):
    """Open ``path`` with RigolWFM and return ``extract(wfm)``, with every file handle closed.

    RigolWFM (Kaitai structs) keeps its file open in the parsed object and reads lazily, so
    a damaged file can fail while ``extract`` reads channels. The handle is left to the garbage
    collector: it is collected here, quietly, after the exception (whose traceback keeps the
    handle alive) has been reduced to text and dropped; otherwise its ResourceWarning escapes
    later, anywhere.
    """
    import RigolWFM.wfm as rwfm  # imported lazily: pulls matplotlib and requests

    failure = result = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            result = extract(rwfm.Wfm.from_file(str(path), "auto"))
        except (InputError, FormatError) as exc:
            failure = exc.with_traceback(None)
        except Exception as exc:
            failure = FormatError(
                f"{path}: cannot be read by RigolWFM ({type(exc).__name__}: "
                f"{excerpt(str(exc), 120, quote=False)})"
            )
        gc.collect()
    if failure is not None:
        raise failure
    return result


def _from_rigolwfm(path: Path, vendor: str) -> _Parsed:
    return _rigolwfm(path, lambda w: _extract_rigolwfm(w, vendor))


def _extract_rigolwfm(w, vendor: str) -> _Parsed:
    chans, units, ch_attrs = {}, {}, {}
    t0 = dt = None
    for c in w.channels:
        if not getattr(c, "enabled_and_selected", True) or c.volts is None:
            continue
        name = c.name.replace(" ", "")
        chans[name] = np.asarray(c.volts, dtype=np.float64)
        units[name] = {"v": "V", "a": "A", "w": "W"}.get(getattr(c.unit, "name", "v"), "1")
        ch_attrs[name] = {
            "vertical_scale_per_div": float(c.volt_per_division),
            "probe_attenuation": float(getattr(c, "probe_value", 1.0)),
            "coupling": str(getattr(c, "coupling", "")),
        }
        if t0 is None:
            t0 = float(c.times[0])
            dt = float(c.seconds_per_point)
    model = getattr(w, "header_name", "") or ""
    attrs = {
        "vendor": vendor,
        "model": model,
        "serial_number": getattr(w, "serial_number", "") or "",
        "firmware": getattr(w, "firmware", "") or "",
        "reader": "RigolWFM",
    }
    trig = getattr(w, "trigger_info", None) or {}
    for k, v in trig.items():
        if isinstance(v, (int, float, str)):
            attrs[f"trigger_{k}"] = v
    return _Parsed(channels=chans, t0=t0, dt=dt, units=units, channel_attrs=ch_attrs, attrs=attrs)


def _parse_tek_wfm(path: Path) -> _Parsed:
    p = _from_rigolwfm(path, "Tektronix")
    p.attrs["note"] = "RigolWFM names a Tek .wfm channel 'CH1' whatever its real source"
    return p


def _parse_keysight_bin(path: Path) -> _Parsed:
    p = _from_rigolwfm(path, "Keysight")
    # Samples are float32 volts; x_increment is a float64 in the file.
    return p


def _parse_rigol_wfm(path: Path) -> _Parsed:
    p = _from_rigolwfm(path, "Rigol")
    # RigolWFM derives DS1000B dt from a rounded sample rate (4.00049e-6 for 4e-6 s);
    # snap to 6 significant digits when that is within 0.1 %.
    if p.dt:
        snapped = float(f"{p.dt:.3g}")
        if abs(snapped - p.dt) / p.dt < 1e-3:
            p.dt = snapped
    return p


_TRC_UNITS = {"V": "V", "A": "A", "S": "s"}


def _parse_lecroy_trc(path: Path) -> _Parsed:
    """LeCroy .trc: WAVEDESC read here (channel, sequence segments); samples via RigolWFM."""
    raw = path.read_bytes()
    off = raw.find(b"WAVEDESC")
    if off < 0 or len(raw) < off + 346:
        raise InputError(f"{path}: LeCroy .trc without a complete WAVEDESC block (truncated?)")
    order = "<" if struct.unpack_from("<h", raw, off + 34)[0] == 1 else ">"

    def get(fmt, at):
        return struct.unpack_from(order + fmt, raw, off + at)[0]

    comm_type = get("h", 32)
    len_desc, len_user, len_trig = get("i", 36), get("i", 40), get("i", 48)
    len_wave = get("i", 60)
    instrument = raw[off + 76 : off + 92].split(b"\x00")[0].decode(errors="replace")
    count = get("i", 116)
    subarrays = max(get("i", 144), 1)
    gain, offset = get("f", 156), get("f", 160)
    nominal_bits = get("h", 172)
    dt = float(get("f", 176))
    h_offset = get("d", 180)
    vunit = raw[off + 196 : off + 244].split(b"\x00")[0].decode(errors="replace").strip()
    sec = get("d", 296)
    minute, hour, day, month = raw[off + 304], raw[off + 305], raw[off + 306], raw[off + 307]
    year = get("h", 308)
    wave_source = get("h", 344)
    name = f"C{wave_source + 1}" if 0 <= wave_source <= 7 else "TRACE"
    data_at = off + len_desc + len_user + len_trig
    width = 2 if comm_type == 1 else 1
    if len(raw) < data_at + len_wave or len_wave < count * width:
        raise InputError(
            f"{path}: the data block is shorter than the header says "
            f"({len(raw) - data_at} of {len_wave} bytes): the file is truncated"
        )
    codes = np.frombuffer(
        raw, dtype=(order + ("i2" if width == 2 else "i1")), count=count, offset=data_at
    )
    volts = gain * codes.astype(np.float64) - offset
    attrs = {
        "vendor": "Teledyne LeCroy",
        "model": instrument,
        "trigger_time": f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{sec:09.6f}",
        "nominal_bits": int(nominal_bits),
        "horizontal_offset_s": float(h_offset),
        "sequence_segments": int(subarrays),
        "reader": "mohilbert WAVEDESC (LECROY_2_3 template)",
    }
    ch_attrs = {name: {"vertical_gain_V_per_code": float(gain), "vertical_offset_V": float(offset)}}
    if subarrays > 1:
        per = count // subarrays
        trig = np.frombuffer(
            raw, dtype=order + "f8", count=2 * subarrays, offset=off + len_desc + len_user
        )
        attrs["segment_trigger_time_s"] = trig[0::2]
        volts = volts[: per * subarrays].reshape(subarrays, per)
        h_offset = float(trig[1]) if trig.size > 1 else h_offset
    units = {name: _TRC_UNITS.get(vunit.upper(), vunit or "V")}
    return _Parsed(
        channels={name: volts},
        t0=float(h_offset),
        dt=dt,
        units=units,
        channel_attrs=ch_attrs,
        attrs=attrs,
    )


def _parse_tek_isf(path: Path) -> _Parsed:
    """Tektronix .isf: ASCII WFMPRE preamble (long or short keys), ':CURVE #<n><len>' block."""
    raw = path.read_bytes()
    m = re.search(rb":CURV(?:E)?\s+#(\d)", raw)
    if not m:
        raise InputError(f"{path}: .isf without a ':CURVE #' data block")
    ndig = int(m.group(1))
    nbytes = int(raw[m.end() : m.end() + ndig])
    data_at = m.end() + ndig
    pre = raw[: m.start()].decode("latin-1")
    meta = {}
    for part in pre.split(";"):
        part = part.strip().lstrip(":")
        for prefix in ("WFMPRE:", "WFMP:", "WFMO:", "WFMOUTPRE:"):
            if part.upper().startswith(prefix):
                part = part[len(prefix) :]
        if " " in part:
            k, v = part.split(" ", 1)
            meta[k.upper()] = v.strip().strip('"')

    def key(*names):
        for nm in names:
            if nm in meta:
                return meta[nm]
        return None

    width = int(key("BYT_NR", "BYT_N") or 1)
    order = ">" if (key("BYT_OR", "BYT_O") or "MSB").upper().startswith("MSB") else "<"
    signed = (key("BN_FMT", "BN_F") or "RI").upper() == "RI"
    kind = ("i" if signed else "u") + str(width)
    if len(raw) < data_at + nbytes:
        raise InputError(
            f"{path}: data block has {len(raw) - data_at} of {nbytes} bytes: the file is truncated"
        )
    codes = np.frombuffer(raw, dtype=order + kind, count=nbytes // width, offset=data_at)
    ymult = float(key("YMULT", "YMU") or 1)
    yoff = float(key("YOFF", "YOF") or 0)
    yzero = float(key("YZERO", "YZE") or 0)
    dt = float(key("XINCR", "XIN") or 0)
    xzero = float(key("XZERO", "XZE") or 0)
    pt_off = float(key("PT_OFF", "PT_O") or 0)
    volts = (codes.astype(np.float64) - yoff) * ymult + yzero
    wfid = key("WFID", "WFI") or ""
    src = re.match(r"\s*(Ch\d|Ref\d|Math\d?|CH\d|REF\d)", wfid)
    name = src.group(1).upper() if src else "CH1"
    unit = (key("YUNIT", "YUN") or "V").strip('"')
    return _Parsed(
        channels={name: volts},
        t0=xzero - pt_off * dt,
        dt=dt,
        units={name: unit},
        channel_attrs={name: {"waveform_id": wfid}},
        attrs={"vendor": "Tektronix", "model": "", "reader": "mohilbert ISF"},
    )


_PARSERS = {
    "lecroy_csv": _parse_lecroy_csv,
    "tek_tds_csv": _parse_tek_tds,
    "tek_mso_csv": _parse_tek_mso,
    "keysight_csv": _parse_keysight_csv,
    "rigol_csv": _parse_rigol_seq,
    "rigol_time_csv": _parse_rigol_time,
    "rigol_ultrascope_csv": _parse_rigol_ultrascope,
    "generic_csv": _parse_generic,
    "tek_wfm": _parse_tek_wfm,
    "tek_isf": _parse_tek_isf,
    "keysight_bin": _parse_keysight_bin,
    "rigol_wfm": _parse_rigol_wfm,
    "lecroy_trc": _parse_lecroy_trc,
}
