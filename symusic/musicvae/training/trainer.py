"""The training loop: steps, evaluation, periodic samples, checkpoints and exact resume."""

from __future__ import annotations

import functools
import math
import os
import tempfile
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from symusic import progress
from symusic.atomic import remove_stale_temporaries
from symusic.data.dataset import MelodyCollection, make_eval_loader, make_train_loader
from symusic.data.settings import INPUT_SETTINGS, DataSettings
from symusic.devices import choose_precision
from symusic.musicvae import evaluation
from symusic.musicvae.inference import TrainedModel
from symusic.musicvae.model import MusicVAE
from symusic.musicvae.model.config import ConfigError
from symusic.musicvae.pretrained import resolve_checkpoint
from symusic.musicvae.tools.metrics import note_densities
from symusic.musicvae.training import checkpoint as ckpt
from symusic.musicvae.training import schedules
from symusic.musicvae.training.config import ExperimentConfig
from symusic.musicvae.training.distributed import DistContext, broadcast_float
from symusic.musicvae.training.runlog import RunLog
from symusic.musicvae.training.stopping import StoppedBySignal, StopRequest, prepare_loader_worker


class TrainingDiverged(RuntimeError):
    """The loss or the weights became NaN or infinite; the last good checkpoint is kept."""


class CheckpointNotWritten(RuntimeError):
    """A checkpoint could not be written (a full disk, a read-only folder); the one before it
    is kept whole."""


@dataclass
class TrainState:
    """What changes from step to step and must survive a restart."""

    step: int = 0
    best_eval_loss: float = math.inf
    last_eval: dict[str, float] = field(default_factory=dict)


