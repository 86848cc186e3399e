"""Where a training run's numbers and files go: Sacred's run and TensorBoard, from rank 0 only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch


class RunLog:
    """Sends scalars, histograms and artifacts to Sacred and TensorBoard.

    Ranks other than 0 get a ``RunLog(enabled=False)`` that drops everything, so the training
    loop never asks which rank it is on before logging.
    """

    def __init__(self, run: Any | None, run_dir: Path, enabled: bool = True) -> None:
        self.run = run
        self.run_dir = Path(run_dir)
        self.enabled = enabled
        self._writer = None
        if enabled:
            from torch.utils.tensorboard import SummaryWriter

            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._writer = SummaryWriter(log_dir=str(self.run_dir / "tensorboard"))

    def scalars(self, values: dict[str, float], step: int, prefix: str = "") -> None:
        """Log each ``name: value`` under ``prefix + name`` at ``step``."""
        if not self.enabled:
            return
        for name, value in values.items():
            key = f"{prefix}{name}"
            if self.run is not None:
                self.run.log_scalar(key, float(value), step)
            self._writer.add_scalar(key, float(value), step)

    def histogram(self, name: str, values: torch.Tensor, step: int) -> None:
        """A TensorBoard histogram (e.g. of the encoder's mu and sigma)."""
        if self.enabled:
            self._writer.add_histogram(name, values.detach().float().cpu(), step)

    def artifact(self, path: Path, name: str) -> None:
        """Attach a file to the Sacred run (the file observer copies it into the run folder)."""
        if self.enabled and self.run is not None and self.run.observers:
            self.run.add_artifact(str(path), name=name)

    def close(self) -> None:
        """Flush TensorBoard's event file."""
        if self._writer is not None:
            self._writer.close()
