"""Everything one running studio holds: the model service, the data library, the uploads and
the latent-space views. Built once at start-up (``Studio.open``) and shared by all requests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from symusic.musicvae.inference import TrainedModel, load_model
from symusic.studio.library import MAX_UPLOADS, DataLibrary, Uploads
from symusic.studio.reference import LatentSpace
from symusic.studio.service import ModelService


@dataclass
class Studio:
    """The state behind the API."""

    service: ModelService
    library: DataLibrary
    uploads: Uploads
    latent: LatentSpace
    checkpoint_name: str = ""
    max_uploads: int = MAX_UPLOADS

    @classmethod
    def from_model(cls, model: torch.nn.Module, data: str | Path | None = None,
                   max_windows: int = 2000, checkpoint_name: str = "") -> Studio:
        """A studio on a loaded ``MusicVAE``, with the MIDI files of ``data`` when given.

        Raises ``InputError`` when ``data`` is not a folder of MIDI files.
        """
        service = ModelService(TrainedModel(model))
        settings = getattr(model, "data_settings", None)  # read files as training read them
        library = DataLibrary(None if data is None else Path(data), service.seq_len, settings)
        return cls(service, library, Uploads(service.seq_len, settings=settings),
                   LatentSpace(service, library, max_windows), checkpoint_name)

    @classmethod
    def open(cls, checkpoint: str | Path, data: str | Path | None = None,
             device: str = "cpu", max_windows: int = 2000) -> Studio:
        """Load the checkpoint onto ``device`` and build the studio on it.

        Raises the user errors of ``symusic.errors.user_errors`` (``InputError``,
        ``CheckpointError``, ...).
        """
        model = load_model(checkpoint, device)
        return cls.from_model(model, data, max_windows, Path(checkpoint).name)

    def close(self) -> None:
        """Delete the uploads."""
        self.uploads.close()
