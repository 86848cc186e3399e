"""One reading of a device setting and of a precision setting, for the training config and the
command lines alike."""

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


def cpu_bf16_flags(cpuinfo: str = "/proc/cpuinfo") -> set[str]:
    """The bf16 matrix instructions this CPU announces (``avx512_bf16``, ``amx_bf16``); empty
    where there are none or the system does not say (not Linux)."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split()) & {"avx512_bf16", "amx_bf16"}
    except OSError:
        pass
    return set()


def auto_precision(device: torch.device) -> tuple[str, str]:
    """``precision: auto`` for ``device``: ``("bf16", why)`` on a CUDA GPU with bf16 or a CPU
    with AVX512-BF16/AMX, where bf16 autocast trains faster; ``("fp32", why)`` elsewhere."""
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return "bf16", "this GPU has bf16"
        return "fp32", "this GPU has no bf16"
    if device.type == "cpu":
        flags = cpu_bf16_flags()
        if flags:
            return "bf16", f"this CPU has {'/'.join(sorted(flags))}"
        return "fp32", "this CPU has no AVX512-BF16 or AMX"
    return "fp32", f"bf16 is not chosen on {device.type}"


class UnsupportedPrecision(RuntimeError):
    """The config asks for a precision this device cannot train in."""


def check_bf16_lstm(device: torch.device) -> None:
    """Fail at start-up, not mid-run, where this device cannot run an LSTM under bf16 autocast.

    On CPUs without AVX512-BF16, oneDNN has no bf16 LSTM ("could not create a primitive
    descriptor"): such a run must use fp32.
    """
    probe = torch.nn.LSTM(8, 8).to(device)
    try:
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
            probe(torch.zeros(2, 1, 8, device=device))[0].float().sum().backward()
    except RuntimeError as err:
        raise UnsupportedPrecision(
            f"precision: 'bf16' is not supported for LSTMs on this {device.type} "
            f"({str(err).splitlines()[0][:120]}); use 'fp32'"
        ) from None


def choose_precision(setting: str, device: torch.device) -> tuple[str, str]:
    """The precision a run trains in, and why: ``fp32`` and ``bf16`` as asked (``bf16`` checked
    at start-up), ``auto`` bf16 where the device has fast bf16 and its LSTM runs, else fp32."""
    if setting == "fp32":
        return "fp32", "as configured"
    if setting == "bf16":
        check_bf16_lstm(device)
        return "bf16", "as configured"
    precision, reason = auto_precision(device)
    if precision == "bf16":
        try:
            check_bf16_lstm(device)
        except UnsupportedPrecision:
            return "fp32", f"auto: {reason}, but its bf16 LSTM does not run"
    return precision, f"auto: {reason}"
