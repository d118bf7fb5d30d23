"""Write oscilloscope exports in real vendor layouts (for the simulator and test fixtures).

Each writer reproduces the layout that :func:`mohilbert.io.read_scope` reads for that vendor,
as the scope itself writes it (header lines, number formatting, line endings), so that a
simulated campaign goes through exactly the code path of lab data. Files are written
atomically (temporary name, then rename).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mohilbert.io.atomic import write_bytes_atomic as _atomic_write_bytes


def _rows(columns: list[np.ndarray], fmts: list[str], newline: str) -> str:
    table = np.column_stack(columns)
    fmt = ",".join(fmts)
    return newline.join(fmt % tuple(r) for r in table) + newline


def write_lecroy_csv(
    path: str | os.PathLike,
    t0: float,
    dt: float,
    volts: np.ndarray,
    *,
    model: str = "LECROYWR610Zi",
    serial: str = "56383",
    trigger_time: str = "27-Mar-2023 12:03:40",
) -> Path:
    """LeCroy WaveRunner CSV, one channel per file (``C2--name.csv``), as in the HIP data.

    Parameters
    ----------
    path : str or os.PathLike
        File to write.
    t0 : float
        Time of the first sample [s].
    dt : float
        Sample interval [s].
    volts : numpy.ndarray
        Samples [V].
    model : str
        Instrument model in the header.
    serial : str
        Instrument serial number in the header.
    trigger_time : str
        Trigger time stamp in the header.
    """
    n = volts.size
    t = t0 + np.arange(n) * dt
    head = (
        f"{model},{serial},Waveform\r\nSegments,1,SegmentSize,{n}\r\n"
        f"Segment,TrigTime,TimeSinceSegment1\r\n#1,{trigger_time},0                 \r\n"
        "Time,Ampl\r\n"
    )
    body = "\r\n".join(f"{ti:.9g},{vi:.6g}" for ti, vi in zip(t, volts, strict=True)) + "\r\n"
    return _atomic_write_bytes(Path(path), (head + body).encode())


def write_tek_mso_csv(
    path: str | os.PathLike,
    t0: float,
    dt: float,
    channels: dict[str, np.ndarray],
    *,
    model: str = "MSO44",
    firmware: str = "2.4.3",
    vertical_units: str = "V",
) -> Path:
    """Tektronix MSO 4/5/6-series CSV with a key/value preamble and a ``TIME,CH1,...`` table.

    Parameters
    ----------
    path : str or os.PathLike
        File to write.
    t0 : float
        Time of the first sample [s].
    dt : float
        Sample interval [s].
    channels : dict of str to numpy.ndarray
        Channel name → samples [V].
    model : str
        Instrument model in the header.
    firmware : str
        Firmware version in the header.
    vertical_units : str
        Vertical unit in the header (``"V"``).
    """
    names = list(channels)
    n = next(iter(channels.values())).size
    zero_index = -t0 / dt
    head = (
        f"Model,{model}\nFirmware Version,{firmware}\n\nWaveform Type,ANALOG\n"
        f"Point Format,Y\nHorizontal Units,s\nSample Interval,{dt:.8e}\nRecord Length,{n}\n"
        f"Gating,0.0% to 100.0%\nProbe Attenuation,1\nVertical Units,{vertical_units}\n"
        f"Vertical Offset,0.00000000e+00\nVertical Scale,1.00000000e-01\nVertical Position,0\n"
        f"Zero Index,{zero_index:.8f}\n\nLabels,\nTIME,{','.join(names)}\n"
    )
    t = t0 + np.arange(n) * dt
    body = _rows([t] + [channels[k] for k in names], ["%.8e"] * (len(names) + 1), "\n")
    return _atomic_write_bytes(Path(path), (head + body).encode())


def write_tek_tds_csv(
    path: str | os.PathLike,
    t0: float,
    dt: float,
    volts: np.ndarray,
    *,
    source: str = "CH1",
    model: str = "TDS2024B",
    trigger_point: int = 0,
) -> Path:
    """TDS1000/2000 'spreadsheet' CSV: 18-row header in columns 0-1, t/v in columns 3-4.

    Parameters
    ----------
    path : str or os.PathLike
        File to write.
    t0 : float
        Time of the first sample [s].
    dt : float
        Sample interval [s].
    volts : numpy.ndarray
        Samples [V].
    source : str
        Channel name (``"CH1"``, ...).
    model : str
        Instrument model in the header.
    trigger_point : int
        Sample index of the trigger.
    """
    n = volts.size
    keys = [
        ("Record Length", f"{n:.6e}"),
        ("Sample Interval", f"{dt:.6e}"),
        ("Trigger Point", f"{trigger_point:.12e}"),
        ("", ""),
        ("", ""),
        ("", ""),
        ("Source", source),
        ("Vertical Units", "V"),
        ("Vertical Scale", "5.000000e-01"),
        ("Vertical Offset", "0.000000e+00"),
        ("Horizontal Units", "s"),
        ("Horizontal Scale", f"{dt * n / 10:.6e}"),
        ("Pt Fmt", "Y"),
        ("Yzero", "0.000000e+00"),
        ("Probe Atten", "1.000000e+00"),
        ("Model Number", model),
        ("Serial Number", "C000000"),
        ("Firmware Version", "FV:v22.01"),
    ]
    t = t0 + np.arange(n) * dt
    lines = []
    for i in range(n):
        k, v = keys[i] if i < len(keys) else ("", "")
        lines.append(f"{k},{v},,{t[i]: .12f},{volts[i]: .5f},")
    return _atomic_write_bytes(Path(path), ("\n".join(lines) + "\n").encode())


def write_tek_isf(
    path: str | os.PathLike,
    t0: float,
    dt: float,
    volts: np.ndarray,
    *,
    source: str = "Ch2",
    bits: int = 16,
) -> Path:
    """Tektronix .isf (long WFMPRE keys, big-endian signed integers).

    Parameters
    ----------
    path : str or os.PathLike
        File to write.
    t0 : float
        Time of the first sample [s].
    dt : float
        Sample interval [s].
    volts : numpy.ndarray
        Samples [V].
    source : str
        Channel name.
    bits : int
        ADC resolution (8 or 16 bits).
    """
    width = bits // 8
    span = float(np.max(np.abs(volts))) or 1.0
    ymult = span / (2 ** (bits - 1) - 2)
    codes = np.round(volts / ymult).astype(">i2" if width == 2 else "i1")
    n = volts.size
    pre = (
        f":WFMPRE:BYT_NR {width};BIT_NR {bits};ENCDG BIN;BN_FMT RI;BYT_OR MSB;"
        f'WFID "{source}, DC coupling, 100.0mV/div, 4.000ms/div, {n} points, Sample mode";'
        f'NR_PT {n};PT_FMT Y;XUNIT "s";XINCR {dt:.4E};XZERO {t0:.4E};PT_OFF 0;YUNIT "V";'
        f"YMULT {ymult:.6E};YOFF 0.0E+0;YZERO 0.0E+0;VSCALE 1.0E-1;HSCALE 4.0E-3;"
        f"VPOS 0.0E+0;VOFFSET 0.0E+0;HDELAY 0.0E+0;DOMAIN TIME;WFMTYPE ANALOG;CENTERFREQUENCY 0.0E+0;"
        f"SPAN 0.0E+0;REFLEVEL 0.0E+0;:CURVE #{len(str(n * width))}{n * width}"
    ).encode()
    return _atomic_write_bytes(Path(path), pre + codes.tobytes() + b"\n")
