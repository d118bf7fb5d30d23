"""The analysis stages after calibration, one module per workflow stage.

* :mod:`~mohilbert.stages.fit` — the joint theory fit of an experiment and its budget;
* :mod:`~mohilbert.stages.series` — the intense-probe fit of a power series;
* :mod:`~mohilbert.stages.hilbert` — the Kramers–Kronig analysis of an experiment;
* :mod:`~mohilbert.stages.line_centre` — the line-centre absorption of a series' runs;
* :mod:`~mohilbert.stages.summary` — the campaign's table.

Ingest (:mod:`mohilbert.io.ingest`) and calibration (:mod:`mohilbert.calibration`) come
before; the figures (:mod:`mohilbert.plotting`) and the report (:mod:`mohilbert.report`) after.
Nothing is imported here: a rule's code is what its stage module imports, so an edit of one
stage reruns that stage and what reads its files, not its neighbours.
"""
