"""A1111 prompt weights → text-encoder embeddings, through compel.

compel (pinned in requirements/generation.txt) tokenizes weighted fragments, expands
textual-inversion tokens, chunks prompts beyond 75 tokens into 77-token windows and applies the
weights. Its own prompt syntax is not A1111's (``(word)1.4``, ``word++``), so
``parse_attention`` turns A1111's ``(word:1.4)``, ``(word)``, ``[word]`` and ``\\(`` escapes
into (fragment, weight) pairs — the same rules as A1111's ``parse_prompt_attention`` — and
compel's fragment API takes those directly, with no round trip through compel's syntax.

compel reads only the last or the penultimate hidden state, and the penultimate through
``text_encoder.text_model``, which transformers 5's CLIPTextModel no longer has; the provider
below reads hidden state ``-clip_skip`` itself (A1111 numbering: 1 = the last layer), with the
final layer norm applied as A1111 and diffusers do (SDXL: layer -(k + 1), no norm, as diffusers).
"""

from __future__ import annotations

import re

_ROUND, _SQUARE = 1.1, 1 / 1.1
_ATTENTION = re.compile(
    r"""
    \\\(|\\\)|\\\[|\\]|\\\\|\\|\(|\[|:\s*([+-]?[.\d]+)\s*\)|\)|]|[^\\()\[\]:]+|:
    """,
    re.X,
)
# Any unescaped bracket means the prompt carries weights.
_WEIGHT_SYNTAX = re.compile(r"(?<!\\)[()\[\]]")


def has_weight_syntax(prompt: str) -> bool:
    return bool(_WEIGHT_SYNTAX.search(prompt or ""))


def parse_attention(text: str) -> list[tuple[str, float]]:
    """A1111's attention syntax → [(fragment, weight), …]; runs of equal weight merged."""
    pieces: list[list] = []
    round_open: list[int] = []
    square_open: list[int] = []

    def multiply_from(start: int, factor: float) -> None:
        for piece in pieces[start:]:
            piece[1] *= factor

    for match in _ATTENTION.finditer(text):
        token, weight = match.group(0), match.group(1)
        if token.startswith("\\"):
            pieces.append([token[1:], 1.0])
        elif token == "(":
            round_open.append(len(pieces))
        elif token == "[":
            square_open.append(len(pieces))
        elif weight is not None and round_open:
            multiply_from(round_open.pop(), float(weight))
        elif token == ")" and round_open:
            multiply_from(round_open.pop(), _ROUND)
        elif token == "]" and square_open:
            multiply_from(square_open.pop(), _SQUARE)
        else:
            pieces.append([token, 1.0])
    # Unclosed brackets weigh to the end of the prompt, as in A1111.
    for start in round_open:
        multiply_from(start, _ROUND)
    for start in square_open:
        multiply_from(start, _SQUARE)
    merged: list[list] = []
    for piece in pieces:
        if merged and merged[-1][1] == piece[1]:
            merged[-1][0] += piece[0]
        else:
            merged.append(piece)
    return [(fragment, weight) for fragment, weight in merged] or [("", 1.0)]


def token_count(pipeline, prompt: str) -> int:
    """Tokens of ``prompt`` without BOS/EOS (more than 75 = longer than one CLIP window)."""
    return len(pipeline.tokenizer(prompt or "", add_special_tokens=False).input_ids)


def is_sdxl(pipeline) -> bool:
    return getattr(pipeline, "text_encoder_2", None) is not None and getattr(pipeline, "tokenizer_2", None) is not None


