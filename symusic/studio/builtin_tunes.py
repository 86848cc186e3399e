"""The built-in folk corpus's eval tunes, for a studio started without ``--data``.

The package ships the folk corpus built (``symusic/data/folk_corpus.tar.xz``); its 1,117
eval tunes unpack in about half a second, so Walk, Mix, the Map and the attribute vectors
have melodies to offer from the first page, not "no data folder". Only a melody model gets
them: they are melodies.
"""

from __future__ import annotations

from pathlib import Path

from symusic.data import corpus_archive

FOLK_SPLIT = "eval"


def unpack_folk_eval(parent: Path) -> Path:
    """Unpack the shipped folk corpus's eval split under ``parent``; returns its folder
    (``ArchiveError`` from a damaged archive)."""
    _, _, index = corpus_archive.read_metadata(corpus_archive.ARCHIVE)
    wanted = {name: key for name, key in index["files"].items()
              if name.startswith(f"{FOLK_SPLIT}/")}
    corpus_archive.unpack(corpus_archive.ARCHIVE, parent, wanted, show_progress=False)
    return parent / FOLK_SPLIT


def default_data(model, parent: Path) -> Path | None:
    """The folder a studio on ``model`` reads when no ``--data`` is given: the folk eval
    tunes for a melody model (unpacked under ``parent``), none for another representation or
    when the package carries no corpus."""
    if model.data_settings.representation != "melody" or not corpus_archive.ARCHIVE.is_file():
        return None
    try:
        return unpack_folk_eval(parent)
    except corpus_archive.ArchiveError:
        return None
