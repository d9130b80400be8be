"""The optimised parse path must behave exactly like the original parsers.

The digests below are those of ``corpus.dump`` produced by the parsers and normaliser as they
were before the fast paths (commit 8d320fb): every quote, tick (Decimals by ``repr``), error
message and resync request over the bundled recording with ~30% of frames mutated. Any
difference in behaviour, even in the wording of an error, changes a digest. If a change of
behaviour is intended, regenerate them with ``python -m tests.venues.corpus`` and say why.
"""

from __future__ import annotations

import pytest

from tests.venues.corpus import corpus, digest

PINNED = {
    1: "5233cd02754078e33636e6771a047d072c9a9ad38105c610d764fcac31f36309",
    2: "9eacc0e225cea150dd57964c9ee259223e6e0605c41b1a1b32b07f00b2f2d1cc",
    3: "79d2a374b6ec045c3ea0cd2691ed8646d61de1307645aa13437aa958c9479647",
}


@pytest.mark.parametrize("seed", sorted(PINNED))
def test_parsers_match_the_original_on_good_and_broken_frames(seed: int) -> None:
    frames = corpus(seed, 0.3)
    assert digest(frames) == PINNED[seed]
