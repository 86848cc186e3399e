"""Sequence decoders: unroll a decoder over a whole sequence, registered in ``SEQ_DECODERS``
(config key -> params class; each params class builds its sequence decoder).

* ``greedy``: running free, the next input is the most likely output (the argmax).
* ``sample``: running free, the next input is drawn at a temperature (softmax(logits / T)).
* ``hier``: a conductor gives one embedding per subsequence; an inner sequence decoder decodes
  every subsequence from its embedding (its state re-initialised from it). The first input of
  subsequence i is the last item of subsequence i-1: the target under teacher forcing, the
  model's own output when generating.

A step's item is the model's :class:`~step_io.StepIO`'s: one token for melodies and drums, so
targets are ``[B, T, *item_shape]`` and first inputs ``[B, *item_shape]``; how an output
becomes the next input is ``io.choose``.

Speed is a property of the design. Under teacher forcing no step needs the model's own output,
so a token decoder runs the whole sequence in one fused ``nn.LSTM`` call, and ``hier`` runs the
inner decoder for all ``B x n_subsequences`` subsequences in one call. Under scheduled sampling
the sampling mask is drawn up front and the sequence is cut only before the steps where some
sequence samples; the runs between are fused. Generation loops step by step.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from symusic.musicvae.model.decoders import (
    ConductorArgs,
    ConductorDecoder,
    TokenDecoder,
    TokenDecoderArgs,
    lookback_items,
)
from symusic.musicvae.model.params import (
    ConfigError,
    Context,
    Params,
    PositiveFloat,
    PositiveInt,
    Registry,
    join,
)
from symusic.musicvae.model.recurrent import decoding_step, forward_step
from symusic.musicvae.model.step_io import StepIO

SEQ_DECODERS = Registry("seq decoder")


# --- params -----------------------------------------------------------------------------------


@SEQ_DECODERS.register("greedy")
class GreedyParams(Params):
    """``greedy``: free-running input is the argmax of the previous output."""

    z_size: PositiveInt
    decoder_args: TokenDecoderArgs

    @property
    def free_running_temperature(self) -> float:
        """0: argmax."""
        return 0.0

    def build(self, seq_len: int, io: StepIO) -> TokenSeqDecoder:
        """The sequence decoder over ``io``'s items (any length)."""
        decoder = self.decoder_args.params.build(self.z_size, io)
        return TokenSeqDecoder(decoder, self.free_running_temperature)

    def check(self, path: str, context: Context, seq_len: int) -> None:
        """``z_size`` is the context received; the decoder's must equal it."""
        super().check(path, context, seq_len)
        self.decoder_args.params.check(join(path, "decoder_args.params"),
                                       Context(self.z_size, join(path, "z_size")), seq_len)


@SEQ_DECODERS.register("sample")
class SampleParams(GreedyParams):
    """``sample``: free-running input is drawn from softmax(logits / temperature)."""

    temperature: PositiveFloat = 1.0

    @property
    def free_running_temperature(self) -> float:
        """The configured ``temperature``."""
        return self.temperature


@SEQ_DECODERS.register("hier")
class HierParams(Params):
    """``hier``: a conductor gives one embedding per subsequence; an inner seq decoder decodes
    each subsequence of ``seq_len / n_subsequences`` steps from its embedding."""

    z_size: PositiveInt
    n_subsequences: PositiveInt
    conductor_args: ConductorArgs
    seq_decoder_args: SeqDecoderArgs

    def build(self, seq_len: int, io: StepIO) -> HierSeqDecoder:
        """The hierarchical decoder of ``seq_len``-step sequences over ``io``'s items."""
        sub_len = seq_len // self.n_subsequences
        conductor = self.conductor_args.params.build(self.z_size, io)
        return HierSeqDecoder(conductor, self.seq_decoder_args.params.build(sub_len, io),
                              sub_len)

    def check(self, path: str, context: Context, seq_len: int) -> None:
        """``n_subsequences`` divides ``seq_len``; the conductor receives ``z_size``, the inner
        decoder the conductor's ``c_size`` and subsequences of ``seq_len / n_subsequences``."""
        super().check(path, context, seq_len)
        if seq_len % self.n_subsequences:
            raise ConfigError(f"{join(path, 'n_subsequences')}: must divide the sequence length "
                              f"({seq_len} steps), got {self.n_subsequences}")
        conductor = self.conductor_args.params
        conductor.check(join(path, "conductor_args.params"),
                        Context(self.z_size, join(path, "z_size")), seq_len)
        self.seq_decoder_args.params.check(
            join(path, "seq_decoder_args.params"),
            Context(conductor.c_size, join(path, "conductor_args.params.c_size")),
            seq_len // self.n_subsequences,
        )


SeqDecoderArgs = SEQ_DECODERS.args_type()
SEQ_DECODERS.rebuild()  # hier holds a SeqDecoderArgs


# --- modules ----------------------------------------------------------------------------------


