"""Device choice and the optional DistributedDataParallel set-up (``torchrun``)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from symusic.devices import resolve_device
from symusic.musicvae.model.config import ConfigError


@dataclass(frozen=True)
class DistContext:
    """Which process this is among ``world_size``, and the device it trains on."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes logs, samples and checkpoints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def launched_by_torchrun() -> bool:
    """Whether ``torchrun`` (or another launcher) set the process-group environment."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup_distributed(device_setting: str) -> DistContext:
    """Join the process group when launched by torchrun (NCCL on CUDA, gloo on CPU)."""
    device = resolve_device(device_setting, ConfigError, "device")
    if not launched_by_torchrun():
        return DistContext(rank=0, world_size=1, device=device)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistContext(rank=dist.get_rank(), world_size=dist.get_world_size(), device=device)


def teardown_distributed() -> None:
    """Leave the process group, if one was joined."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def broadcast_float(value: float, ctx: DistContext) -> float:
    """Rank 0's ``value`` on every rank (so all ranks step the LR scheduler alike)."""
    if not ctx.distributed:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return float(box[0])
