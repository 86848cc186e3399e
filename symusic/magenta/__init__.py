"""Magenta's MusicVAE checkpoints in symusic, and symusic's models in magenta.js.

* :func:`read_magenta_state`: a magenta.js checkpoint folder (``config.json`` with its
  weights, the tfjs or the older deeplearn.js layout, float32 or quantized) as a symusic
  checkpoint state; ``MusicVAE.load`` and every ``--checkpoint`` go through it for a folder.
* the same for a Magenta TensorFlow checkpoint (a folder with ``model.ckpt-N.index`` and
  its data, that ``.index`` file, or Magenta's ``.tar`` download), with Magenta's config named
  or recognised from the shapes (:mod:`tf_checkpoint`);
* :func:`export_magenta`: a symusic model as a magenta.js folder, where its parametrisation
  folds exactly into Magenta's (``export.py`` says why when it does not).

The modules: ``folder.py`` (the files, bounded, data only), ``converters.py`` (Magenta's
``dataConverter`` and symusic's data settings), ``lstm.py`` (the LSTM, dense and
initial-state weights both ways), ``importer.py`` and ``export.py`` (the whole models);
``tf_bundle.py`` (TensorFlow's checkpoint format, with ``crc32c.py``), ``tf_files.py`` (a
folder or a tar), ``magenta_configs.py`` (Magenta's configs) and ``tf_checkpoint.py`` (the
import of a TF checkpoint).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from symusic.magenta.folder import MagentaFolderError, is_magenta_folder, read_magenta_folder

__all__ = ["MagentaFolderError", "export_magenta", "is_magenta_checkpoint", "is_magenta_folder",
           "read_magenta_state"]


def is_magenta_checkpoint(path: str | Path) -> bool:
    """Whether the loading door reads ``path`` here: any folder (a magenta.js or TF
    checkpoint, else refused saying so), a TF ``.index`` file or a tar file."""
    from symusic.magenta.tf_files import is_tf_checkpoint

    return Path(path).is_dir() or is_tf_checkpoint(path)


def read_magenta_state(path: str | Path, magenta_config: str | None = None) -> dict[str, Any]:
    """The checkpoint state (as ``MusicVAE.to_state`` gives) of the magenta.js folder or the
    TensorFlow checkpoint at ``path`` (``magenta_config``: Magenta's config name for a TF
    checkpoint, None to recognise it from the shapes); ``CheckpointError`` in one line for
    anything symusic cannot run exactly."""
    from symusic.magenta.importer import state_from_magenta
    from symusic.magenta.tf_files import is_tf_checkpoint

    if not is_magenta_folder(path) and is_tf_checkpoint(path):
        from symusic.magenta.tf_checkpoint import read_tf_state

        return read_tf_state(path, magenta_config)
    if magenta_config is not None:
        raise MagentaFolderError(f"{path}: --magenta-config is for TensorFlow checkpoints; a "
                                 "magenta.js folder has its own config.json")
    return state_from_magenta(read_magenta_folder(path), str(path))


def export_magenta(model, out_dir: str | Path, quantization: str | None = None) -> Path:
    """Write ``model`` (a ``MusicVAE``) as a magenta.js folder; ``CheckpointError`` saying why
    when its parametrisation does not fold exactly into Magenta's."""
    from symusic.magenta.export import export_magenta as export

    return export(model, out_dir, quantization)
