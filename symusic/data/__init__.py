"""MIDI to melody tokens, N-bar windows and batches; the built-in folk corpus.

Modules (import them directly; this package imports nothing so that ``tokens`` stays light):
``tokens`` (vocabulary), ``settings`` (``DataSettings``: extraction and programs),
``extraction`` (a file's melodies, ``magenta`` or ``any_meter``), ``magenta_grid`` (note-seq's
time-change pieces and quantisation), ``melody`` (melodies from notes, windows), ``midi_io``
(reading, writing), ``scan`` (parallel folder scan), ``workers`` (pool workers that die with
their parent), ``cache`` (on-disk melody cache), ``dataset`` (collection, window dataset,
loaders), ``sampler`` (resumable sampler), ``corpus`` (the folk corpus).
"""
