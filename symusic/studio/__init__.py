"""symusic studio: a local web app to hear, see and steer a trained MusicVAE.

``python -m symusic.studio CHECKPOINT [--data DIR]`` serves it on 127.0.0.1. The parts:

* ``service.py``: the model behind a lock, numpy in and out (sample, encode, decode, walk);
* ``library.py``: the MIDI files of ``--data`` and uploads, as tracks and bar windows;
* ``upload_reader.py``: an upload read in a worker process, killed at the deadline;
* ``reference.py``: the latent codes of a reference set (the data windows, or prior samples)
  and what is derived from them: the most active dimensions, the 2-D map;
* ``projection.py``: PCA (numpy) and t-SNE (scikit-learn, optional) onto a plane;
* ``attributes.py``: melody attributes and their attribute vectors;
* ``state.py``: the ``Studio`` that holds all of the above for one running app;
* ``schemas.py`` / ``routes.py`` / ``app.py``: the request bodies, the JSON API, and the
  FastAPI app serving it and ``static/`` (plain HTML, CSS and JS modules, no build step);
* ``guard.py``: the door: only requests for the studio's own host and from its own pages, of
  bounded size, and the security headers on every answer;
* ``__main__.py``: the command line.
"""
