"""Write a tiny random-weight BERT cross-encoder (num_labels 1) that sentence-transformers loads.

Runs in the Infinity venv (it needs torch and transformers): ``python tiny_model.py OUT_DIR``.
Nothing is downloaded: the WordPiece vocabulary is written here, the weights are random, seeded.
"""

from __future__ import annotations

import json
import string
import sys
from pathlib import Path

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# Whole words the synthetic and JSONL inputs use often, then single letters and their
# continuations, so any lowercase word splits into known pieces (a realistic token count).
WORDS = ["the", "a", "of", "and", "to", "in", "is", "what", "how", "query", "passage", "document"]


def vocabulary() -> list[str]:
    chars = [c for c in string.ascii_lowercase + string.digits + string.punctuation if c not in WORDS]
    return SPECIAL + WORDS + chars + ["##" + c for c in string.ascii_lowercase + string.digits]


def write(out: Path, layers: int = 2, hidden: int = 32) -> None:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    out.mkdir(parents=True, exist_ok=True)
    vocab_file = out / "vocab.txt"
    vocab_file.write_text("\n".join(vocabulary()) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(vocab_file), do_lower_case=True, model_max_length=512)
    config = BertConfig(
        vocab_size=len(vocabulary()), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
        intermediate_size=2 * hidden, max_position_embeddings=512, num_labels=1,
        initializer_range=0.5,  # not 0.02: spread the random scores so their order means something
    )
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    # sentence-transformers reads the cross-encoder's sequence length from here.
    (out / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 512}))


if __name__ == "__main__":
    write(Path(sys.argv[1]))
