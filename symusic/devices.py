"""One reading of a device setting, for the training config and the command lines alike."""

from __future__ import annotations

import torch


def device_from_setting(setting: str) -> torch.device:
    """``auto`` (CUDA when there is a GPU, else the CPU), ``cpu``, ``cuda`` or ``cuda:N``.

    Raises ``ValueError`` with a one-line reason when the setting is unknown or names a
    device this machine does not have.
    """
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(setting)
    except RuntimeError:
        raise ValueError(f"unknown device {setting!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{setting!r} asked for, but CUDA is not available here; "
                             "use 'auto' or 'cpu'")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"{setting!r} asked for, but there are only "
                             f"{torch.cuda.device_count()} CUDA devices")
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError(f"{setting!r} asked for, but MPS is not available here; "
                             "use 'auto' or 'cpu'")
    elif device.type != "cpu":
        raise ValueError(f"unsupported device {setting!r}; use auto, cpu, cuda or cuda:N")
    return device


def resolve_device(setting: str | torch.device, error: type[ValueError] = ValueError,
                   key: str = "device") -> torch.device:
    """:func:`device_from_setting` for a user's setting: a ``torch.device`` passes through,
    and an unusable setting raises ``error(f"{key}: {reason}")`` (the config's ``ConfigError``
    naming its key, the command lines' ``InputError`` naming ``--device``)."""
    if isinstance(setting, torch.device):
        return setting
    try:
        return device_from_setting(setting)
    except ValueError as err:
        raise error(f"{key}: {err}") from None
