"""The optimised parse path must behave exactly like the original parsers.

The digests below are those of ``corpus.dump`` produced by the parsers and normaliser as they
were before the fast paths (commit 8d320fb), regenerated deliberately when issue 13 changed
behaviour (a mutated Kalshi delta that removes a level the book does not hold now marks the
book out of sync instead of being absorbed; a mutated Polymarket ``best_bid``/``best_ask`` is
now read, so garbage there is reported; Manifold REST quotes carry the contract's
``lastUpdatedTime``; a Kalshi ``ticker`` of a market without an order book is now read, as
the public-only mode's top-of-book quote, so a mutated one is reported): every quote, tick
(Decimals by ``repr``), error message and resync request over the bundled recording with
~30% of frames mutated. Any difference in behaviour, even in the wording of an error,
changes a digest. If a change of behaviour is intended, regenerate them with
``python -m tests.venues.corpus`` and say why.
"""

from __future__ import annotations

import pytest

from tests.venues.corpus import corpus, digest

PINNED = {
    1: "ff8334d274505c0a4f03b695ab950c803ba7f8105bd76e3b0a84463020733ed8",
    2: "9e8977f67d46a8ae108b3ee3a697626b02a28383b56e31c4ef6cb7c18664de68",
    3: "3eea5234eb464cd28b85dff061129215677caab85dcfe383e68ad57d9c4588ca",
}


@pytest.mark.parametrize("seed", sorted(PINNED))
def test_parsers_match_the_original_on_good_and_broken_frames(seed: int) -> None:
    frames = corpus(seed, 0.3)
    assert digest(frames) == PINNED[seed]
