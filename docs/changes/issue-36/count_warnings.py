"""Issue 36 item 4: the quality-gate records (warnings and notes) in a workflow's results, per
stage, gate and severity, with one example message each.

    .venv/bin/python docs/changes/issue-36/count_warnings.py WORKSPACE
"""

import collections
import sys
from pathlib import Path

import xarray as xr

from mohilbert import gates

root = Path(sys.argv[1]) / "results"
count = collections.Counter()
subjects = collections.defaultdict(set)
examples = {}
for stage in ("calibrated", "fits", "hilbert", "series", "line_centre"):
    for f in sorted((root / stage).glob("*.nc")):
        with xr.open_dataset(f) as ds:
            attrs = dict(ds.attrs)
        for w in gates.read(attrs):
            key = (stage, w.gate, w.severity)
            count[key] += 1
            subjects[key].add(w.subject)
            examples.setdefault(key, w.message[:300])
for key in sorted(count):
    print(f"{key[0]:12s} {key[1]:40s} {key[2]:8s} {count[key]:4d}  subjects {len(subjects[key])}")
    print("    e.g.", examples[key])