def _provider(pipeline, tokenizer, text_encoder, layers_back: int, normalize: bool, textual_inversions):
    """compel's provider for one CLIP encoder, reading hidden state ``-layers_back`` (1 = the last)."""
    from compel.embeddings_provider import DownweightMode, EmbeddingsProvider, SplitLongTextMode

    class _ClipSkipProvider(EmbeddingsProvider):
        def _encode_token_ids_to_embeddings(self, token_ids, attention_mask=None):
            output = self.text_encoder(token_ids, attention_mask, output_hidden_states=True, return_dict=True)
            # Past the first layer means the token embeddings themselves (hidden_states[0]).
            hidden = output.hidden_states[-min(layers_back, len(output.hidden_states))]
            if not normalize:
                return hidden
            if layers_back == 1:
                return output.last_hidden_state
            return getattr(self.text_encoder, "text_model", self.text_encoder).final_layer_norm(hidden)

    return _ClipSkipProvider(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        textual_inversion_manager=textual_inversions,
        dtype_for_device_getter=lambda device: text_encoder.dtype,
        truncate=False,
        # compel weakens a token (weight < 1) by blending toward the prompt with it masked out,
        # and strengthens one by scaling its distance from the empty prompt: not A1111's arithmetic.
        downweight_mode=DownweightMode.MASK,
        device=str(text_encoder.device),
        split_long_text_mode=SplitLongTextMode.WORDS,
    )


class WeightedPromptEncoder:
    """Weighted, chunked, CLIP-skipped prompt embeddings (and SDXL's pooled ones) for a CLIP pipeline.

    SD 1.x/2.x: one encoder, its last layer or, for CLIP skip k > 1, layer -k through the final
    layer norm (A1111, diffusers). SDXL: both encoders' layer -(k + 1) without the norm, side by
    side, and the second encoder's pooled output of the unweighted text (as diffusers does).
    """

    def __init__(self, torch, pipeline, clip_skip: int):
        from compel import DiffusersTextualInversionManager

        self.torch = torch
        self.pipeline = pipeline
        layers_back = max(1, int(clip_skip))
        if is_sdxl(pipeline):
            encoders = [(pipeline.tokenizer, pipeline.text_encoder), (pipeline.tokenizer_2, pipeline.text_encoder_2)]
            self.providers = [_provider(pipeline, tok, enc, layers_back + 1, False, None) for tok, enc in encoders if enc is not None]
        else:
            inversions = DiffusersTextualInversionManager(pipeline)
            self.providers = [_provider(pipeline, pipeline.tokenizer, pipeline.text_encoder, layers_back, True, inversions)]

    def encode(self, prompt: str):
        """[1, 77·windows, width] embeddings of one A1111 prompt (SDXL: both encoders' widths)."""
        pieces = parse_attention(prompt)
        with self.torch.no_grad():
            parts = [
                provider.get_embeddings_for_weighted_prompt_fragments(
                    text_batch=[[text for text, _ in pieces]],
                    fragment_weights_batch=[[weight for _, weight in pieces]],
                    device=str(provider.text_encoder.device),
                )
                for provider in self.providers
            ]
        if len(parts) == 1:
            return parts[0]
        length = max(part.shape[1] for part in parts)
        if any(part.shape[1] != length for part in parts):
            raise ValueError("The two SDXL tokenizers split this prompt into different windows.")
        return self.torch.cat([part.to(parts[-1].device) for part in parts], dim=-1)

    def pooled(self, prompt: str):
        """SDXL's pooled embedding: the second encoder's, of the prompt's text without weights."""
        text = "".join(fragment for fragment, _ in parse_attention(prompt))
        with self.torch.no_grad():
            return self.providers[-1].get_pooled_embeddings([text])

    def pad_to_same_length(self, first, second):
        """Pad the shorter with the empty prompt's embedding, one 77-token window at a time."""
        if first.shape[1] == second.shape[1]:
            return first, second
        empty = self.encode("")
        window = empty.shape[1]

        def padded(embeds, length):
            missing = (length - embeds.shape[1]) // window
            return self.torch.cat([embeds] + [empty] * missing, dim=1)

        length = max(first.shape[1], second.shape[1])
        return padded(first, length), padded(second, length)
