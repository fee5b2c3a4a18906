"""Contrastive fine-tuning of a sentence encoder on reviewed items (SetFit-style, on CPU).

The encoder (a transformers model folder, mean-pooled like ``MiniLMEncoder``) is trained with
the supervised contrastive loss: in each batch, items reviewed with the same class are pulled
together and items of other classes pushed apart. Batches are class-balanced (a few items from
each of several classes), so every batch holds positive pairs even with a handful of reviews
per class. Every pair within a batch counts, which needs far fewer forward passes than
SetFit's one-pair-per-row cosine loss for the same number of pairs.

Seeds are fixed: the same reviews, options and base model give the same weights on the same
machine.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from labelgate.embeddings import MiniLMEncoder


@dataclass(frozen=True)
class ContrastiveOptions:
    epochs: int = 4  # passes over the reviewed items
    batch_size: int = 32
    per_class: int = 4  # items of one class per batch
    learning_rate: float = 3e-5
    temperature: float = 0.1
    max_length: int = 64
    seed: int = 0
    train_layers: int | None = None  # top transformer layers trained; None: every weight


def class_balanced_batches(
    labels: Sequence[str], options: ContrastiveOptions, rng: np.random.Generator
) -> list[np.ndarray]:
    """Row indices per step: ``per_class`` items from each of ``batch_size // per_class``
    classes drawn at random; ``epochs * ceil(N / batch_size)`` steps."""
    y = np.asarray(labels, dtype=object)
    by_class = {c: np.flatnonzero(y == c) for c in sorted(set(y.tolist()))}
    classes = list(by_class)
    steps = options.epochs * -(-len(y) // options.batch_size)
    n_classes = max(2, min(len(classes), options.batch_size // options.per_class))
    batches = []
    for _ in range(steps):
        chosen = rng.choice(len(classes), n_classes, replace=False)
        rows = [
            rng.choice(by_class[classes[c]], min(options.per_class, len(by_class[classes[c]])),
                       replace=False)
            for c in chosen
        ]  # fmt: skip
        batches.append(np.concatenate(rows))
    return batches


def supervised_contrastive_loss(z, targets, temperature: float):  # torch tensors
    """SupCon (Khosla et al. 2020) over L2-normalized rows ``z``; anchors without a positive
    in the batch are skipped. Returns None when no anchor has one."""
    import torch

    sim = z @ z.T / temperature
    n = len(z)
    self_mask = torch.eye(n, dtype=torch.bool, device=z.device)
    positive = (targets[:, None] == targets[None, :]) & ~self_mask
    has_positive = positive.any(dim=1)
    if not has_positive.any():
        return None
    sim = sim.masked_fill(self_mask, float("-inf"))
    log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    mean_positive = (log_prob.masked_fill(~positive, 0.0).sum(1)) / positive.sum(1).clamp(min=1)
    return -mean_positive[has_positive].mean()


def freeze_below(model, train_layers: int | None) -> int:  # a transformers PreTrainedModel
    """Freeze the embeddings and all but the top ``train_layers`` transformer layers; returns
    the number of trainable parameters. Backward then stops at the lowest trained layer, which
    is most of the saving on a CPU."""
    if train_layers is not None:
        layers = _transformer_layers(model)
        keep = {id(p) for layer in layers[len(layers) - train_layers :] for p in layer.parameters()}
        for name, param in model.named_parameters():
            param.requires_grad = id(param) in keep or name.startswith("pooler.")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _transformer_layers(model) -> list:
    """The stack of transformer blocks of a BERT-like encoder (``encoder.layer``)."""
    encoder = getattr(model, "encoder", None)
    layers = getattr(encoder, "layer", None)
    if layers is None:
        raise ValueError(
            f"train_layers needs a BERT-like encoder with encoder.layer; {type(model).__name__} "
            "has none (leave train_layers unset to train every weight)"
        )
    return list(layers)


def finetune_encoder(
    base: Path,
    texts: Sequence[str],
    labels: Sequence[str],
    options: ContrastiveOptions,
    *,
    version: str,
    device: str = "cpu",
) -> tuple[MiniLMEncoder, list[float]]:
    """A copy of the encoder at ``base`` fine-tuned on (texts, labels); and the loss per step."""
    import torch

    random.seed(options.seed)
    np.random.seed(options.seed)
    torch.manual_seed(options.seed)
    encoder = MiniLMEncoder(base, device=device, max_length=options.max_length)
    model, tokenizer = encoder.model, encoder.tokenizer
    freeze_below(model, options.train_layers)
    classes = {c: i for i, c in enumerate(sorted(set(labels)))}
    targets = torch.tensor([classes[label] for label in labels])
    batches = class_balanced_batches(labels, options, np.random.default_rng(options.seed))
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=options.learning_rate)
    total = max(1, len(batches))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0 - s / total)
    losses: list[float] = []
    model.train()
    for rows in batches:
        batch = tokenizer(
            [texts[i] for i in rows],
            padding=True,
            truncation=True,
            max_length=options.max_length,
            return_tensors="pt",
        ).to(encoder.device)
        hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        z = torch.nn.functional.normalize(pooled, dim=1)
        loss = supervised_contrastive_loss(z, targets[rows].to(encoder.device), options.temperature)
        if loss is None:
            continue
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        losses.append(round(float(loss.detach()), 6))
    model.eval()
    encoder.version = version
    return encoder, losses
