"""Sequence decoders: unroll a decoder over a whole sequence, keyed in ``SEQ_DECODERS``.

* ``greedy``: running free, the next input is the argmax of the output.
* ``sample``: running free, the next input is drawn from softmax(logits / temperature).
* ``hier``: a conductor gives one embedding per subsequence; an inner sequence decoder decodes
  every subsequence from its embedding (its state re-initialised from it). The first input of
  subsequence i is the last token of subsequence i-1: the target under teacher forcing, the
  model's own output when generating.

Speed is a property of the design. Under teacher forcing no step needs the model's own output,
so a token decoder runs the whole sequence in one fused ``nn.LSTM`` call, and ``hier`` runs the
inner decoder for all ``B x n_subsequences`` subsequences in one call. Under scheduled sampling
the sampling mask is drawn up front and the sequence is cut only before the steps where some
sequence samples; the runs between are fused. Generation loops step by step.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from symusic.musicvae.model.config import (
    GreedyParams,
    HierParams,
    SampleParams,
    SeqDecoderArgs,
)
from symusic.musicvae.model.decoders import START_TOKEN, TokenDecoder, build_decoder


def choose_tokens(
    logits: Tensor, temperature: float, generator: torch.Generator | None = None
) -> Tensor:
    """logits [B, C] -> tokens [B]: argmax if ``temperature == 0``, else a draw from
    softmax(logits / temperature)."""
    if temperature == 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


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


def _start_tokens(context: Tensor) -> Tensor:
    return torch.full((context.shape[0],), START_TOKEN, dtype=torch.long, device=context.device)


class TokenSeqDecoder(nn.Module):
    """Unrolls a token decoder; ``temperature`` 0 is greedy (argmax), > 0 samples.

    ``force_step_loop`` makes training run one step per LSTM call (for tests and benchmarks).
    """

    def __init__(self, decoder: TokenDecoder, temperature: float):
        super().__init__()
        self.decoder = decoder
        self.temperature = temperature
        self.force_step_loop = False

    def forward(
        self,
        context: Tensor,
        targets: Tensor,
        first_input: Tensor | None = None,
        sampling_probability: float = 0.0,
    ) -> tuple[Tensor, Tensor]:
        """Teacher forcing with scheduled sampling.

        context [B, C], targets [B, T], first_input [B] (default: the start token)
        -> (logits [B, T, NUM_CLASSES], sampled [B, T] bool: which inputs were the model's own).
        """
        first_input = _start_tokens(context) if first_input is None else first_input
        inputs = torch.cat([first_input[:, None], targets[:, :-1]], dim=1)
        sampled = draw_sampling_mask(*targets.shape, sampling_probability, targets.device)
        return self._unroll(context, inputs, sampled), sampled

    def _unroll(self, context: Tensor, inputs: Tensor, sampled: Tensor) -> Tensor:
        """inputs [B, T], sampled [B, T] -> logits [B, T, NUM_CLASSES].

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
                own = choose_tokens(chunks[-1][:, -1].detach(), self.temperature)
                first = torch.where(sampled[:, start], own, x[:, 0])
                x = torch.cat([first[:, None], x[:, 1:]], dim=1)
            logits, state = self.decoder(x, context, state)
            chunks.append(logits)
        return torch.cat(chunks, dim=1)

    @torch.no_grad()
    def generate(
        self,
        context: Tensor,
        length: int,
        first_input: Tensor | None = None,
        temperature: float | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Run free: context [B, C] -> tokens [B, length]. ``temperature`` None: this
        decoder's own (0 for greedy)."""
        temperature = self.temperature if temperature is None else temperature
        token = _start_tokens(context) if first_input is None else first_input
        state = self.decoder.initial_state(context)
        tokens = []
        for _ in range(length):
            logits, state = self.decoder(token[:, None], context, state)
            token = choose_tokens(logits[:, 0], temperature, generator)
            tokens.append(token)
        return torch.stack(tokens, dim=1)


class GreedySeqDecoder(TokenSeqDecoder):
    """``greedy``: free-running input is the argmax of the previous output."""

    @classmethod
    def from_params(cls, params: GreedyParams, seq_len: int) -> GreedySeqDecoder:
        return cls(build_decoder(params.decoder_args, params.z_size), temperature=0.0)


class SampleSeqDecoder(TokenSeqDecoder):
    """``sample``: free-running input is drawn from softmax(logits / temperature)."""

    @classmethod
    def from_params(cls, params: SampleParams, seq_len: int) -> SampleSeqDecoder:
        decoder = build_decoder(params.decoder_args, params.z_size)
        return cls(decoder, temperature=params.temperature)


class HierSeqDecoder(nn.Module):
    """``hier``: conductor embeddings, each decoded into a subsequence of ``sub_len`` steps.

    Any length that is a multiple of ``sub_len`` works (the conductor runs one step per
    subsequence); the configured ``seq_len`` is ``n_subsequences * sub_len``.
    """

    def __init__(self, conductor: nn.Module, inner: nn.Module, sub_len: int):
        super().__init__()
        self.conductor = conductor
        self.inner = inner
        self.sub_len = sub_len

    @classmethod
    def from_params(cls, params: HierParams, seq_len: int) -> HierSeqDecoder:
        conductor = build_decoder(params.conductor_args, params.z_size)
        sub_len = seq_len // params.n_subsequences
        return cls(conductor, build_seq_decoder(params.seq_decoder_args, sub_len), sub_len)

    def n_subsequences(self, length: int) -> int:
        if length % self.sub_len:
            raise ValueError(
                f"a hierarchical decoder needs a length that is a multiple of its subsequence "
                f"length {self.sub_len}, got {length}"
            )
        return length // self.sub_len

    def forward(
        self,
        context: Tensor,
        targets: Tensor,
        first_input: Tensor | None = None,
        sampling_probability: float = 0.0,
    ) -> tuple[Tensor, Tensor]:
        """context [B, C], targets [B, T] -> (logits [B, T, NUM_CLASSES], sampled [B, T]).

        All ``B * n`` subsequences go through the inner decoder as one batch; the first input
        of each is the previous subsequence's last target (teacher-forced, as Magenta's).
        """
        batch, length = targets.shape
        n = self.n_subsequences(length)
        embeddings = self.conductor(context, n)  # [B, n, c_size]
        first_input = _start_tokens(context) if first_input is None else first_input
        last_targets = targets[:, self.sub_len - 1 : length - 1 : self.sub_len]  # [B, n - 1]
        firsts = torch.cat([first_input[:, None], last_targets], dim=1)
        logits, sampled = self.inner(
            embeddings.reshape(batch * n, -1),
            targets.reshape(batch * n, self.sub_len),
            firsts.reshape(batch * n),
            sampling_probability,
        )
        return logits.reshape(batch, length, -1), sampled.reshape(batch, length)

    @torch.no_grad()
    def generate(
        self,
        context: Tensor,
        length: int,
        first_input: Tensor | None = None,
        temperature: float | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Run free: context [B, C] -> tokens [B, length]; each subsequence starts from the
        last token generated before it."""
        embeddings = self.conductor(context, self.n_subsequences(length))
        previous = first_input
        pieces = []
        for i in range(embeddings.shape[1]):
            piece = self.inner.generate(
                embeddings[:, i], self.sub_len, previous, temperature, generator
            )
            pieces.append(piece)
            previous = piece[:, -1]
        return torch.cat(pieces, dim=1)


SEQ_DECODERS: dict[str, type[nn.Module]] = {
    "greedy": GreedySeqDecoder,
    "sample": SampleSeqDecoder,
    "hier": HierSeqDecoder,
}


def build_seq_decoder(args: SeqDecoderArgs, seq_len: int) -> nn.Module:
    """The sequence decoder named by ``args.key`` for sequences of ``seq_len`` steps."""
    if args.key not in SEQ_DECODERS:
        known = ", ".join(sorted(SEQ_DECODERS))
        raise KeyError(f"unknown seq decoder {args.key!r}; known: {known}")
    return SEQ_DECODERS[args.key].from_params(args.params, seq_len)