def draw_sampling_mask(
    batch: int, length: int, probability: float, device: torch.device | str
) -> Tensor:
    """[B, T] bool: True where step t's input is the model's own output at t-1 instead of the
    target (scheduled sampling). Step 0 always takes the given first input."""
    if probability <= 0:
        return torch.zeros(batch, length, dtype=torch.bool, device=device)
    mask = torch.rand(batch, length, device=device) < probability
    mask[:, 0] = False
    return mask


class SeqDecoder(nn.Module):
    """What every sequence decoder does: decode a context into outputs under teacher forcing
    (``forward``) or into items running free (``generate``). Without a ``first_input``, a
    sequence starts from ``io.start_items`` (for tokens: the start token, = the vocabulary
    size)."""

    def __init__(self, io: StepIO):
        super().__init__()
        self.io = io

    def forward(
        self,
        context: Tensor,
        targets: Tensor,
        first_input: Tensor | None = None,
        sampling_probability: float = 0.0,
        lookback: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Teacher forcing with scheduled sampling.

        context [B, C], targets [B, T, *item_shape], first_input [B, *item_shape] (default:
        the start marker), lookback [B, T, n, *item_shape] (a decoder with
        ``lookback_distances`` inside a longer sequence; default: taken from ``targets``) ->
        (outputs [B, T, output_size], sampled [B, T] bool: which inputs were the model's own).
        Lookback items are always the targets', even where scheduled sampling feeds back.
        """
        first = self._first_input(context, first_input)
        return self.teacher_forced(context, targets, first, sampling_probability, lookback)

    @torch.no_grad()
    def generate(
        self,
        context: Tensor,
        length: int,
        first_input: Tensor | None = None,
        temperature: float | None = None,
        generator: torch.Generator | None = None,
        history: Tensor | None = None,
    ) -> Tensor:
        """Run free: context [B, C] -> items [B, length, *item_shape]. ``temperature`` None: the
        configured strategy's (0 for greedy); 0: argmax; > 0: sample. ``history`` [B, H,
        *item_shape]: the items generated before this sequence (what lookback reads)."""
        first = self._first_input(context, first_input)
        return self.free_running(context, length, first, temperature, generator, history)

    @property
    def lookback_distances(self) -> tuple[int, ...]:
        """The distances its decoder looks back (() for none)."""
        return ()

    def _first_input(self, context: Tensor, first_input: Tensor | None) -> Tensor:
        if first_input is not None:
            return first_input
        return self.io.start_items(context.shape[0], context.device)

    def teacher_forced(self, context: Tensor, targets: Tensor, first_input: Tensor,
                       sampling_probability: float, lookback: Tensor | None = None
                       ) -> tuple[Tensor, Tensor]:
        """``forward`` with the first input given."""
        raise NotImplementedError

    def free_running(self, context: Tensor, length: int, first_input: Tensor,
                     temperature: float | None, generator: torch.Generator | None,
                     history: Tensor | None = None) -> Tensor:
        """``generate`` with the first input given."""
        raise NotImplementedError


class TokenSeqDecoder(SeqDecoder):
    """Unrolls a token decoder (``greedy``, ``sample``); ``temperature`` 0 is greedy (the most
    likely item), > 0 samples.

    ``force_step_loop`` makes training and generation run one decoder (``nn.LSTM``) call per
    step: the plain path, which tests and benchmarks hold the fused and stepped paths against.
    """

    def __init__(self, decoder: TokenDecoder, temperature: float):
        super().__init__(decoder.io)
        self.decoder = decoder
        self.temperature = temperature
        self.force_step_loop = False

    @property
    def lookback_distances(self) -> tuple[int, ...]:
        return self.decoder.lookback_distances

    def teacher_forced(self, context: Tensor, targets: Tensor, first_input: Tensor,
                       sampling_probability: float, lookback: Tensor | None = None
                       ) -> tuple[Tensor, Tensor]:
        """One fused LSTM call per run of steps between sampled columns."""
        inputs = torch.cat([first_input[:, None], targets[:, :-1]], dim=1)
        sampled = draw_sampling_mask(*targets.shape[:2], sampling_probability, targets.device)
        if self.lookback_distances and lookback is None:
            lookback = lookback_items(targets, 0, targets.shape[1], self.lookback_distances,
                                      self.io.start_items(targets.shape[0], targets.device))
        return self._unroll(context, inputs, sampled, lookback), sampled

    def _unroll(self, context: Tensor, inputs: Tensor, sampled: Tensor,
                lookback: Tensor | None = None) -> Tensor:
        """inputs [B, T, *item_shape], sampled [B, T] -> outputs [B, T, output_size].

        The sequence is cut before every column where some sequence samples; each run between
        cuts is one fused LSTM call.
        """
        length = inputs.shape[1]
        sampled_columns = set(sampled.any(dim=0).nonzero().flatten().tolist())
        cuts = range(length) if self.force_step_loop else sorted({0} | sampled_columns)
        bounds = list(cuts) + [length]
        state = self.decoder.initial_state(context)
        chunks: list[Tensor] = []
        for start, end in zip(bounds[:-1], bounds[1:], strict=True):
            x = inputs[:, start:end]
            if start in sampled_columns:
                own = self.io.choose(chunks[-1][:, -1].detach(), self.temperature)
                first = self.io.where(sampled[:, start], own, x[:, 0])
                x = torch.cat([first[:, None], x[:, 1:]], dim=1)
            looked = None if lookback is None else lookback[:, start:end]
            logits, state = self.decoder(x, context, state, looked)
            chunks.append(logits)
        return torch.cat(chunks, dim=1)

    def free_running(self, context: Tensor, length: int, first_input: Tensor,
                     temperature: float | None, generator: torch.Generator | None,
                     history: Tensor | None = None) -> Tensor:
        """Step by step, each step's input the previous step's chosen item (and, with
        lookback, the items ``lookback_distances`` back among ``history`` and those chosen)."""
        temperature = self.temperature if temperature is None else temperature
        item, state = first_input, self.decoder.initial_state(context)
        step = (forward_step(self.decoder, context) if self.force_step_loop
                else decoding_step(self.decoder, context))  # no nn.LSTM call a step (issue 23)
        distances = self.lookback_distances
        done = 0 if history is None else history.shape[1]
        if distances:
            marker = self.io.start_items(context.shape[0], context.device)
            chosen = marker[:, None].repeat(1, done + length, *([1] * (marker.dim() - 1)))
            if done:
                chosen[:, :done] = history
        items = []
        for t in range(length):
            looked = lookback_items(chosen, done + t, 1, distances, marker) if distances else None
            outputs, state = step(item, state, looked)
            item = self.io.choose(outputs, temperature, generator)
            items.append(item)
            if distances:
                chosen[:, done + t] = item
        return torch.stack(items, dim=1)


class HierSeqDecoder(SeqDecoder):
    """``hier``: conductor embeddings, each decoded into a subsequence of ``sub_len`` steps.

    Any length that is a multiple of ``sub_len`` works (the conductor runs one step per
    subsequence); the configured ``seq_len`` is ``n_subsequences * sub_len``.
    """

    def __init__(self, conductor: ConductorDecoder, inner: SeqDecoder, sub_len: int):
        super().__init__(inner.io)
        self.conductor = conductor
        self.inner = inner
        self.sub_len = sub_len

    def n_subsequences(self, length: int) -> int:
        """Subsequences in ``length`` steps (``ValueError`` unless a multiple of ``sub_len``)."""
        if length % self.sub_len:
            raise ValueError(
                f"a hierarchical decoder needs a length that is a multiple of its subsequence "
                f"length {self.sub_len}, got {length}"
            )
        return length // self.sub_len

    def teacher_forced(self, context: Tensor, targets: Tensor, first_input: Tensor,
                       sampling_probability: float, lookback: Tensor | None = None
                       ) -> tuple[Tensor, Tensor]:
        """All ``B * n`` subsequences go through the inner decoder as one batch; the first input
        of each is the previous subsequence's last target (teacher-forced, as Magenta's). An
        inner decoder with lookback reads the whole sequence's items, across subsequences."""
        batch, length = targets.shape[:2]
        item_shape = targets.shape[2:]
        n = self.n_subsequences(length)
        embeddings = self.conductor(context, n)  # [B, n, c_size]
        last_targets = targets[:, self.sub_len - 1 : length - 1 : self.sub_len]  # [B, n - 1]
        firsts = torch.cat([first_input[:, None], last_targets], dim=1)
        distances = self.inner.lookback_distances
        inner_lookback = None
        if distances:
            whole = lookback_items(targets, 0, length, distances,
                                   self.io.start_items(batch, targets.device))
            inner_lookback = whole.reshape(batch * n, self.sub_len, *whole.shape[2:])
        logits, sampled = self.inner(
            embeddings.reshape(batch * n, -1),
            targets.reshape(batch * n, self.sub_len, *item_shape),
            firsts.reshape(batch * n, *item_shape),
            sampling_probability,
            inner_lookback,
        )
        return logits.reshape(batch, length, -1), sampled.reshape(batch, length)

    def free_running(self, context: Tensor, length: int, first_input: Tensor,
                     temperature: float | None, generator: torch.Generator | None,
                     history: Tensor | None = None) -> Tensor:
        """Each subsequence starts from the last item generated before it."""
        embeddings = self.conductor(context, self.n_subsequences(length))
        previous = first_input
        pieces = []
        looks_back = bool(self.inner.lookback_distances)
        for i in range(embeddings.shape[1]):
            before = torch.cat(pieces, dim=1) if looks_back and pieces else None
            piece = self.inner.generate(
                embeddings[:, i], self.sub_len, previous, temperature, generator, before
            )
            pieces.append(piece)
            previous = piece[:, -1]
        return torch.cat(pieces, dim=1)
