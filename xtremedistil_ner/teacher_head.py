"""A token classifier's head mapped onto our tag set by label name.

Starting the teacher from a model that was already fine-tuned for NER (e.g. the WikiANN teacher of the main
job, or a Hub NER model) keeps what its head learned for the tags both share, whatever their order; a tag the
checkpoint lacks gets a fresh row (initialized as transformers initializes a new head). Without this, a head
of the same size would be loaded row by row whatever the names, and a head of another size thrown away.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import torch

_PLACEHOLDER = re.compile(r"LABEL_\d+")


def named_labels(config: Any) -> list[str] | None:
    """The checkpoint's label names in id order, or None when it has none (``LABEL_0`` placeholders)."""
    id2label = getattr(config, "id2label", None) or {}
    names = [str(id2label[i]) for i in sorted(id2label, key=int)]
    if not names or all(_PLACEHOLDER.fullmatch(n) for n in names):
        return None
    return names


def remap_classifier(model: Any, old: Sequence[str], new: Sequence[str], std: float) -> int:
    """Replace ``model.classifier`` (a Linear over ``old`` labels) by one over ``new``, rows copied by name.

    Args:
        model: an ``AutoModelForTokenClassification`` whose head is ``model.classifier``, shape
            ``(len(old), hidden)``.
        old: the checkpoint's labels in id order.
        new: our tags in id order.
        std: normal init std of the rows that are new (the config's ``initializer_range``).

    Returns:
        How many of ``new`` were copied from the checkpoint's head.
    """
    head = model.classifier
    if not isinstance(head, torch.nn.Linear) or head.out_features != len(old):
        raise ValueError("the model's head is not a Linear over its labels")
    fresh = torch.nn.Linear(head.in_features, len(new), dtype=head.weight.dtype, device=head.weight.device)
    index = {name: i for i, name in enumerate(old)}
    kept = 0
    with torch.no_grad():
        fresh.weight.normal_(0.0, std)
        fresh.bias.zero_()
        for row, name in enumerate(new):
            if name in index:
                fresh.weight[row] = head.weight[index[name]]
                fresh.bias[row] = head.bias[index[name]]
                kept += 1
    model.classifier = fresh
    model.num_labels = len(new)
    model.config.num_labels = len(new)
    model.config.id2label = dict(enumerate(new))
    model.config.label2id = {name: i for i, name in enumerate(new)}
    return kept