class Trainer:
    """Trains a :class:`MusicVAE` as an :class:`ExperimentConfig` says, logging to a RunLog."""

    def __init__(self, config: ExperimentConfig, run_dir: Path, log: RunLog, ctx: DistContext):
        self.config = config
        self.train_cfg = config.training
        self.run_dir = Path(run_dir)
        self.log = log
        self.ctx = ctx
        self.device = ctx.device
        self.state = TrainState()
        self.last_checkpoint: Path | None = None  # the last one written (or resumed from)
        self.stop = StopRequest(announce=ctx.is_main)

        cfg = self.train_cfg
        self.precision, self.precision_reason = choose_precision(cfg.precision, self.device)
        # Gradients through long LSTM unrolls decay into denormal floats, which x86 CPUs
        # handle 10-100x slower: a 16-bar step took 10-40 s instead of 2 s without this.
        torch.set_flush_denormal(True)
        torch.manual_seed(cfg.seed + ctx.rank)
        self.train_data, self.eval_data = self._scan_folders()
        data_settings = DataSettings(cfg.representation, cfg.extraction, tuple(cfg.programs),
                                     **{flag: getattr(cfg, flag) for flag in INPUT_SETTINGS})
        self.model = MusicVAE(config.model, data_settings).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.learning_rate)
        self.scheduler = self._make_scheduler()
        self.train_loader = make_train_loader(
            self.train_data, slice_bar=cfg.slice_bar, batch_size=cfg.batch_size,
            num_workers=cfg.num_workers, seed=cfg.seed, transpose=cfg.transpose,
            rank=ctx.rank, world_size=ctx.world_size,
        )
        self.eval_loader = make_eval_loader(
            self.eval_data, slice_bar=cfg.slice_bar, batch_size=cfg.batch_size,
            num_workers=0, max_windows=cfg.eval_max_windows,
        )
        self.train_loader.worker_init_fn = functools.partial(prepare_loader_worker, os.getpid())
        self._check_batch_fits()
        self.trained_model: torch.nn.Module = self.model
        self._eval_density: float | None = None
        if ctx.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.trained_model = DistributedDataParallel(self.model, device_ids=ids)
        ckpt_path = resolve_checkpoint(cfg.ckpt_path) if cfg.ckpt_path else None  # or a name
        if ctx.is_main:  # what killed writers left (kill -9 while saving)
            remove_stale_temporaries(self.run_dir / "checkpoints")
            if ckpt_path is not None:
                remove_stale_temporaries(ckpt_path.parent)
        if ckpt_path is not None:
            self._load(ckpt_path)

    def _check_batch_fits(self) -> None:
        """A batch must come from distinct windows: refuse a batch_size larger than the
        training windows (of this process), which would only repeat them and exhaust memory."""
        windows = len(self.train_loader.sampler)
        if self.train_cfg.batch_size > windows:
            each = f" for each of {self.ctx.world_size} processes" if self.ctx.distributed else ""
            raise ConfigError(
                f"batch_size: {self.train_cfg.batch_size:,} is more than the {windows:,} "
                f"training windows{each} in {self.train_cfg.train_dir}; use at most {windows:,}"
            )

    def _make_scheduler(self):
        """Magenta's per-step exponential decay when ``lr_decay`` < 1, else the plateau scheduler
        stepped on the evaluation loss."""
        cfg = self.train_cfg
        if cfg.lr_decay < 1.0:
            return torch.optim.lr_scheduler.LambdaLR(
                self.optimizer, lambda step: schedules.learning_rate_factor(
                    cfg.learning_rate, cfg.lr_decay, cfg.min_learning_rate, step))
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer, mode="min", factor=cfg.lr_scheduler_factor,
            patience=cfg.lr_scheduler_patience,
        )

    @property
    def stopped_by(self) -> int | None:
        """The signal that stopped :meth:`fit`, if one did."""
        return self.stop.signum

    @property
    def _per_step_decay(self) -> bool:
        return isinstance(self.scheduler, torch.optim.lr_scheduler.LambdaLR)

    def _scan_folders(self) -> tuple[MelodyCollection, MelodyCollection]:
        """Rank 0 scans (and caches) first; the other ranks then open its cache."""
        cfg = self.train_cfg

        def scan() -> tuple[MelodyCollection, MelodyCollection]:
            progress = self.ctx.is_main
            return tuple(MelodyCollection.from_folder(folder, programs=cfg.programs,
                                                      extraction=cfg.extraction,
                                                      representation=cfg.representation,
                                                      progress=progress)
                         for folder in (cfg.train_dir, cfg.eval_dir))

        if not self.ctx.distributed:
            return scan()
        folders = scan() if self.ctx.is_main else None
        dist.barrier()
        return folders if folders is not None else scan()

    # ------------------------------------------------------------------ summary
    def describe(self) -> str:
        """One line: what the run trains on, and where."""
        cfg = self.train_cfg
        n_params = sum(p.numel() for p in self.model.parameters())
        return (
            f"train: {self.train_data.report.summary_line()} -> "
            f"{len(self.train_loader.dataset):,} windows of {cfg.slice_bar} bars | "
            f"eval: {self.eval_data.report.summary_line()} -> "
            f"{len(self.eval_loader.dataset):,} windows | device {self.device}, "
            f"{self.precision} ({self.precision_reason}), {n_params:,} parameters, "
            f"{self.ctx.world_size} process(es)"
        )

    # --------------------------------------------------------------------- loop
    def fit(self) -> dict[str, float]:
        """Train until ``num_steps``, a stop signal, or divergence; return the last evaluation."""
        cfg = self.train_cfg
        restore = self.stop.install(self._stopped_at_once)
        batches = self._batches()
        window_start, seqs_in_window = time.perf_counter(), 0
        bar = progress.TrainingBar(cfg.num_steps, self.state.step, self.ctx.is_main)
        try:
            while self.state.step < cfg.num_steps and self.stop.signum is None:
                tokens = next(batches).to(self.device, non_blocking=True)
                schedule = schedules.at(cfg, self.state.step)
                out, lr = self._train_step(tokens, schedule)
                self.state.step += 1
                bar.step(out)
                step = self.state.step
                seqs_in_window += tokens.shape[0] * self.ctx.world_size
                if step % cfg.print_interval == 0 or step == cfg.num_steps:
                    elapsed = time.perf_counter() - window_start
                    self._report_train(out, schedule, lr, seqs_in_window / max(elapsed, 1e-9))
                    window_start, seqs_in_window = time.perf_counter(), 0
                if step % cfg.evaluate_interval == 0 or step == cfg.num_steps:
                    self.evaluate_and_checkpoint()
                if step % cfg.advanced_interval == 0:
                    self.write_samples()
            if self.stop.signum is not None:
                self.stop.saving = True  # another signal must not cut the save short
                self._save(self.run_dir / "checkpoints" / "last.pt")
                if self.ctx.is_main:
                    print(f"stopped by signal {self.stop.signum} at step {self.state.step}; "
                          f"checkpoint saved to {self.run_dir / 'checkpoints' / 'last.pt'}",
                          flush=True)
        finally:
            bar.close()
            restore()
            batches.close()
            self._stop_loader_workers()
        return self.state.last_eval

    def _stop_loader_workers(self) -> None:
        """End the loaders' persistent worker processes now. They hold the output pipe that
        Sacred's tee reads, and Sacred, once the run ends, waits for tee to see its end: a
        second per stream, then two ``tee_stdout.wait timeout`` warnings."""
        for loader in (self.train_loader, self.eval_loader):
            iterator = getattr(loader, "_iterator", None)  # torch keeps persistent ones there
            if iterator is not None and hasattr(iterator, "_shutdown_workers"):
                iterator._shutdown_workers()
                loader._iterator = None

    def _batches(self):
        """Endless batches, from the data position of the loaded checkpoint on."""
        yield from self.train_loader

    def _train_step(self, tokens: torch.Tensor, schedule: schedules.StepSchedule):
        cfg = self.train_cfg
        self.trained_model.train()
        with self._autocast():
            out = self.trained_model(tokens, sampling_probability=schedule.sampling_probability,
                                     beta=schedule.beta, free_bits=cfg.free_bits)
        if not torch.isfinite(out.loss):
            raise self._diverged(f"the loss became {out.loss.item()} at step "
                                 f"{self.state.step + 1}")
        self.optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        self.optimizer.step()
        lr = self.optimizer.param_groups[0]["lr"]
        if self._per_step_decay:
            self.scheduler.step()
        return out, lr

    def _diverged(self, what: str) -> TrainingDiverged:
        good = self.last_checkpoint if self.last_checkpoint is not None else "not written yet"
        return TrainingDiverged(
            f"{what}; stopping. The last good checkpoint is {good}; "
            "try a lower learning_rate or precision 'fp32'."
        )

    def _autocast(self):
        if self.precision == "bf16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return nullcontext()

    def _report_train(self, out, schedule: schedules.StepSchedule, lr: float,
                      seqs_per_s: float) -> None:
        step = self.state.step
        values = {
            "loss": out.loss.item(), "reconstruction": out.reconstruction.item(),
            "kl_bits": out.kl_bits.item(), "beta": schedule.beta,
            "sampling_probability": schedule.sampling_probability,
            "sampled_fraction": out.sampled_fraction.item(), "learning_rate": lr,
            "accuracy": out.accuracy.item(), "note_accuracy": out.note_accuracy.item(),
            "sequences_per_s": seqs_per_s,
        }
        self.log.scalars(values, step, prefix="train.")
        if self.ctx.is_main:
            print(
                f"step {step:>7} | loss {values['loss']:8.3f}"
                f" | recon {values['reconstruction']:8.3f}"
                f" | kl {values['kl_bits']:7.2f} bits | beta {values['beta']:.4f}"
                f" | p_sample {values['sampling_probability']:.3f} | lr {lr:.2e}"
                f" | acc {values['accuracy']:.3f} | note acc {values['note_accuracy']:.3f}"
                f" | {seqs_per_s:7.1f} seq/s",
                flush=True,
            )

    # --------------------------------------------------------------- evaluation
    def evaluate(self) -> dict[str, float]:
        """:func:`evaluation.reconstruction_metrics` on the eval windows (the figures of
        ``python -m symusic.musicvae.evaluate``), with ``loss`` the training objective at this
        step's beta and free bits (z drawn from q(z|x), seeded as the command's default)."""
        objective = evaluation.Objective(
            schedules.beta(self.train_cfg.beta_settings, self.state.step), self.train_cfg.free_bits)
        with self._autocast():
            return evaluation.reconstruction_metrics(self.model, self.eval_loader,
                                                     objective=objective)

    def evaluate_and_checkpoint(self) -> dict[str, float]:
        """Evaluate (rank 0), step the LR scheduler on every rank, save last and best."""
        step = self.state.step
        metrics = self.evaluate() if self.ctx.is_main else {}
        eval_loss = broadcast_float(metrics.get("loss", 0.0), self.ctx)
        if not math.isfinite(eval_loss):  # every rank stops: they all got the same loss
            raise self._diverged(f"the evaluation loss became {eval_loss} at step {step}")
        if not self._per_step_decay:
            self.scheduler.step(eval_loss)
        if self.ctx.is_main:
            self.log.scalars(metrics, step, prefix="eval.")
            print(
                f"eval {step:>7} | loss {metrics['loss']:8.3f} | elbo "
                f"{metrics['elbo_nats']:9.3f} | kl {metrics['kl_bits']:7.2f} bits (z ~ q(z|x))"
                f" | z = mu: teacher-forced acc {metrics['teacher_forced_accuracy']:.3f} (notes "
                f"{metrics['teacher_forced_note_accuracy']:.3f}) | sampled acc "
                f"{metrics['sampled_accuracy']:.3f} (notes {metrics['sampled_note_accuracy']:.3f})",
                flush=True,
            )
            self.state.last_eval = metrics
        improved = eval_loss < self.state.best_eval_loss
        if improved:
            self.state.best_eval_loss = eval_loss
        self._save(self.run_dir / "checkpoints" / "last.pt")
        if improved:
            self._save(self.run_dir / "checkpoints" / "best.pt")
        return metrics

    @torch.no_grad()
    def write_samples(self) -> None:
        """Prior samples, eval reconstructions and one interpolation as MIDI and piano rolls."""
        if not self.ctx.is_main:
            return
        from symusic.musicvae.tools.render import write_melodies_with_roll

        step = self.state.step
        model = TrainedModel(self.model)  # eval mode
        n = self.train_cfg.num_advanced_samples
        eval_batch = next(iter(self.eval_loader)).numpy()
        mu, sigma = self.model.encode(torch.as_tensor(eval_batch).to(self.device))
        self.log.histogram("latent/mu", mu, step)
        self.log.histogram("latent/sigma", sigma, step)
        outputs = {
            # a seeded generator of its own keeps the training RNG stream (and resume) untouched
            "prior": model.sample(n, seed=self.train_cfg.seed),
            "reconstruction": np.concatenate([eval_batch[:n], model.reconstruct(eval_batch[:n])]),
            "interpolation": model.interpolate(eval_batch[0], eval_batch[1], 5)[1],
        }
        # Token accuracy hides a model that holds long notes; its prior samples' note
        # density against the data's does not.
        density = {
            "prior_notes_per_bar": float(note_densities(outputs["prior"],
                                                        model.representation).mean()),
            "data_notes_per_bar": self._data_notes_per_bar(model.representation),
        }
        self.log.scalars(density, step, prefix="samples.")
        print(f"samples {step:>5} | prior samples {density['prior_notes_per_bar']:.1f} notes per"
              f" bar (the eval windows {density['data_notes_per_bar']:.1f})", flush=True)
        observed = self.log.run is not None and bool(self.log.run.observers)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) if observed else self.run_dir / "samples"
            for kind, tokens in outputs.items():
                stem = f"step{step:07d}_{kind}"
                for path in write_melodies_with_roll(list(tokens), folder, stem,
                                                     representation=model.representation):
                    self.log.artifact(path, path.name)

    def _data_notes_per_bar(self, representation) -> float:
        """Mean onsets per bar over all the eval windows (a single batch can be far off: the
        first 64 folk windows have 1.6 against the split's 5.5), computed once."""
        if self._eval_density is None:
            self._eval_density = float(np.concatenate(
                [note_densities(batch.numpy(), representation) for batch in self.eval_loader]
            ).mean())
        return self._eval_density

    # ------------------------------------------------------------ checkpoints
    def _save(self, path: Path) -> None:
        # Checked on every rank (DDP keeps the weights equal), so that all of them stop.
        if not ckpt.all_finite(self.model.parameters()):
            raise self._diverged(f"the weights became NaN or infinite at step {self.state.step}")
        if not self.ctx.is_main:
            return
        # Workers prefetch, so the sampler runs ahead: the position is what the steps consumed.
        consumed = self.state.step * self.train_cfg.batch_size
        try:
            ckpt.TrainingCheckpoint.capture(
                self.config.raw, self.optimizer, self.scheduler, self.state.step,
                self.state.best_eval_loss, self.train_loader.sampler.position_after(consumed),
            ).save(self.model, path)
        except OSError as error:
            kept = (f"{path} is as it was" if path.exists()
                    else f"the last checkpoint is {self.last_checkpoint}" if self.last_checkpoint
                    else "no checkpoint was written")
            raise CheckpointNotWritten(
                f"could not write the checkpoint {path} at step {self.state.step}: "
                f"{error.strerror or error}; {kept}") from None
        if path.name == "last.pt":
            self.last_checkpoint = path

    def _load(self, path: Path) -> None:
        training = ckpt.load_weights(self.model, path)
        if training is None:  # a model-only checkpoint: start training from its weights
            print(f"initialised the weights from {path} (no training state in it)")
            return
        if training.step >= self.train_cfg.num_steps:
            raise ConfigError(f"num_steps: the checkpoint {path} is already at step "
                              f"{training.step:,}, and num_steps is {self.train_cfg.num_steps:,}:"
                              f" nothing to train (set num_steps above {training.step:,} to go "
                              "on)")
        training.restore(self.optimizer, self.scheduler, self.train_loader.sampler,
                         source=f"ckpt_path: {path}")
        self.state.step = training.step
        self.state.best_eval_loss = training.best_eval_loss
        self.last_checkpoint = path
        if self.ctx.is_main:
            print(f"resumed from {path} at step {self.state.step}")

    def _stopped_at_once(self, signum: int) -> StoppedBySignal:
        good = self.last_checkpoint if self.last_checkpoint is not None else "none yet"
        return StoppedBySignal(signum, f"stopped at once by signal {signum} at step "
                                       f"{self.state.step}; the last checkpoint is {good}")
