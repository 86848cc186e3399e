"""MIDI to melody tokens, N-bar windows and batches; the built-in folk corpus.

Modules (import them directly; this package imports nothing so that ``tokens`` stays light):
``tokens`` (vocabulary), ``melody`` (extraction, windows), ``midi_io`` (reading, writing),
``scan`` (parallel folder scan), ``cache`` (on-disk melody cache), ``dataset`` (collection,
window dataset, loaders), ``sampler`` (resumable sampler), ``corpus`` (the folk corpus).
"""
