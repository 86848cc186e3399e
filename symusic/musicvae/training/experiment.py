"""Train a MusicVAE: ``python -m symusic.musicvae.train with CONFIG.json -F RUNS``.

A Sacred experiment. The config file holds the spec's keys (see README); Sacred's own features
work as usual: ``with config.json batch_size=32 num_steps=1000``, ``print_config``, and
``-F RUNS`` for the file-storage observer (``config.json``, ``run.json``, ``metrics.json``,
``cout.txt``, plus our ``checkpoints/``, ``tensorboard/`` and sample artifacts).

Several processes: ``torchrun --nproc_per_node=N -m symusic.musicvae.train with ...``.

Config files are read as plain JSON (:mod:`symusic.musicvae.training.config_file`), never through
Sacred's jsonpickle or pickle readers. A run stopped by SIGINT/SIGTERM saves a checkpoint, is
marked INTERRUPTED in ``run.json`` and exits with 128 + the signal number.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import sys
import time
from pathlib import Path
from typing import Any

from sacred import Experiment
from sacred.observers import FileStorageObserver
from sacred.utils import apply_backspaces_and_linefeeds

import symusic.progress  # noqa: F401  (notes if stdout is a terminal before Sacred pipes it)
from symusic.atomic import folder_problem
from symusic.musicvae.model.config import ConfigError
from symusic.musicvae.training.config import ExperimentConfig
from symusic.musicvae.training.config_file import check_command_line, use_safe_config_files
from symusic.musicvae.training.distributed import (
    launched_by_torchrun,
    setup_distributed,
    teardown_distributed,
)
from symusic.musicvae.training.runlog import RunLog
from symusic.musicvae.training.stopping import StoppedBySignal, ignore_further_signals

ex = Experiment("musicvae", save_git_info=False)
ex.captured_out_filter = apply_backspaces_and_linefeeds
use_safe_config_files()


class _DropAddedEntryWarnings(logging.Filter):
    # Sacred warns about every key of a config file that no config scope declared; ours are
    # declared by the config file itself and validated below, so the warnings are noise.
    def filter(self, record: logging.LogRecord) -> bool:
        return "Added new config entry" not in record.getMessage()


logging.getLogger().addFilter(_DropAddedEntryWarnings())
for handler in logging.getLogger().handlers:
    handler.addFilter(_DropAddedEntryWarnings())


# The config hook's parse, handed to ``train`` (the config is validated once, at start-up).
_validated: list[ExperimentConfig] = []


@ex.config_hook
def validate_config(config: dict, command_name: str, logger: logging.Logger) -> dict:
    """Parse the config into typed objects for ``train``; stop at start-up, with one clear
    line, when a key or a value is wrong."""
    if command_name in ("train", "main"):
        try:
            _validated[:] = [ExperimentConfig.from_dict(_without_sacred_keys(config))]
        except ConfigError as err:
            print(f"config error: {err}", file=sys.stderr)
            raise SystemExit(2) from None
    return {}


@ex.capture
def _declared_keys(
    batch_size=None, num_workers=None, train_dir=None, eval_dir=None, slice_bar=None,
    ckpt_path=None, z_size=None, encoder_params=None, seq_decoder_args=None, num_steps=None,
    learning_rate=None, lr_scheduler_factor=None, lr_scheduler_patience=None, lr_decay=None,
    min_learning_rate=None,
    sampling_settings=None, beta_settings=None, free_bits=None, evaluate_interval=None,
    advanced_interval=None, print_interval=None, device=None, precision=None, grad_clip=None,
    transpose=None, eval_max_windows=None, num_advanced_samples=None, programs=None,
    extraction=None, representation=None, humanize=None, tapify=None, fixed_velocities=None,
    magenta_feedback=None,
):
    """Declares the config keys to Sacred, so that ``with config.json key=value`` may set them."""


def _without_sacred_keys(config: dict) -> dict:
    return {k: v for k, v in config.items() if k != "__doc__"}


def runs_folder_problem(argv: list[str]) -> str | None:
    """Why the ``-F`` folder cannot hold run folders (one line: read-only, not a folder), or
    None; checked before the run starts, as Sacred would fail there with a traceback."""
    for i, arg in enumerate(argv):
        if arg in ("-F", "--file_storage") and i + 1 < len(argv):
            folder = Path(argv[i + 1])
        elif arg.startswith("--file_storage="):
            folder = Path(arg.split("=", 1)[1])
        else:
            continue
        if problem := folder_problem(folder, "-F"):
            return problem
    return None


def _run_dir(run: Any, create: bool = True) -> Path:
    """The file observer's run folder; without one (no ``-F``), a new folder of this run's own
    under ``runs/``, made exclusively so that two runs never share one."""
    for observer in run.observers:
        if isinstance(observer, FileStorageObserver) and observer.dir:
            return Path(observer.dir)
    stem = f"unobserved-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    if not create:  # ranks other than 0 write nothing
        return Path("runs") / stem
    Path("runs").mkdir(exist_ok=True)
    while True:
        folder = Path("runs") / f"{stem}-{secrets.token_hex(3)}"
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder


@ex.main
def train(_run: Any, _config: dict) -> dict[str, float]:
    """Build everything from the config, train, and return the last evaluation metrics."""
    from symusic.data.melody import NoMelodiesError
    from symusic.devices import UnsupportedPrecision
    from symusic.musicvae.model import CheckpointError
    from symusic.musicvae.training.trainer import CheckpointNotWritten, Trainer, TrainingDiverged

    USER_ERRORS = (NoMelodiesError, CheckpointError, TrainingDiverged, FileNotFoundError,
                   UnsupportedPrecision, CheckpointNotWritten)

    config = _validated.pop().with_seed(_config["seed"])  # Sacred draws one if none was given
    try:
        ctx = setup_distributed(config.training.device)
    except ConfigError as err:
        print(f"config error: {err}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    try:
        try:
            run_dir = _run_dir(_run, create=ctx.is_main)
        except OSError as err:  # no -F, and runs/ cannot be written
            print(f"error: cannot make a run folder in {Path('runs').absolute()} "
                  f"({err.strerror or err}); give one with -F", file=sys.stderr, flush=True)
            raise SystemExit(1) from None
        log = RunLog(_run if ctx.is_main else None, run_dir, enabled=ctx.is_main)
        try:
            trainer = Trainer(config, run_dir, log, ctx)
            if ctx.is_main:
                print(trainer.describe(), flush=True)
                print(f"run folder: {run_dir}", flush=True)
            metrics = trainer.fit()
        except ConfigError as err:
            print(f"config error: {err}", file=sys.stderr, flush=True)
            raise SystemExit(2) from None
        except USER_ERRORS as err:
            print(f"error: {err}", file=sys.stderr, flush=True)
            raise SystemExit(1) from None
        finally:
            log.close()
        if ctx.is_main:
            if metrics:
                _run.info["final_eval"] = metrics
            for name in ("best.pt", "last.pt"):  # a resumed run may not have beaten its best
                if (run_dir / "checkpoints" / name).is_file():
                    _run.info["checkpoint"] = str(run_dir / "checkpoints" / name)
                    break
        if trainer.stopped_by is not None:  # Sacred marks the run INTERRUPTED
            raise StoppedBySignal(trainer.stopped_by)
        return metrics
    finally:
        teardown_distributed()


def _argv_for_this_rank(argv: list[str]) -> list[str]:
    """Ranks other than 0 drop Sacred's observers, so only rank 0 writes a run folder."""
    if not launched_by_torchrun() or int(os.environ.get("RANK", "0")) == 0:
        return argv
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in ("-F", "--file_storage", "-m", "--mongo_db"):
            skip = True
            continue
        if arg.startswith(("--file_storage=", "--mongo_db=")):
            continue
        kept.append(arg)
    return kept


def _stop_at_once(signum: int, _frame: Any) -> None:
    ignore_further_signals()
    raise StoppedBySignal(signum, f"stopped by signal {signum} (outside the training loop: "
                                  "nothing to save)")


def main(argv: list[str]) -> None:
    """Sacred's command line, with config files read safely and every stop said in one line."""
    argv = _argv_for_this_rank(argv)
    # Until the training loop takes them over, a stop signal ends the run at once (nothing
    # to save yet) as a KeyboardInterrupt, which Sacred records as INTERRUPTED.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _stop_at_once)
    try:
        check_command_line(ex.get_usage()[2], argv, named_configs=ex.named_configs)
        if problem := runs_folder_problem(argv):
            raise ConfigError(problem)
        ex.run_commandline(argv)
    except ConfigError as err:
        print(f"config error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    except StoppedBySignal as stop:
        if stop.message:
            print(stop.message, file=sys.stderr)
        raise SystemExit(128 + stop.signum) from None
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(128 + signal.SIGINT) from None


if __name__ == "__main__":
    main(sys.argv)
