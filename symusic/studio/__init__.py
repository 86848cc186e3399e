"""symusic studio: a local web app to hear, see and steer a trained MusicVAE.

``python -m symusic.studio CHECKPOINT [--data DIR]`` serves it on 127.0.0.1. The parts:

* ``service.py``: the model behind a lock, numpy in and out (sample, encode, decode, walk);
* ``library.py``: the MIDI files of ``--data`` and uploads, as tracks and bar windows;
* ``reference.py``: the latent codes of a reference set (the data windows, or prior samples)
  and what is derived from them: the most active dimensions, the 2-D map;
* ``attributes.py``: melody attributes and their attribute vectors;
* ``routes.py`` / ``app.py``: the JSON API and the FastAPI app serving ``static/``;
* ``__main__.py``: the command line.
"""
