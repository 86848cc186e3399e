"""Magenta's MusicVAE checkpoints in symusic, and symusic's models in magenta.js.

* :func:`read_magenta_state`: a magenta.js checkpoint folder (``config.json`` with its
  weights, the tfjs or the older deeplearn.js layout, float32 or quantized) as a symusic
  checkpoint state; ``MusicVAE.load`` and every ``--checkpoint`` go through it for a folder.
* :func:`export_magenta`: a symusic model as a magenta.js folder, where its parametrisation
  folds exactly into Magenta's (``export.py`` says why when it does not).

The modules: ``folder.py`` (the files, bounded, data only), ``converters.py`` (Magenta's
``dataConverter`` and symusic's data settings), ``lstm.py`` (the LSTM, dense and
initial-state weights both ways), ``importer.py`` and ``export.py`` (the whole models).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from symusic.magenta.folder import MagentaFolderError, is_magenta_folder, read_magenta_folder

__all__ = ["MagentaFolderError", "export_magenta", "is_magenta_folder", "read_magenta_state"]


def read_magenta_state(path: str | Path) -> dict[str, Any]:
    """The checkpoint state (as ``MusicVAE.to_state`` gives) of the magenta.js folder at
    ``path``; ``CheckpointError`` in one line for anything symusic cannot run exactly."""
    from symusic.magenta.importer import state_from_magenta

    return state_from_magenta(read_magenta_folder(path), str(path))


def export_magenta(model, out_dir: str | Path, quantization: str | None = None) -> Path:
    """Write ``model`` (a ``MusicVAE``) as a magenta.js folder; ``CheckpointError`` saying why
    when its parametrisation does not fold exactly into Magenta's."""
    from symusic.magenta.export import export_magenta as export

    return export(model, out_dir, quantization)
