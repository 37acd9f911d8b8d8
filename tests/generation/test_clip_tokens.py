"""generation.clip_tokens counts what CLIP's own tokenizer counts (transformers' CLIPTokenizer, from
the same open_clip BPE file single-file checkpoints use), in Latin, Korean, Japanese and signs."""

import random
import string

import pytest

from generation import clip_tokens

transformers = pytest.importorskip("transformers")

SAMPLES = [
    "happy, spring,sunny,day, flowers, fantasy, concept art, trending on artstation, highly detailed, intricate, sharp focus",
    "calm, winter,snowy,the-middle-of-the-night, misty lake",
    "벚꽃이 흩날리는 오래된 돌담길",
    "夕暮れの古い石畳の道に舞う桜",
    "Café crème brûlée, naïve résumé, ﬁ ligature, Ｆｕｌｌ width",
    "x² ½ 3.14 1,000 $5 don't it's we're they've I'm you'll he'd",
    "under_score snake_case__ !!! ... <lora:ink:0.5> (big:1.2) [small] 🌸🌺",
    "  lots   of\tspaces\nand lines  ",
]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    from generation.backends.checkpoints import clip_vocabulary

    folder = tmp_path_factory.mktemp("clip-tokenizer")
    vocab, merges = clip_vocabulary()
    (folder / "vocab.json").write_text(vocab)
    (folder / "merges.txt").write_text(merges)
    return transformers.CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))


def test_the_count_is_clips(clip):
    rng = random.Random(7)
    texts = SAMPLES + ["".join(rng.choice(string.ascii_letters + string.digits + " ,.-_'!?") for _ in range(60)) for _ in range(100)]
    assert [clip_tokens.count(text) for text in texts] == [len(clip(text, add_special_tokens=False).input_ids) for text in texts]
