"""Readable run names (adjective-noun-number) so people can tell runs apart at a glance."""

from __future__ import annotations

import random

_ADJ = ("amber", "brave", "calm", "clever", "eager", "fuzzy", "gentle", "jolly", "keen",
        "lucky", "mellow", "nimble", "proud", "quick", "rapid", "silent", "sunny", "swift",
        "tidy", "vivid", "witty", "zesty", "bold", "crisp")
_NOUN = ("otter", "falcon", "lynx", "heron", "koala", "panda", "tiger", "whale", "badger",
         "crane", "gecko", "ibis", "lemur", "moose", "newt", "orca", "puffin", "quail",
         "raven", "seal", "tapir", "walrus", "yak", "zebra")


def run_name() -> str:
    rnd = random.SystemRandom()
    return f"{rnd.choice(_ADJ)}-{rnd.choice(_NOUN)}-{rnd.randint(1, 999)}"
